/**
 * BERT: a post-LN Transformer encoder under Hugging Face's parameter names (BertModel,
 * BertForMaskedLM, BertForSequenceClassification), so state dicts line up with BERT checkpoints
 * key for key: `embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`,
 * …, `pooler.dense.weight`; the heads add the `bert.` prefix. io/hf-bert.ts reads and writes
 * the folders.
 *
 * B = batch, T = time (sequence length), C = hiddenSize, nh = numAttentionHeads, hs = C / nh,
 * I = intermediateSize, V = vocabSize.
 */
import { arange, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { runBlocks } from '../nn/gradient-checkpointing.js';
import { crossEntropy } from '../nn/functional.js';
import { normal_, ones_, zeros_ } from '../nn/init.js';
import { LayerNorm } from '../nn/layer-norm.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { QKVSelfAttention } from '../nn/qkv-self-attention.js';
import { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import { type BertConfig, bertConfig } from './bert-config.js';
import { maskedLmLoss } from './masked-lm.js';

/** BERT's initializer_range: the std of every weight matrix and embedding at init. */
const INIT_STD = 0.02;

/** The most negative finite value of each float dtype: Hugging Face's additive mask value. */
const MASK_VALUE: Partial<Record<DType, number>> = {
  float64: -1.7976931348623157e308,
  float32: -3.4028234663852886e38,
  bfloat16: -3.3895313892515355e38,
  float16: -65504,
};

/** What the encoder reads besides the token ids. */
export interface BertInputs {
  /** (B, T): 1 (or true) at tokens, 0 at padding, which no position attends to. @default all ones */
  attentionMask?: Tensor;
  /** (B, T) int64 segment ids in [0, typeVocabSize). @default all zeros */
  tokenTypeIds?: Tensor;
}

export interface BertOutput {
  /** (B, T, C) */
  lastHiddenState: Tensor;
  /** (B, C): tanh(pooler.dense(first token)); null when the model has no pooler. */
  pooledOutput: Tensor | null;
}

/** Word + position + token-type embeddings, then LayerNorm and dropout. ids (B, T) -> (B, T, C). */
export class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(config: Readonly<BertConfig>) {
    super();
    const C = config.hiddenSize;
    this.word_embeddings = new Embedding(config.vocabSize, C, { paddingIdx: config.padTokenId });
    this.position_embeddings = new Embedding(config.maxPositionEmbeddings, C);
    this.token_type_embeddings = new Embedding(config.typeVocabSize, C);
    this.LayerNorm = new LayerNorm(C, { eps: config.layerNormEps });
    this.dropout = new Dropout(config.hiddenDropout);
  }

  forward(ids: Tensor, tokenTypeIds: Tensor): Tensor {
    const T = ids.shape[1]!;
    const positions = arange(T, { dtype: 'int64', device: ids.device }); // (T)
    const summed = this.word_embeddings.forward(ids) // (B, T, C)
      .add(this.position_embeddings.forward(positions)) // + (T, C)
      .add(this.token_type_embeddings.forward(tokenTypeIds)); // + (B, T, C)
    return this.dropout.forward(this.LayerNorm.forward(summed));
  }
}

/** Multi-head self-attention with separate query, key and value projections. (B, T, C) -> (B, T, C). */
export class BertSelfAttention extends QKVSelfAttention {
  constructor(config: Readonly<BertConfig>) {
    super(config.hiddenSize, config.numAttentionHeads, config.attentionDropout);
  }
}

/** A residual branch's end: dense, dropout, add the branch input, LayerNorm (post-LN). */
export class BertResidualOutput extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(inFeatures: number, config: Readonly<BertConfig>) {
    super();
    this.dense = new Linear(inFeatures, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.dropout = new Dropout(config.hiddenDropout);
  }

  /** branch (B, T, inFeatures), residual (B, T, C) -> (B, T, C) */
  forward(branch: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(this.dropout.forward(this.dense.forward(branch)).add(residual));
  }
}

/** Hugging Face's BertAttention: `self` (the attention) and `output` (dense + LayerNorm). */
export class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertResidualOutput;

  constructor(config: Readonly<BertConfig>) {
    super();
    this.self = new BertSelfAttention(config);
    this.output = new BertResidualOutput(config.hiddenSize, config);
  }

  /** x (B, T, C) -> (B, T, C) */
  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    return this.output.forward(this.self.forward(x, additiveMask), x);
  }
}

/** The feed-forward network's first half: (B, T, C) -> gelu(dense) (B, T, I). */
export class BertIntermediate extends Module {
  dense: Linear;

