/** Gradient clipping, in place on `.grad`: by the global norm of all gradients, or by value. */
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { zeros } from '../tensor/creation.js';
import { stack } from '../tensor/ops.js';
import { native as N } from '../tensor/native.js';

function gradsOf(params: Iterable<Tensor> | Tensor): Tensor[] {
  const list = params instanceof Tensor ? [params] : Array.from(params);
  const grads: Tensor[] = [];
  for (const p of list) {
    const g = p.grad;
    if (g !== null) grads.push(g);
  }
  return grads;
}

function checkMaxNorm(fn: string, maxNorm: number): void {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm) || maxNorm < 0) {
    throw new RangeError(`${fn}: maxNorm must be a number >= 0, got ${String(maxNorm)}`);
  }
}

/** The 2-norm (or p-norm) of all of `grads` together: the norm of their per-tensor norms. */
function totalNorm(grads: readonly Tensor[], normType: number): Tensor {
  const device = grads[0]!.device;
  return stack(grads.map((g) => g.norm(normType).to(device))).norm(normType);
}

export interface ClipGradNormOptions {
  /** Throw instead of scaling when the total norm is NaN or infinite (reads the norm: a device sync). @default false */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` together so that their total norm (the norm of all of them
 * concatenated into one vector) is at most `maxNorm`, as torch.nn.utils.clip_grad_norm_.
 * Parameters without a gradient are skipped.
 * @param normType the p of the p-norm; `Infinity` for the largest absolute value. @default 2
 * @returns the total norm before clipping, a 0-dim tensor (float32 for float32 grads; 0 when no
 *   parameter has a gradient). Call `.item()` on it to log it.
 * @example const norm = clipGradNorm_(model.parameters(), 1.0).item();
 */
export function clipGradNorm_(
  params: Iterable<Tensor> | Tensor,
  maxNorm: number,
  normType = 2,
  options: ClipGradNormOptions = {},
): Tensor {
  checkMaxNorm('clipGradNorm_', maxNorm);
  if (typeof normType !== 'number' || Number.isNaN(normType)) {
    throw new RangeError(`clipGradNorm_: normType must be a number (Infinity for the max norm), got ${String(normType)}`);
  }
  return noGrad(() =>
    scope(() => {
      const grads = gradsOf(params);
      if (grads.length === 0) return zeros([]);
      const device = grads[0]!.device;
      let total: Tensor;
      if (normType === Infinity) {
        const norms = grads.map((g) => g.abs().max().to(device));
        total = norms.length === 1 ? norms[0]! : stack(norms).max();
      } else {
        total = totalNorm(grads, normType);
      }
      if (options.errorIfNonfinite === true && !Number.isFinite(total.item())) {
        throw new RangeError(
          `clipGradNorm_: the total ${normType}-norm of the gradients is ${total.item()}, so they cannot be clipped; ` +
            'look for a diverging loss, or pass errorIfNonfinite: false to scale them anyway',
        );
      }
      // PyTorch computes maxNorm / (total + 1e-6) as reciprocal × maxNorm; so does this, for equal roundings
      const coefficient = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      for (const g of grads) g.mul_(coefficient.to(g.device));
      return total;
    }),
  );
}

/**
 * The factor clipGradNorm_(params, maxNorm) would scale the gradients by — min(1, maxNorm /
 * (norm + 1e-6)) in float32, as PyTorch rounds it — without scaling them: for an optimizer step
 * that reads the gradients times it (`AdamW.stepScaled`), which saves the clip its own pass over
 * the gradients. float32 gradients on the CPU get their 2-norm in one native read each (summed in
 * double: within float32 rounding of clip_grad_norm_'s per-tensor norms); others, ATen's norms.
 * @returns the coefficient and the total norm before clipping (a coefficient of 1 and a norm of 0
 *   when no parameter has a gradient).
 */
export function clipCoefficient(params: Iterable<Tensor> | Tensor, maxNorm: number): { coefficient: number; norm: number } {
  checkMaxNorm('clipCoefficient', maxNorm);
  const grads = gradsOf(params);
  if (grads.length === 0) return { coefficient: 1, norm: 0 };
  const native = grads.every((g) => g.dtype === 'float32' && g.device === 'cpu' && g.isContiguous());
  const norm = Math.fround(
    native
      ? Math.sqrt(N['sumOfSquares']!(grads.map((g) => g.handle)) as number)
      : noGrad(() => scope(() => totalNorm(grads, 2).item())),
  );
  const f = Math.fround;
  return { coefficient: Math.min(1, f(f(1 / f(norm + 1e-6)) * maxNorm)), norm };
}

/**
 * Clamps every gradient of `params` to [-clipValue, clipValue] in place, as
 * torch.nn.utils.clip_grad_value_. Parameters without a gradient are skipped.
 */
export function clipGradValue_(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  if (typeof clipValue !== 'number' || Number.isNaN(clipValue) || clipValue < 0) {
    throw new RangeError(`clipGradValue_: clipValue must be a number >= 0, got ${String(clipValue)}`);
  }
  noGrad(() =>
    scope(() => {
      for (const g of gradsOf(params)) g.clamp_(-clipValue, clipValue);
    }),
  );
}
