/**
 * Weight initialisation, as torch.nn.init: same formulas and the same calls into the random
 * generator, so a seeded Kiln model starts from the same weights as a seeded PyTorch one.
 * Each function fills the tensor in place (without recording autograd) and returns it.
 */
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    case 'selu':
      return 3.0 / 4;
  }
}

/** fan_in = size(1) × receptive field, fan_out = size(0) × receptive field. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const shape = t.shape;
  if (shape.length < 2) {
    throw new Error(`fan in and fan out need a tensor with at least 2 dims, got shape [${shape.join(', ')}]`);
  }
  const receptiveField = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptiveField, fanOut: shape[0]! * receptiveField };
}

export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  return noGrad(() => t.uniform_(low, high));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Glorot/Xavier uniform: U(−a, a), a = gain·√(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return uniform_(t, -a, a);
}

/** Glorot/Xavier normal: N(0, gain²·2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2.0 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu). @default 0 */
  a?: number;
  /** @default 'fan_in' */
  mode?: FanMode;
  /** @default 'leaky_relu' */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t);
  const fan = (options.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** He/Kaiming uniform: U(−b, b), b = gain·√(3 / fan). */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3.0) * kaimingStd(t, options);
  return uniform_(t, -bound, bound);
}

/** He/Kaiming normal: N(0, gain² / fan). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, options));
}

/**
 * PyTorch's default for Linear and Conv layers: weight kaiming-uniform with a = √5 (so
 * U(±1/√fan_in)), bias U(±1/√fan_in).
 */
export function linearDefault_(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== null) {
    const { fanIn } = fans(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}
