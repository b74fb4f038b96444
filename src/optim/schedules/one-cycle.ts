/**
 * The one-cycle policy (Smith & Topin, 2017) as torch.optim.lr_scheduler.OneCycleLR (two phases):
 * the lr rises from maxLr / divFactor to maxLr over the first pctStart of the steps, then falls to
 * maxLr / (divFactor × finalDivFactor) at the last step; momentum optionally moves the other way.
 */
import { checkBoolean, checkKnownKeys, checkNumber, perGroup } from '../options.js';
import { LrScheduler, checkStep, type ScheduledOptimizer } from './scheduler.js';

export interface OneCycleLROptions {
  /** The peak lr: one for every group, or one per group. Groups' own lrs are not used. */
  maxLr: number | readonly number[];
  /** Steps in the cycle; step totalSteps - 1 has the final lr, which stays after. */
  totalSteps: number;
  /** The fraction of the steps spent rising. @default 0.3 */
  pctStart?: number;
  /** The curve of both phases. @default 'cos' */
  anneal?: 'cos' | 'linear';
  /** The initial lr is maxLr / divFactor. @default 25 */
  divFactor?: number;
  /** The final lr is the initial lr / finalDivFactor. @default 1e4 */
  finalDivFactor?: number;
  /**
   * Also move momentum (SGD's and RMSprop's momentum, Adam's beta1) from maxMomentum down to
   * baseMomentum while the lr rises, and back while it falls. (torch's default is true.)
   * @default false
   */
  cycleMomentum?: boolean;
  /** The momentum at the lr's peak. @default 0.85 */
  baseMomentum?: number | readonly number[];
  /** The momentum at the start and the end. @default 0.95 */
  maxMomentum?: number | readonly number[];
}

/** The lr schedule for one group, as a pure function of the step. */
export type OneCycleSchedule = Omit<OneCycleLROptions, 'maxLr' | 'cycleMomentum' | 'baseMomentum' | 'maxMomentum'> & {
  maxLr: number;
};

const KEYS = [
  'maxLr', 'totalSteps', 'pctStart', 'anneal', 'divFactor', 'finalDivFactor', 'cycleMomentum', 'baseMomentum', 'maxMomentum',
] as const;

function check(where: string, options: OneCycleLROptions): void {
  checkKnownKeys(where, options, KEYS);
  checkNumber(where, 'totalSteps', options.totalSteps, { min: 1, integer: true });
  if (options.pctStart !== undefined) checkNumber(where, 'pctStart', options.pctStart, { min: 0, max: 1 });
  if (options.anneal !== undefined && options.anneal !== 'cos' && options.anneal !== 'linear') {
    throw new RangeError(`${where}: anneal must be 'cos' or 'linear', got ${String(options.anneal)}`);
  }
  if (options.divFactor !== undefined) checkNumber(where, 'divFactor', options.divFactor, { min: Number.MIN_VALUE });
  if (options.finalDivFactor !== undefined) checkNumber(where, 'finalDivFactor', options.finalDivFactor, { min: Number.MIN_VALUE });
  if (options.cycleMomentum !== undefined) checkBoolean(where, 'cycleMomentum', options.cycleMomentum);
  // PyTorch divides step 0 by the rising phase's length, which this makes 0
  if (phaseEnds(options.totalSteps, options.pctStart ?? 0.3).warmupEnd === 0) {
    throw new RangeError(`${where}: pctStart ${options.pctStart ?? 0.3} × totalSteps ${options.totalSteps} = 1 leaves the rising phase with no length; use more steps or another pctStart`);
  }
}

/** The last step of the rising phase (fractional, as PyTorch's) and of the cycle. */
function phaseEnds(totalSteps: number, pctStart: number): { warmupEnd: number; end: number } {
  return { warmupEnd: pctStart * totalSteps - 1, end: totalSteps - 1 };
}

/** @internal From `start` at pct 0 to `end` at pct 1. */
function anneal(kind: 'cos' | 'linear', start: number, end: number, pct: number): number {
  if (kind === 'linear') return (end - start) * pct + start;
  const cosOut = Math.cos(Math.PI * pct) + 1;
  return end + ((start - end) / 2.0) * cosOut;
}

