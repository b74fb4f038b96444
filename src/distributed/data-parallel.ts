/**
 * DistributedDataParallel: the same model on every rank, each rank a different slice of the
 * batch, gradients averaged over the ranks after backward so that every rank takes the same
 * optimizer step — the result equals one process training on the whole batch.
 *
 * Gradients travel in buckets (about bucketCapMb each): a bucket's gradients are copied into
 * one flat buffer, the buffer is all-reduced, and the averages are copied back. All buckets are
 * started at once after backward, so Gloo's threads reduce one bucket while the next is still
 * being packed; they do not overlap with backward itself (that would need autograd hooks that
 * start a bucket from inside libtorch's backward pass).
 */
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import { manualSeed, tensor, zeros } from '../tensor/creation.js';
import { keep, scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ProcessGroup } from './process-group.js';
import { shardBatch } from './shard.js';

export interface DistributedDataParallelOptions {
  /** Largest gradient bucket, in MiB. @default 25 (as PyTorch) */
  bucketCapMb?: number;
}

interface Bucket {
  params: Parameter[];
  offsets: number[];
  /** The flat buffer (numel,) reused every step. */
  flat: Tensor;
}

export class DistributedDataParallel {
  readonly module: Module;
  readonly group: ProcessGroup;
  readonly buckets: readonly Bucket[];

  constructor(module: Module, group: ProcessGroup, options: DistributedDataParallelOptions = {}) {
    const capMb = options.bucketCapMb ?? 25;
    if (!(capMb > 0)) throw new RangeError(`DistributedDataParallel: bucketCapMb must be positive, got ${capMb}`);
    this.module = module;
    this.group = group;
    // Reverse registration order, as PyTorch: backward produces the last layers' gradients first.
    const params = module.parameters().filter((p) => p.requiresGrad).reverse();
    const buckets: Bucket[] = [];
    let current: Parameter[] = [];
    let bytes = 0;
    const close = (): void => {
      if (current.length === 0) return;
      const offsets: number[] = [];
      let numel = 0;
      for (const p of current) {
        offsets.push(numel);
        numel += p.numel();
      }
      const first = current[0]!;
      const flat = keep(zeros([numel], { dtype: first.dtype, device: first.device })); // (numel,)
      buckets.push({ params: current, offsets, flat });
      current = [];
      bytes = 0;
    };
    for (const p of params) {
      const first = current[0];
      if (first !== undefined && (first.dtype !== p.dtype || first.device !== p.device || bytes + p.nbytes > capMb * 1024 * 1024)) close();
      current.push(p);
      bytes += p.nbytes;
    }
    close();
    this.buckets = buckets;
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

  /** Makes every rank's parameters and buffers rank 0's. Call once before training. */
  async broadcastParameters(): Promise<void> {
    for (const bucket of this.buckets) {
      scope(() => noGrad(() => bucket.params.forEach((p, i) => bucket.flat.narrow(0, bucket.offsets[i]!, p.numel()).copy_(p.reshape(-1)))));
    }
    await Promise.all(this.buckets.map((b) => this.group.broadcast(b.flat, 0)));
    for (const bucket of this.buckets) {
      scope(() => noGrad(() => bucket.params.forEach((p, i) => p.copy_(bucket.flat.narrow(0, bucket.offsets[i]!, p.numel()).view(p.shape)))));
    }
    await Promise.all(this.module.buffers().map((b) => (b.isContiguous() ? this.group.broadcast(b, 0) : Promise.resolve())));
  }

  /**
   * Averages every parameter's gradient over the ranks, in place. Call after backward and
   * before clipping and the optimizer step; every rank must call it at the same point.
   * A parameter without a gradient counts as zeros and receives the average.
   */
  async syncGradients(): Promise<void> {
    if (this.worldSize === 1) return;
    const pending: Promise<void>[] = [];
    for (const bucket of this.buckets) {
      scope(() =>
        bucket.params.forEach((p, i) => {
          const slot = bucket.flat.narrow(0, bucket.offsets[i]!, p.numel());
          const grad = p.grad;
          if (grad === null) slot.zero_();
          else slot.copy_(grad.reshape(-1));
        }),
      );
      pending.push(this.group.allReduce(bucket.flat, 'avg')); // started now, in bucket order
    }
    await Promise.all(pending);
    for (const bucket of this.buckets) {
      scope(() =>
        bucket.params.forEach((p, i) => {
          const slot = bucket.flat.narrow(0, bucket.offsets[i]!, p.numel()).view(p.shape);
          const grad = p.grad;
          if (grad === null) p.grad = slot.clone();
          else grad.copy_(slot);
        }),
      );
    }
  }

  /** A one-element tensor for a scalar collective, on the parameters' device (NCCL reduces CUDA tensors only). */
  #scalar(value: number): Tensor {
    const device = this.buckets[0]?.flat.device ?? 'cpu';
    return keep(tensor([value], { dtype: 'float64', device }));
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
