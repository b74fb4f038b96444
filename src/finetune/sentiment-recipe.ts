/**
 * The pretrain → fine-tune recipe for short-text classification (reviews, tweets, tickets),
 * chosen by measurement in bench:sentiment (see the README's "How much does pretraining buy?"):
 *
 * 1. pretrain a 4-layer GPT on a 4,096-token byte-level BPE of broad text plus the task's own
 *    unlabelled texts (SENTIMENT_PRETRAIN);
 * 2. continue pretraining on the task's texts alone (SENTIMENT_ADAPT: domain-adaptive
 *    pretraining, `kiln pretrain --from`);
 * 3. fine-tune every weight, reading the last token's state (SENTIMENT_FINETUNE).
 */
import type { PretrainConfig } from '../train/pretrain-config.js';
import { type FinetuneConfig, USE_LITE_LR } from './finetune-config.js';

/** Stage 1: broad text and the task's texts, with a freshly trained BPE. */
export const SENTIMENT_PRETRAIN = Object.freeze({
  arch: 'gpt',
  tokenizer: 'bpe',
  vocabSize: 4096,
  layers: 4,
  heads: 4,
  dim: 128,
  blockSize: 64,
  batchSize: 16,
  lr: 1e-3,
  warmup: 100,
  maxSteps: 10_000,
  evalEvery: 500,
} satisfies Partial<PretrainConfig>);

/** Stage 2: the task's unlabelled texts alone, from stage 1's weights. */
export const SENTIMENT_ADAPT = Object.freeze({
  arch: 'gpt',
  blockSize: 64,
  batchSize: 16,
  lr: 5e-4,
  warmup: 50,
  maxSteps: 1500,
  evalEvery: 250,
} satisfies Partial<PretrainConfig>);

/** Fine-tuning: every weight, the last token's state, five passes over the labelled texts. */
export const SENTIMENT_FINETUNE = Object.freeze({
  mode: 'full',
  pooling: 'last',
  lr: 3e-4,
  dropout: 0.1,
  batchSize: 16,
  epochs: 5,
  evalEvery: 50,
} satisfies Partial<FinetuneConfig>);

/**
 * Fine-tuning the Universal Sentence Encoder lite (`--from use-lite`, pretrained by Google on web
 * text and inference data): every weight, the mean of the token states through the encoder's own
 * tanh layer, a small step for pretrained weights.
 */
export const SENTENCE_ENCODER_FINETUNE = Object.freeze({
  mode: 'full',
  pooling: 'mean',
  lr: USE_LITE_LR,
  dropout: 0.1,
  batchSize: 16,
  epochs: 5,
  evalEvery: 50,
} satisfies Partial<FinetuneConfig>);
