/**
 * The Universal Sentence Encoder "lite" (Cer et al. 2018; TensorFlow Hub's
 * universal-sentence-encoder-lite, as TensorFlow.js ships it): a small pre-LN Transformer
 * encoder over SentencePiece ids whose mean-pooled states pass a tanh layer into a 512-wide
 * sentence embedding. Google pretrained it on web text, question answering and natural language
 * inference; io/sentence-encoder.ts reads its TensorFlow.js weights, and fine-tuning uses it as
 * a backbone like BERT.
 *
 * What the TensorFlow graph computes, layer by layer (checked against TensorFlow.js running the
 * original graph, test/models/sentence-encoder.test.ts):
 * - twice the token embeddings (E wide) plus a sinusoidal timing signal [sin(t·w), cos(t·w)]
 *   with w_i = 10000^(−i/(E/2 − 1)), t the position. Twice: the graph adds the embeddings to
 *   (embeddings + timing signal); with them once, the sentence vectors differ by 0.1;
 * - per layer: x + out(attention(norm(x))), then x + ffn(norm(x)) with ffn = relu(x W1 + b1) W2 + b2.
 *   The first layer reads E wide and writes H wide: its attention works at E, its output
 *   projection maps E → H, and its residual path is a dense E → H projection;
 * - no final norm; the sentence vector is l2normalize(tanh(mean of the token states · P + p)).
 *
 * B = batch, T = time, E = embeddingSize, H = hiddenSize, F = intermediateSize, V = vocabSize.
 */
import { arange } from '../tensor/creation.js';
import { cat } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { runBlocks } from '../nn/gradient-checkpointing.js';
import { normal_, zeros_ } from '../nn/init.js';
import { LayerNorm } from '../nn/layer-norm.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { Buffer } from '../nn/parameter.js';
import { QKVSelfAttention } from '../nn/qkv-self-attention.js';

export interface SentenceEncoderConfig {
  vocabSize: number;
  /** E: token embeddings and the first layer's attention. */
  embeddingSize: number;
  /** H: every layer's output and the sentence vector. */
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** F: the feed-forward layer's width. */
  intermediateSize: number;
  /** The longest text read, in tokens (the graph drops tokens past it). */
  maxLength: number;
  layerNormEps: number;
  /** After attention and the feed-forward layer, when training (the released graph has none). */
  dropout: number;
}

/** universal-sentence-encoder-lite's shape. */
export const SENTENCE_ENCODER_LITE: Readonly<SentenceEncoderConfig> = {
  vocabSize: 8002,
  embeddingSize: 256,
  hiddenSize: 512,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 1536,
  maxLength: 128,
  layerNormEps: 1e-6,
  dropout: 0.1,
};

/** [sin(t·w), cos(t·w)] for t < length: (length, width). */
function timingSignal(length: number, width: number): Tensor {
  const channels = width / 2;
  const step = Math.log(1e4) / Math.max(channels - 1, 1);
  const inverse = arange(channels, { dtype: 'float32' }).mul(-step).exp(); // (width/2)
  const angles = arange(length, { dtype: 'float32' }).unsqueeze(1).mul(inverse.unsqueeze(0)); // (length, width/2)
  return cat([angles.sin(), angles.cos()], 1); // (length, width)
}

/** One pre-LN layer; `inSize` → `hiddenSize`. */
export class SentenceEncoderLayer extends Module {
  attention_norm: LayerNorm;
  attention: QKVSelfAttention;
  /** (in) → (H) */
  output: Linear;
  /** The residual path's projection when the layer widens (in → H); null when in = H. */
  residual: Linear | null;
  ffn_norm: LayerNorm;
  ffn_in: Linear;
  ffn_out: Linear;
  dropout: Dropout;

