import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** Flattens dims startDim..endDim into one: (B, C, H, W) -> (B, C·H·W) by default. */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  forward(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
  override extraRepr(): string { return `startDim=${this.startDim}, endDim=${this.endDim}`; }
}
