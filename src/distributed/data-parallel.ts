/**
 * DistributedDataParallel: the same model on every rank, each rank a different slice of the
 * batch, gradients averaged over the ranks after backward so that every rank takes the same
 * optimizer step — the result equals one process training on the whole batch.
 *
 * Gradients travel in buckets (about bucketCapMb each, parameters in reverse order, as
 * backward produces them): each bucket has one flat buffer that is all-reduced in one call.
 * With `overlap` (the default), a hook on every parameter copies its gradient into its bucket
 * the moment backward produces it, and a full bucket starts its all-reduce at once, while
 * backward goes on with the earlier layers; call `armGradientSync()` before the backward whose
 * gradients complete the step (the last micro-batch's).
 */
import type { Module } from '../nn/module.js';
import { tensor } from '../tensor/creation.js';
import { native as N } from '../tensor/native.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { manualSeed } from '../tensor/creation.js';
import type { Device } from '../tensor/dtype.js';
import { DistributedError } from './distributed-error.js';
import type { ProcessGroup } from './process-group.js';
import { shardBatch } from './shard.js';

type BucketsHandle = { readonly __kilnBuckets: never };

export interface DistributedDataParallelOptions {
  /** Largest gradient bucket, in MiB. @default 25 (as PyTorch) */
  bucketCapMb?: number;
  /** Start each bucket's all-reduce during backward, as soon as its gradients are ready. @default true */
  overlap?: boolean;
}

export class DistributedDataParallel {
  readonly module: Module;
  readonly group: ProcessGroup;
  /** Number of gradient buckets. */
  readonly bucketCount: number;
  readonly #device: Device;
  #buckets: BucketsHandle | null;
  /** How many buckets of the last syncGradients() had started their all-reduce during backward (overlap). */
  overlappedBuckets = 0;

  constructor(module: Module, group: ProcessGroup, options: DistributedDataParallelOptions = {}) {
    const capMb = options.bucketCapMb ?? 25;
    if (!(capMb > 0)) throw new RangeError(`DistributedDataParallel: bucketCapMb must be positive, got ${capMb}`);
    this.module = module;
    this.group = group;
    // Reverse registration order, as PyTorch: backward produces the last layers' gradients first.
    const params = module.parameters().filter((p) => p.requiresGrad).reverse();
    const bucketOf: number[] = [];
    let bucket = 0;
    let bytes = 0;
    for (const [i, p] of params.entries()) {
      const previous = params[i - 1];
      if (previous !== undefined && (previous.dtype !== p.dtype || previous.device !== p.device || bytes + p.nbytes > capMb * 1024 * 1024)) {
        bucket++;
        bytes = 0;
      }
      bucketOf.push(bucket);
      bytes += p.nbytes;
    }
    this.bucketCount = params.length === 0 ? 0 : bucket + 1;
    this.#device = params[0]?.device ?? 'cpu';
    this.#buckets = N['distNewBuckets']!(group.handle, params.map((p) => p.handle), bucketOf, options.overlap ?? true) as BucketsHandle;
  }

  get rank(): number {
    return this.group.rank;
  }

  get worldSize(): number {
    return this.group.worldSize;
  }

  /** Whether this rank writes logs, reports and checkpoints (rank 0). */
  get isWriter(): boolean {
    return this.group.rank === 0;
  }

  get #handle(): BucketsHandle {
    if (this.#buckets === null) throw new DistributedError('this DistributedDataParallel was released');
    return this.#buckets;
  }

  /** Makes every rank's parameters and buffers rank 0's. Call once before training. */
  async broadcastParameters(): Promise<void> {
    const tensors = [...this.module.parameters(), ...this.module.buffers()];
    const strided = tensors.find((t) => !t.isContiguous());
    if (strided !== undefined) throw new DistributedError(`broadcastParameters: a parameter or buffer of shape [${strided.shape.join(', ')}] is not contiguous; make it contiguous when the module is built`);
    // Broadcast into detached aliases: they share the parameters' memory but not their autograd
    // identity (a leaf that requires grad cannot be written in place).
    const aliases = tensors.map((t) => keep(t.detach()));
    try {
      await Promise.all(aliases.map((a) => this.group.broadcast(a, 0)));
    } finally {
      for (const a of aliases) a.dispose();
    }
  }

  /**
   * The next backward completes this step's gradients (with gradient accumulation: the last
   * micro-batch's): with overlap, its gradients start travelling as backward produces them.
   */
  armGradientSync(): void {
    N['distArmBuckets']!(this.#handle);
  }

  /**
   * Averages every parameter's gradient over the ranks, in place. Call after backward and
   * before clipping and the optimizer step; every rank must call it at the same point.
   * A parameter without a gradient counts as zeros and receives the average.
   */
  async syncGradients(): Promise<void> {
    if (this.worldSize === 1) return;
    try {
      this.overlappedBuckets = await (N['distFinishBuckets']!(this.#handle) as Promise<number>);
    } catch (error) {
      throw new DistributedError(
        `rank ${this.rank} of ${this.worldSize}: gradient all-reduce failed — another rank has exited, hung for more than ${this.group.timeoutMs / 1000} s, ` +
          `or cannot be reached (${(error as Error).message})`,
      );
    }
  }

  /** Removes the gradient hooks from the parameters. */
  release(): void {
    if (this.#buckets !== null) N['distReleaseBuckets']!(this.#buckets);
    this.#buckets = null;
  }

  /** A one-element tensor for a scalar collective, on the parameters' device (NCCL reduces CUDA tensors only). */
  #scalar(value: number): Tensor {
    return keep(tensor([value], { dtype: 'float64', device: this.#device }));
  }

  /** The mean of a number over the ranks (e.g. each rank's loss). */
  async average(value: number): Promise<number> {
    const t = this.#scalar(value);
    try {
      await this.group.allReduce(t, 'avg');
      return t.item();
    } finally {
      t.dispose();
    }
  }

  /** True on every rank when any rank passes true: a decision every rank must take together (stop now). */
  async any(flag: boolean): Promise<boolean> {
    const t = this.#scalar(flag ? 1 : 0);
    try {
      await this.group.allReduce(t, 'max');
      return t.item() > 0;
    } finally {
      t.dispose();
    }
  }

  /** This rank's rows [rank·B, (rank+1)·B) of a global batch of worldSize·B rows; see shardBatch. */
  shard<T>(batch: T): T {
    return shardBatch(batch, this.rank, this.worldSize);
  }

  /**
   * Gives ranks other than 0 their own random stream (dropout), derived from `seed` and the
   * rank, so their noise is independent; rank 0 keeps the stream a single process would have.
   */
  seedRank(seed: number): void {
    if (this.rank > 0) manualSeed(seed + 7919 * this.rank);
  }
}
