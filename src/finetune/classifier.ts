/**
 * A sequence classifier on any backbone: hidden states (B, T, C) pooled to one vector per
 * text (the last real token for causal models, [CLS] or the mean for encoders), dropout, then
 * a linear head `score` (C) -> (K). With mean pooling a text may be longer than the backbone's
 * context: it is read in consecutive windows of the context length, each on its own, and the
 * mean runs over every token of every window.
 *
 * B = batch, T = time, C = hidden size, K = number of labels.
 */
import { Dropout } from '../nn/dropout.js';
import { normal_, zeros_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { arange, zeros } from '../tensor/creation.js';
import { cat } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Backbone } from './backbone.js';

/** How hidden states become one vector per text. */
export type Pooling = 'last' | 'cls' | 'mean';
export const POOLINGS: readonly Pooling[] = ['last', 'cls', 'mean'];

export class SequenceClassifier extends Module {
  /** The backbone's whole model (a causal LM keeps its LM head, unused here, so its folder format still fits). */
  model: Module;
  dropout: Dropout;
  /** (C) -> (K) */
  score: Linear;
  readonly #backbone: Backbone;

  constructor(backbone: Backbone, readonly labels: readonly string[], readonly pooling: Pooling, dropout = 0.1) {
    super();
    if (pooling === 'cls' && backbone.causal) {
      throw new RangeError(`SequenceClassifier: 'cls' pooling reads the first token, which a causal ${backbone.architecture} model computes before seeing the text; use 'last' or 'mean'`);
    }
    this.#backbone = backbone;
    this.model = backbone.module;
    this.dropout = new Dropout(dropout);
    this.score = new Linear(backbone.hiddenSize, labels.length);
    normal_(this.score.weight, 0, 0.02);
    zeros_(this.score.bias!);
  }

  get backbone(): Backbone {
    return this.#backbone;
  }

  /**
   * ids (B, T) int64, right-padded; lengths (B) int64 real tokens per row (≥ 1) -> logits (B, K)
   */
  forward(ids: Tensor, lengths: Tensor): Tensor {
    const [B, T] = ids.shape as [number, number];
    const window = this.#backbone.maxLength;
    if (T > window && this.pooling !== 'mean') {
      throw new RangeError(`SequenceClassifier: ${T} tokens exceed the backbone's ${window}; only mean pooling reads longer texts (in windows)`);
    }
    const windowed = T > window;
    const windows = Math.ceil(T / window);
    const span = windowed ? windows * window : T;
    const padded = span === T ? ids : cat([ids, zeros([B, span - T], { dtype: 'int64', device: ids.device })], 1); // (B, span)
    const positions = arange(span, { dtype: 'int64', device: ids.device }).unsqueeze(0); // (1, span)
    const mask = positions.lt(lengths.unsqueeze(1)); // (B, span) true at tokens
    let hidden: Tensor; // (B, span, C)
    if (!windowed) {
      hidden = this.#backbone.hiddenStates(ids, mask.to('int64'));
    } else {
      const perWindow = this.#backbone.hiddenStates(padded.reshape([B * windows, window]), mask.to('int64').reshape([B * windows, window])); // (B·W, window, C)
      hidden = perWindow.view(B, span, -1); // (B, W·window, C)
    }
    let pooled: Tensor; // (B, C)
    if (this.pooling === 'cls') {
      pooled = hidden.select(1, 0);
    } else if (this.pooling === 'last') {
      const C = hidden.shape[2]!;
      const index = lengths.sub(1).view(-1, 1, 1).expand(-1, 1, C); // (B, 1, C)
      pooled = hidden.gather(1, index).squeeze(1); // (B, 1, C) -> (B, C)
    } else {
      const weights = mask.to(hidden.dtype).unsqueeze(2); // (B, T, 1)
      pooled = hidden.mul(weights).sum(1).div(weights.sum(1)); // (B, C) / (B, 1)
      if (this.#backbone.meanHead !== undefined) pooled = this.#backbone.meanHead(pooled); // (B, C)
    }
    return this.score.forward(this.dropout.forward(pooled)); // (B, K)
  }
}
