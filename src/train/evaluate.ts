/** Loss estimates during training. B = batch size, T = block size. */
import { evalWindows, type TokenIds } from '../data/lm-batches.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { type LanguageModel, type TrainingObjective, causalObjective } from './objectives.js';
import type { PretrainConfig } from './pretrain-config.js';

/**
 * Mean loss per scored token over up to evalIters sequential (B, T) windows from the start of
 * `tokens`, without gradients and in eval mode (training mode is restored). Sequential windows
 * (and the masked objective's per-batch seeds) need no shared random numbers, so evaluating
 * never changes what training draws next, and evaluating twice gives the same number.
 */
export function evaluateLoss(
  model: LanguageModel,
  tokens: TokenIds,
  config: Pick<PretrainConfig, 'blockSize' | 'batchSize' | 'evalIters'>,
  objective: TrainingObjective = causalObjective,
): number {
  const windows = evalWindows(tokens, { blockSize: config.blockSize, batchSize: config.batchSize, maxBatches: config.evalIters });
  model.eval();
  try {
    return noGrad(() => {
      let sum = 0;
      let count = 0;
      let index = 0;
      for (const batch of windows) {
        const part = scope(() => objective.evalLoss(model, batch.x, batch.y, index++));
        sum += part.sum;
        count += part.count;
        batch.x.dispose();
        batch.y.dispose();
      }
      return sum / count;
    });
  } finally {
    model.train();
  }
}
