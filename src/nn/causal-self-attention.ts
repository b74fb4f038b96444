import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { attendPacked, selfAttentionMask } from './attention-mask.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface CausalSelfAttentionOptions {
  /** Dropout on the attention weights, when training (GPT-2's attn_pdrop). @default 0.1 */
  attnDropout?: number;
  /** Dropout on the output projection, when training (GPT-2's resid_pdrop). @default 0.1 */
  residDropout?: number;
  /** @default 'float32' */
  dtype?: DType;
}

/**
 * GPT-2's masked multi-head self-attention, under Hugging Face's names (`attn.c_attn`,
 * `attn.c_proj`). Kiln's Linear keeps weights as (out, in); Hugging Face's Conv1D stores them
 * transposed, so importing a checkpoint transposes these two weights.
 *
 * B = batch, T = time, E = embedDim, nh = numHeads, hs = E / nh.
 */
export class CausalSelfAttention extends Module {
  /** (E) -> (3E): queries, keys and values, in that order. */
  c_attn: Linear;
  /** (E) -> (E) */
  c_proj: Linear;
  resid_dropout: Dropout;
  readonly headDim: number;
  readonly attnDropout: number;

  constructor(readonly embedDim: number, readonly numHeads: number, options: CausalSelfAttentionOptions = {}) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new RangeError(`CausalSelfAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    }
    const dtype = options.dtype ?? 'float32';
    this.headDim = embedDim / numHeads;
    this.attnDropout = options.attnDropout ?? 0.1;
    if (!(this.attnDropout >= 0 && this.attnDropout <= 1)) {
      throw new RangeError(`CausalSelfAttention: attnDropout must be in [0, 1], got ${this.attnDropout}`);
    }
    this.c_attn = new Linear(embedDim, 3 * embedDim, { dtype });
    this.c_proj = new Linear(embedDim, embedDim, { dtype });
    this.resid_dropout = new Dropout(options.residDropout ?? 0.1);
  }

  /**
   * x (B, T, E) -> (B, T, E).
   * @param options.keyPaddingMask (B, T) bool, true at padding tokens
   */
  forward(x: Tensor, options: { keyPaddingMask?: Tensor } = {}): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.embedDim) {
      throw new Error(`CausalSelfAttention: expected input (B, T, E) with E = ${this.embedDim}, got shape [${x.shape.join(', ')}]`);
    }
    const mask = selfAttentionMask(x, { ...options, causal: true }, 'CausalSelfAttention');
    const qkv = this.c_attn.forward(x); // (B, T, 3E)
    const merged = attendPacked(qkv, this.numHeads, mask, this.training ? this.attnDropout : 0); // (B, T, E)
    return this.resid_dropout.forward(this.c_proj.forward(merged));
  }

  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, attnDropout=${this.attnDropout}`;
  }
}
