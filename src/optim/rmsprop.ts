/** RMSprop (Hinton's lecture 6e), with optional momentum and the centered variant (Graves, 2013). */
import type { Tensor } from '../tensor/tensor.js';
import { zerosLike } from '../tensor/creation.js';
import { Optimizer, type Params } from './optimizer.js';
import { checkBoolean, checkNumber, mergeOptions } from './options.js';

export interface RMSpropOptions {
  /** Learning rate. @default 1e-2 */
  lr?: number;
  /** Decay rate of the running average of the squared gradient. @default 0.99 */
  alpha?: number;
  /** Added to the denominator for numerical stability. @default 1e-8 */
  eps?: number;
  /** L2 penalty: weightDecay × param is added to the gradient. @default 0 */
  weightDecay?: number;
  /** Momentum factor; 0 turns momentum off. @default 0 */
  momentum?: number;
  /** Normalise by an estimate of the gradient's variance instead of its second moment. @default false */
  centered?: boolean;
  /** Maximize the objective instead of minimizing it. @default false */
  maximize?: boolean;
}

export type RMSpropHyperparameters = Required<RMSpropOptions>;

export type RMSpropState = {
  step: number;
  /** Running average of the squared gradient. */
  squareAvg: Tensor;
  /** Momentum buffer (momentum > 0 only). */
  momentumBuffer?: Tensor;
  /** Running average of the gradient (centered only). */
  gradAvg?: Tensor;
};

const DEFAULTS: RMSpropHyperparameters = {
  lr: 1e-2,
  alpha: 0.99,
  eps: 1e-8,
  weightDecay: 0,
  momentum: 0,
  centered: false,
  maximize: false,
};

function check(h: RMSpropHyperparameters, where: string): void {
  checkNumber(where, 'lr', h.lr, { min: 0 });
  checkNumber(where, 'alpha', h.alpha, { min: 0 });
  checkNumber(where, 'eps', h.eps, { min: 0 });
  checkNumber(where, 'weightDecay', h.weightDecay, { min: 0 });
  checkNumber(where, 'momentum', h.momentum, { min: 0 });
  checkBoolean(where, 'centered', h.centered);
  checkBoolean(where, 'maximize', h.maximize);
}

/**
 * RMSprop as PyTorch's torch.optim.RMSprop (op for op as its single-tensor implementation).
 * @example new RMSprop(model.parameters(), { lr: 1e-3, momentum: 0.9, centered: true })
 */
export class RMSprop extends Optimizer<RMSpropHyperparameters, RMSpropState> {
  constructor(params: Params<RMSpropHyperparameters>, options: RMSpropOptions = {}) {
    super('RMSprop', params, mergeOptions('RMSprop', DEFAULTS, options));
  }

  protected override checkHyperparameters(hyperparameters: Readonly<RMSpropHyperparameters>, where: string): void {
    check(hyperparameters, where);
  }

  protected override update(param: Tensor, grad: Tensor, group: Readonly<RMSpropHyperparameters>): void {
    const state = this.state.get(param) ?? this.setState(param, { step: 0, squareAvg: zerosLike(param) });
    state.step += 1;
    let g = group.maximize ? grad.neg() : grad;
    if (group.weightDecay !== 0) g = g.add(param, group.weightDecay);
    state.squareAvg.mul_(group.alpha).addcmul_(g, g, 1 - group.alpha);
    let avg: Tensor;
    if (group.centered) {
      state.gradAvg ??= zerosLike(param).keep();
      state.gradAvg.mul_(group.alpha).add_(g, 1 - group.alpha);
      // squareAvg - gradAvg²; clone + addcmul_ is PyTorch's out-of-place addcmul
      avg = state.squareAvg.clone().addcmul_(state.gradAvg, state.gradAvg, -1).sqrt_();
    } else {
      avg = state.squareAvg.sqrt();
    }
    avg.add_(group.eps);
    if (group.momentum > 0) {
      state.momentumBuffer ??= zerosLike(param).keep();
      state.momentumBuffer.mul_(group.momentum).addcdiv_(g, avg);
      param.add_(state.momentumBuffer, -group.lr);
    } else {
      param.addcdiv_(g, avg, -group.lr);
    }
  }
}
