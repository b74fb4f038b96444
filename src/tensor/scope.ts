/**
 * Memory scopes. Tensors created inside `scope(fn)` are released when it returns, except the
 * ones it returns (found in arrays and plain objects) and the ones passed to `keep()`; those
 * move to the enclosing scope, if any. Outside every scope a tensor lives until dispose() or
 * until the garbage collector finalizes it.
 */

import { native as N } from './native.js';

/** What a scope needs from a tensor (kept structural to avoid an import cycle). */
export interface ScopedTensor {
  dispose(): void;
  readonly isDisposed: boolean;
  /** Set by keep(): no scope releases this tensor. */
  kept: boolean;
  /** Lets the garbage collector free the tensor (tensors made inside a scope have no finalizer). */
  adoptByGc(): void;
}

interface ScopeFrame {
  tensors: ScopedTensor[];
}

const frames: ScopeFrame[] = [];

/** Records a newly created tensor in the innermost scope. */
export function track(tensor: ScopedTensor): void {
  const top = frames[frames.length - 1];
  if (top !== undefined) top.tensors.push(tensor);
}

/** Exempts `tensor` from release by the scopes it was created in. */
export function keep<T extends ScopedTensor>(tensor: T): T {
  tensor.kept = true;
  return tensor;
}

function collectReturned(value: unknown, out: Set<unknown>, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (typeof (value as ScopedTensor).dispose === 'function' && 'isDisposed' in (value as object)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectReturned(item, out, depth + 1);
  } else if (value instanceof Map) {
    for (const item of value.values()) collectReturned(item, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectReturned(item, out, depth + 1);
  }
}

/**
 * Runs `fn` synchronously and releases the tensors it created that it does not return.
 * @example
 * const loss = scope(() => model.forward(x).sub(y).square().mean()); // intermediates freed
 */
export function scope<T>(fn: () => T): T {
  const frame: ScopeFrame = { tensors: [] };
  frames.push(frame);
  // While a scope is open the addon skips the GC finalizer of new tensors (the scope frees
  // them); survivors get one in release().
  N['setOpenScopes']!(frames.length);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    closeFrame();
    release(frame, new Set());
    throw error;
  }
  closeFrame();
  if (result instanceof Promise) {
    release(frame, new Set());
    throw new Error(
      'scope(fn): fn returned a Promise; scopes are synchronous. Await outside the scope, ' +
        'or open one scope per synchronous step.',
    );
  }
  const returned = new Set<unknown>();
  collectReturned(result, returned, 0);
  release(frame, returned);
  return result;
}

function closeFrame(): void {
  frames.pop();
  N['setOpenScopes']!(frames.length);
}

function release(frame: ScopeFrame, survivors: Set<unknown>): void {
  const parent = frames[frames.length - 1];
  const anySurvivors = survivors.size > 0;
  for (const tensor of frame.tensors) {
    if (tensor.isDisposed) continue;
    if (tensor.kept) {
      tensor.adoptByGc();
    } else if (anySurvivors && survivors.has(tensor)) {
      if (parent !== undefined) parent.tensors.push(tensor);
      else tensor.adoptByGc();
    } else {
      tensor.dispose();
    }
  }
}

/** How many scopes are open (for tests and diagnostics). */
export function scopeDepth(): number {
  return frames.length;
}

/**
 * How many small tensors released by dispose() or a scope still wait to be freed (for tests and
 * diagnostics). The addon frees a small tensor without autograd history one per new tensor rather
 * than at once, which keeps malloc on its fast path; at most 4,096 of at most 4 KiB each wait.
 */
export function deferredReleases(): number {
  return N['deferredReleases']!() as number;
}
