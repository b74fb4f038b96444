import { Tensor } from '../tensor/tensor.js';
import { adaptiveAvgPool2d } from './functional.js';
import { Module } from './module.js';
import { checkPoolInput, showSize } from './pool-common.js';

/** An output size: one for both dims, or [H', W'] where null keeps that input dim's size. */
export type AdaptiveSize2d = number | [number | null, number | null];

/**
 * Averages each channel down to a fixed size, whatever the input's: (B, C, H, W) -> (B, C, H', W').
 * `new AdaptiveAvgPool2d(1)` is global average pooling (then Flatten gives (B, C)).
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: AdaptiveSize2d) {
    super();
    const sizes = typeof outputSize === 'number' ? [outputSize] : outputSize;
    if (sizes.some((s) => s !== null && !(Number.isInteger(s) && s >= 0))) {
      throw new RangeError(`AdaptiveAvgPool2d: outputSize must hold non-negative integers or null, got ${showSize(sizes)}`);
    }
  }

  forward(x: Tensor): Tensor {
    checkPoolInput('AdaptiveAvgPool2d', x);
    const size = this.outputSize;
    if (typeof size === 'number') return adaptiveAvgPool2d(x, size);
    const [h, w] = x.shape.slice(-2) as [number, number];
    return adaptiveAvgPool2d(x, [size[0] ?? h, size[1] ?? w]);
  }

  override extraRepr(): string {
    return `outputSize=${showSize(this.outputSize)}`;
  }
}