  constructor(config: Readonly<BertConfig>) {
    super();
    this.dense = new Linear(config.hiddenSize, config.intermediateSize);
  }

  forward(x: Tensor): Tensor {
    return this.dense.forward(x).gelu(); // exact (erf) GELU, as BERT's 'gelu'
  }
}

/** One encoder layer: attention, then the feed-forward network, each post-LN. (B, T, C) -> (B, T, C). */
export class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  /** (B, T, I) -> (B, T, C), plus the residual and LayerNorm */
  output: BertResidualOutput;

  constructor(config: Readonly<BertConfig>) {
    super();
    this.attention = new BertAttention(config);
    this.intermediate = new BertIntermediate(config);
    this.output = new BertResidualOutput(config.intermediateSize, config);
  }

  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    const attended = this.attention.forward(x, additiveMask); // (B, T, C)
    return this.output.forward(this.intermediate.forward(attended), attended); // (B, T, I) -> (B, T, C)
  }
}

export class BertEncoder extends Module {
  layer: BertLayer[];
  /** Recompute each layer's activations in backward (setGradientCheckpointing). */
  gradientCheckpointing = false;

  constructor(config: Readonly<BertConfig>) {
    super();
    this.layer = Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config));
  }

  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    return runBlocks(x, this.layer, (layer, h) => layer.forward(h, additiveMask), this.gradientCheckpointing); // (B, T, C)
  }
}

/** tanh(dense(hidden state of the first token)): (B, T, C) -> (B, C). */
export class BertPooler extends Module {
  dense: Linear;

  constructor(config: Readonly<BertConfig>) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
  }

  forward(hidden: Tensor): Tensor {
    return this.dense.forward(hidden.select(1, 0)).tanh(); // (B, T, C) -> (B, C)
  }
}

/** BERT's initialisation: Linear and Embedding weights N(0, 0.02), biases zero, LayerNorm ones and zeros, padding row zero. */
function initBertWeights(root: Module, skip: ReadonlySet<Module> = new Set()): void {
  for (const module of root.modules()) {
    if (skip.has(module)) continue;
    if (module instanceof Linear) {
      normal_(module.weight, 0, INIT_STD);
      if (module.bias !== null) zeros_(module.bias);
    } else if (module instanceof Embedding) {
      normal_(module.weight, 0, INIT_STD);
      const row = module.paddingIdx;
      if (row !== undefined) noGrad(() => module.weight.select(0, row).zero_());
    } else if (module instanceof LayerNorm) {
      if (module.weight !== null) ones_(module.weight);
      if (module.bias !== null) zeros_(module.bias);
    }
  }
}

export interface BertModelOptions {
  /** Build `pooler.dense` (BertModel and BertForSequenceClassification have one; BertForMaskedLM does not). @default true */
  addPoolingLayer?: boolean;
}

function describe(t: unknown): string {
  return t instanceof Tensor ? `${t.dtype} of shape [${t.shape.join(', ')}]` : typeof t;
}

/**
 * The encoder (Hugging Face's BertModel): embeddings, layers, and a pooler over the first
 * token. Starts from BERT's initialisation.
 * @example
 * const bert = new BertModel({ vocabSize: 60, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64 });
 * const { lastHiddenState, pooledOutput } = bert.forward(ids, { attentionMask }); // (B, T, C), (B, C)
 */
export class BertModel extends Module {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;
  readonly config: Readonly<BertConfig>;

  constructor(config: Partial<BertConfig> = {}, options: BertModelOptions = {}) {
    super();
    this.config = bertConfig(config);
    this.embeddings = new BertEmbeddings(this.config);
    this.encoder = new BertEncoder(this.config);
    this.pooler = (options.addPoolingLayer ?? true) ? new BertPooler(this.config) : null;
    initBertWeights(this);
  }

