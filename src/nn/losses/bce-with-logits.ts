import { Tensor } from '../../tensor/tensor.js';
import { type BceOptions, bceWithLogits } from '../functional.js';
import { Module } from '../module.js';

/** Binary cross-entropy on logits, with optional per-class positive weights. */
export class BCEWithLogitsLoss extends Module {
  constructor(readonly options: BceOptions = {}) { super(); }
  forward(logits: Tensor, target: Tensor): Tensor { return bceWithLogits(logits, target, this.options); }
}
