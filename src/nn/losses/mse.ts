import { Tensor } from '../../tensor/tensor.js';
import { type Reduction, mseLoss } from '../functional.js';
import { Module } from '../module.js';

/** Mean squared error. */
export class MSELoss extends Module {
  constructor(readonly reduction: Reduction = 'mean') { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return mseLoss(input, target, this.reduction); }
}