/** The position in the cycle: which phase, and how far through it (0 → 1). */
function position(step: number, schedule: { totalSteps: number; pctStart?: number }): { rising: boolean; pct: number } {
  const { warmupEnd, end } = phaseEnds(schedule.totalSteps, schedule.pctStart ?? 0.3);
  const s = Math.min(step, end); // after the cycle, stay at its last value
  if (s <= warmupEnd) return { rising: true, pct: s / warmupEnd };
  return { rising: false, pct: (s - warmupEnd) / (end - warmupEnd) };
}

/** The lr at `step` of a one-cycle schedule peaking at maxLr. */
export function oneCycleLr(step: number, schedule: OneCycleSchedule): number {
  checkStep('oneCycleLr', step);
  const initialLr = schedule.maxLr / (schedule.divFactor ?? 25);
  const minLr = initialLr / (schedule.finalDivFactor ?? 1e4);
  const kind = schedule.anneal ?? 'cos';
  const { rising, pct } = position(step, schedule);
  return rising ? anneal(kind, initialLr, schedule.maxLr, pct) : anneal(kind, schedule.maxLr, minLr, pct);
}

/** The momentum at `step` of a one-cycle schedule: maxMomentum → baseMomentum → maxMomentum. */
export function oneCycleMomentum(
  step: number,
  schedule: { totalSteps: number; pctStart?: number; anneal?: 'cos' | 'linear'; baseMomentum?: number; maxMomentum?: number },
): number {
  checkStep('oneCycleMomentum', step);
  const base = schedule.baseMomentum ?? 0.85;
  const max = schedule.maxMomentum ?? 0.95;
  const { rising, pct } = position(step, schedule);
  return rising ? anneal(schedule.anneal ?? 'cos', max, base, pct) : anneal(schedule.anneal ?? 'cos', base, max, pct);
}

type MomentumGroup = { lr: number; momentum?: number; betas?: readonly number[] };

/**
 * One-cycle lr (and optionally momentum) for every param group, as torch's OneCycleLR.
 * @example new OneCycleLR(optimizer, { maxLr: 0.01, totalSteps: epochs * batchesPerEpoch })
 */
export class OneCycleLR extends LrScheduler {
  constructor(optimizer: ScheduledOptimizer, options: OneCycleLROptions) {
    check('OneCycleLR', options);
    const groups = optimizer.paramGroups as readonly MomentumGroup[];
    const maxLrs = perGroup('OneCycleLR', 'maxLr', options.maxLr, groups.length);
    maxLrs.forEach((lr, i) => checkNumber('OneCycleLR', `maxLr of group ${i}`, lr, { min: 0 }));
    const { maxLr: _maxLr, baseMomentum, maxMomentum, cycleMomentum, ...shape } = options;
    let setMomentum: ((step: number) => void) | undefined;
    if (cycleMomentum === true) {
      groups.forEach((g, i) => {
        if (g.momentum === undefined && g.betas === undefined) {
          throw new TypeError(`OneCycleLR: cycleMomentum is on but param group ${i} has neither momentum nor betas; turn cycleMomentum off`);
        }
      });
      const bases = perGroup('OneCycleLR', 'baseMomentum', baseMomentum ?? 0.85, groups.length);
      const maxes = perGroup('OneCycleLR', 'maxMomentum', maxMomentum ?? 0.95, groups.length);
      setMomentum = (step) => {
        groups.forEach((g, i) => {
          const momentum = oneCycleMomentum(step, { ...shape, baseMomentum: bases[i]!, maxMomentum: maxes[i]! });
          if (g.betas !== undefined) g.betas = [momentum, ...g.betas.slice(1)];
          else g.momentum = momentum;
        });
      };
    }
    super(optimizer, (step, _baseLr, group) => oneCycleLr(step, { ...shape, maxLr: maxLrs[group]! }), setMomentum);
  }
}
