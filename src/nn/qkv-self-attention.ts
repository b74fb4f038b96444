import type { Tensor } from '../tensor/tensor.js';
import { scaledDotProductAttention } from './functional.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/**
 * Bidirectional multi-head self-attention with separate query, key and value projections under
 * Hugging Face's BERT/ViT names (`query`, `key`, `value`); the output projection is the caller's.
 *
 * B = batch, T = time, C = hiddenSize, nh = numHeads, hs = C / nh.
 */
export class QKVSelfAttention extends Module {
  query: Linear;
  key: Linear;
  value: Linear;
  readonly headDim: number;

  /** @param dropout on the attention weights, when training */
  constructor(hiddenSize: number, readonly numHeads: number, readonly dropout: number) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || hiddenSize % numHeads !== 0) {
      throw new RangeError(`self-attention: hiddenSize (${hiddenSize}) must be divisible by the number of heads (${numHeads})`);
    }
    this.query = new Linear(hiddenSize, hiddenSize);
    this.key = new Linear(hiddenSize, hiddenSize);
    this.value = new Linear(hiddenSize, hiddenSize);
    this.headDim = hiddenSize / numHeads;
  }

  /** x (B, T, C), attnMask (B, 1, 1, T) additive or bool, or null -> (B, T, C), heads merged */
  forward(x: Tensor, attnMask: Tensor | null = null): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const heads = (projection: Linear): Tensor =>
      projection.forward(x).view(B, T, this.numHeads, this.headDim).transpose(1, 2); // (B, T, C) -> (B, nh, T, hs)
    const y = scaledDotProductAttention(heads(this.query), heads(this.key), heads(this.value), {
      attnMask,
      dropoutP: this.training ? this.dropout : 0,
    }); // (B, nh, T, hs)
    return y.transpose(1, 2).reshape(B, T, C); // (B, nh, T, hs) -> (B, T, C)
  }
}
