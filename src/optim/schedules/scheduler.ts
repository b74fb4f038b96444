/**
 * LrScheduler: sets the lr of an optimizer's param groups from a schedule, a pure function of the
 * step. Used like PyTorch's: build it after the optimizer (it sets the step-0 lr at once), then
 * call `scheduler.step()` after each `optimizer.step()`.
 *
 * Each group keeps its own base lr (its lr when the scheduler was built), so discriminative lrs
 * keep their ratios through the schedule.
 */
import { checkNumber } from '../options.js';

/** What a scheduler needs of an optimizer: its param groups, whose lr it writes. */
export interface ScheduledOptimizer {
  readonly paramGroups: readonly { lr: number }[];
}

/** The lr of group `group` at `step`, given the lr the group had when the scheduler was built. */
export type LrFunction = (step: number, baseLr: number, group: number) => number;

/** Saved with a checkpoint to resume a schedule where it was. */
export interface LrSchedulerState {
  /** Scheduler steps taken. */
  step: number;
  /** Each group's base lr. */
  baseLrs: number[];
}

export class LrScheduler {
  readonly optimizer: ScheduledOptimizer;
  readonly #lrFunction: LrFunction;
  readonly #onStep: ((step: number) => void) | undefined;
  #baseLrs: number[];
  #step = 0;
  #lastLr: number[] = [];

  /**
   * @param onStep also run after the lr is set at every step (for schedules that set more than the
   *   lr, such as one-cycle's momentum).
   */
  constructor(optimizer: ScheduledOptimizer, lrFunction: LrFunction, onStep?: (step: number) => void) {
    if (optimizer === null || typeof optimizer !== 'object' || !Array.isArray(optimizer.paramGroups)) {
      throw new TypeError('LrScheduler: expected an optimizer (something with paramGroups)');
    }
    this.optimizer = optimizer;
    this.#lrFunction = lrFunction;
    this.#onStep = onStep;
    this.#baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.#apply();
  }

  /** The lr of every param group at `step` (pure: sets nothing). */
  lrAt(step: number): number[] {
    return this.#baseLrs.map((baseLr, group) => this.#lrFunction(step, baseLr, group));
  }

  /** Advances one step and sets the new lr on every param group. */
  step(): void {
    this.#step += 1;
    this.#apply();
  }

  /** The lr last set on each param group. */
  get lastLr(): readonly number[] {
    return this.#lastLr;
  }

  /** Steps taken since the schedule began (0 right after construction). */
  get stepCount(): number {
    return this.#step;
  }

  /** Each group's base lr. */
  get baseLrs(): readonly number[] {
    return this.#baseLrs;
  }

  stateDict(): LrSchedulerState {
    return { step: this.#step, baseLrs: [...this.#baseLrs] };
  }

  /** Resumes at the saved step (and sets that step's lr on the optimizer). */
  loadStateDict(state: LrSchedulerState): void {
    checkNumber('LrScheduler.loadStateDict', 'step', state.step, { min: 0, integer: true });
    const groups = this.optimizer.paramGroups.length;
    if (!Array.isArray(state.baseLrs) || state.baseLrs.length !== groups) {
      throw new RangeError(`LrScheduler.loadStateDict: ${state.baseLrs?.length} base lrs saved but the optimizer has ${groups} param groups`);
    }
    state.baseLrs.forEach((lr, i) => checkNumber('LrScheduler.loadStateDict', `baseLrs[${i}]`, lr, { min: 0 }));
    this.#step = state.step;
    this.#baseLrs = [...state.baseLrs];
    this.#apply();
  }

  #apply(): void {
    const lrs = this.lrAt(this.#step);
    this.optimizer.paramGroups.forEach((group, i) => {
      group.lr = lrs[i]!;
    });
    this.#lastLr = lrs;
    this.#onStep?.(this.#step);
  }
}

/** Options of the warm-up that several schedules begin with. */
export interface WarmupOptions {
  /** Steps of linear warm-up at the start (0: none). @default 0 */
  warmupSteps?: number;
  /** The fraction of the lr that warm-up starts from, at step 0. @default 0 */
  warmupStartFactor?: number;
}

/** @internal Checks warm-up options; `where` names the caller. */
export function checkWarmup(where: string, options: WarmupOptions): void {
  if (options.warmupSteps !== undefined) checkNumber(where, 'warmupSteps', options.warmupSteps, { min: 0, integer: true });
  if (options.warmupStartFactor !== undefined) checkNumber(where, 'warmupStartFactor', options.warmupStartFactor, { min: 0, max: 1 });
}

/** @internal Checks a step given to a pure lr function. */
export function checkStep(where: string, step: number): void {
  checkNumber(where, 'step', step, { min: 0, integer: true });
}

/**
 * @internal The warm-up factor at `step` (from warmupStartFactor at step 0 rising linearly towards
 * 1 at warmupSteps), or null once warm-up is over.
 */
export function warmupFactor(step: number, options: WarmupOptions): number | null {
  const steps = options.warmupSteps ?? 0;
  if (step >= steps) return null;
  const start = options.warmupStartFactor ?? 0;
  return start + ((1 - start) * step) / steps;
}
