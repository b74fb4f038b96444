import { Tensor } from '../../tensor/tensor.js';
import { type CrossEntropyOptions, crossEntropy } from '../functional.js';
import { Module } from '../module.js';

/** Cross-entropy on logits (class weights, ignoreIndex, labelSmoothing, reduction). */
export class CrossEntropyLoss extends Module {
  constructor(readonly options: CrossEntropyOptions = {}) { super(); }
  forward(logits: Tensor, target: Tensor): Tensor { return crossEntropy(logits, target, this.options); }
}
