/** DataLoader: iterates a dataset in (optionally shuffled) batches. */
import { stack } from '../tensor/ops.js';
import { Tensor } from '../tensor/tensor.js';
import type { Dataset } from './dataset.js';
import { SeededRandom } from './random.js';

export interface DataLoaderOptions<T> {
  /** @default 1 */
  batchSize?: number;
  /** Reshuffle the order at the start of every pass. @default false */
  shuffle?: boolean;
  /** Seed of the shuffling; each pass uses the next permutation of the same sequence. @default 0 */
  seed?: number;
  /** Skip the last batch when it is smaller than batchSize. @default false */
  dropLast?: boolean;
  /** Turns a list of examples into a batch. @default stacks tensors position by position */
  collate?: (examples: T[]) => T;
}

/** Stacks tensors (or arrays / objects of tensors) along a new first dim. */
export function defaultCollate<T>(examples: T[]): T {
  const first = examples[0];
  if (first instanceof Tensor) return stack(examples as Tensor[]) as T;
  if (Array.isArray(first)) {
    return first.map((_, i) => defaultCollate(examples.map((e) => (e as unknown[])[i]))) as T;
  }
  if (typeof first === 'number') return examples as T;
  if (first !== null && typeof first === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) out[key] = defaultCollate(examples.map((e) => (e as Record<string, unknown>)[key]));
    return out as T;
  }
  return examples as T;
}

export class DataLoader<T> implements Iterable<T> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly #random: SeededRandom;
  readonly #collate: (examples: T[]) => T;

  constructor(readonly dataset: Dataset<T>, options: DataLoaderOptions<T> = {}) {
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.#random = new SeededRandom(options.seed ?? 0);
    this.#collate = options.collate ?? defaultCollate;
  }

  /** Number of batches per pass. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<T> {
    const n = this.dataset.length;
    const order = this.shuffle ? this.#random.permutation(n) : Array.from({ length: n }, (_, i) => i);
    for (let start = 0; start < n; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      if (indices.length < this.batchSize && this.dropLast) break;
      yield this.dataset.batch !== undefined
        ? this.dataset.batch(indices)
        : this.#collate(indices.map((i) => this.dataset.get(i)));
    }
  }
}
