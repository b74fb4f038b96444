/**
 * Resolving what `--data`, `--classes`, `--per-class` and friends name into the training,
 * validation and test images of a run: MNIST / Fashion-MNIST (their train and test splits) or
 * an image folder (no test split), restricted to some classes, optionally few-shot, with a
 * seeded validation split from the training images left over.
 */
import { ImageDataError } from './image-data-error.js';
import { ImageFolder, type BadImagePolicy } from './image-folder.js';
import type { ImageSource } from './image-source.js';
import { type IdxDatasetName, IDX_NORMALIZATION, loadIdxDataset } from './mnist.js';
import { defaultNormalization, type Normalization } from './normalize.js';
import { ImageSubset, samplePerClass, selectClasses, splitValidation } from './subsets.js';
import { SeededRandom } from '../data/random.js';

export interface ImageDataSettings {
  /** 'mnist', 'fashion-mnist', or a folder of class sub-folders. */
  data: string;
  /** Labels to keep (relabelled 0..k-1 in this order). @default every class */
  classes: number[] | null;
  /** Keep this many seeded training images per class (few-shot). @default all */
  perClass: number | null;
  /** Fraction of the (remaining) training images held out for validation. @default 0.1 */
  valFraction: number;
  /** At most this many validation images (few-shot runs validate on images they do not train on). @default 2000 */
  valSize: number;
  /** @default 0 */
  seed: number;
  /** Image folders: side images are resized to. @default 32 */
  imageSize: number;
  /** Image folders: 1 or 3. @default 3 */
  channels: 1 | 3;
  /** Image folders: what to do with files that do not decode. @default 'error' */
  badImages: BadImagePolicy;
  /** Image folders: class names in label order (a model's labels). @default the sorted sub-folders */
  classNames: readonly string[] | null;
}

export const IMAGE_DATA_DEFAULTS: ImageDataSettings = {
  data: 'mnist', classes: null, perClass: null, valFraction: 0.1, valSize: 2000, seed: 0, imageSize: 32, channels: 3, badImages: 'error', classNames: null,
};

export interface ImageData {
  train: ImageSource;
  val: ImageSource | null;
  /** The data set's test split with the same classes (MNIST and Fashion-MNIST only). */
  test: ImageSource | null;
  classNames: readonly string[];
  /** The data set's usual normalisation (folders: [0, 1] → [−1, 1]). */
  normalization: Normalization;
  channels: number;
  imageSize: [number, number];
}

export function isIdxDataset(data: string): data is IdxDatasetName {
  return data === 'mnist' || data === 'fashion-mnist';
}

/** Every image of `data` (a split of an IDX data set, or a whole folder), classes not yet selected. */
export async function openImageData(settings: Pick<ImageDataSettings, 'data' | 'imageSize' | 'channels' | 'badImages' | 'classNames'>, split: 'train' | 'test' = 'train'): Promise<ImageSource> {
  if (isIdxDataset(settings.data)) return loadIdxDataset(settings.data, split);
  return ImageFolder.open(settings.data, {
    size: settings.imageSize,
    channels: settings.channels,
    badImages: settings.badImages,
    ...(settings.classNames === null ? {} : { classNames: settings.classNames }),
  });
}

/** The images of a run; see the module comment. */
export async function prepareImageData(input: Partial<ImageDataSettings> = {}): Promise<ImageData> {
  const s: ImageDataSettings = { ...IMAGE_DATA_DEFAULTS, ...input };
  const all = await openImageData(s, 'train');
  const outside = (s.classes ?? []).filter((c) => c >= all.classNames.length);
  if (outside.length > 0) {
    throw new ImageDataError(`classes ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not among the ${all.classNames.length} classes of ${s.data} (0-${all.classNames.length - 1}: ${all.classNames.join(', ')})`);
  }
  const pool = s.classes === null ? all : selectClasses(all, s.classes);
  let train: ImageSource;
  let val: ImageSource | null;
  if (s.perClass !== null) {
    const picked = samplePerClass(pool, s.perClass, s.seed);
    const taken = new Set(picked.indices);
    const rest = Array.from({ length: pool.length }, (_, i) => i).filter((i) => !taken.has(i));
    const order = new SeededRandom(s.seed + 2).permutation(rest.length).slice(0, s.valSize).map((k) => rest[k]!).sort((a, b) => a - b);
    train = picked;
    val = order.length > 0 ? new ImageSubset(pool, order) : null;
  } else if (s.valFraction > 0) {
    const split = splitValidation(pool, s.valFraction, s.seed);
    train = split.train;
    val = split.val.length > s.valSize ? new ImageSubset(split.val, new SeededRandom(s.seed + 3).permutation(split.val.length).slice(0, s.valSize).sort((a, b) => a - b)) : split.val;
  } else {
    train = pool;
    val = null;
  }
  let test: ImageSource | null = null;
  if (isIdxDataset(s.data)) {
    const testAll = loadIdxDataset(s.data, 'test');
    test = s.classes === null ? testAll : selectClasses(testAll, s.classes);
  }
  return {
    train,
    val,
    test,
    classNames: pool.classNames,
    normalization: isIdxDataset(s.data) ? IDX_NORMALIZATION[s.data] : defaultNormalization(all.channels),
    channels: all.channels,
    imageSize: [all.height, all.width],
  };
}
