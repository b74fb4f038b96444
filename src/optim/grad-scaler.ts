/**
 * Dynamic loss scaling for fp16 training, as PyTorch's `torch.cuda.amp.GradScaler` does it: the
 * loss is multiplied by a scale (2^16 to start) before backward so that small gradients survive
 * fp16's range; `unscale` divides the gradients back (before clipping) and notes whether any is
 * inf or NaN; `step` skips the optimizer step when one was; `update` halves the scale after such
 * a step and doubles it after `growthInterval` clean steps in a row.
 *
 * @example
 * const scaler = new GradScaler();
 * scaler.scale(loss).backward();
 * scaler.unscale(optimizer);           // then clip, if you clip
 * scaler.step(optimizer);              // skipped when a gradient is inf or NaN
 * scaler.update();
 */
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer } from './optimizer.js';

export interface GradScalerOptions {
  /** @default 65536 */
  initScale?: number;
  /** @default 2 */
  growthFactor?: number;
  /** @default 0.5 */
  backoffFactor?: number;
  /** Clean steps in a row before the scale grows. @default 2000 */
  growthInterval?: number;
}

export interface GradScalerState {
  scale: number;
  growthTracker: number;
}

/** What the scaler needs of an optimizer (every Kiln optimizer has it). */
type AnyOptimizer = Pick<Optimizer<never, never>, 'step'> & { readonly paramGroups: readonly { readonly params: readonly Tensor[] }[] };

export class GradScaler {
  #scale: number;
  #growthTracker = 0;
  readonly #growth: number;
  readonly #backoff: number;
  readonly #interval: number;
  /** Whether the gradients unscaled for the coming step hold an inf or NaN (null: not unscaled yet). */
  #foundInf: boolean | null = null;

  constructor(options: GradScalerOptions = {}) {
    this.#scale = options.initScale ?? 65536;
    this.#growth = options.growthFactor ?? 2;
    this.#backoff = options.backoffFactor ?? 0.5;
    this.#interval = options.growthInterval ?? 2000;
    if (!(this.#scale > 0 && Number.isFinite(this.#scale))) throw new RangeError(`GradScaler: initScale must be a positive number, got ${this.#scale}`);
    if (!(this.#growth > 1)) throw new RangeError(`GradScaler: growthFactor must be above 1, got ${this.#growth}`);
    if (!(this.#backoff > 0 && this.#backoff < 1)) throw new RangeError(`GradScaler: backoffFactor must be in (0, 1), got ${this.#backoff}`);
    if (!(Number.isInteger(this.#interval) && this.#interval >= 1)) throw new RangeError(`GradScaler: growthInterval must be a positive integer, got ${this.#interval}`);
  }

  /** The current scale. */
  get scaleValue(): number {
    return this.#scale;
  }

  /** The loss times the scale (backward this instead of the loss). */
  scale(loss: Tensor): Tensor {
    return loss.mul(this.#scale);
  }

  /** Divides every gradient the optimizer will step by the scale, in place, and notes whether any is inf or NaN. Once per step. */
  unscale(optimizer: AnyOptimizer): void {
    if (this.#foundInf !== null) throw new Error('GradScaler.unscale: already unscaled since the last update()');
    let found = false;
    noGrad(() => {
      for (const group of optimizer.paramGroups) {
        for (const param of group.params) {
          scope(() => {
            const grad = param.grad;
            if (grad === null) return;
            grad.mul_(1 / this.#scale);
            if (!found && Number(grad.isfinite().all().item()) === 0) found = true;
          });
        }
      }
    });
    this.#foundInf = found;
  }

  /** Steps the optimizer unless the unscaled gradients held an inf or NaN; returns whether it stepped. */
  step(optimizer: AnyOptimizer): boolean {
    if (this.#foundInf === null) this.unscale(optimizer);
    if (this.#foundInf === true) return false;
    optimizer.step();
    return true;
  }

  /** After each step: the scale backs off after a skipped step and grows after growthInterval clean ones. */
  update(): void {
    if (this.#foundInf === null) throw new Error('GradScaler.update: call step() (or unscale()) first');
    if (this.#foundInf) {
      this.#scale *= this.#backoff;
      this.#growthTracker = 0;
    } else if (++this.#growthTracker === this.#interval) {
      this.#scale *= this.#growth;
      this.#growthTracker = 0;
    }
    this.#foundInf = null;
  }

  stateDict(): GradScalerState {
    return { scale: this.#scale, growthTracker: this.#growthTracker };
  }

  loadStateDict(state: GradScalerState): void {
    this.#scale = state.scale;
    this.#growthTracker = state.growthTracker;
  }
}
