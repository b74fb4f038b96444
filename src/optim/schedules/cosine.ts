/**
 * Linear warm-up, then cosine decay to a floor, then the floor: nanoGPT's get_lr, with a warm-up
 * that may start above zero.
 */
import { LrScheduler, type ScheduledOptimizer } from './scheduler.js';
import { type WarmupDecayOptions, type WarmupDecaySchedule, warmupDecayFunction, warmupDecayLr } from './warmup-decay.js';

export type CosineLROptions = WarmupDecayOptions;
export type CosineSchedule = WarmupDecaySchedule;

const cosineCurve = (progress: number): number => 0.5 * (1 + Math.cos(Math.PI * progress));

/**
 * The lr at `step`: warm-up from warmupStartFactor × lr to lr over warmupSteps, then
 * minLr + (lr - minLr) × (1 + cos(π × progress)) / 2 with progress going 0 → 1 until totalSteps,
 * then minLr.
 * @example cosineLr(step, { lr: 6e-4, minLr: 6e-5, warmupSteps: 2000, totalSteps: 600000 })
 */
export function cosineLr(step: number, schedule: CosineSchedule): number {
  return warmupDecayLr('cosineLr', step, schedule, cosineCurve);
}

/**
 * Warm-up then cosine decay of each group's lr to its floor.
 * @example new CosineLR(optimizer, { warmupSteps: 100, totalSteps: 5000, minLr: 3e-5 })
 */
export class CosineLR extends LrScheduler {
  constructor(optimizer: ScheduledOptimizer, options: CosineLROptions) {
    super(optimizer, warmupDecayFunction('CosineLR', optimizer, options, cosineCurve));
  }
}
