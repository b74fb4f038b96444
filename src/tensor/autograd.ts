/** Autograd controls: grad mode, and gradients of outputs with respect to chosen inputs. */
import { native as N, type Handle } from './native.js';
import { scope } from './scope.js';
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

/**
 * Activation checkpointing (torch.utils.checkpoint, reentrant): runs `fn(...inputs)` without
 * keeping its intermediate activations; backward runs it again — with the random state (dropout
 * masks) and autocast state it had — and backpropagates through that recomputation. Memory for
 * compute: one more forward of `fn` per backward. Tensors that need gradients must reach `fn`
 * as `inputs` (or be parameters), not through its closure; as with PyTorch's reentrant form, the
 * output has a gradient only when an input needs one. Without grad mode it is a plain call.
 * @example
 * for (const block of blocks) x = checkpoint((h) => block.forward(h), x);
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  // Its own scope: the region's intermediate tensors go when it returns (the graph keeps what
  // backward needs). It hands back a fresh alias of its output, which the addon lets go of once it
  // holds the tensor: no JS object is left keeping a recomputation's graph alive until the GC.
  const region = (handles: Handle[]): Handle =>
    scope(() => {
      const y = fn(...handles.map(wrap));
      return y.view(y.shape);
    }).handle;
  return wrap(N['checkpoint']!(region, inputs.map((t) => t.handle)) as Handle);
}
