/**
 * A Vision Transformer (Dosovitskiy et al. 2020) under Hugging Face's ViTForImageClassification
 * parameter names — vit.embeddings.cls_token, vit.embeddings.position_embeddings,
 * vit.embeddings.patch_embeddings.projection, vit.encoder.layer.N.layernorm_before,
 * .attention.attention.query/key/value, .attention.output.dense, .layernorm_after,
 * .intermediate.dense, .output.dense, vit.layernorm, classifier — so its checkpoints load by
 * key. Pre-norm blocks, exact GELU, the classifier reads the [CLS] token after the final
 * LayerNorm (no pooler, as ViTForImageClassification).
 *
 * B = batch, C = hiddenSize, P = patches, T = P + 1 tokens, nh = heads, hs = C / nh,
 * I = intermediateSize, K = classes.
 */
import { Conv2d } from '../../nn/conv2d.js';
import { Dropout } from '../../nn/dropout.js';
import { runBlocks } from '../../nn/gradient-checkpointing.js';
import { normal_, zeros_ } from '../../nn/init.js';
import { LayerNorm } from '../../nn/layer-norm.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { QKVSelfAttention } from '../../nn/qkv-self-attention.js';
import { Parameter } from '../../nn/parameter.js';
import { noGrad } from '../../tensor/autograd.js';
import { zeros } from '../../tensor/creation.js';
import { cat } from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ImageClassifier } from './image-classifier.js';

export interface ViTConfig {
  /** @default 3 */
  inChannels: number;
  /** @default 1000 */
  numClasses: number;
  /** Square input side; must be a multiple of patchSize. @default 224 */
  imageSize: number;
  /** @default 16 */
  patchSize: number;
  /** @default 768 */
  hiddenSize: number;
  /** @default 12 */
  numHiddenLayers: number;
  /** @default 12 */
  numAttentionHeads: number;
  /** @default 3072 */
  intermediateSize: number;
  /** @default 1e-12 */
  layerNormEps: number;
  /** Dropout after the embeddings and on each residual branch. @default 0 */
  hiddenDropout: number;
  /** Dropout on the attention weights. @default 0 */
  attentionDropout: number;
}

export const VIT_DEFAULTS: ViTConfig = {
  inChannels: 3, numClasses: 1000, imageSize: 224, patchSize: 16, hiddenSize: 768, numHiddenLayers: 12,
  numAttentionHeads: 12, intermediateSize: 3072, layerNormEps: 1e-12, hiddenDropout: 0, attentionDropout: 0,
};

/** Hugging Face's initializer_range. */
const INIT_STD = 0.02;

/** Non-overlapping patches, each projected to C: (B, Cin, H, W) -> (B, P, C). */
export class ViTPatchEmbeddings extends Module {
  projection: Conv2d;

  constructor(c: Readonly<ViTConfig>) {
    super();
    this.projection = new Conv2d(c.inChannels, c.hiddenSize, c.patchSize, { stride: c.patchSize });
  }

  forward(x: Tensor): Tensor {
    return this.projection.forward(x).flatten(2).transpose(1, 2); // (B, C, H/p, W/p) -> (B, P, C)
  }
}

/** [CLS] + patch embeddings + learned positions: (B, Cin, H, W) -> (B, T, C). */
export class ViTEmbeddings extends Module {
  /** (1, 1, C) */
  cls_token: Parameter;
  /** (1, T, C) */
  position_embeddings: Parameter;
  patch_embeddings: ViTPatchEmbeddings;
  dropout: Dropout;

  constructor(c: Readonly<ViTConfig>) {
    super();
    const patches = (c.imageSize / c.patchSize) ** 2;
    this.cls_token = new Parameter(zeros([1, 1, c.hiddenSize]));
    this.position_embeddings = new Parameter(zeros([1, patches + 1, c.hiddenSize]));
    this.patch_embeddings = new ViTPatchEmbeddings(c);
    this.dropout = new Dropout(c.hiddenDropout);
  }

  forward(x: Tensor): Tensor {
    const patches = this.patch_embeddings.forward(x); // (B, P, C)
    const [B, , C] = patches.shape as [number, number, number];
    const tokens = cat([this.cls_token.expand(B, 1, C), patches], 1); // (B, T, C)
    return this.dropout.forward(tokens.add(this.position_embeddings)); // + (1, T, C)
  }
}

/** Separate query, key and value projections; (B, T, C) -> (B, T, C), heads merged. */
export class ViTSelfAttention extends QKVSelfAttention {
  constructor(c: Readonly<ViTConfig>) {
    super(c.hiddenSize, c.numAttentionHeads, c.attentionDropout);
  }
}

/** A branch's output projection and dropout (the residual add is in ViTLayer). */
export class ViTDenseOutput extends Module {
  dense: Linear;
  dropout: Dropout;

  constructor(inFeatures: number, c: Readonly<ViTConfig>) {
    super();
    this.dense = new Linear(inFeatures, c.hiddenSize);
    this.dropout = new Dropout(c.hiddenDropout);
  }

  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.dense.forward(x));
  }
}

