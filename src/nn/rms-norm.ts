import { ones } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { rmsNorm } from './functional.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/** Root-mean-square norm over the last dim (Llama): x / √(mean(x²) + eps) · weight. */
export class RMSNorm extends Module {
  /** (dim) */
  weight: Parameter;

  constructor(readonly dim: number, readonly eps = 1e-6, options: { dtype?: DType } = {}) {
    super();
    this.weight = new Parameter(ones([dim], { dtype: options.dtype ?? 'float32' }));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }

  override extraRepr(): string {
    return `${this.dim}, eps=${this.eps}`;
  }
}
