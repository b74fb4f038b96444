/**
 * Batches for causal language-model training from one long array of token ids.
 *
 * B = batch size, T = block size (context length). Each example is a window of T + 1
 * consecutive ids: x is its first T, y its last T, so y[b, t] is the id that follows x[b, t].
 */
import { tensor } from '../tensor/creation.js';
import type { Device } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { SeededRandom } from './random.js';

/** Token ids in any integer array form (a token file's Uint16Array/Uint32Array, or numbers). */
export type TokenIds = ArrayLike<number>;

/** Inputs and next-token targets, both int64 of shape (B, T). */
export interface LmBatch {
  x: Tensor;
  y: Tensor;
}

export interface WindowOptions {
  /** T: tokens per example (the model's context length). */
  blockSize: number;
  /** B: examples per batch. */
  batchSize: number;
  /** @default 'cpu' */
  device?: Device;
}

export interface RandomWindowsOptions extends WindowOptions {
  /** The sequence of batches is a pure function of the seed. @default 0 */
  seed?: number;
  /** Continue from a saved `state()` instead of the first batch. */
  state?: RandomWindowsState;
}

/** Where a random-window sampler stands: enough to continue it exactly (a plain, JSON-able object). */
export interface RandomWindowsState {
  seed: number;
  /** Batches drawn so far. */
  step: number;
}

function checkWindows(fn: string, tokens: TokenIds, options: WindowOptions): void {
  const { blockSize, batchSize } = options;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`${fn}: blockSize must be a positive integer, got ${blockSize}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${fn}: batchSize must be a positive integer, got ${batchSize}`);
  if (tokens.length < blockSize + 1) {
    throw new RangeError(
      `${fn}: ${tokens.length} tokens are too few for one window of blockSize ${blockSize} (needs blockSize + 1 = ${blockSize + 1}); ` +
        'use more text, a smaller blockSize or a smaller validation fraction',
    );
  }
}

/** x and y for windows starting at `starts`: (B, T) int64 each. */
export function windowBatch(tokens: TokenIds, starts: readonly number[], blockSize: number, device: Device | undefined): LmBatch {
  const batch = starts.length;
  // Float64 holds any uint32 id exactly; the addon casts to int64 while copying.
  const x = new Float64Array(batch * blockSize);
  const y = new Float64Array(batch * blockSize);
  for (let b = 0; b < batch; b++) {
    const start = starts[b]!;
    for (let t = 0; t < blockSize; t++) {
      x[b * blockSize + t] = tokens[start + t]!;
      y[b * blockSize + t] = tokens[start + t + 1]!;
    }
  }
  const options = { shape: [batch, blockSize], dtype: 'int64' as const, ...(device === undefined ? {} : { device }) };
  return { x: tensor(x, options), y: tensor(y, options) }; // (B, T), (B, T)
}

/** A 32-bit mix (murmur3's finalizer), so neighbouring steps get unrelated generator seeds. */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Random windows for training, as nanoGPT's `get_batch`: each of the B windows starts
 * uniformly in [0, n − T − 1], so every window and its shifted target lie inside the tokens.
 *
 * Batch k is a pure function of (seed, k): the generator for it is seeded from both, so a
 * sampler restored from `state()` continues with exactly the batches an uninterrupted one
 * would have drawn, without replaying the ones before.
 */
export class RandomWindowSampler implements Iterable<LmBatch> {
  readonly blockSize: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly #tokens: TokenIds;
  readonly #device: Device | undefined;
  #step: number;

  constructor(tokens: TokenIds, options: RandomWindowsOptions) {
    checkWindows('randomWindows', tokens, options);
    this.#tokens = tokens;
    this.blockSize = options.blockSize;
    this.batchSize = options.batchSize;
    this.#device = options.device;
    const state = options.state;
    if (state !== undefined && options.seed !== undefined && options.seed !== state.seed) {
      throw new Error(`randomWindows: seed ${options.seed} contradicts the restored state's seed ${state.seed}; pass one or the other`);
    }
    this.seed = state?.seed ?? options.seed ?? 0;
    if (!Number.isInteger(this.seed)) throw new RangeError(`randomWindows: seed must be an integer, got ${this.seed}`);
    this.#step = 0;
    if (state !== undefined) this.restore(state);
  }

