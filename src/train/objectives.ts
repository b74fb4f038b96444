/**
 * Training objectives: how a batch of token windows becomes a loss. Causal: score every next
 * token. Masked (BERT): hide 15% of the tokens (80% [MASK], 10% random, 10% kept) and score
 * their recovery. A masked batch's masking is a pure function of (seed, batch index, split),
 * so a resumed run masks exactly as an uninterrupted one and every evaluation masks the
 * validation windows identically, making its losses comparable.
 *
 * B = batch size, T = block size.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { IGNORE_INDEX, maskTokens } from '../models/masked-lm.js';
import type { ModelVocabulary, Objective } from './model-vocabulary.js';

/** What the loop needs of any model: a mean loss of ids against targets, (B, T) int64 each -> scalar. */
export interface LanguageModel extends Module {
  loss(ids: Tensor, targets: Tensor): Tensor;
}

export interface TrainingObjective {
  readonly name: Objective;
  /**
   * The mean loss of a training batch: x and its next tokens y, (B, T) each. `batchIndex` (the
   * sampler's count) seeds whatever the objective draws.
   */
  trainLoss(model: LanguageModel, x: Tensor, y: Tensor, batchIndex: number): Tensor;
  /** An evaluation batch's summed loss and the number of positions scored (deterministic per batchIndex). */
  evalLoss(model: LanguageModel, x: Tensor, y: Tensor, batchIndex: number): { sum: number; count: number };
}

/** Next-token prediction: every position is scored against the following token. */
export const causalObjective: TrainingObjective = {
  name: 'causal',
  trainLoss: (model, x, y) => model.loss(x, y),
  evalLoss: (model, x, y) => {
    const count = x.numel();
    return { sum: model.loss(x, y).item() * count, count };
  },
};

/** A 32-bit mix (murmur3's finalizer): unrelated seeds for neighbouring batches. */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Salts that keep training and evaluation masks apart. */
const TRAIN_SALT = 0x6d61736b;
const EVAL_SALT = 0x65766c31;

/**
 * BERT's masked-LM objective over the run's vocabulary (which must have a [MASK] id). The
 * windows' targets are not used: the labels are the hidden tokens themselves.
 */
export function maskedObjective(vocabulary: ModelVocabulary, seed: number): TrainingObjective {
  const maskTokenId = vocabulary.maskTokenId;
  if (maskTokenId === null) throw new Error('maskedObjective: the vocabulary has no [MASK] id; build it with modelVocabulary(tokenizer, "masked", …)');
  const specialIds = [maskTokenId, ...(vocabulary.padTokenId === null ? [] : [vocabulary.padTokenId])];
  const mask = (x: Tensor, salt: number, batchIndex: number) =>
    maskTokens(x, { maskTokenId, vocabSize: vocabulary.size, specialIds, seed: mix32(seed ^ mix32(salt + batchIndex)) });
  return {
    name: 'masked',
    trainLoss: (model, x, _y, batchIndex) => {
      const { input, labels } = mask(x, TRAIN_SALT, batchIndex); // (B, T), (B, T)
      return model.loss(input, labels);
    },
    evalLoss: (model, x, _y, batchIndex) => {
      const { input, labels } = mask(x, EVAL_SALT, batchIndex);
      const count = labels.ne(IGNORE_INDEX).sum().item();
      return { sum: count === 0 ? 0 : model.loss(input, labels).item() * count, count };
    },
  };
}
