/** Linear warm-up, then linear decay to a floor at totalSteps, then the floor. */
import { LrScheduler, type ScheduledOptimizer } from './scheduler.js';
import { type WarmupDecayOptions, type WarmupDecaySchedule, warmupDecayFunction, warmupDecayLr } from './warmup-decay.js';

export type LinearLROptions = WarmupDecayOptions;
export type LinearSchedule = WarmupDecaySchedule;

const linearCurve = (progress: number): number => 1 - progress;

/**
 * The lr at `step`: warm-up from warmupStartFactor × lr to lr over warmupSteps, then a straight
 * line down to minLr at totalSteps, then minLr.
 */
export function linearLr(step: number, schedule: LinearSchedule): number {
  return warmupDecayLr('linearLr', step, schedule, linearCurve);
}

/**
 * Warm-up then linear decay of each group's lr to its floor (the usual BERT fine-tuning schedule).
 * (torch's LinearLR is a single ramp by a factor; this is warm-up plus decay.)
 * @example new LinearLR(optimizer, { warmupSteps: Math.round(0.06 * total), totalSteps: total })
 */
export class LinearLR extends LrScheduler {
  constructor(optimizer: ScheduledOptimizer, options: LinearLROptions) {
    super(optimizer, warmupDecayFunction('LinearLR', optimizer, options, linearCurve));
  }
}
