/**
 * Batches of an ImageSource with prefetch: the pixels of the next `prefetch` batches are
 * requested before the current batch is handed out, so a source that decodes files (sharp
 * decodes on libuv's thread pool) works while the training step runs on the main thread.
 * Batches are plain bytes; the training step turns them into tensors inside its own scope.
 *
 * N = images in the batch, C = channels, H = height, W = width.
 */
import { SeededRandom } from '../data/random.js';
import { type AugmentOptions, augmentPixels } from './augment.js';
import type { ImageSource } from './image-source.js';

export interface ImageBatch {
  /** (N, C, H, W) uint8, augmented when asked */
  pixels: Uint8Array;
  /** (N) */
  labels: Int32Array;
  /** Positions in the source. */
  indices: number[];
  shape: [number, number, number, number];
}

export interface ImageBatchOptions {
  /** @default 64 */
  batchSize?: number;
  /** A new seeded order every pass. @default false */
  shuffle?: boolean;
  /** Seeds the order and the augmentation. @default 0 */
  seed?: number;
  /** Drop a last batch smaller than batchSize. @default false */
  dropLast?: boolean;
  /** @default none */
  augment?: AugmentOptions;
  /** Batches requested ahead of the one being trained on. @default 2 */
  prefetch?: number;
}

/**
 * Iterates `source` in batches, pass after pass: every `[Symbol.asyncIterator]()` is one pass
 * (a new permutation when shuffling).
 */
export class ImageBatches implements AsyncIterable<ImageBatch> {
  readonly batchSize: number;
  readonly #shuffle: boolean;
  readonly #dropLast: boolean;
  readonly #augment: AugmentOptions | undefined;
  readonly #prefetch: number;
  readonly #orderRandom: SeededRandom;
  readonly #augmentRandom: SeededRandom;

  constructor(readonly source: ImageSource, options: ImageBatchOptions = {}) {
    this.batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError(`ImageBatches: batchSize must be a positive integer, got ${this.batchSize}`);
    this.#shuffle = options.shuffle ?? false;
    this.#dropLast = options.dropLast ?? false;
    this.#augment = options.augment;
    this.#prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(this.#prefetch) || this.#prefetch < 0) throw new RangeError(`ImageBatches: prefetch must be a non-negative integer, got ${this.#prefetch}`);
    const seed = options.seed ?? 0;
    this.#orderRandom = new SeededRandom(seed);
    this.#augmentRandom = new SeededRandom(seed + 1);
  }

  /** Batches per pass. */
  get length(): number {
    const n = this.source.length;
    return this.#dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ImageBatch> {
    const { source } = this;
    const n = source.length;
    const order = this.#shuffle ? this.#orderRandom.permutation(n) : Array.from({ length: n }, (_, i) => i);
    const groups: number[][] = [];
    for (let start = 0; start < n; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      if (indices.length < this.batchSize && this.#dropLast) break;
      groups.push(indices);
    }
    const shapeOf = (count: number): [number, number, number, number] => [count, source.channels, source.height, source.width];
    const pending: Promise<Uint8Array>[] = [];
    let next = 0;
    const request = (): void => {
      const indices = groups[next++]!;
      const result = Promise.resolve(source.pixels(indices));
      result.catch(() => {}); // awaited below; this only keeps an early rejection from being reported as unhandled
      pending.push(result);
    };
    for (let k = 0; k < groups.length; k++) {
      while (next < groups.length && next <= k + this.#prefetch) request();
      const raw = await pending.shift()!;
      const indices = groups[k]!;
      const shape = shapeOf(indices.length);
      const pixels = this.#augment === undefined ? raw : augmentPixels(raw, shape, this.#augment, this.#augmentRandom);
      yield { pixels, labels: Int32Array.from(indices, (i) => source.labels[i]!), indices, shape };
    }
  }
}
