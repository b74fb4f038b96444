/** Tensor functions that take several tensors rather than acting on one. */
import { native as N } from './native.js';
import { Tensor, wrap, type Scalar } from './tensor.js';

function handles(tensors: readonly Tensor[], fn: string): unknown[] {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError(`${fn}: needs a non-empty array of tensors`);
  return tensors.map((t) => t.handle);
}

/** Joins tensors along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return wrap(N['cat']!(handles(tensors, 'cat'), dim));
}

/** Joins same-shaped tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return wrap(N['stack']!(handles(tensors, 'stack'), dim));
}

/** Elementwise `condition ? a : b`, broadcasting all three. */
export function where(condition: Tensor, a: Tensor | Scalar, b: Tensor | Scalar): Tensor {
  const op = (v: Tensor | Scalar): unknown => (v instanceof Tensor ? v.handle : v);
  return wrap(N['where']!(condition.handle, op(a), op(b)));
}

/** Einstein summation, e.g. `einsum('bij,bjk->bik', a, b)`. */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  return wrap(N['einsum']!(equation, handles(operands, 'einsum')));
}

/** `beta * input + alpha * (mat1 @ mat2)` in one call. */
export function addmm(input: Tensor, mat1: Tensor, mat2: Tensor, options: { beta?: number; alpha?: number } = {}): Tensor {
  return wrap(N['addmm']!(input.handle, mat1.handle, mat2.handle, options.beta ?? 1, options.alpha ?? 1));
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  return a.matmul(b);
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  return a.bmm(b);
}

export function maximum(a: Tensor, b: Tensor | number): Tensor {
  return a.maximum(b);
}

export function minimum(a: Tensor, b: Tensor | number): Tensor {
  return a.minimum(b);
}
