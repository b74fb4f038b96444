import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { checkConvChannels, checkConvInput, checkSamePadding, formatConvRepr } from './conv-common.js';
import { conv2d } from './functional.js';
import { linearDefault_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/** One size for both dims, or [height, width]. */
export type Size2d = number | [number, number];

export interface Conv2dOptions {
  /** @default 1 */
  stride?: Size2d;
  /**
   * Zeros added on each side, or 'same' (output size = input size; stride 1 only) / 'valid'
   * (none). @default 0
   */
  padding?: Size2d | 'same' | 'valid';
  /** Spacing between kernel taps. @default 1 */
  dilation?: Size2d;
  /** Split the channels into this many independent groups (Cin for depthwise). @default 1 */
  groups?: number;
  /** @default true */
  bias?: boolean;
  /** @default 'float32' */
  dtype?: DType;
}

function pair(size: Size2d): [number, number] {
  return typeof size === 'number' ? [size, size] : size;
}

/**
 * 2-D convolution (B, Cin, H, W) -> (B, Cout, H', W'), per dim
 * H' = ⌊(H + 2·padding − dilation·(kH − 1) − 1) / stride⌋ + 1.
 * Initialised as PyTorch's Conv2d: weight and bias U(±1/√(Cin/groups · kH · kW)).
 */
export class Conv2d extends Module {
  /** (Cout, Cin / groups, kH, kW) */
  weight: Parameter;
  /** (Cout) */
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Size2d, options: Conv2dOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    const padding = options.padding ?? 0;
    this.padding = typeof padding === 'string' ? padding : pair(padding);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = options.groups ?? 1;
    checkConvChannels('Conv2d', inChannels, outChannels, this.groups);
    checkSamePadding('Conv2d', this.padding, this.stride);
    const dtype = options.dtype ?? 'float32';
    this.weight = new Parameter(empty([outChannels, inChannels / this.groups, ...this.kernelSize], { dtype }));
    this.bias = (options.bias ?? true) ? new Parameter(empty([outChannels], { dtype })) : null;
    linearDefault_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    checkConvInput('Conv2d', x, 4, '(B, Cin, H, W)', this.inChannels);
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    return formatConvRepr(this);
  }
}
