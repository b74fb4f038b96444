import { Tensor } from '../tensor/tensor.js';
import type { Size2d } from './conv2d.js';
import { maxPool2d } from './functional.js';
import { Module } from './module.js';
import { checkPoolInput, showSize } from './pool-common.js';

export interface MaxPool2dOptions {
  /** @default kernelSize */
  stride?: Size2d;
  /** Implicit −∞ padding on each side; at most half the kernel. @default 0 */
  padding?: Size2d;
  /** Spacing between window taps. @default 1 */
  dilation?: Size2d;
  /** Round the output size up instead of down. @default false */
  ceilMode?: boolean;
}

/** The maximum over each kH×kW window: (B, C, H, W) or (C, H, W) -> (B, C, H', W'). */
export class MaxPool2d extends Module {
  readonly kernelSize: Size2d;
  readonly stride: Size2d;
  readonly padding: Size2d;
  readonly dilation: Size2d;
  readonly ceilMode: boolean;

  constructor(kernelSize: Size2d, options: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.ceilMode = options.ceilMode ?? false;
  }

  forward(x: Tensor): Tensor {
    checkPoolInput('MaxPool2d', x);
    return maxPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
  }

  override extraRepr(): string {
    return `kernelSize=${showSize(this.kernelSize)}, stride=${showSize(this.stride)}, padding=${showSize(this.padding)}, ` +
      `dilation=${showSize(this.dilation)}, ceilMode=${this.ceilMode}`;
  }
}