  /** Where the next window may start: [0, maxStart]. */
  get maxStart(): number {
    return this.#tokens.length - this.blockSize - 1;
  }

  /** The start offsets of batch `step` (B numbers in [0, maxStart]). */
  startsAt(step: number): number[] {
    const random = new SeededRandom(mix32(this.seed ^ mix32(step + 0x51ed27)));
    return Array.from({ length: this.batchSize }, () => random.int(this.maxStart + 1));
  }

  /** The start offsets of the next batch, without making its tensors (a training loop makes them inside its step's scope with windowBatch). */
  nextStarts(): number[] {
    const starts = this.startsAt(this.#step);
    this.#step++;
    return starts;
  }

  /** The next batch: x, y of shape (B, T), int64. */
  next(): LmBatch {
    const batch = windowBatch(this.#tokens, this.startsAt(this.#step), this.blockSize, this.#device);
    this.#step++;
    return batch;
  }

  /** Batches drawn so far. */
  get step(): number {
    return this.#step;
  }

  /** A plain object to save beside a checkpoint; pass it to `restore` or `randomWindows`. */
  state(): RandomWindowsState {
    return { seed: this.seed, step: this.#step };
  }

  /** Continues from a saved state (valid for the same tokens, blockSize and batchSize). */
  restore(state: RandomWindowsState): void {
    if (state.seed !== this.seed) {
      throw new Error(`randomWindows: the saved state has seed ${state.seed} but this sampler has seed ${this.seed}`);
    }
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new RangeError(`randomWindows: the saved state's step must be a non-negative integer, got ${state.step}`);
    }
    this.#step = state.step;
  }

  /** Endless batches (training loops stop by step count). */
  *[Symbol.iterator](): Iterator<LmBatch> {
    for (;;) yield this.next();
  }
}

/** Random training windows; see `RandomWindowSampler`. */
export function randomWindows(tokens: TokenIds, options: RandomWindowsOptions): RandomWindowSampler {
  return new RandomWindowSampler(tokens, options);
}

export interface EvalWindowsOptions extends WindowOptions {
  /** Stop after this many batches (an estimate on a large validation set). @default all */
  maxBatches?: number;
}

/**
 * Sequential, non-overlapping windows for evaluation: window w covers tokens
 * [w·T, w·T + T] (x its first T, y its last T), for the floor((n − 1) / T) windows that fit;
 * they are grouped B at a time, the last batch possibly smaller. Every id except the tail that
 * does not fill a window is predicted exactly once, in order. Iterating again starts over.
 */
export class EvalWindows implements Iterable<LmBatch> {
  readonly blockSize: number;
  readonly batchSize: number;
  /** Windows the batches hold in all. */
  readonly windows: number;
  readonly #tokens: TokenIds;
  readonly #device: Device | undefined;

  constructor(tokens: TokenIds, options: EvalWindowsOptions) {
    checkWindows('evalWindows', tokens, options);
    const { maxBatches } = options;
    if (maxBatches !== undefined && (!Number.isInteger(maxBatches) || maxBatches < 1)) {
      throw new RangeError(`evalWindows: maxBatches must be a positive integer, got ${maxBatches}`);
    }
    this.#tokens = tokens;
    this.#device = options.device;
    this.blockSize = options.blockSize;
    this.batchSize = options.batchSize;
    const fit = Math.floor((tokens.length - 1) / this.blockSize);
    this.windows = maxBatches === undefined ? fit : Math.min(fit, maxBatches * this.batchSize);
  }

  /** Number of batches. */
  get length(): number {
    return Math.ceil(this.windows / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<LmBatch> {
    for (let first = 0; first < this.windows; first += this.batchSize) {
      const count = Math.min(this.batchSize, this.windows - first);
      const starts = Array.from({ length: count }, (_, i) => (first + i) * this.blockSize);
      yield windowBatch(this.#tokens, starts, this.blockSize, this.#device);
    }
  }
}

/** Sequential evaluation windows; see `EvalWindows`. */
export function evalWindows(tokens: TokenIds, options: EvalWindowsOptions): EvalWindows {
  return new EvalWindows(tokens, options);
}
