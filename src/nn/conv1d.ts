import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { conv1d } from './functional.js';
import { linearDefault_ } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { checkConvChannels, checkConvInput, checkSamePadding, formatConvRepr } from './conv-common.js';

export interface Conv1dOptions {
  /** @default 1 */
  stride?: number;
  /** Zeros added on both sides, or 'same' (output length = input length; stride 1 only) / 'valid' (none). @default 0 */
  padding?: number | 'same' | 'valid';
  /** Spacing between kernel taps. @default 1 */
  dilation?: number;
  /** Split the channels into this many independent groups. @default 1 */
  groups?: number;
  /** @default true */
  bias?: boolean;
  /** @default 'float32' */
  dtype?: DType;
}

/**
 * 1-D convolution (B, Cin, T) -> (B, Cout, T'), T' = ⌊(T + 2·padding − dilation·(K − 1) − 1) / stride⌋ + 1.
 * Initialised as PyTorch's Conv1d: weight and bias U(±1/√(Cin/groups · K)).
 */
export class Conv1d extends Module {
  /** (Cout, Cin / groups, K) */
  weight: Parameter;
  /** (Cout) */
  bias: Parameter | null;
  readonly stride: number;
  readonly padding: number | 'same' | 'valid';
  readonly dilation: number;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Conv1dOptions = {},
  ) {
    super();
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = options.groups ?? 1;
    checkConvChannels('Conv1d', inChannels, outChannels, this.groups);
    checkSamePadding('Conv1d', this.padding, [this.stride]);
    const dtype = options.dtype ?? 'float32';
    this.weight = new Parameter(empty([outChannels, inChannels / this.groups, kernelSize], { dtype }));
    this.bias = (options.bias ?? true) ? new Parameter(empty([outChannels], { dtype })) : null;
    linearDefault_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    checkConvInput('Conv1d', x, 3, '(B, Cin, T)', this.inChannels);
    return conv1d(x, this.weight, this.bias, {
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
