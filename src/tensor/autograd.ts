/** Autograd controls: grad mode, and gradients of outputs with respect to chosen inputs. */
import { native as N, type Handle } from './native.js';
import { Tensor, wrap } from './tensor.js';

function withGradMode<T>(enabled: boolean, fn: () => T, name: string): T {
  const previous = N['setGradEnabled']!(enabled) as boolean;
  let result: T;
  try {
    result = fn();
  } finally {
    N['setGradEnabled']!(previous);
  }
  if (result instanceof Promise) {
    throw new Error(`${name}(fn): fn returned a Promise; grad mode applies to synchronous code only`);
  }
  return result;
}

/** Runs `fn` without recording operations for autograd (inference, in-place parameter updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn, 'noGrad');
}

/** Runs `fn` with autograd recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn, 'enableGrad');
}

export function isGradEnabled(): boolean {
  return N['isGradEnabled']!() as boolean;
}

/** Turns recording on or off until changed again; prefer noGrad(fn). */
export function setGradEnabled(enabled: boolean): void {
  N['setGradEnabled']!(enabled);
}

export interface GradOptions {
  /** The vector in the vector-Jacobian product; required for non-scalar outputs. */
  gradOutputs?: Tensor[];
  /** @default createGraph */
  retainGraph?: boolean;
  /** Build a graph of the gradient itself, for higher-order derivatives. @default false */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. @default false */
  allowUnused?: boolean;
}

/**
 * Gradients of `outputs` with respect to `inputs`, without touching any `.grad`
 * (torch.autograd.grad).
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = [outputs].flat();
  const ins = [inputs].flat();
  const result = N['autogradGrad']!(
    outs.map((t) => t.handle),
    ins.map((t) => t.handle),
    options.gradOutputs?.map((t) => t.handle) ?? null,
    options.retainGraph ?? null,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  ) as (Handle | null)[];
  return result.map((h) => (h === null ? null : wrap(h)));
}
