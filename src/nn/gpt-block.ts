import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { CausalSelfAttention } from './causal-self-attention.js';
import type { LayerCache } from './kv-cache.js';
import { LayerNorm } from './layer-norm.js';
import { MLP } from './mlp.js';
import { Module } from './module.js';

export interface GPTBlockOptions {
  /** Hidden size of the MLP (GPT-2's n_inner). @default 4 × embedDim */
  innerSize?: number;
  /** Dropout on the attention weights (attn_pdrop). @default 0.1 */
  attnDropout?: number;
  /** Dropout on both residual branches (resid_pdrop). @default 0.1 */
  residDropout?: number;
  /** (layer_norm_epsilon) @default 1e-5 */
  layerNormEps?: number;
  /** @default 'float32' */
  dtype?: DType;
}

/**
 * A GPT-2 decoder block (pre-norm) with Hugging Face's parameter names:
 *   x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)).
 * The Linear layers start from PyTorch's default init; GPT-2's own init (N(0, 0.02), scaled
 * residual projections) is the model's job.
 *
 * B = batch, T = time, E = embedDim.
 */
export class GPTBlock extends Module {
  ln_1: LayerNorm;
  attn: CausalSelfAttention;
  ln_2: LayerNorm;
  mlp: MLP;

  constructor(readonly embedDim: number, readonly numHeads: number, options: GPTBlockOptions = {}) {
    super();
    const dtype = options.dtype ?? 'float32';
    const eps = options.layerNormEps ?? 1e-5;
    const residDropout = options.residDropout ?? 0.1;
    this.ln_1 = new LayerNorm(embedDim, { eps, dtype });
    this.attn = new CausalSelfAttention(embedDim, numHeads, { attnDropout: options.attnDropout ?? 0.1, residDropout, dtype });
    this.ln_2 = new LayerNorm(embedDim, { eps, dtype });
    this.mlp = new MLP(embedDim, {
      ...(options.innerSize === undefined ? {} : { innerSize: options.innerSize }),
      dropout: residDropout,
      dtype,
    });
  }

  /**
   * x (B, T, E) -> (B, T, E).
   * @param options.keyPaddingMask (B, T) bool, true at padding tokens
   */
  forward(x: Tensor, options: { keyPaddingMask?: Tensor } = {}): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x), options)); // (B, T, E)
    return h.add(this.mlp.forward(this.ln_2.forward(h))); // (B, T, E)
  }

  /** forward for generation with a cache: x (B, T, E) the new positions after `past` cached ones. */
  forwardCached(x: Tensor, cache: LayerCache, past: number): Tensor {
    const h = x.add(this.attn.forwardCached(this.ln_1.forward(x), cache, past)); // (B, T, E)
    return h.add(this.mlp.forward(this.ln_2.forward(h))); // (B, T, E)
  }
}
