import { Tensor } from '../tensor/tensor.js';
import { dropout } from './functional.js';
import { Module } from './module.js';

/** Zeroes elements with probability p while training and scales the rest by 1/(1−p). */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
