/** Adam (Kingma & Ba, 2014), with L2 weight decay added to the gradient as in PyTorch, and AMSGrad. */
import type { Tensor } from '../tensor/tensor.js';
import { zerosLike } from '../tensor/creation.js';
import { native as N } from '../tensor/native.js';
import { Optimizer, type ParamGroup, type Params } from './optimizer.js';
import { checkBoolean, checkNumber, mergeOptions } from './options.js';

export interface AdamOptions {
  /** Learning rate. @default 1e-3 */
  lr?: number;
  /** Decay rates of the running averages of the gradient and of its square. @default [0.9, 0.999] */
  betas?: readonly [number, number];
  /** Added to the denominator for numerical stability. @default 1e-8 */
  eps?: number;
  /** L2 penalty: weightDecay × param is added to the gradient (AdamW decouples it instead). @default 0 */
  weightDecay?: number;
  /** Normalise by the running maximum of the second moment (AMSGrad). @default false */
  amsgrad?: boolean;
  /** Maximize the objective instead of minimizing it. @default false */
  maximize?: boolean;
  /**
   * One native pass over each parameter's elements (PyTorch's `fused=True`) instead of the
   * update's eight to ten tensor ops; for float32 parameters on the CPU without AMSGrad (others
   * take the composed update). Equal to it up to float32 rounding. @default false
   */
  fused?: boolean;
}

export type AdamHyperparameters = Required<AdamOptions>;

export type AdamState = {
  /** Updates applied so far. */
  step: number;
  /** Running average of the gradient. */
  expAvg: Tensor;
  /** Running average of the squared gradient. */
  expAvgSq: Tensor;
  /** Running maximum of expAvgSq (AMSGrad only). */
  maxExpAvgSq?: Tensor;
};

export const ADAM_DEFAULTS: AdamHyperparameters = {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0,
  amsgrad: false,
  maximize: false,
  fused: false,
};

/** @internal Checks Adam's and AdamW's hyperparameters. */
export function checkAdam(h: AdamHyperparameters, where: string): void {
  checkNumber(where, 'lr', h.lr, { min: 0 });
  if (!Array.isArray(h.betas) || h.betas.length !== 2) {
    throw new RangeError(`${where}: betas must be a pair [beta1, beta2], got ${JSON.stringify(h.betas)}`);
  }
  checkNumber(where, 'betas[0]', h.betas[0], { min: 0, below: 1 });
  checkNumber(where, 'betas[1]', h.betas[1], { min: 0, below: 1 });
  checkNumber(where, 'eps', h.eps, { min: 0 });
  checkNumber(where, 'weightDecay', h.weightDecay, { min: 0 });
  checkBoolean(where, 'amsgrad', h.amsgrad);
  checkBoolean(where, 'maximize', h.maximize);
  checkBoolean(where, 'fused', h.fused);
}

/**
 * @internal The parameters of a fused group that have gradients and that the fused step takes
 * (float32, contiguous, on the CPU, without AMSGrad), with their state (created for new ones,
 * through `stateOf`); their steps counted and stepped by one native call. Returns the others,
 * for the composed update.
 */
export function fusedAdamStep(params: readonly Tensor[], group: Readonly<AdamHyperparameters>, stateOf: (param: Tensor) => AdamState, decoupled: boolean, gradScale = 1): Tensor[] {
  const fusable = (t: Tensor): boolean => t.dtype === 'float32' && t.device === 'cpu' && t.isContiguous();
  const fused: Tensor[] = [];
  const rest: Tensor[] = [];
  for (const param of params) {
    const grad = param.grad;
    if (grad === null) continue;
    (!group.amsgrad && fusable(param) && fusable(grad) ? fused : rest).push(param);
  }
  if (fused.length > 0) {
    const states = fused.map((param) => stateOf(param));
    for (const state of states) state.step += 1;
    N['adamStep']!(
      fused.map((p) => p.handle),
      fused.map((p) => p.grad!.handle),
      states.map((s) => s.expAvg.handle),
      states.map((s) => s.expAvgSq.handle),
      states.map((s) => s.step),
      group.lr, group.betas[0], group.betas[1], group.eps, group.weightDecay, decoupled, group.maximize, gradScale,
    );
  }
  return rest;
}

