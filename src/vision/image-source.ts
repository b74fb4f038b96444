/**
 * Labelled images as the training loop reads them: uint8 pixels (N, C, H, W) in C order and an
 * integer label per image. A source may hold every pixel in memory (IDX data sets) or decode
 * files when asked (image folders); either way `pixels` may return a Promise, so a loader can
 * ask for the next batch before the current one is trained on (see image-batches.ts).
 *
 * N = images, C = channels, H = height, W = width.
 */
export interface ImageSource {
  readonly length: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** (N) label of each image, in [0, classNames.length). */
  readonly labels: Int32Array;
  /** Label i's name. */
  readonly classNames: readonly string[];
  /** (n, C, H, W) uint8 pixels of the images at `indices`, in that order. */
  pixels(indices: readonly number[]): Uint8Array | Promise<Uint8Array>;
  /** Image i's name (a file path), when it has one; for messages and predictions. */
  nameOf?(index: number): string;
}

/** Every pixel in memory: MNIST, Fashion-MNIST, or images already decoded. */
export class InMemoryImages implements ImageSource {
  readonly length: number;
  readonly #imageBytes: number;

  /**
   * @param data (N, C, H, W) uint8
   * @param labels (N) in [0, classNames.length)
   */
  constructor(
    readonly data: Uint8Array,
    readonly labels: Int32Array,
    readonly classNames: readonly string[],
    readonly channels: number,
    readonly height: number,
    readonly width: number,
  ) {
    this.length = labels.length;
    this.#imageBytes = channels * height * width;
    if (data.length !== this.length * this.#imageBytes) {
      throw new RangeError(`InMemoryImages: ${data.length} pixel bytes for ${this.length} images of ${channels}x${height}x${width} (expected ${this.length * this.#imageBytes})`);
    }
    const bad = labels.findIndex((l) => l < 0 || l >= classNames.length);
    if (bad !== -1) throw new RangeError(`InMemoryImages: image ${bad} has label ${labels[bad]}, outside [0, ${classNames.length})`);
  }

  pixels(indices: readonly number[]): Uint8Array {
    const size = this.#imageBytes;
    const out = new Uint8Array(indices.length * size);
    indices.forEach((index, i) => {
      if (!(index >= 0 && index < this.length)) throw new RangeError(`InMemoryImages.pixels: index ${index} outside [0, ${this.length})`);
      out.set(this.data.subarray(index * size, (index + 1) * size), i * size);
    });
    return out;
  }
}
