/**
 * The training images of an image run as the shared training loop draws them: shuffled epochs
 * over the source's indices (an epoch sampler, saved and restored with the run), each draw's
 * share for this process decoded ahead — the next draw's pixels are requested while the current
 * step trains, so a source that decodes files (sharp works on libuv's thread pool) overlaps the
 * step — and augmented when loaded, in load order, so a seed and a checkpoint fix every crop.
 *
 * N = images, C = channels, H = height, W = width.
 */
import { SeededRandom } from '../data/random.js';
import { epochSampler, type IndexSampler, type SamplerState } from '../finetune/batches.js';
import { type AugmentOptions, augmentPixels } from './augment.js';
import type { ImageSource } from './image-source.js';

/** One micro-batch ready for the step: (N, C, H, W) uint8 pixels and (N) labels. */
export interface LoadedImages {
  pixels: Uint8Array;
  labels: Int32Array;
  shape: [number, number, number, number];
}

/** An image sampler's checkpoint: the epoch sampler's, and the augmentation generator's. */
export interface ImageSamplerState extends SamplerState {
  augment: number;
}

interface Ahead {
  count: number;
  indices: number[];
  /** The epoch sampler before this draw: a checkpoint taken while it waits unused resumes from here. */
  before: SamplerState;
}

export class ImageDraws implements IndexSampler {
  readonly #source: ImageSource;
  readonly #sampler: IndexSampler;
  readonly #augment: AugmentOptions | undefined;
  readonly #augmentRandom: SeededRandom;
  readonly #share: (global: number[]) => number[];
  /** The next draw, made ahead of its step. */
  #ahead: Ahead | undefined;
  /** Pixels requested ahead, by the indices they are for. */
  #decoding: { key: string; pixels: Promise<Uint8Array> }[] = [];

  /**
   * @param share this process's part of a draw (all of it on one process; rank r's slice under data parallelism)
   */
  constructor(source: ImageSource, options: { seed: number; augment?: AugmentOptions | undefined; share?: (global: number[]) => number[] }) {
    this.#source = source;
    this.#sampler = epochSampler(source.length, options.seed);
    this.#augment = options.augment !== undefined && ((options.augment.cropPadding ?? 0) > 0 || options.augment.flip === true) ? options.augment : undefined;
    this.#augmentRandom = new SeededRandom(options.seed + 1);
    this.#share = options.share ?? ((global) => global);
  }

  next(count: number): number[] {
    let indices: number[];
    const ahead = this.#ahead;
    this.#ahead = undefined;
    if (ahead !== undefined && ahead.count === count) {
      indices = ahead.indices;
    } else {
      if (ahead !== undefined) this.#sampler.restore(ahead.before); // a draw of another size: draw afresh from where that one began
      indices = this.#sampler.next(count);
    }
    const before = this.#sampler.state();
    const next = this.#sampler.next(count);
    this.#ahead = { count, indices: next, before };
    const mine = this.#share(next);
    const pixels = Promise.resolve(this.#source.pixels(mine));
    pixels.catch(() => {}); // awaited by load; this only keeps an early rejection from being reported as unhandled
    this.#decoding.push({ key: mine.join(','), pixels });
    if (this.#decoding.length > 8) this.#decoding.shift();
    return indices;
  }

  /** The pixels and labels of `indices` (this process's share of a draw), augmented. */
  async load(indices: number[]): Promise<LoadedImages> {
    const key = indices.join(',');
    const at = this.#decoding.findIndex((d) => d.key === key);
    const raw = at === -1 ? await this.#source.pixels(indices) : await this.#decoding.splice(0, at + 1).at(-1)!.pixels;
    const shape: [number, number, number, number] = [indices.length, this.#source.channels, this.#source.height, this.#source.width];
    const pixels = this.#augment === undefined ? raw : augmentPixels(raw, shape, this.#augment, this.#augmentRandom);
    return { pixels, labels: Int32Array.from(indices, (i) => this.#source.labels[i]!), shape };
  }

  state(): ImageSamplerState {
    return { ...(this.#ahead?.before ?? this.#sampler.state()), augment: this.#augmentRandom.state };
  }

  restore(state: SamplerState): void {
    this.#sampler.restore(state);
    const augment = (state as Partial<ImageSamplerState>).augment;
    if (augment !== undefined) this.#augmentRandom.restore(augment);
    this.#ahead = undefined;
    this.#decoding = [];
  }
}
