/** Loss estimates during training. B = batch size, T = block size. */
import { evalWindows, type TokenIds } from '../data/lm-batches.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { CausalLM } from './architectures.js';
import type { PretrainConfig } from './pretrain-config.js';

/**
 * Mean loss per token over up to evalIters sequential (B, T) windows from the start of `tokens`,
 * without gradients and in eval mode (training mode is restored). Sequential windows need no
 * random numbers, so evaluating never changes what training draws next.
 */
export function evaluateLoss(model: CausalLM, tokens: TokenIds, config: Pick<PretrainConfig, 'blockSize' | 'batchSize' | 'evalIters'>): number {
  const windows = evalWindows(tokens, { blockSize: config.blockSize, batchSize: config.batchSize, maxBatches: config.evalIters });
  model.eval();
  try {
    return noGrad(() => {
      let sum = 0;
      let count = 0;
      for (const batch of windows) {
        const rows = batch.x.shape[0]!;
        sum += scope(() => model.loss(batch.x, batch.y).item()) * rows; // a batch's mean, weighted by its rows
        count += rows;
        batch.x.dispose();
        batch.y.dispose();
      }
      return sum / count;
    });
  } finally {
    model.train();
  }
}
