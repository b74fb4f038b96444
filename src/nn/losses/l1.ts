import { Tensor } from '../../tensor/tensor.js';
import { type Reduction, l1Loss } from '../functional.js';
import { Module } from '../module.js';

/** Mean absolute error. */
export class L1Loss extends Module {
  constructor(readonly reduction: Reduction = 'mean') { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return l1Loss(input, target, this.reduction); }
}
