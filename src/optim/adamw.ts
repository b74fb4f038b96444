/** AdamW (Loshchilov & Hutter, 2017): Adam with weight decay decoupled from the gradient. */
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamGroup, type Params } from './optimizer.js';
import { mergeOptions } from './options.js';
import {
  ADAM_DEFAULTS,
  adamUpdate,
  checkAdam,
  fusedAdamStep,
  initialAdamState,
  type AdamHyperparameters,
  type AdamOptions,
  type AdamState,
} from './adam.js';

export interface AdamWOptions extends AdamOptions {
  /**
   * Decoupled weight decay: each step multiplies the parameter by (1 - lr × weightDecay) before the
   * Adam update. Put norms and biases in a group with weightDecay 0 to leave them undecayed.
   * @default 0.01
   */
  weightDecay?: number;
}

export type AdamWHyperparameters = AdamHyperparameters;

const DEFAULTS: AdamWHyperparameters = { ...ADAM_DEFAULTS, weightDecay: 0.01 };

/**
 * AdamW as PyTorch's torch.optim.AdamW.
 * @example
 * const decay = params.filter((p) => p.ndim >= 2), noDecay = params.filter((p) => p.ndim < 2);
 * new AdamW([{ params: decay, weightDecay: 0.1 }, { params: noDecay, weightDecay: 0 }], { lr: 6e-4, betas: [0.9, 0.95] })
 */
export class AdamW extends Optimizer<AdamWHyperparameters, AdamState> {
  constructor(params: Params<AdamWHyperparameters>, options: AdamWOptions = {}) {
    super('AdamW', params, mergeOptions('AdamW', DEFAULTS, options));
  }

  protected override checkHyperparameters(hyperparameters: Readonly<AdamWHyperparameters>, where: string): void {
    checkAdam(hyperparameters, where);
  }

  protected override updateGroup(group: ParamGroup<AdamWHyperparameters>): void {
    super.updateGroup(group, group.fused ? fusedAdamStep(group.params, group, (p) => this.#stateOf(p, group), true) : group.params);
  }

  protected override update(param: Tensor, grad: Tensor, group: Readonly<AdamWHyperparameters>): void {
    adamUpdate(param, grad, this.#stateOf(param, group), group, true);
  }

  #stateOf(param: Tensor, group: Readonly<AdamWHyperparameters>): AdamState {
    return this.state.get(param) ?? this.setState(param, initialAdamState(param, group.amsgrad));
  }
}
