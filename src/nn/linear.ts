import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { linear } from './functional.js';
import { linearDefault_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface LinearOptions {
  /** @default true */
  bias?: boolean;
  /** @default 'float32' */
  dtype?: DType;
}

/** y = x Wᵀ + b: (..., inFeatures) -> (..., outFeatures). Initialised as PyTorch's. */
export class Linear extends Module {
  /** (outFeatures, inFeatures) */
  weight: Parameter;
  /** (outFeatures) */
  bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    const dtype = options.dtype ?? 'float32';
    this.weight = new Parameter(empty([outFeatures, inFeatures], { dtype }));
    this.bias = (options.bias ?? true) ? new Parameter(empty([outFeatures], { dtype })) : null;
    linearDefault_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
