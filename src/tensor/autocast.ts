/**
 * Mixed precision, as PyTorch's `torch.autocast('cpu' | 'cuda', dtype=torch.bfloat16 | torch.float16)`
 * does it (libtorch's own autocast, not casts by hand): inside `autocast('bf16', fn)` the ops
 * libtorch lists for lower precision — matrix products, linear layers, convolutions, attention
 * products — run in bf16 on bf16 copies of their fp32 inputs (a weight is cast once per region),
 * and the ones it keeps in fp32 — losses such as cross-entropy, among others — stay fp32.
 * Parameters, gradients and optimizer state stay fp32: call backward() after the region, as with
 * PyTorch. Regions nest; the state is per thread (Kiln runs ops on the JS thread).
 */
import { native as N } from './native.js';

export type Precision = 'fp32' | 'bf16' | 'fp16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'fp16'];

const AUTOCAST_DTYPES = { bf16: 'bfloat16', fp16: 'float16' } as const;

/**
 * Runs `fn` with autocast in `precision` (fp32: as it is) for tensors on `deviceType`'s devices
 * (libtorch keeps one autocast state per device type, as torch.autocast('cpu' | 'cuda')).
 */
export function autocast<T>(precision: Precision, fn: () => T, deviceType: 'cpu' | 'cuda' = 'cpu'): T {
  if (precision === 'fp32') return fn();
  const previous = N['enterAutocast']!(deviceType, AUTOCAST_DTYPES[precision]) as { enabled: boolean; dtype: string };
  try {
    return fn();
  } finally {
    N['exitAutocast']!(deviceType, previous.enabled, previous.dtype);
  }
}

/** Whether autocast is on on this thread for `deviceType`'s tensors. */
export function isAutocastEnabled(deviceType: 'cpu' | 'cuda' = 'cpu'): boolean {
  return N['isAutocastEnabled']!(deviceType) as boolean;
}

/**
 * Whether libtorch autocasts to `precision` on `deviceType` (fp16 on the CPU needs libtorch ≥ 2.4;
 * the CPU's bf16 and CUDA's bf16 and fp16 are there since 1.10).
 */
export function autocastSupported(precision: Precision, deviceType: 'cpu' | 'cuda' = 'cpu'): boolean {
  if (precision === 'fp32') return true;
  try {
    autocast(precision, () => undefined, deviceType);
    return true;
  } catch {
    return false;
  }
}
