import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { attendPacked, selfAttentionMask } from './attention-mask.js';
import { scaledDotProductAttention } from './functional.js';
import type { LayerCache } from './kv-cache.js';
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

  /**
   * Generation with a cache: x (B, T, E) holds the new positions only; their keys and values
   * go into `cache` after the P cached ones, and each query reads every position up to its own.
   * T > 1 only on an empty cache (the prompt). Inference only (no dropout). -> (B, T, E)
   */
  forwardCached(x: Tensor, cache: LayerCache, past: number): Tensor {
    const [B, T] = x.shape as [number, number, number];
    if (T > 1 && past > 0) throw new RangeError('CausalSelfAttention.forwardCached: several new positions after cached ones are not supported; feed the prompt first, then one token at a time');
    const E = this.embedDim;
    const [q, k, v] = this.c_attn.forward(x).split(E, -1).map((t) => t.view(B, T, this.numHeads, this.headDim).transpose(1, 2)) as [Tensor, Tensor, Tensor]; // (B, T, E) -> (B, nh, T, hs)
    const { keys, values } = cache.append(k, v); // (B, nh, P + T, hs)
    const y = scaledDotProductAttention(q, keys, values, { isCausal: T > 1 }); // (B, nh, T, hs)
    return this.c_proj.forward(y.transpose(1, 2).reshape(B, T, E)); // (B, T, E)
  }

  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, attnDropout=${this.attnDropout}`;
  }
}
