import { noGrad } from '../tensor/autograd.js';
import { ones, tensor, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { batchNorm } from './functional.js';
import { Module } from './module.js';
import { Buffer, Parameter } from './parameter.js';

export interface BatchNormOptions {
  /** @default 1e-5 */
  eps?: number;
  /**
   * Weight of the newest batch in the running statistics: running = (1 − m)·running + m·batch.
   * null keeps a cumulative average over all batches seen instead. @default 0.1
   */
  momentum?: number | null;
  /** Learn a per-channel scale and shift. @default true */
  affine?: boolean;
  /** Keep running statistics for eval; without them eval normalises with the batch's own. @default true */
  trackRunningStats?: boolean;
  /** @default 'float32' */
  dtype?: DType;
}

/**
 * Batch normalisation over channel dim 1, as PyTorch's _BatchNorm: training normalises with the
 * batch's statistics and folds them into running_mean / running_var (unbiased variance) and
 * counts num_batches_tracked; eval normalises with the running statistics.
 */
abstract class BatchNormBase extends Module {
  /** (C), starts at 1 */
  weight: Parameter | null;
  /** (C), starts at 0 */
  bias: Parameter | null;
  /** (C), starts at 0 */
  running_mean: Buffer | null;
  /** (C), starts at 1 */
  running_var: Buffer | null;
  /** int64 scalar: training forwards seen. */
  num_batches_tracked: Buffer | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  /** The input ranks this layer accepts and how to describe them in an error. */
  protected abstract readonly ranks: readonly number[];
  protected abstract readonly layouts: string;

  constructor(readonly numFeatures: number, options: BatchNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const dtype = options.dtype ?? 'float32';
    this.weight = this.affine ? new Parameter(ones([numFeatures], { dtype })) : null;
    this.bias = this.affine ? new Parameter(zeros([numFeatures], { dtype })) : null;
    const track = this.trackRunningStats;
    this.running_mean = track ? new Buffer(zeros([numFeatures], { dtype })) : null;
    this.running_var = track ? new Buffer(ones([numFeatures], { dtype })) : null;
    this.num_batches_tracked = track ? new Buffer(tensor(0, { dtype: 'int64' })) : null;
  }

  /** Sets the running statistics back to mean 0, variance 1 and the batch count to 0. */
  resetRunningStats(): void {
    noGrad(() => {
      this.running_mean?.zero_();
      this.running_var?.fill_(1);
      this.num_batches_tracked?.zero_();
    });
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    if (!this.ranks.includes(x.ndim)) {
      throw new Error(`${name}: expected ${this.layouts} input, got shape [${x.shape.join(', ')}]`);
    }
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(`${name}: expected ${this.numFeatures} channels in dim 1, got shape [${x.shape.join(', ')}]`);
    }
    let momentum = this.momentum ?? 0;
    if (this.training && this.num_batches_tracked !== null) {
      const count = this.num_batches_tracked;
      noGrad(() => count.add_(1));
      // A null momentum makes the running statistics the plain average of every batch so far.
      if (this.momentum === null) momentum = 1 / count.item();
    }
    // Without running statistics even eval has to use the batch's own.
    const useBatchStats = this.training || this.running_mean === null;
    if (useBatchStats && x.numel() / x.shape[1]! <= 1) {
      throw new Error(
        `${name}: expected more than 1 value per channel when training, got shape [${x.shape.join(', ')}]; ` +
          'use a batch of at least 2, or eval()',
      );
    }
    return batchNorm(x, this.running_mean, this.running_var, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Batch norm over (B, C) or (B, C, L): per channel C, statistics over B (and L). */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
  protected readonly layouts = '2-D (B, C) or 3-D (B, C, L)';
}

/** Batch norm over (B, C, H, W): per channel C, statistics over B, H and W. */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
  protected readonly layouts = '4-D (B, C, H, W)';
}
