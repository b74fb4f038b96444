/** AdamW (Loshchilov & Hutter, 2017): Adam with weight decay decoupled from the gradient. */
import type { Params } from './optimizer.js';
import { mergeOptions } from './options.js';
import { ADAM_DEFAULTS, AdamFamily, type AdamHyperparameters, type AdamOptions } from './adam.js';

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
export class AdamW extends AdamFamily {
  protected readonly decoupled = true;

  constructor(params: Params<AdamWHyperparameters>, options: AdamWOptions = {}) {
    super('AdamW', params, mergeOptions('AdamW', DEFAULTS, options));
  }
}