/** @internal Fresh state for one parameter (tensors not yet kept). */
export function initialAdamState(param: Tensor, amsgrad: boolean): AdamState {
  const state: AdamState = { step: 0, expAvg: zerosLike(param), expAvgSq: zerosLike(param) };
  if (amsgrad) state.maxExpAvgSq = zerosLike(param);
  return state;
}

/**
 * @internal One Adam or AdamW update of one parameter, op for op as PyTorch 1.13's
 * `_single_tensor_adam` / `_single_tensor_adamw` (not capturable): the same ops in the same order
 * give the same float32 roundings. `decoupled` selects AdamW's weight decay.
 */
export function adamUpdate(
  param: Tensor,
  grad: Tensor,
  state: AdamState,
  group: Readonly<AdamHyperparameters>,
  decoupled: boolean,
): void {
  const [beta1, beta2] = group.betas;
  let g = group.maximize ? grad.neg() : grad;
  state.step += 1;
  if (group.weightDecay !== 0) {
    if (decoupled) param.mul_(1 - group.lr * group.weightDecay);
    else g = g.add(param, group.weightDecay);
  }
  state.expAvg.mul_(beta1).add_(g, 1 - beta1);
  state.expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);
  const biasCorrection1 = 1 - beta1 ** state.step;
  const biasCorrection2 = 1 - beta2 ** state.step;
  const stepSize = group.lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  let secondMoment = state.expAvgSq;
  if (group.amsgrad) {
    // created here too when amsgrad is switched on after the first steps
    if (state.maxExpAvgSq === undefined) state.maxExpAvgSq = zerosLike(param).keep();
    state.maxExpAvgSq.copy_(state.maxExpAvgSq.maximum(state.expAvgSq));
    secondMoment = state.maxExpAvgSq;
  }
  const denominator = secondMoment.sqrt().div(biasCorrection2Sqrt).add_(group.eps);
  param.addcdiv_(state.expAvg, denominator, -stepSize);
}

/**
 * @internal What Adam and AdamW share: the state, the composed and the fused updates. `decoupled`
 * selects AdamW's weight decay.
 */
export abstract class AdamFamily extends Optimizer<AdamHyperparameters, AdamState> {
  protected abstract readonly decoupled: boolean;

  protected override checkHyperparameters(hyperparameters: Readonly<AdamHyperparameters>, where: string): void {
    checkAdam(hyperparameters, where);
  }

  /** The factor every gradient is read with in this step (stepScaled); 1 otherwise. */
  #gradScale = 1;

  /**
   * One step with every gradient read times `gradScale` (float32), as if `grad.mul_(gradScale)` had
   * run first — which is what clipping by a coefficient does — leaving `.grad` as it is. A fused
   * group multiplies inside its one pass (no pass of its own over the gradients); the composed
   * update multiplies a copy.
   */
  stepScaled(gradScale: number): void {
    if (!Number.isFinite(gradScale)) throw new RangeError(`${this.name}.stepScaled: gradScale must be finite, got ${gradScale}`);
    this.#gradScale = Math.fround(gradScale);
    try {
      this.step();
    } finally {
      this.#gradScale = 1;
    }
  }

  protected override updateGroup(group: ParamGroup<AdamHyperparameters>): void {
    super.updateGroup(group, group.fused ? fusedAdamStep(group.params, group, (p) => this.#stateOf(p, group), this.decoupled, this.#gradScale) : group.params);
  }

  protected override update(param: Tensor, grad: Tensor, group: Readonly<AdamHyperparameters>): void {
    adamUpdate(param, this.#gradScale === 1 ? grad : grad.mul(this.#gradScale), this.#stateOf(param, group), group, this.decoupled);
  }

  #stateOf(param: Tensor, group: Readonly<AdamHyperparameters>): AdamState {
    return this.state.get(param) ?? this.setState(param, initialAdamState(param, group.amsgrad));
  }
}

/**
 * Adam as PyTorch's torch.optim.Adam. Weight decay here is L2 regularisation added to the
 * gradient; for decoupled weight decay (usually what you want with Adam) use AdamW.
 * @example new Adam(model.parameters(), { lr: 1e-3, betas: [0.9, 0.98] })
 */
export class Adam extends AdamFamily {
  protected readonly decoupled = false;

  constructor(params: Params<AdamHyperparameters>, options: AdamOptions = {}) {
    super('Adam', params, mergeOptions('Adam', ADAM_DEFAULTS, options));
  }
}
