/** @internal Checks and printing shared by Conv1d and Conv2d. */
import type { Tensor } from '../tensor/tensor.js';

export function checkConvChannels(layer: string, inChannels: number, outChannels: number, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${layer}: groups must be a positive integer, got ${groups}`);
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new RangeError(
      `${layer}: inChannels (${inChannels}) and outChannels (${outChannels}) must both be divisible by groups (${groups})`,
    );
  }
}

/** PyTorch refuses padding 'same' with a stride: the output size would not be the input's. */
export function checkSamePadding(layer: string, padding: unknown, strides: number[]): void {
  if (padding === 'same' && strides.some((s) => s !== 1)) {
    throw new RangeError(`${layer}: padding 'same' needs stride 1, got stride [${strides.join(', ')}]; pad by number instead`);
  }
}

/** Throws a readable error for a wrong rank or channel count instead of ATen's. */
export function checkConvInput(layer: string, x: Tensor, rank: number, layout: string, inChannels: number): void {
  if (x.ndim !== rank) {
    throw new Error(`${layer}: expected a ${rank}-D input ${layout}, got shape [${x.shape.join(', ')}]`);
  }
  if (x.shape[1] !== inChannels) {
    throw new Error(`${layer}: expected ${inChannels} input channels (dim 1), got shape [${x.shape.join(', ')}]`);
  }
}

interface ConvSettings {
  inChannels: number;
  outChannels: number;
  kernelSize: number | readonly number[];
  stride: number | readonly number[];
  padding: number | readonly number[] | string;
  dilation: number | readonly number[];
  groups: number;
  bias: unknown;
}

export function formatConvRepr(conv: ConvSettings): string {
  const show = (v: number | readonly number[] | string): string =>
    typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
  return (
    `${conv.inChannels}, ${conv.outChannels}, kernelSize=${show(conv.kernelSize)}, stride=${show(conv.stride)}, ` +
    `padding=${show(conv.padding)}, dilation=${show(conv.dilation)}, groups=${conv.groups}, bias=${conv.bias !== null}`
  );
}
