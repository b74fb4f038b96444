/**
 * Gradient checking against central finite differences (torch.autograd.gradcheck).
 *
 * For a function f of tensors, draws a random cotangent v of f's output shape and compares the
 * analytic vector-Jacobian product vᵀJ (one backward pass) with the numerical one, computed
 * element by element as (s(x + εeᵢ) − s(x − εeᵢ)) / 2ε where s(x) = Σ v·f(x). Use float64 inputs.
 */
import { noGrad } from './autograd.js';
import { randnLike } from './creation.js';
import { scope } from './scope.js';
import { Tensor } from './tensor.js';
import { grad } from './autograd.js';

export interface GradcheckOptions {
  /** Finite-difference step. @default 1e-6 */
  eps?: number;
  /** @default 1e-5 */
  atol?: number;
  /** @default 1e-3 */
  rtol?: number;
}

export interface GradcheckMismatch {
  input: number;
  element: number;
  analytic: number;
  numeric: number;
}

/** Returns the first mismatch, or null when every gradient agrees. */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradcheckOptions = {},
): GradcheckMismatch | null {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  return scope(() => {
    const differentiable = inputs.filter((t) => t.requiresGrad);
    if (differentiable.length === 0) throw new Error('gradcheck: no input requires grad');
    for (const t of differentiable) {
      if (t.dtype !== 'float64') throw new TypeError(`gradcheck: inputs must be float64 for accurate differences, got ${t.dtype}`);
    }
    const out = fn(...inputs);
    const v = noGrad(() => randnLike(out));
    const analytic = grad([out], differentiable, { gradOutputs: [v], allowUnused: true });
    const objective = (): number => noGrad(() => fn(...inputs).mul(v).sum().item());
    for (let k = 0; k < differentiable.length; k++) {
      const x = differentiable[k]!;
      const a = analytic[k];
      const analyticValues = a === null || a === undefined ? null : (a.contiguous().toTypedArray() as Float64Array);
      const flat = noGrad(() => x.detach().view(-1)); // shares x's storage (x must be contiguous)
      if (!x.isContiguous()) throw new Error('gradcheck: inputs must be contiguous');
      const n = flat.numel();
      for (let i = 0; i < n; i++) {
        const element = flat.select(0, i);
        const original = element.item();
        element.fill_(original + eps);
        const plus = objective();
        element.fill_(original - eps);
        const minus = objective();
        element.fill_(original);
        element.dispose();
        const numeric = (plus - minus) / (2 * eps);
        const analyticValue = analyticValues === null ? 0 : analyticValues[i]!;
        if (Math.abs(analyticValue - numeric) > atol + rtol * Math.abs(numeric)) {
          return { input: inputs.indexOf(x), element: i, analytic: analyticValue, numeric };
        }
      }
    }
    return null;
  });
}
