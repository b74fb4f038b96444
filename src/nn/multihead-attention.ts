import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { attendPacked, selfAttentionMask, type SelfAttentionOptions } from './attention-mask.js';
import { linear } from './functional.js';
import { xavierUniform_, zeros_ } from './init.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export type { SelfAttentionOptions } from './attention-mask.js';

export interface MultiheadSelfAttentionOptions {
  /** Biases on the input and output projections. @default true */
  bias?: boolean;
  /** Dropout on the attention weights, when training. @default 0 */
  dropout?: number;
  /** @default 'float32' */
  dtype?: DType;
}

/**
 * Multi-head self-attention, as torch.nn.MultiheadAttention(E, numHeads, batch_first=True)
 * called with query = key = value: same parameters (in_proj_weight holds the query, key and
 * value projections stacked; out_proj), same initialisation, same numbers.
 *
 * B = batch, T = time, E = embedDim, nh = numHeads, hs = E / nh.
 */
export class MultiheadSelfAttention extends Module {
  /** (3E, E): rows [0, E) project queries, [E, 2E) keys, [2E, 3E) values. */
  in_proj_weight: Parameter;
  /** (3E), starts at 0 */
  in_proj_bias: Parameter | null;
  /** (E) -> (E); its bias starts at 0 */
  out_proj: Linear;
  readonly headDim: number;
  readonly dropout: number;

  constructor(readonly embedDim: number, readonly numHeads: number, options: MultiheadSelfAttentionOptions = {}) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new RangeError(`MultiheadSelfAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    }
    this.headDim = embedDim / numHeads;
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout <= 1)) {
      throw new RangeError(`MultiheadSelfAttention: dropout must be in [0, 1], got ${this.dropout}`);
    }
    const dtype = options.dtype ?? 'float32';
    const bias = options.bias ?? true;
    this.in_proj_weight = new Parameter(empty([3 * embedDim, embedDim], { dtype }));
    this.in_proj_bias = bias ? new Parameter(empty([3 * embedDim], { dtype })) : null;
    // PyTorch's order of random draws: out_proj's default init first, then in_proj_weight.
    this.out_proj = new Linear(embedDim, embedDim, { bias, dtype });
    xavierUniform_(this.in_proj_weight);
    if (this.in_proj_bias !== null) zeros_(this.in_proj_bias);
    if (this.out_proj.bias !== null) zeros_(this.out_proj.bias);
  }

  /** x (B, T, E) -> (B, T, E) */
  forward(x: Tensor, options: SelfAttentionOptions = {}): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.embedDim) {
      throw new Error(`MultiheadSelfAttention: expected input (B, T, E) with E = ${this.embedDim}, got shape [${x.shape.join(', ')}]`);
    }
    const mask = selfAttentionMask(x, options, 'MultiheadSelfAttention');
    const qkv = linear(x, this.in_proj_weight, this.in_proj_bias); // (B, T, 3E)
    return this.out_proj.forward(attendPacked(qkv, this.numHeads, mask, this.training ? this.dropout : 0)); // (B, T, E)
  }

  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, dropout=${this.dropout}, bias=${this.in_proj_bias !== null}`;
  }
}
