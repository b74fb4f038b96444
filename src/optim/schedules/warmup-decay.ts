/**
 * The shared shape of warm-up-then-decay schedules: linear warm-up, a decay from the peak lr to
 * a floor at totalSteps whose curve each schedule chooses, then the floor.
 */
import { checkKnownKeys, checkNumber, perGroup } from '../options.js';
import { checkStep, checkWarmup, warmupFactor, type LrFunction, type ScheduledOptimizer, type WarmupOptions } from './scheduler.js';

export interface WarmupDecayOptions extends WarmupOptions {
  /** The step at which the decay reaches minLr; the lr stays there afterwards. */
  totalSteps: number;
  /** The floor: one lr for every group, or one per group. @default 0 */
  minLr?: number | readonly number[];
}

/** The schedule for one lr, as a pure function of the step. */
export interface WarmupDecaySchedule extends Omit<WarmupDecayOptions, 'minLr'> {
  /** The peak lr, reached at the end of warm-up. */
  lr: number;
  /** The floor. @default 0 */
  minLr?: number;
}

/** How far down the decay is: 1 at progress 0 (the peak), 0 at progress 1 (the floor). */
export type DecayCurve = (progress: number) => number;

const KEYS = ['warmupSteps', 'warmupStartFactor', 'totalSteps', 'minLr'] as const;

function check(where: string, options: WarmupDecayOptions): void {
  checkKnownKeys(where, options, KEYS);
  checkWarmup(where, options);
  checkNumber(where, 'totalSteps', options.totalSteps, { min: options.warmupSteps ?? 0, integer: true });
}

/**
 * The lr at `step`: warm-up from warmupStartFactor × lr to lr over warmupSteps, then
 * minLr + curve(progress) × (lr − minLr) with progress going 0 → 1 until totalSteps, then minLr.
 */
export function warmupDecayLr(where: string, step: number, schedule: WarmupDecaySchedule, curve: DecayCurve): number {
  checkStep(where, step);
  const warmup = warmupFactor(step, schedule);
  if (warmup !== null) return schedule.lr * warmup;
  const minLr = schedule.minLr ?? 0;
  if (step >= schedule.totalSteps) return minLr;
  const warmupSteps = schedule.warmupSteps ?? 0;
  const progress = (step - warmupSteps) / (schedule.totalSteps - warmupSteps);
  return minLr + curve(progress) * (schedule.lr - minLr);
}

/** The per-group lr function a scheduler runs, after checking the options once. */
export function warmupDecayFunction(
  where: string,
  optimizer: ScheduledOptimizer,
  options: WarmupDecayOptions,
  curve: DecayCurve,
): LrFunction {
  check(where, options);
  const minLrs = perGroup(where, 'minLr', options.minLr ?? 0, optimizer.paramGroups.length);
  return (step, lr, group) => warmupDecayLr(where, step, { ...options, lr, minLr: minLrs[group]! }, curve);
}
