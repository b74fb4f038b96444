/** A constant learning rate, optionally after a linear warm-up. */
import { checkKnownKeys } from '../options.js';
import { LrScheduler, checkStep, checkWarmup, warmupFactor, type ScheduledOptimizer, type WarmupOptions } from './scheduler.js';

export type ConstantLROptions = WarmupOptions;

/** The schedule for one lr, as a pure function of the step. */
export interface ConstantSchedule extends ConstantLROptions {
  /** The lr after warm-up. */
  lr: number;
}

const KEYS = ['warmupSteps', 'warmupStartFactor'] as const;

/** The lr at `step`: `lr` after warm-up, rising linearly from `warmupStartFactor × lr` before. */
export function constantLr(step: number, schedule: ConstantSchedule): number {
  checkStep('constantLr', step);
  return schedule.lr * (warmupFactor(step, schedule) ?? 1);
}

/**
 * Keeps each group's lr, after an optional linear warm-up. (Unlike torch's ConstantLR, which
 * scales the lr by a factor for the first steps; that is warmupStartFactor with a jump at the end.)
 * @example new ConstantLR(optimizer, { warmupSteps: 100 })
 */
export class ConstantLR extends LrScheduler {
  constructor(optimizer: ScheduledOptimizer, options: ConstantLROptions = {}) {
    checkKnownKeys('ConstantLR', options, KEYS);
    checkWarmup('ConstantLR', options);
    super(optimizer, (step, lr) => constantLr(step, { ...options, lr }));
  }
}
