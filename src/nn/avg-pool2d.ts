import { Tensor } from '../tensor/tensor.js';
import type { Size2d } from './conv2d.js';
import { avgPool2d } from './functional.js';
import { Module } from './module.js';
import { checkPoolInput, showSize } from './pool-common.js';

export interface AvgPool2dOptions {
  /** @default kernelSize */
  stride?: Size2d;
  /** Implicit zero padding on each side; at most half the kernel. @default 0 */
  padding?: Size2d;
  /** Round the output size up instead of down. @default false */
  ceilMode?: boolean;
  /** Count the padding zeros in each window's divisor. @default true */
  countIncludePad?: boolean;
}

/** The mean over each kH×kW window: (B, C, H, W) or (C, H, W) -> (B, C, H', W'). */
export class AvgPool2d extends Module {
  readonly kernelSize: Size2d;
  readonly stride: Size2d;
  readonly padding: Size2d;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: Size2d, options: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
  }

  forward(x: Tensor): Tensor {
    checkPoolInput('AvgPool2d', x);
    return avgPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    });
  }

  override extraRepr(): string {
    return `kernelSize=${showSize(this.kernelSize)}, stride=${showSize(this.stride)}, padding=${showSize(this.padding)}, ` +
      `ceilMode=${this.ceilMode}, countIncludePad=${this.countIncludePad}`;
  }
}
