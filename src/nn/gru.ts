import { Tensor } from '../tensor/tensor.js';
import { gru } from './functional.js';
import { RecurrentBase, type RecurrentLayerOptions } from './recurrent-base.js';

export type GRUOptions = RecurrentLayerOptions;

/** The hidden state, (numLayers × directions, B, H). */
export interface GRUState {
  h: Tensor;
}

/** The top layer's output at every step, with the final state (pass it back in to continue). */
export interface GRUOutput extends GRUState {
  /** (T, B, directions × H), or (B, T, directions × H) when batchFirst. */
  output: Tensor;
}

/**
 * A multi-layer gated recurrent unit network, as torch.nn.GRU: the same parameters (names, gate
 * order r, z, n, initialisation U(±1/√H)) and the same ATen kernel.
 *
 * F = inputSize, H = hiddenSize, T = time, B = batch.
 */
export class GRU extends RecurrentBase {
  constructor(inputSize: number, hiddenSize: number, options: GRUOptions = {}) {
    super(3, inputSize, hiddenSize, options);
  }

  /**
   * @param input (T, B, F), or (B, T, F) when batchFirst, or unbatched (T, F)
   * @param state initial h, (numLayers × directions, B, H) ((.., H) when unbatched); zeros when omitted
   */
  forward(input: Tensor, state?: GRUState): GRUOutput {
    const prepared = this.prepareInput(input);
    const h0 = this.initialState('h', state?.h, prepared);
    const [output, h] = gru(prepared.input, h0, this.flatWeights(), {
      numLayers: this.numLayers,
      dropout: this.dropout,
      training: this.training,
      bidirectional: this.bidirectional,
      batchFirst: this.batchFirst,
    });
    return { output: this.unbatchOutput(output, prepared), h: this.unbatchState(h, prepared) };
  }
}
