/**
 * Causal self-attention with rotary position embeddings and grouped-query attention, under
 * Hugging Face's LlamaAttention names (`q_proj`, `k_proj`, `v_proj`, `o_proj`, no biases).
 * With nKvHeads < nHeads each key/value head is shared by nHeads / nKvHeads consecutive query
 * heads (query head h reads key/value head ⌊h / group⌋, as HF's repeat_kv and llama2.c do).
 *
 * B = batch, T = time, C = dim, nh = query heads, nkv = key/value heads, hs = C / nh.
 */
import { scaledDotProductAttention } from './functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { RotaryEmbedding } from './rotary-embedding.js';
import type { LayerCache } from './kv-cache.js';

export interface GroupedQueryAttentionOptions {
  /** Key/value heads; must divide nHeads. @default nHeads */
  nKvHeads?: number;
  /** @default 2048 */
  maxSeqLen?: number;
  /** @default 10000 */
  ropeTheta?: number;
  /**
   * Rotary tables to use instead of making new ones (maxSeqLen and ropeTheta are then ignored):
   * a model passes one RotaryEmbedding to all its layers so the tables exist once.
   */
  rotary?: RotaryEmbedding;
}

export class GroupedQueryAttention extends Module {
  /** (C) -> (nh·hs) */
  q_proj: Linear;
  /** (C) -> (nkv·hs) */
  k_proj: Linear;
  /** (C) -> (nkv·hs) */
  v_proj: Linear;
  /** (nh·hs) -> (C) */
  o_proj: Linear;
  /** Hugging Face's name; its tables are non-persistent buffers, not in the state dict. */
  rotary_emb: RotaryEmbedding;
  readonly nKvHeads: number;
  readonly headSize: number;

  constructor(readonly dim: number, readonly nHeads: number, options: GroupedQueryAttentionOptions = {}) {
    super();
    this.nKvHeads = options.nKvHeads ?? nHeads;
    if (dim % nHeads !== 0) throw new RangeError(`GroupedQueryAttention: dim (${dim}) must be divisible by nHeads (${nHeads})`);
    if (nHeads % this.nKvHeads !== 0) throw new RangeError(`GroupedQueryAttention: nHeads (${nHeads}) must be divisible by nKvHeads (${this.nKvHeads})`);
    this.headSize = dim / nHeads;
    this.q_proj = new Linear(dim, nHeads * this.headSize, { bias: false });
    this.k_proj = new Linear(dim, this.nKvHeads * this.headSize, { bias: false });
    this.v_proj = new Linear(dim, this.nKvHeads * this.headSize, { bias: false });
    this.o_proj = new Linear(nHeads * this.headSize, dim, { bias: false });
    this.rotary_emb = options.rotary ?? new RotaryEmbedding(this.headSize, options.maxSeqLen ?? 2048, options.ropeTheta ?? 10000);
    if (this.rotary_emb.headSize !== this.headSize) throw new RangeError(`GroupedQueryAttention: the rotary tables are for head size ${this.rotary_emb.headSize}, but dim / nHeads = ${this.headSize}`);
  }

  /** x (B, T, C), positions 0..T-1 -> (B, T, C) */
  forward(x: Tensor): Tensor {
    const [B, T] = x.shape as [number, number, number];
    const { nHeads: nh, nKvHeads: nkv, headSize: hs } = this;
    const q = this.q_proj.forward(x).view(B, T, nh, hs).transpose(1, 2); // (B, T, nh·hs) -> (B, nh, T, hs)
    const k = this.k_proj.forward(x).view(B, T, nkv, hs).transpose(1, 2); // (B, T, nkv·hs) -> (B, nkv, T, hs)
    const v = this.v_proj.forward(x).view(B, T, nkv, hs).transpose(1, 2); // (B, T, nkv·hs) -> (B, nkv, T, hs)
    const group = nh / nkv;
    const keys = group === 1 ? this.rotary_emb.forward(k) : this.rotary_emb.forward(k).repeatInterleave(group, 1); // (B, nkv, T, hs) -> (B, nh, T, hs)
    const values = group === 1 ? v : v.repeatInterleave(group, 1); // (B, nkv, T, hs) -> (B, nh, T, hs)
    const y = scaledDotProductAttention(this.rotary_emb.forward(q), keys, values, { isCausal: true }); // (B, nh, T, hs)
    return this.o_proj.forward(y.transpose(1, 2).reshape(B, T, nh * hs)); // (B, nh, T, hs) -> (B, T, nh·hs) -> (B, T, C)
  }

  /**
   * Generation with a cache: x (B, T, C) holds the new positions only, rotated at their
   * positions past..past+T-1; the cache keeps the nKvHeads heads. T > 1 only on an empty
   * cache (the prompt). -> (B, T, C)
   */
  forwardCached(x: Tensor, cache: LayerCache, past: number): Tensor {
    const [B, T] = x.shape as [number, number, number];
    if (T > 1 && past > 0) throw new RangeError('GroupedQueryAttention.forwardCached: several new positions after cached ones are not supported; feed the prompt first, then one token at a time');
    const { nHeads: nh, nKvHeads: nkv, headSize: hs } = this;
    const group = nh / nkv;
    const q = this.rotary_emb.forward(this.q_proj.forward(x).view(B, T, nh, hs).transpose(1, 2), past); // (B, nh, T, hs)
    const k = this.rotary_emb.forward(this.k_proj.forward(x).view(B, T, nkv, hs).transpose(1, 2), past); // (B, nkv, T, hs)
    const v = this.v_proj.forward(x).view(B, T, nkv, hs).transpose(1, 2); // (B, nkv, T, hs)
    const { keys, values } = cache.append(k, v); // (B, nkv, S, hs)
    let y: Tensor; // (B, nh, T, hs)
    if (T === 1) {
      // One query per head: the `group` query heads of a KV head read its keys together, no copies.
      // reshape: the attention's output may be laid out (B, group, nkv, hs) (the fused kernel's layout)
      y = scaledDotProductAttention(q.view(B, nkv, group, hs), keys, values).reshape(B, nh, 1, hs); // (B, nkv, group, hs) -> (B, nh, 1, hs)
    } else {
      const expand = (t: Tensor): Tensor => (group === 1 ? t : t.repeatInterleave(group, 1)); // (B, nkv, S, hs) -> (B, nh, S, hs)
      y = scaledDotProductAttention(q, expand(keys), expand(values), { isCausal: true });
    }
    return this.o_proj.forward(y.transpose(1, 2).reshape(B, T, nh * hs)); // (B, T, C)
  }

  override extraRepr(): string {
    return `dim=${this.dim}, nHeads=${this.nHeads}, nKvHeads=${this.nKvHeads}`;
  }
}
