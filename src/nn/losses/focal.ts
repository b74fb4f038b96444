import { Tensor } from '../../tensor/tensor.js';
import { type FocalLossOptions, focalLoss } from '../functional.js';
import { Module } from '../module.js';

/** Multi-class focal loss (see functional.focalLoss). */
export class FocalLoss extends Module {
  constructor(readonly options: FocalLossOptions = {}) { super(); }
  forward(logits: Tensor, target: Tensor): Tensor { return focalLoss(logits, target, this.options); }
}
