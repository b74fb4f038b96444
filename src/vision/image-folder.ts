/**
 * A folder of labelled images: DIR/<class name>/<image file>, classes in sorted order of the
 * sub-folder names. Every file is decoded once when the folder is opened, so a corrupt or
 * non-image file is found before training starts: it is reported by name and either skipped
 * (`badImages: 'skip'`) or the open fails with an error naming it (`'error'`). With `cache`
 * the decoded pixels are kept; without it, batches decode again (asynchronously, see
 * image-batches.ts for the prefetch that hides it).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeImage, type DecodeOptions } from './decode-image.js';
import { ImageDataError } from './image-data-error.js';
import type { ImageSource } from './image-source.js';

export type BadImagePolicy = 'skip' | 'error';

export interface ImageFolderOptions {
  /** Height and width every image is resized to. @default 32 */
  size?: number | [number, number];
  /** 1 (grey) or 3 (RGB). @default 3 */
  channels?: 1 | 3;
  /** What to do with a file that does not decode. @default 'error' */
  badImages?: BadImagePolicy;
  /** Called for every file skipped, with the reason. @default prints a warning to stderr */
  onBadImage?: (file: string, reason: string) => void;
  /** Keep the decoded pixels in memory. @default true */
  cache?: boolean;
  /** Files decoded at the same time. @default 8 */
  concurrency?: number;
  /** Only these class names (sub-folders), in this label order. @default every sub-folder */
  classNames?: readonly string[];
}

/** Runs `work` on every item with at most `limit` in flight, in order of the results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class ImageFolder implements ImageSource {
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;

  private constructor(
    readonly dir: string,
    readonly files: readonly string[],
    readonly labels: Int32Array,
    readonly classNames: readonly string[],
    readonly skipped: readonly { file: string; reason: string }[],
    readonly decode: DecodeOptions,
    readonly cached: (Uint8Array | undefined)[] | null,
  ) {
    this.channels = decode.channels;
    this.height = decode.height;
    this.width = decode.width;
  }

  /** Lists, decodes and checks every image under `dir`; see the module comment. */
  static async open(dir: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const size = options.size ?? 32;
    const [height, width] = typeof size === 'number' ? [size, size] : size;
    if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) throw new RangeError(`ImageFolder: size must be positive integers, got ${height}x${width}`);
    const decode: DecodeOptions = { height, width, channels: options.channels ?? 3 };
    const policy = options.badImages ?? 'error';
    const onBad = options.onBadImage ?? ((file, reason) => process.stderr.write(`warning: skipping ${file}: ${reason}\n`));
    let entries: string[];
    try {
      entries = readdirSync(dir).filter((name) => !name.startsWith('.') && statSync(path.join(dir, name)).isDirectory()).sort();
    } catch (error) {
      throw new ImageDataError(`cannot read image folder ${dir}: ${(error as Error).message}`, dir);
    }
    const classNames = options.classNames ?? entries;
    const missing = classNames.filter((name) => !entries.includes(name));
    if (missing.length > 0) throw new ImageDataError(`image folder ${dir} has no sub-folder ${missing.map((m) => `'${m}'`).join(', ')} (it has ${entries.join(', ') || 'none'})`, dir);
    if (classNames.length === 0) throw new ImageDataError(`image folder ${dir} has no sub-folders; put each class's images in DIR/<class name>/`, dir);
    const candidates: { file: string; label: number }[] = [];
    classNames.forEach((name, label) => {
      const sub = path.join(dir, name);
      for (const file of readdirSync(sub).sort()) {
        if (file.startsWith('.')) continue;
        const full = path.join(sub, file);
        if (statSync(full).isFile()) candidates.push({ file: full, label });
      }
    });
    const decoded = await mapLimited(candidates, options.concurrency ?? 8, async ({ file }) => {
      try {
        return await decodeImage(file, decode);
      } catch (error) {
        if (policy === 'error') throw new ImageDataError(`${(error as Error).message}; remove the file or pass --bad-images skip`, file);
        return error as Error;
      }
    });
    const files: string[] = [];
    const labels: number[] = [];
    const cache: (Uint8Array | undefined)[] = [];
    const skipped: { file: string; reason: string }[] = [];
    decoded.forEach((result, i) => {
      const { file, label } = candidates[i]!;
      if (result instanceof Error) {
        skipped.push({ file, reason: result.message });
        onBad(file, result.message);
        return;
      }
      files.push(file);
      labels.push(label);
      cache.push(result);
    });
    if (files.length === 0) throw new ImageDataError(`image folder ${dir}: no readable images in ${classNames.length} class folder(s)${skipped.length > 0 ? ` (${skipped.length} skipped)` : ''}`, dir);
    const keep = options.cache ?? true;
    return new ImageFolder(dir, files, Int32Array.from(labels), classNames, skipped, decode, keep ? cache : null);
  }

  get length(): number {
    return this.files.length;
  }

  nameOf(index: number): string {
    return this.files[index]!;
  }

  async pixels(indices: readonly number[]): Promise<Uint8Array> {
    const size = this.channels * this.height * this.width;
    const out = new Uint8Array(indices.length * size);
    await Promise.all(
      indices.map(async (index, i) => {
        const file = this.files[index];
        if (file === undefined) throw new RangeError(`ImageFolder.pixels: index ${index} outside [0, ${this.length})`);
        out.set(this.cached?.[index] ?? (await decodeImage(file, this.decode)), i * size);
      }),
    );
    return out;
  }
}
