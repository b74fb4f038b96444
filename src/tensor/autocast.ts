/**
 * Mixed precision on the CPU, as PyTorch's `torch.autocast('cpu', dtype=torch.bfloat16)` does it
 * (libtorch's own autocast, not casts by hand): inside `autocast('bfloat16', fn)` the ops
 * libtorch lists for lower precision — matrix products, linear layers, convolutions, attention
 * products — run in bf16 on bf16 copies of their fp32 inputs (a weight is cast once per region),
 * and the ones it keeps in fp32 — losses such as cross-entropy, among others — stay fp32.
 * Parameters, gradients and optimizer state stay fp32: call backward() after the region, as with
 * PyTorch. Regions nest; the state is per thread (Kiln runs ops on the JS thread).
 */
import { native as N } from './native.js';

export type Precision = 'fp32' | 'bf16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

/** Runs `fn` with autocast in `dtype` (float32: as it is). */
export function autocast<T>(precision: Precision, fn: () => T): T {
  if (precision === 'fp32') return fn();
  const previous = N['enterCpuAutocast']!('bfloat16') as { enabled: boolean; dtype: string };
  try {
    return fn();
  } finally {
    N['exitCpuAutocast']!(previous.enabled, previous.dtype);
  }
}

/** Whether autocast is on on this thread. */
export function isAutocastEnabled(): boolean {
  return N['isCpuAutocastEnabled']!() as boolean;
}
