/**
 * An LSTM language model: token embedding → multi-layer LSTM → dropout → linear head, under
 * PyTorch's parameter names (`embedding.weight`, `lstm.weight_ih_l0`, `lstm.weight_hh_l0`,
 * `lstm.bias_ih_l0`, `lstm.bias_hh_l0`, …, `head.weight`, `head.bias`), so a state dict lines
 * up with an `nn.Embedding` + `nn.LSTM(batch_first=True)` + `nn.Linear` model key for key.
 * io/kiln-lstm.ts reads and writes its folders.
 *
 * B = batch, T = time, E = embeddingDim, H = hiddenSize, V = vocabSize.
 */
import { cat } from '../tensor/ops.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { uniform_, zeros_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { LSTM, type LSTMState } from '../nn/lstm.js';
import { CausalLanguageModel } from './causal-language-model.js';
import { type LstmLMConfig, lstmLMConfig } from './lstm-lm-config.js';
import { type GenerateOptions, nextToken } from './sampling.js';

/** The range of the embedding's and the head's uniform initialisation (PyTorch's word_language_model). */
const INIT_RANGE = 0.1;

/**
 * A causal LSTM language model. Starts as PyTorch's word_language_model example: embedding and
 * head weights U(±0.1), head bias zero, the LSTM at torch.nn.LSTM's U(±1/√H).
 * @example
 * const model = new LstmLM({ vocabSize: 65, embeddingDim: 64, hiddenSize: 64, numLayers: 2 });
 * const loss = model.loss(x, y); // x, y (B, T) int64, y = x shifted left by one
 */
export class LstmLM extends CausalLanguageModel {
  protected readonly modelName = 'LstmLM';
  /** (V, E) */
  embedding: Embedding;
  /** E -> H, numLayers stacked, batch first. */
  lstm: LSTM;
  drop: Dropout;
  /** (H) -> (V); its weight is embedding.weight when tieWeights. */
  head: Linear;
  readonly config: Readonly<LstmLMConfig>;

  constructor(config: Partial<LstmLMConfig> = {}) {
    super();
    this.config = lstmLMConfig(config);
    const { vocabSize, embeddingDim, hiddenSize, numLayers, dropout, tieWeights } = this.config;
    this.embedding = new Embedding(vocabSize, embeddingDim);
    this.lstm = new LSTM(embeddingDim, hiddenSize, { numLayers, dropout, batchFirst: true });
    this.drop = new Dropout(dropout);
    this.head = new Linear(hiddenSize, vocabSize);
    uniform_(this.embedding.weight, -INIT_RANGE, INIT_RANGE);
    if (tieWeights) this.head.weight = this.embedding.weight; // one Parameter under two names
    else uniform_(this.head.weight, -INIT_RANGE, INIT_RANGE);
    zeros_(this.head.bias!);
  }

  protected get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** A recurrent model reads any length; training picks its window (blockSize) itself. */
  protected get contextLimit(): { name: string; length: number } {
    return { name: 'context', length: Number.POSITIVE_INFINITY };
  }

  /**
   * The top LSTM layer's output at every position, before the final dropout and the head: what
   * a task head (e.g. a classifier) reads.
   * ids (B, T) int64 -> (B, T, H)
   */
  hiddenStates(ids: Tensor): Tensor {
    this.checkIds(ids, 'LstmLM.hiddenStates', Number.POSITIVE_INFINITY);
    return this.#run(ids).output;
  }

  /** embedding → dropout → LSTM, from `state` (zeros when omitted). ids (B, T) -> output (B, T, H), h, c */
  #run(ids: Tensor, state?: LSTMState): { output: Tensor } & LSTMState {
    const x = this.drop.forward(this.embedding.forward(ids)); // (B, T, E)
    return this.lstm.forward(x, state); // output (B, T, H); h, c (numLayers, B, H)
  }

  /** ids (B, T) int64 -> logits (B, T, V) */
  forward(ids: Tensor): Tensor {
    return this.head.forward(this.drop.forward(this.hiddenStates(ids))); // (B, T, H) -> (B, T, V)
  }

  /**
   * Appends `maxNewTokens` tokens to each row, carrying the LSTM's state: the prompt is read
   * once, then each new token costs one step (the whole history stays in the state, with no
   * window). Runs without gradients and in eval mode; each module's mode is restored afterwards.
   * ids (B, T) int64 -> (B, T + maxNewTokens) int64
   */
  override generate(ids: Tensor, options: GenerateOptions): Tensor {
    return this.generating(ids, options, () => {
      let out = ids;
      let input = ids; // the prompt (B, T), then the last new token (B, 1)
      let state: LSTMState | undefined;
      for (let step = 0; step < options.maxNewTokens; step++) {
        const next = scope(() => {
          const { output, h, c } = this.#run(input, state); // (B, T', H)
          const logits = this.head.forward(output.select(1, -1)); // (B, H) -> (B, V)
          const token = nextToken(logits, options, out); // (B, 1)
          return { token, h, c, out: cat([out, token], 1) }; // (B, T + step + 1)
        });
        if (state !== undefined) {
          state.h.dispose();
          state.c.dispose();
        }
        if (input !== ids) input.dispose();
        if (out !== ids) out.dispose();
        state = { h: next.h, c: next.c };
        input = next.token;
        out = next.out;
      }
      if (state !== undefined) {
        state.h.dispose();
        state.c.dispose();
      }
      if (input !== ids) input.dispose();
      return out;
    });
  }

  override extraRepr(): string {
    const { vocabSize, embeddingDim, hiddenSize, numLayers, tieWeights } = this.config;
    return `vocabSize=${vocabSize}, embeddingDim=${embeddingDim}, hiddenSize=${hiddenSize}, numLayers=${numLayers}, tieWeights=${tieWeights}`;
  }
}
