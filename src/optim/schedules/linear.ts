/** Linear warm-up, then linear decay to a floor at totalSteps, then the floor. */
import { checkKnownKeys, checkNumber, perGroup } from '../options.js';
import { LrScheduler, checkStep, checkWarmup, warmupFactor, type ScheduledOptimizer, type WarmupOptions } from './scheduler.js';

export interface LinearLROptions extends WarmupOptions {
  /** The step at which the decay reaches minLr; the lr stays there afterwards. */
  totalSteps: number;
  /** The floor: one lr for every group, or one per group. @default 0 */
  minLr?: number | readonly number[];
}

/** The schedule for one lr, as a pure function of the step. */
export interface LinearSchedule extends Omit<LinearLROptions, 'minLr'> {
  /** The peak lr, reached at the end of warm-up. */
  lr: number;
  /** The floor. @default 0 */
  minLr?: number;
}

const KEYS = ['warmupSteps', 'warmupStartFactor', 'totalSteps', 'minLr'] as const;

function check(where: string, options: LinearLROptions): void {
  checkKnownKeys(where, options, KEYS);
  checkWarmup(where, options);
  checkNumber(where, 'totalSteps', options.totalSteps, { min: options.warmupSteps ?? 0, integer: true });
}

/**
 * The lr at `step`: warm-up from warmupStartFactor × lr to lr over warmupSteps, then a straight
 * line down to minLr at totalSteps, then minLr.
 */
export function linearLr(step: number, schedule: LinearSchedule): number {
  checkStep('linearLr', step);
  const warmup = warmupFactor(step, schedule);
  if (warmup !== null) return schedule.lr * warmup;
  const minLr = schedule.minLr ?? 0;
  if (step >= schedule.totalSteps) return minLr;
  const warmupSteps = schedule.warmupSteps ?? 0;
  const progress = (step - warmupSteps) / (schedule.totalSteps - warmupSteps);
  return minLr + (1 - progress) * (schedule.lr - minLr);
}

/**
 * Warm-up then linear decay of each group's lr to its floor (the usual BERT fine-tuning schedule).
 * (torch's LinearLR is a single ramp by a factor; this is warm-up plus decay.)
 * @example new LinearLR(optimizer, { warmupSteps: Math.round(0.06 * total), totalSteps: total })
 */
export class LinearLR extends LrScheduler {
  constructor(optimizer: ScheduledOptimizer, options: LinearLROptions) {
    check('LinearLR', options);
    const minLrs = perGroup('LinearLR', 'minLr', options.minLr ?? 0, optimizer.paramGroups.length);
    super(optimizer, (step, lr, group) => linearLr(step, { ...options, lr, minLr: minLrs[group]! }));
  }
}