  constructor(inSize: number, config: Readonly<SentenceEncoderConfig>) {
    super();
    const H = config.hiddenSize;
    this.attention_norm = new LayerNorm(inSize, { eps: config.layerNormEps });
    this.attention = new QKVSelfAttention(inSize, config.numHeads, 0);
    this.output = new Linear(inSize, H);
    this.residual = inSize === H ? null : new Linear(inSize, H);
    this.ffn_norm = new LayerNorm(H, { eps: config.layerNormEps });
    this.ffn_in = new Linear(H, config.intermediateSize);
    this.ffn_out = new Linear(config.intermediateSize, H);
    this.dropout = new Dropout(config.dropout);
  }

  /** x (B, T, in), attnMask (B, 1, 1, T) bool -> (B, T, H) */
  forward(x: Tensor, attnMask: Tensor): Tensor {
    const attended = this.output.forward(this.attention.forward(this.attention_norm.forward(x), attnMask)); // (B, T, H)
    const h = (this.residual === null ? x : this.residual.forward(x)).add(this.dropout.forward(attended));
    const ffn = this.ffn_out.forward(this.ffn_in.forward(this.ffn_norm.forward(h)).relu()); // (B, T, F) -> (B, T, H)
    return h.add(this.dropout.forward(ffn));
  }
}

export class SentenceEncoder extends Module {
  embeddings: Embedding;
  layers: SentenceEncoderLayer[];
  /** (H) → (H), then tanh: the sentence head over the mean of the token states. */
  pooler: Linear;
  /** Recompute each layer's activations in backward (setGradientCheckpointing). */
  gradientCheckpointing = false;
  readonly config: Readonly<SentenceEncoderConfig>;
  private readonly timing: Buffer;

  constructor(config: Readonly<SentenceEncoderConfig> = SENTENCE_ENCODER_LITE) {
    super();
    if (config.embeddingSize % 2 !== 0) throw new RangeError(`SentenceEncoder: embeddingSize (${config.embeddingSize}) must be even (sine and cosine halves)`);
    this.config = { ...config };
    this.embeddings = new Embedding(config.vocabSize, config.embeddingSize);
    this.layers = Array.from({ length: config.numLayers }, (_, i) => new SentenceEncoderLayer(i === 0 ? config.embeddingSize : config.hiddenSize, config));
    this.pooler = new Linear(config.hiddenSize, config.hiddenSize);
    this.timing = new Buffer(timingSignal(config.maxLength, config.embeddingSize), { persistent: false });
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('norm.weight')) continue;
      if (name.endsWith('.bias')) zeros_(p);
      else normal_(p, 0, 0.02);
    }
  }

  /** ids (B, T) int64, mask (B, T) 1 at tokens, 0 at padding -> token states (B, T, H) */
  forward(ids: Tensor, mask: Tensor): Tensor {
    const T = ids.shape[1]!;
    if (T > this.config.maxLength) throw new RangeError(`SentenceEncoder: ${T} tokens exceed the model's ${this.config.maxLength}`);
    const x = this.embeddings.forward(ids).mul(2).add(this.timing.narrow(0, 0, T)); // (B, T, E), as the graph computes it
    const attnMask = mask.to('bool').unsqueeze(1).unsqueeze(2); // (B, 1, 1, T): keys a query may read
    return runBlocks(x, this.layers, (layer, h) => layer.forward(h, attnMask), this.gradientCheckpointing); // (B, T, H)
  }

  /** The sentence head: tanh(P · mean + p), the mean of the token states (B, H) -> (B, H). */
  sentenceHead(mean: Tensor): Tensor {
    return this.pooler.forward(mean).tanh();
  }

  /** The mean of the token states through the sentence head: states (B, T, H) -> (B, H), before the l2 norm. */
  pool(states: Tensor, mask: Tensor): Tensor {
    const weights = mask.to(states.dtype).unsqueeze(2); // (B, T, 1)
    return this.sentenceHead(states.mul(weights).sum(1).div(weights.sum(1).clamp(1))); // (B, H)
  }

  /** The sentence embeddings: ids (B, T), mask (B, T) -> (B, H), each of length 1. */
  embed(ids: Tensor, mask: Tensor): Tensor {
    const pooled = this.pool(this.forward(ids, mask), mask); // (B, H)
    return pooled.div(pooled.square().sum(1, true).clamp(1e-12).sqrt());
  }
}
