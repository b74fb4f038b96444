/**
 * Training objectives: how a batch of token windows becomes a loss. Causal: score every next
 * token. Masked (BERT): hide 15% of the tokens (80% [MASK], 10% random, 10% kept) and score
 * their recovery. A training window's masking is a pure function of (seed, batch, row), so a
 * resumed run masks exactly as an uninterrupted one, and a batch split into micro-batches or
 * over ranks masks each window as the whole batch would; each part's loss is weighted by the
 * positions it scores, so the parts' gradients add up to the whole batch's. An evaluation
 * batch's masking is a pure function of (seed, batch index): every evaluation masks the
 * validation windows identically, making its losses comparable.
 *
 * B = batch size, T = block size.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { SeededRandom } from '../data/random.js';
import { IGNORE_INDEX, maskIds, maskTokens } from '../models/masked-lm.js';
import { tensor } from '../tensor/creation.js';
import type { ModelVocabulary, Objective } from './model-vocabulary.js';

/** What the loop needs of any model: a mean loss of ids against targets, (B, T) int64 each -> scalar. */
export interface LanguageModel extends Module {
  loss(ids: Tensor, targets: Tensor): Tensor;
}

/** Which training window a row of x is: its batch (the sampler's count) and row within the whole batch (over every rank). */
export interface WindowKey {
  batch: number;
  row: number;
}

export interface TrainingObjective {
  readonly name: Objective;
  /** How many positions of these windows (their input ids, T each) the loss scores: the denominator of its mean. */
  scored(windows: readonly ArrayLike<number>[], keys: readonly WindowKey[]): number;
  /**
   * The mean loss of training windows: x and its next tokens y, (B, T) each; `keys` (one per row)
   * seed whatever the objective draws.
   */
  trainLoss(model: LanguageModel, x: Tensor, y: Tensor, keys: readonly WindowKey[]): Tensor;
  /** An evaluation batch's summed loss and the number of positions scored (deterministic per batchIndex). */
  evalLoss(model: LanguageModel, x: Tensor, y: Tensor, batchIndex: number): { sum: number; count: number };
}

/** Next-token prediction: every position is scored against the following token. */
export const causalObjective: TrainingObjective = {
  name: 'causal',
  scored: (windows) => windows.reduce((sum, w) => sum + w.length, 0),
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
  const options = { maskTokenId, vocabSize: vocabulary.size, specialIds };
  const mask = (x: Tensor, salt: number, batchIndex: number) => maskTokens(x, { ...options, seed: mix32(seed ^ mix32(salt + batchIndex)) });
  const maskWindow = (ids: ArrayLike<number | bigint>, key: WindowKey) => maskIds(ids, options, new SeededRandom(mix32(mix32(seed ^ mix32(TRAIN_SALT + key.batch)) + key.row)));
  return {
    name: 'masked',
    scored: (windows, keys) => windows.reduce((sum, w, i) => sum + maskWindow(w, keys[i]!).picked, 0),
    trainLoss: (model, x, _y, keys) => {
      const [B, T] = x.shape as [number, number];
      const ids = x.toTypedArray() as BigInt64Array;
      const input = new BigInt64Array(B * T);
      const labels = new BigInt64Array(B * T);
      keys.forEach((key, b) => {
        const masked = maskWindow(ids.subarray(b * T, (b + 1) * T), key);
        input.set(masked.input, b * T);
        labels.set(masked.labels, b * T);
      });
      return model.loss(tensor(input, { shape: [B, T] }), tensor(labels, { shape: [B, T] })); // (B, T), (B, T)
    },
    evalLoss: (model, x, _y, batchIndex) => {
      const { input, labels } = mask(x, EVAL_SALT, batchIndex);
      const count = labels.ne(IGNORE_INDEX).sum().item();
      return { sum: count === 0 ? 0 : model.loss(input, labels).item() * count, count };
    },
  };
}
