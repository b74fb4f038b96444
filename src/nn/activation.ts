/** Activation layers: stateless modules around the elementwise functions. */
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}

export class GELU extends Module {
  /** @param approximate 'none' (exact, erf) or 'tanh' (GPT-2's) */
  constructor(readonly approximate: 'none' | 'tanh' = 'none') { super(); }
  forward(x: Tensor): Tensor { return x.gelu(this.approximate); }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor { return x.silu(); }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}