/** Hugging Face's ViTAttention: `attention` (self-attention) and `output` (dense). */
export class ViTAttention extends Module {
  attention: ViTSelfAttention;
  output: ViTDenseOutput;

  constructor(c: Readonly<ViTConfig>) {
    super();
    this.attention = new ViTSelfAttention(c);
    this.output = new ViTDenseOutput(c.hiddenSize, c);
  }

  forward(x: Tensor): Tensor {
    return this.output.forward(this.attention.forward(x));
  }
}

/** (B, T, C) -> gelu(dense) (B, T, I) */
export class ViTIntermediate extends Module {
  dense: Linear;

  constructor(c: Readonly<ViTConfig>) {
    super();
    this.dense = new Linear(c.hiddenSize, c.intermediateSize);
  }

  forward(x: Tensor): Tensor {
    return this.dense.forward(x).gelu();
  }
}

/** A pre-norm encoder block: x + attn(LN(x)), then h + mlp(LN(h)). (B, T, C) -> (B, T, C). */
export class ViTLayer extends Module {
  attention: ViTAttention;
  intermediate: ViTIntermediate;
  output: ViTDenseOutput;
  layernorm_before: LayerNorm;
  layernorm_after: LayerNorm;

  constructor(c: Readonly<ViTConfig>) {
    super();
    this.attention = new ViTAttention(c);
    this.intermediate = new ViTIntermediate(c);
    this.output = new ViTDenseOutput(c.intermediateSize, c);
    this.layernorm_before = new LayerNorm(c.hiddenSize, { eps: c.layerNormEps });
    this.layernorm_after = new LayerNorm(c.hiddenSize, { eps: c.layerNormEps });
  }

  forward(x: Tensor): Tensor {
    const h = x.add(this.attention.forward(this.layernorm_before.forward(x)));
    return h.add(this.output.forward(this.intermediate.forward(this.layernorm_after.forward(h))));
  }
}

export class ViTEncoder extends Module {
  layer: ViTLayer[];
  /** Recompute each layer's activations in backward (setGradientCheckpointing). */
  gradientCheckpointing = false;

  constructor(c: Readonly<ViTConfig>) {
    super();
    this.layer = Array.from({ length: c.numHiddenLayers }, () => new ViTLayer(c));
  }

  forward(x: Tensor): Tensor {
    return runBlocks(x, this.layer, (block, h) => block.forward(h), this.gradientCheckpointing);
  }
}

/** Hugging Face's ViTModel without the pooler: (B, Cin, H, W) -> (B, T, C) after the final LayerNorm. */
export class ViTModel extends Module {
  embeddings: ViTEmbeddings;
  encoder: ViTEncoder;
  layernorm: LayerNorm;

  constructor(c: Readonly<ViTConfig>) {
    super();
    this.embeddings = new ViTEmbeddings(c);
    this.encoder = new ViTEncoder(c);
    this.layernorm = new LayerNorm(c.hiddenSize, { eps: c.layerNormEps });
  }

  forward(x: Tensor): Tensor {
    return this.layernorm.forward(this.encoder.forward(this.embeddings.forward(x)));
  }
}

export class ViTForImageClassification extends Module implements ImageClassifier {
  readonly architecture = 'vit' as const;
  readonly headName = 'classifier';
  readonly config: Readonly<ViTConfig>;
  vit: ViTModel;
  /** (C) -> (K), on the [CLS] token */
  classifier: Linear;

  constructor(config: Partial<ViTConfig> = {}) {
    super();
    const c = { ...VIT_DEFAULTS, ...config };
    if (c.imageSize % c.patchSize !== 0) throw new RangeError(`ViT: imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`);
    if (c.hiddenSize % c.numAttentionHeads !== 0) throw new RangeError(`ViT: hiddenSize ${c.hiddenSize} is not divisible by numAttentionHeads ${c.numAttentionHeads}`);
    this.config = c;
    this.vit = new ViTModel(c);
    this.classifier = new Linear(c.hiddenSize, c.numClasses);
    // Hugging Face's _init_weights: N(0, 0.02) weights (truncated there; plain here), zero biases.
    noGrad(() => {
      for (const [name, p] of this.namedParameters()) {
        if (name.includes('layernorm')) continue; // LayerNorm stays at weight 1, bias 0
        if (name.endsWith('.bias')) zeros_(p);
        else normal_(p, 0, INIT_STD);
      }
    });
  }

  get numClasses(): number {
    return this.classifier.outFeatures;
  }

  resetHead(numClasses: number): void {
    this.classifier = new Linear(this.config.hiddenSize, numClasses);
    noGrad(() => {
      normal_(this.classifier.weight, 0, INIT_STD);
      if (this.classifier.bias !== null) zeros_(this.classifier.bias);
    });
  }

  /** x (B, Cin, H, W) -> logits (B, K) */
  forward(x: Tensor): Tensor {
    const hidden = this.vit.forward(x); // (B, T, C)
    return this.classifier.forward(hidden.select(1, 0)); // [CLS] (B, C) -> (B, K)
  }
}
