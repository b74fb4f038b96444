/** Process-wide engine settings. */
import { native as N } from './native.js';

/** Sets the number of threads libtorch uses inside one op (default: KILN_NUM_THREADS or cores). */
export function setNumThreads(n: number): void {
  N['setNumThreads']!(n);
}

export function getNumThreads(): number {
  return N['getNumThreads']!() as number;
}

/** True when the linked libtorch has CUDA and a GPU is visible. */
export function cudaAvailable(): boolean {
  return N['cudaAvailable']!() as boolean;
}

export interface BuildInfo {
  torchVersion: string;
  cuda: boolean;
  /** libtorch's own description of its threading set-up. */
  parallelInfo: string;
}

export function buildInfo(): BuildInfo {
  return N['buildInfo']!() as BuildInfo;
}
