/** Step decay: the lr is multiplied by gamma every stepSize steps (torch.optim.lr_scheduler.StepLR). */
import { checkKnownKeys, checkNumber } from '../options.js';
import { LrScheduler, checkStep, type ScheduledOptimizer } from './scheduler.js';

export interface StepLROptions {
  /** Steps between decays. */
  stepSize: number;
  /** The factor applied at each decay. @default 0.1 */
  gamma?: number;
}

/** The schedule for one lr, as a pure function of the step. */
export interface StepSchedule extends StepLROptions {
  /** The lr before the first decay. */
  lr: number;
}

const KEYS = ['stepSize', 'gamma'] as const;

function check(where: string, options: StepLROptions): void {
  checkKnownKeys(where, options, KEYS);
  checkNumber(where, 'stepSize', options.stepSize, { min: 1, integer: true });
  if (options.gamma !== undefined) checkNumber(where, 'gamma', options.gamma, { min: 0 });
}

/** The lr at `step`: lr × gamma^⌊step / stepSize⌋. */
export function stepLr(step: number, schedule: StepSchedule): number {
  checkStep('stepLr', step);
  return schedule.lr * (schedule.gamma ?? 0.1) ** Math.floor(step / schedule.stepSize);
}

/**
 * Multiplies each group's lr by gamma every stepSize steps, as torch's StepLR.
 * @example new StepLR(optimizer, { stepSize: 30, gamma: 0.1 })
 */
export class StepLR extends LrScheduler {
  constructor(optimizer: ScheduledOptimizer, options: StepLROptions) {
    check('StepLR', options);
    super(optimizer, (step, lr) => stepLr(step, { ...options, lr }));
  }
}
