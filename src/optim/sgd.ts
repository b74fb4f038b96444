/** Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 decay. */
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type Params } from './optimizer.js';
import { checkBoolean, checkNumber, mergeOptions } from './options.js';

export interface SGDOptions {
  /** Learning rate (groups may set their own). */
  lr: number;
  /** Momentum factor; 0 turns momentum off. @default 0 */
  momentum?: number;
  /** Dampening for momentum: the buffer takes (1 - dampening) × gradient. @default 0 */
  dampening?: number;
  /** L2 penalty: weightDecay × param is added to the gradient. @default 0 */
  weightDecay?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. @default false */
  nesterov?: boolean;
  /** Maximize the objective instead of minimizing it. @default false */
  maximize?: boolean;
}

export type SGDHyperparameters = Required<SGDOptions>;

/** The momentum buffer appears at a parameter's first update (when momentum is on). */
export type SGDState = { momentumBuffer?: Tensor };

const DEFAULTS: Omit<SGDHyperparameters, 'lr'> = {
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
};

function check(h: SGDHyperparameters, where: string): void {
  checkNumber(where, 'lr', h.lr, { min: 0 });
  checkNumber(where, 'momentum', h.momentum, { min: 0 });
  checkNumber(where, 'dampening', h.dampening);
  checkNumber(where, 'weightDecay', h.weightDecay, { min: 0 });
  checkBoolean(where, 'nesterov', h.nesterov);
  checkBoolean(where, 'maximize', h.maximize);
  if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
    throw new RangeError(`${where}: nesterov needs momentum > 0 and dampening 0, got momentum ${h.momentum}, dampening ${h.dampening}`);
  }
}

/**
 * SGD as PyTorch's torch.optim.SGD:
 * g = ±grad + weightDecay·p; b = momentum·b + (1 - dampening)·g (b = g at the first step);
 * g = nesterov ? g + momentum·b : b; p -= lr·g.
 * @example new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true })
 */
export class SGD extends Optimizer<SGDHyperparameters, SGDState> {
  constructor(params: Params<SGDHyperparameters>, options: SGDOptions) {
    if (options === undefined || options === null) throw new TypeError('SGD: options with an lr are required, e.g. new SGD(params, { lr: 0.01 })');
    super('SGD', params, mergeOptions('SGD', { lr: options.lr, ...DEFAULTS }, options));
  }

  protected override checkHyperparameters(hyperparameters: Readonly<SGDHyperparameters>, where: string): void {
    check(hyperparameters, where);
  }

  protected override update(param: Tensor, grad: Tensor, group: Readonly<SGDHyperparameters>): void {
    let direction = group.maximize ? grad.neg() : grad;
    if (group.weightDecay !== 0) direction = direction.add(param, group.weightDecay);
    if (group.momentum !== 0) {
      let buffer = this.state.get(param)?.momentumBuffer;
      if (buffer === undefined) {
        buffer = this.setState(param, { momentumBuffer: direction.clone() }).momentumBuffer!;
      } else {
        buffer.mul_(group.momentum).add_(direction, 1 - group.dampening);
      }
      direction = group.nesterov ? direction.add(buffer, group.momentum) : buffer;
    }
    param.add_(direction, -group.lr);
  }
}
