import { Tensor } from '../../tensor/tensor.js';
import { type CrossEntropyOptions, nllLoss } from '../functional.js';
import { Module } from '../module.js';

/** Negative log-likelihood on log-probabilities. */
export class NLLLoss extends Module {
  constructor(readonly options: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}) { super(); }
  forward(logProbs: Tensor, target: Tensor): Tensor { return nllLoss(logProbs, target, this.options); }
}
