/**
 * Process groups on c10d: the ranks of a run joined for collectives (Gloo on CPU, NCCL with a
 * CUDA build). Every collective is asynchronous — the event loop stays free while the ranks
 * exchange data — and is started in call order, which must be the same on every rank.
 */
import { zeros } from '../tensor/creation.js';
import { native as N } from '../tensor/native.js';
import type { Tensor } from '../tensor/tensor.js';
import { DistributedError } from './distributed-error.js';
import { DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT, launchEnv } from './launch-env.js';
import { Store } from './store.js';

type GroupHandle = { readonly __kilnGroup: never };

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';

export interface InitProcessGroupOptions {
  /** 'gloo' (CPU tensors) or 'nccl' (CUDA tensors; needs a CUDA build of Kiln). @default 'gloo' */
  backend?: Backend;
  /** @default RANK from the environment */
  rank?: number;
  /** @default WORLD_SIZE from the environment */
  worldSize?: number;
  /** Rank 0's address. @default MASTER_ADDR, else '127.0.0.1' */
  masterAddr?: string;
  /** The port rank 0's TCPStore listens on. @default MASTER_PORT, else 29500 */
  masterPort?: number;
  /**
   * How long a rendezvous or a collective may wait for the other ranks before failing (at least 1000). A rank
   * that exits is noticed at once (its connections close); one that hangs, after this long.
   * @default KILN_DIST_TIMEOUT (seconds) from the environment, else 1800000 (30 minutes, as PyTorch)
   */
  timeoutMs?: number;
  /** Meet through this file (FileStore) instead of a TCPStore at masterAddr:masterPort. */
  storePath?: string;
  /**
   * The network interface Gloo listens on. @default GLOO_SOCKET_IFNAME from the environment,
   * else the interface with the route to masterAddr
   */
  interface?: string;
}

/** @default timeoutMs: 30 minutes, as torch.distributed */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

function timeoutFromEnv(): number | undefined {
  const raw = process.env['KILN_DIST_TIMEOUT'];
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new DistributedError(`KILN_DIST_TIMEOUT=${raw} must be a positive number of seconds`);
  return Math.round(seconds * 1000);
}

function checkInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DistributedError(`initProcessGroup: ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

export class ProcessGroup {
  readonly backend: Backend;
  readonly rank: number;
  readonly worldSize: number;
  readonly timeoutMs: number;
  /** The store the ranks met through (usable for small values). */
  readonly store: Store;
  #handle: GroupHandle | null;

  /** @internal Use initProcessGroup(). */
  constructor(handle: GroupHandle, store: Store, info: { backend: Backend; rank: number; worldSize: number; timeoutMs: number }) {
    this.#handle = handle;
    this.store = store;
    this.backend = info.backend;
    this.rank = info.rank;
    this.worldSize = info.worldSize;
    this.timeoutMs = info.timeoutMs;
  }

  get handle(): GroupHandle {
    if (this.#handle === null) throw new DistributedError(`the process group of rank ${this.rank} was destroyed; create a new one with initProcessGroup()`);
    return this.#handle;
  }

  /**
   * Starts a collective now (synchronously, so that collectives start in call order) and
   * turns its failure — also a bad argument — into a rejected Promise.
   */
  async #run(what: string, start: () => Promise<void>): Promise<void> {
    let running: Promise<void>;
    try {
      running = start();
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      await running;
    } catch (error) {
      throw new DistributedError(
        `rank ${this.rank} of ${this.worldSize}: ${what} failed — another rank has exited, hung for more than ${this.timeoutMs / 1000} s, ` +
          `or cannot be reached (${(error as Error).message})`,
      );
    }
  }

  /** Reduces `tensor` (contiguous) over all ranks, in place. 'avg' sums, then divides by the world size. */
  allReduce(tensor: Tensor, op: ReduceOp = 'sum'): Promise<void> {
    return this.#run('all-reduce', () => N['distAllReduce']!(this.handle, tensor.handle, op) as Promise<void>);
  }

  /** Makes every rank's `tensor` (contiguous, same shape everywhere) a copy of rank `root`'s, in place. */
  broadcast(tensor: Tensor, root = 0): Promise<void> {
    return this.#run('broadcast', () => N['distBroadcast']!(this.handle, tensor.handle, root) as Promise<void>);
  }

  /** Every rank's `tensor` (same shape and dtype everywhere), in rank order. The results are new tensors outside any scope. */
  async allGather(tensor: Tensor): Promise<Tensor[]> {
    const outputs = Array.from({ length: this.worldSize }, () => zeros(tensor.shape, { dtype: tensor.dtype, device: tensor.device }));
    try {
      await this.#run('all-gather', () => N['distAllGather']!(this.handle, outputs.map((o) => o.handle), tensor.handle) as Promise<void>);
    } catch (error) {
      for (const o of outputs) o.dispose();
      throw error;
    }
    return outputs;
  }

  /** Resolves once every rank has called barrier(). */
  barrier(): Promise<void> {
    return this.#run('barrier', () => N['distBarrier']!(this.handle) as Promise<void>);
  }

  /** Waits for pending collectives and releases the group's connections. */
  async destroy(): Promise<void> {
    if (this.#handle === null) return;
    const handle = this.#handle;
    this.#handle = null;
    await (N['distDestroyGroup']!(handle) as Promise<void>);
    this.store.close();
  }
}

/** The backends this build of Kiln has: always 'gloo'; 'nccl' with a CUDA libtorch that has NCCL. */
export function availableBackends(): Backend[] {
  return N['distBackends']!() as Backend[];
}

/**
 * Joins this process to the run's process group: rank 0 opens a TCPStore at
 * masterAddr:masterPort, every rank connects, and the backend connects the ranks with each
 * other. Unset options come from torchrun's environment variables (RANK, WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT) as `kiln launch` sets them.
 * @example
 * const group = await initProcessGroup(); // in a process started by `kiln launch`
 * await group.allReduce(t, 'avg');
 */
export async function initProcessGroup(options: InitProcessGroupOptions = {}): Promise<ProcessGroup> {
  const env = options.rank === undefined || options.worldSize === undefined ? launchEnv() : null;
  const rank = options.rank ?? env?.rank;
  const worldSize = options.worldSize ?? env?.worldSize;
  if (rank === undefined || worldSize === undefined) {
    throw new DistributedError('initProcessGroup: rank and worldSize are not given and RANK/WORLD_SIZE are not set; start the processes with `kiln launch`, or pass rank and worldSize');
  }
  checkInt('worldSize', worldSize, 1);
  checkInt('rank', rank, 0, worldSize - 1);
  const backend = options.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new DistributedError(`initProcessGroup: backend must be 'gloo' or 'nccl', got '${String(backend)}'`);
  if (!availableBackends().includes(backend)) {
    throw new DistributedError("initProcessGroup: this build of Kiln has no NCCL (its libtorch is a CPU build); use backend 'gloo', or rebuild with LIBTORCH=/path/to/a CUDA libtorch");
  }
  const masterAddr = options.masterAddr ?? env?.masterAddr ?? process.env['MASTER_ADDR'] ?? DEFAULT_MASTER_ADDR;
  const masterPort = options.masterPort ?? env?.masterPort ?? (process.env['MASTER_PORT'] ? Number(process.env['MASTER_PORT']) : DEFAULT_MASTER_PORT);
  checkInt('masterPort', masterPort, 1, 65535);
  const timeoutMs = options.timeoutMs ?? timeoutFromEnv() ?? DEFAULT_TIMEOUT_MS;
  // c10d's TCPStore counts its connect timeout in whole seconds: below one it fails at once.
  if (!(timeoutMs >= 1000)) throw new DistributedError(`initProcessGroup: timeoutMs must be at least 1000 (c10d's store counts whole seconds), got ${timeoutMs}`);
  const store =
    options.storePath !== undefined
      ? await Store.file({ path: options.storePath, worldSize, timeoutMs })
      : await Store.tcp({ host: masterAddr, port: masterPort, isServer: rank === 0, worldSize, timeoutMs });
  const iface = options.interface ?? (process.env['GLOO_SOCKET_IFNAME'] || undefined);
  const device = iface !== undefined ? `iface:${iface}` : `toward:${masterAddr}:${masterPort}`;
  let handle: GroupHandle;
  try {
    handle = await (N['distNewGroup']!(store.handle, backend, rank, worldSize, Math.round(timeoutMs), device) as Promise<GroupHandle>);
  } catch (error) {
    store.close();
    throw new DistributedError(`rank ${rank} of ${worldSize}: cannot join the ${backend} process group within ${timeoutMs / 1000} s (${(error as Error).message}); check that every rank was started with the same WORLD_SIZE and MASTER_ADDR:MASTER_PORT`);
  }
  return new ProcessGroup(handle, store, { backend, rank, worldSize, timeoutMs });
}
