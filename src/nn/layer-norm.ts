import { ones, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { layerNorm } from './functional.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface LayerNormOptions {
  /** @default 1e-5 */
  eps?: number;
  /** Learn a per-element scale (and bias). @default true */
  elementwiseAffine?: boolean;
  /** Learn a bias (when affine). @default true */
  bias?: boolean;
  /** @default 'float32' */
  dtype?: DType;
}

/** Normalises over the trailing `normalizedShape` dims, then scales and shifts. */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = [normalizedShape].flat();
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    const dtype = options.dtype ?? 'float32';
    this.weight = affine ? new Parameter(ones(this.normalizedShape, { dtype })) : null;
    this.bias = affine && (options.bias ?? true) ? new Parameter(zeros(this.normalizedShape, { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}`;
  }
}
