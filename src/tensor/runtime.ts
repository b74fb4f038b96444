/** Process-wide engine settings. */
import type { Device } from './dtype.js';
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

/** The GPUs the linked libtorch sees (0 on a CPU-only build). */
export function cudaDeviceCount(): number {
  return N['cudaDeviceCount']!() as number;
}

export interface BuildInfo {
  torchVersion: string;
  /** Whether the addon is built against a libtorch with CUDA (whether or not a GPU is visible). */
  cuda: boolean;
  /** libtorch's own description of its threading set-up. */
  parallelInfo: string;
}

export function buildInfo(): BuildInfo {
  return N['buildInfo']!() as BuildInfo;
}

/** How to get a build that can use a GPU (the README's "GPUs" section says more). */
export const CUDA_BUILD_HINT = "build one with CUDA: LIBTORCH=$(python3 -c 'import torch,os; print(os.path.dirname(torch.__file__))') npm run build:native (a CUDA PyTorch wheel's libtorch), see the README's \"GPUs\"";

/**
 * The device a run computes on: 'auto' is the GPU when this build has CUDA and one is visible
 * (under `kiln launch`, LOCAL_RANK's), else the CPU; 'cuda' is GPU 0 (LOCAL_RANK's under a
 * launch). A device this build or machine cannot give is an Error that says why.
 */
export function resolveDevice(spec: 'auto' | Device, env: NodeJS.ProcessEnv = process.env): Device {
  if (spec === 'cpu') return 'cpu';
  const cuda = buildInfo().cuda;
  const count = cuda ? cudaDeviceCount() : 0;
  const local = env['LOCAL_RANK'] !== undefined && /^\d+$/.test(env['LOCAL_RANK']) ? Number(env['LOCAL_RANK']) : null;
  if (spec === 'auto') return count > 0 ? `cuda:${local !== null ? local % count : 0}` : 'cpu';
  if (!cuda) throw new Error(`device ${spec}: this Kiln addon is built against a libtorch without CUDA; ${CUDA_BUILD_HINT}`);
  if (count === 0) throw new Error(`device ${spec}: this build has CUDA but no GPU is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)`);
  const index = spec === 'cuda' ? (local ?? 0) : Number(spec.slice(5));
  if (!(index < count)) throw new Error(`device ${spec === 'cuda' ? `cuda (LOCAL_RANK ${local})` : spec}: this machine has ${count} visible GPU${count === 1 ? '' : 's'} (cuda:0${count > 1 ? `–cuda:${count - 1}` : ''})`);
  return `cuda:${index}`;
}
