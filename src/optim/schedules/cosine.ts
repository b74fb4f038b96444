/**
 * Linear warm-up, then cosine decay to a floor, then the floor: nanoGPT's get_lr, with a warm-up
 * that may start above zero.
 */
import { checkKnownKeys, checkNumber, perGroup } from '../options.js';
import { LrScheduler, checkStep, checkWarmup, warmupFactor, type ScheduledOptimizer, type WarmupOptions } from './scheduler.js';

export interface CosineLROptions extends WarmupOptions {
  /** The step at which the decay reaches minLr; the lr stays there afterwards. */
  totalSteps: number;
  /** The floor: one lr for every group, or one per group. @default 0 */
  minLr?: number | readonly number[];
}

/** The schedule for one lr, as a pure function of the step. */
export interface CosineSchedule extends Omit<CosineLROptions, 'minLr'> {
  /** The peak lr, reached at the end of warm-up. */
  lr: number;
  /** The floor. @default 0 */
  minLr?: number;
}

const KEYS = ['warmupSteps', 'warmupStartFactor', 'totalSteps', 'minLr'] as const;

function check(where: string, options: CosineLROptions): void {
  checkKnownKeys(where, options, KEYS);
  checkWarmup(where, options);
  checkNumber(where, 'totalSteps', options.totalSteps, { min: options.warmupSteps ?? 0, integer: true });
}

/**
 * The lr at `step`: warm-up from warmupStartFactor × lr to lr over warmupSteps, then
 * minLr + (lr - minLr) × (1 + cos(π × progress)) / 2 with progress going 0 → 1 until totalSteps,
 * then minLr.
 * @example cosineLr(step, { lr: 6e-4, minLr: 6e-5, warmupSteps: 2000, totalSteps: 600000 })
 */
export function cosineLr(step: number, schedule: CosineSchedule): number {
  checkStep('cosineLr', step);
  const warmup = warmupFactor(step, schedule);
  if (warmup !== null) return schedule.lr * warmup;
  const minLr = schedule.minLr ?? 0;
  if (step >= schedule.totalSteps) return minLr;
  const warmupSteps = schedule.warmupSteps ?? 0;
  const progress = (step - warmupSteps) / (schedule.totalSteps - warmupSteps);
  const coefficient = 0.5 * (1 + Math.cos(Math.PI * progress));
  return minLr + coefficient * (schedule.lr - minLr);
}

/**
 * Warm-up then cosine decay of each group's lr to its floor.
 * @example new CosineLR(optimizer, { warmupSteps: 100, totalSteps: 5000, minLr: 3e-5 })
 */
export class CosineLR extends LrScheduler {
  constructor(optimizer: ScheduledOptimizer, options: CosineLROptions) {
    check('CosineLR', options);
    const minLrs = perGroup('CosineLR', 'minLr', options.minLr ?? 0, optimizer.paramGroups.length);
    super(optimizer, (step, lr, group) => cosineLr(step, { ...options, lr, minLr: minLrs[group]! }));
  }
}
