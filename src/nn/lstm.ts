import { Tensor } from '../tensor/tensor.js';
import { lstm } from './functional.js';
import { RecurrentBase, type RecurrentLayerOptions } from './recurrent-base.js';

export type LSTMOptions = RecurrentLayerOptions;

/** Hidden and cell states, each (numLayers × directions, B, H). */
export interface LSTMState {
  h: Tensor;
  c: Tensor;
}

/** The top layer's output at every step, with the final states (pass them back in to continue). */
export interface LSTMOutput extends LSTMState {
  /** (T, B, directions × H), or (B, T, directions × H) when batchFirst. */
  output: Tensor;
}

/**
 * A multi-layer long short-term memory network, as torch.nn.LSTM: the same parameters (names,
 * gate order i, f, g, o, initialisation U(±1/√H)) and the same ATen kernel.
 *
 * F = inputSize, H = hiddenSize, T = time, B = batch.
 * @example
 * const lstm = new LSTM(16, 32, { numLayers: 2, batchFirst: true });
 * const { output, h, c } = lstm.forward(x); // x (B, T, 16) -> output (B, T, 32)
 * const next = lstm.forward(x2, { h, c }); // carries the state on
 */
export class LSTM extends RecurrentBase {
  constructor(inputSize: number, hiddenSize: number, options: LSTMOptions = {}) {
    super(4, inputSize, hiddenSize, options);
  }

  /**
   * @param input (T, B, F), or (B, T, F) when batchFirst, or unbatched (T, F)
   * @param state initial h and c, (numLayers × directions, B, H) ((.., H) when unbatched); zeros when omitted
   */
  forward(input: Tensor, state?: LSTMState): LSTMOutput {
    const prepared = this.prepareInput(input);
    const h0 = this.initialState('h', state?.h, prepared);
    const c0 = this.initialState('c', state?.c, prepared);
    const [output, h, c] = lstm(prepared.input, h0, c0, this.flatWeights(), {
      numLayers: this.numLayers,
      dropout: this.dropout,
      training: this.training,
      bidirectional: this.bidirectional,
      batchFirst: this.batchFirst,
    });
    return {
      output: this.unbatchOutput(output, prepared),
      h: this.unbatchState(h, prepared),
      c: this.unbatchState(c, prepared),
    };
  }
}
