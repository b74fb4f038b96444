import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { SelfAttentionOptions } from './attention-mask.js';
import { Dropout } from './dropout.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { MultiheadSelfAttention } from './multihead-attention.js';

export interface TransformerEncoderBlockOptions {
  /** Hidden size of the feed-forward network. @default 2048 */
  dimFeedforward?: number;
  /** Dropout on the attention weights, inside the feed-forward network and on both residual branches. @default 0.1 */
  dropout?: number;
  /** 'gelu' is the exact (erf) GELU. @default 'relu' */
  activation?: 'relu' | 'gelu';
  /** Pre-norm (x + f(norm(x))) instead of post-norm (norm(x + f(x))). @default false */
  normFirst?: boolean;
  /** @default 1e-5 */
  layerNormEps?: number;
  /** @default 'float32' */
  dtype?: DType;
}

/**
 * A Transformer encoder layer, as torch.nn.TransformerEncoderLayer(batch_first=True): self
 * attention then a feed-forward network, each with a residual connection and a LayerNorm; same
 * parameter names and initialisation.
 *
 * B = batch, T = time, E = dModel.
 */
export class TransformerEncoderBlock extends Module {
  self_attn: MultiheadSelfAttention;
  /** (E) -> (dimFeedforward) */
  linear1: Linear;
  /** Inside the feed-forward network, after the activation. */
  dropout: Dropout;
  /** (dimFeedforward) -> (E) */
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  /** On the attention branch. */
  dropout1: Dropout;
  /** On the feed-forward branch. */
  dropout2: Dropout;
  readonly activation: 'relu' | 'gelu';
  readonly normFirst: boolean;

  constructor(readonly dModel: number, readonly numHeads: number, options: TransformerEncoderBlockOptions = {}) {
    super();
    const dimFeedforward = options.dimFeedforward ?? 2048;
    const p = options.dropout ?? 0.1;
    const dtype = options.dtype ?? 'float32';
    const eps = options.layerNormEps ?? 1e-5;
    // Built in PyTorch's order, so seeded initialisations match.
    this.self_attn = new MultiheadSelfAttention(dModel, numHeads, { dropout: p, dtype });
    this.linear1 = new Linear(dModel, dimFeedforward, { dtype });
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(dimFeedforward, dModel, { dtype });
    this.norm1 = new LayerNorm(dModel, { eps, dtype });
    this.norm2 = new LayerNorm(dModel, { eps, dtype });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.activation = options.activation ?? 'relu';
    this.normFirst = options.normFirst ?? false;
  }

  /** x (B, T, E) -> (B, T, E) */
  forward(x: Tensor, options: SelfAttentionOptions = {}): Tensor {
    if (this.normFirst) {
      const h = x.add(this.#selfAttentionBlock(this.norm1.forward(x), options));
      return h.add(this.#feedForwardBlock(this.norm2.forward(h)));
    }
    const h = this.norm1.forward(x.add(this.#selfAttentionBlock(x, options)));
    return this.norm2.forward(h.add(this.#feedForwardBlock(h)));
  }

  #selfAttentionBlock(x: Tensor, options: SelfAttentionOptions): Tensor {
    return this.dropout1.forward(this.self_attn.forward(x, options));
  }

  #feedForwardBlock(x: Tensor): Tensor {
    const hidden = this.linear1.forward(x); // (B, T, dimFeedforward)
    const activated = this.activation === 'relu' ? hidden.relu() : hidden.gelu();
    return this.dropout2.forward(this.linear2.forward(this.dropout.forward(activated))); // (B, T, E)
  }

  override extraRepr(): string {
    return `dModel=${this.dModel}, numHeads=${this.numHeads}, activation='${this.activation}', normFirst=${this.normFirst}`;
  }
}
