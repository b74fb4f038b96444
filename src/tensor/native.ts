/**
 * Loads Kiln's libtorch addon. Process-wide performance settings must be in the environment
 * before the addon (and with it OpenBLAS) loads, so they are applied here, once.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** An opaque reference to one at::Tensor owned by the addon. */
export type Handle = { readonly __kilnHandle: never };

/**
 * The addon's functions. Each takes handles, numbers, strings and arrays in the order its C++
 * definition documents; the typed public API lives in tensor.ts and nn/functional.ts.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, (...args: any[]) => any>;

function cpuHasAvx512(): boolean {
  try {
    return /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** The folder of Kiln's package.json (the repository root in a checkout). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('kiln: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** Thread count from KILN_NUM_THREADS, else one per core. */
export function defaultThreadCount(): number {
  const fromEnv = process.env['KILN_NUM_THREADS'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`KILN_NUM_THREADS must be a positive integer, got '${fromEnv}'`);
    }
    return n;
  }
  return availableParallelism();
}

function load(): NativeAddon {
  // Debian's OpenBLAS misdetects AVX-512 Xeons/EPYCs and falls back to SSE3 kernels (3-5x
  // slower matmul); naming the core type before the library loads fixes it.
  if (process.env['OPENBLAS_CORETYPE'] === undefined && cpuHasAvx512()) {
    process.env['OPENBLAS_CORETYPE'] = 'SkylakeX';
  }
  const addonPath = path.join(packageRoot(), 'native', 'build', 'Release', 'kiln.node');
  if (!existsSync(addonPath)) {
    throw new Error(
      `kiln: the native addon is not built (${addonPath} is missing). In a clone of Kiln, run 'npm run setup'. ` +
        `In a project that installed kiln, build it with 'node node_modules/kiln/scripts/build-addon.cjs' (it needs libtorch: ` +
        `Debian's libtorch-dev, or LIBTORCH=/path/to/libtorch); npm 11 runs kiln's install script (which does that) only after 'npm install-scripts approve kiln' and 'npm rebuild kiln'.`,
    );
  }
  const addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
  addon['setNumThreads']!(defaultThreadCount());
  return addon;
}

export const native: NativeAddon = load();
