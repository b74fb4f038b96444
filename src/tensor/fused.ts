/**
 * Kiln's fused CPU kernels (native/src/fused_ops.cc): one pass over the elements where ATen runs
 * several ops or a slow one. Each keeps ATen's op or composition beside it as its reference;
 * the functions here switch between them and reach the references, for tests and benchmarks.
 */
import { native as N } from './native.js';
import { type Tensor, wrap } from './tensor.js';

/**
 * Turns the fused kernels on (the default) or off: off, every fused op runs its ATen reference
 * instead (GELU's tanh form through at::gelu, …). Returns the previous setting.
 */
export function setFusedKernels(on: boolean): boolean {
  return N['setFusedKernels']!(on) as boolean;
}

/** CPU vector width the fused kernels use: 2 AVX-512, 1 AVX2 + FMA, 0 baseline x86-64. */
export type VectorLevel = 0 | 1 | 2;

/**
 * Lowers (or restores) the vector width of the fused kernels and the fused optimizers, to check
 * every code path on one machine; a level above the CPU's is lowered to it. Returns the level in
 * use before; without an argument, only reports it.
 */
export function setVectorLevel(level?: VectorLevel): VectorLevel {
  return N['setVectorLevel']!(level) as VectorLevel;
}

/**
 * Whether this CPU has bf16 dot-product instructions (AVX512-BF16, AMX), where bf16 attention runs
 * its products through oneDNN and fuses only the softmax between them (native/src/fused_ops.cc).
 */
export function cpuHasBf16Products(): boolean {
  return N['cpuHasBf16Products']!() as boolean;
}

/** ATen's GELU (at::gelu), the reference of the fused tanh form `x.gelu('tanh')` runs. */
export function geluReference(x: Tensor, approximate: 'none' | 'tanh'): Tensor {
  return wrap(N['geluReference']!(x.handle, approximate));
}

/** The gradient of GELU's tanh form at x times `gradOutput`, by the fused kernel (float32/bf16 on the CPU). */
export function geluTanhBackward(gradOutput: Tensor, x: Tensor): Tensor {
  return wrap(N['geluTanhBackward']!(gradOutput.handle, x.handle));
}

/** The same by ATen's gelu_backward: the reference. */
export function geluTanhBackwardReference(gradOutput: Tensor, x: Tensor): Tensor {
  return wrap(N['geluTanhBackwardReference']!(gradOutput.handle, x.handle));
}