  /** Throws a clear error unless ids is (B, T) int64 in [0, V) with T ≤ maxPositionEmbeddings, and the inputs match it. */
  #check(ids: Tensor, inputs: BertInputs, who: string): void {
    if (!(ids instanceof Tensor) || ids.ndim !== 2 || ids.dtype !== 'int64') {
      throw new TypeError(`${who}: ids must be (B, T) int64 token ids, got ${describe(ids)}`);
    }
    const [B, T] = ids.shape as [number, number];
    const { maxPositionEmbeddings, vocabSize, typeVocabSize } = this.config;
    if (T > maxPositionEmbeddings) {
      throw new RangeError(`${who}: the sequence has ${T} tokens but the model has ${maxPositionEmbeddings} positions (maxPositionEmbeddings); truncate to ${maxPositionEmbeddings}`);
    }
    if (T === 0) throw new RangeError(`${who}: ids must hold at least one token per row`);
    const range = (t: Tensor, limit: number, what: string): void => {
      const [low, high] = [t.amin().item(), t.amax().item()];
      if (low < 0 || high >= limit) throw new RangeError(`${who}: ${what} must be in [0, ${limit}), got values from ${low} to ${high}`);
    };
    range(ids, vocabSize, 'token ids (vocabSize)');
    const sameShape = (t: Tensor | undefined): boolean => t instanceof Tensor && t.ndim === 2 && t.shape[0] === B && t.shape[1] === T;
    if (inputs.attentionMask !== undefined && !sameShape(inputs.attentionMask)) {
      throw new TypeError(`${who}: attentionMask must be (B, T) = [${B}, ${T}] like ids (1 = token, 0 = padding), got ${describe(inputs.attentionMask)}`);
    }
    if (inputs.tokenTypeIds !== undefined) {
      if (!sameShape(inputs.tokenTypeIds) || inputs.tokenTypeIds.dtype !== 'int64') {
        throw new TypeError(`${who}: tokenTypeIds must be int64 (B, T) = [${B}, ${T}] like ids, got ${describe(inputs.tokenTypeIds)}`);
      }
      range(inputs.tokenTypeIds, typeVocabSize, 'tokenTypeIds (typeVocabSize)');
    }
  }

  /** ids (B, T) int64 -> hidden states (B, T, C) and the pooled first token (B, C) */
  forward(ids: Tensor, inputs: BertInputs = {}): BertOutput {
    this.#check(ids, inputs, `${this.constructor.name}.forward`);
    const tokenTypeIds = inputs.tokenTypeIds ?? zeros(ids.shape, { dtype: 'int64', device: ids.device }); // (B, T)
    const x = this.embeddings.forward(ids, tokenTypeIds); // (B, T, C)
    const hidden = this.encoder.forward(x, this.#additiveMask(inputs.attentionMask, x.dtype)); // (B, T, C)
    return { lastHiddenState: hidden, pooledOutput: this.pooler === null ? null : this.pooler.forward(hidden) };
  }

  /** (B, T) 1/0 -> (B, 1, 1, T): 0 where a key may be attended, the dtype's lowest value at padding (as Hugging Face). */
  #additiveMask(attentionMask: Tensor | undefined, dtype: DType): Tensor | null {
    if (attentionMask === undefined) return null;
    const [B, T] = attentionMask.shape as [number, number];
    const lowest = MASK_VALUE[dtype] ?? MASK_VALUE.float32!;
    return attentionMask.to({ dtype }).rsub(1).mul(lowest).view(B, 1, 1, T); // (B, T) -> (B, 1, 1, T)
  }

  override extraRepr(): string {
    const { vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize } = this.config;
    return `vocabSize=${vocabSize}, hiddenSize=${hiddenSize}, numHiddenLayers=${numHiddenLayers}, numAttentionHeads=${numAttentionHeads}, intermediateSize=${intermediateSize}`;
  }
}

/** cls.predictions.transform: dense, gelu, LayerNorm. (B, T, C) -> (B, T, C). */
export class BertPredictionHeadTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;

  constructor(config: Readonly<BertConfig>) {
    super();
    this.dense = new Linear(config.hiddenSize, config.hiddenSize);
    this.LayerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
  }

  forward(x: Tensor): Tensor {
    return this.LayerNorm.forward(this.dense.forward(x).gelu());
  }
}

/** cls.predictions: transform, then the decoder tied to the word embeddings plus its own bias. (B, T, C) -> (B, T, V). */
export class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  /** (C) -> (V), no bias of its own; its weight is bert.embeddings.word_embeddings.weight (tied). */
  decoder: Linear;
  /** (V) */
  bias: Parameter;

  constructor(config: Readonly<BertConfig>, wordEmbeddings: Parameter) {
    super();
    this.transform = new BertPredictionHeadTransform(config);
    this.decoder = new Linear(config.hiddenSize, config.vocabSize, { bias: false });
    this.decoder.weight = wordEmbeddings; // tied: one Parameter under two names
    this.bias = new Parameter(zeros([config.vocabSize]));
  }

  forward(hidden: Tensor): Tensor {
    return this.decoder.forward(this.transform.forward(hidden)).add(this.bias); // (B, T, C) -> (B, T, V)
  }
}

/** Hugging Face's BertOnlyMLMHead: a holder, so that names read `cls.predictions.…`. */
export class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;

  constructor(config: Readonly<BertConfig>, wordEmbeddings: Parameter) {
    super();
    this.predictions = new BertLMPredictionHead(config, wordEmbeddings);
  }
}

/**
 * BERT with the masked-LM head (Hugging Face's BertForMaskedLM; no pooler). Pretrain it on
 * inputs from maskTokens().
 * @example
 * const model = new BertForMaskedLM({ vocabSize: 60, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64 });
 * const { input, labels } = maskTokens(ids, { maskTokenId: 4, vocabSize: 60, specialIds: [0, 1, 2, 3, 4], seed: 1 });
 * const loss = model.loss(input, labels, { attentionMask });
 */
export class BertForMaskedLM extends Module {
  bert: BertModel;
  cls: BertOnlyMLMHead;
  readonly config: Readonly<BertConfig>;

  constructor(config: Partial<BertConfig> = {}) {
    super();
    this.bert = new BertModel(config, { addPoolingLayer: false });
    this.config = this.bert.config;
    this.cls = new BertOnlyMLMHead(this.config, this.bert.embeddings.word_embeddings.weight);
    initBertWeights(this.cls, new Set([this.cls.predictions.decoder])); // the decoder is the word embedding, initialised there
  }

  /** ids (B, T) int64 -> logits (B, T, V) */
  forward(ids: Tensor, inputs: BertInputs = {}): Tensor {
    return this.cls.predictions.forward(this.bert.forward(ids, inputs).lastHiddenState);
  }

  /** Mean cross-entropy over the positions whose label is not −100. ids, labels (B, T) int64 -> scalar */
  loss(ids: Tensor, labels: Tensor, inputs: BertInputs = {}): Tensor {
    if (!(labels instanceof Tensor) || labels.dtype !== 'int64' || labels.ndim !== 2 || labels.shape[0] !== ids.shape[0] || labels.shape[1] !== ids.shape[1]) {
      throw new TypeError(`BertForMaskedLM.loss: labels must be int64 shaped like ids [${ids.shape.join(', ')}] (−100 where not masked), got ${describe(labels)}`);
    }
    return maskedLmLoss(this.forward(ids, inputs), labels);
  }

  override extraRepr(): string {
    return this.bert.extraRepr();
  }
}

export interface SequenceClassificationOptions {
  /** Number of classes. @default 2 */
  numLabels?: number;
  /** Dropout on the pooled output before the classifier (classifier_dropout). @default config.hiddenDropout */
  classifierDropout?: number;
}

/**
 * BERT with a classifier on the pooled first token (Hugging Face's
 * BertForSequenceClassification, single-label). ids (B, T) -> logits (B, numLabels).
 */
export class BertForSequenceClassification extends Module {
  bert: BertModel;
  dropout: Dropout;
  /** (C) -> (numLabels) */
  classifier: Linear;
  readonly config: Readonly<BertConfig>;
  readonly numLabels: number;

  constructor(config: Partial<BertConfig> = {}, options: SequenceClassificationOptions = {}) {
    super();
    const numLabels = options.numLabels ?? 2;
    if (!Number.isInteger(numLabels) || numLabels < 1) throw new RangeError(`BertForSequenceClassification: numLabels must be a positive integer, got ${String(numLabels)}`);
    this.bert = new BertModel(config);
    this.config = this.bert.config;
    this.numLabels = numLabels;
    const p = options.classifierDropout ?? this.config.hiddenDropout;
    if (!(p >= 0 && p < 1)) throw new RangeError(`BertForSequenceClassification: classifierDropout must be in [0, 1), got ${p}`);
    this.dropout = new Dropout(p);
    this.classifier = new Linear(this.config.hiddenSize, numLabels);
    initBertWeights(this.classifier);
  }

  /** ids (B, T) int64 -> logits (B, numLabels) */
  forward(ids: Tensor, inputs: BertInputs = {}): Tensor {
    const pooled = this.bert.forward(ids, inputs).pooledOutput!; // (B, C)
    return this.classifier.forward(this.dropout.forward(pooled)); // (B, C) -> (B, numLabels)
  }

  /** Mean cross-entropy. ids (B, T), labels (B) int64 class indices -> scalar */
  loss(ids: Tensor, labels: Tensor, inputs: BertInputs = {}): Tensor {
    if (!(labels instanceof Tensor) || labels.dtype !== 'int64' || labels.ndim !== 1 || labels.shape[0] !== ids.shape[0]) {
      throw new TypeError(`BertForSequenceClassification.loss: labels must be int64 (B) = [${ids.shape[0]}] class indices, got ${describe(labels)}`);
    }
    return crossEntropy(this.forward(ids, inputs), labels);
  }

  override extraRepr(): string {
    return `${this.bert.extraRepr()}, numLabels=${this.numLabels}`;
  }
}
