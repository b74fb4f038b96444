/**
 * Images with labelled boxes, as detection runs read them: uint8 pixels (N, C, H, W) in memory
 * and, per image, its objects (a box in pixels and a class). The built-in set is made of real
 * images: MNIST digits scaled and placed at random on larger black canvases (`digitCanvases`),
 * each canvas a pure function of (seed, split, index), so the same arguments give the same set.
 *
 * N = images, C = channels, H = height, W = width.
 */
import { SeededRandom } from '../../data/random.js';
import type { Box } from '../boxes.js';
import { loadIdxDataset, type Split } from '../mnist.js';
import { ImageDataError } from '../image-data-error.js';

/** One object: its box in pixels and its class index. */
export interface LabelledBox extends Box {
  label: number;
}

/** Images and their objects, all in memory. */
export interface DetectionImages {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly classNames: readonly string[];
  /** (N, C, H, W) uint8 */
  readonly pixels: Uint8Array;
  /** Each image's objects. */
  readonly objects: readonly (readonly LabelledBox[])[];
}

export interface DigitCanvasOptions {
  /** MNIST's training or test digits (held-out canvases use test digits only). */
  split: Split;
  /** The digits that appear, relabelled 0..k-1 in this order. @default 0-9 */
  classes?: readonly number[] | undefined;
  /** Canvases to make. */
  count: number;
  /** @default 0 */
  seed?: number;
  /** Canvas side in pixels. @default 64 */
  size?: number;
  /** At most this many digits on a canvas (at least one). @default 3 */
  maxDigits?: number;
  /** A digit's 28-pixel image is scaled to a side in [minScale, maxScale]. @default [16, 32] */
  minScale?: number;
  maxScale?: number;
  /** At most this many unlabelled fragments of digits (clutter) on a canvas. @default 0 */
  clutter?: number;
}

/** Pixels above this value belong to a digit's box. */
const INK = 64;

/** (28, 28) → (s, s) by bilinear interpolation (pixel centres aligned, edges clamped). */
function resizeDigit(digit: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to * to);
  const scale = from / to;
  for (let y = 0; y < to; y++) {
    const sy = Math.min(from - 1, Math.max(0, (y + 0.5) * scale - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(from - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < to; x++) {
      const sx = Math.min(from - 1, Math.max(0, (x + 0.5) * scale - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(from - 1, x0 + 1);
      const fx = sx - x0;
      const top = digit[y0 * from + x0]! * (1 - fx) + digit[y0 * from + x1]! * fx;
      const bottom = digit[y1 * from + x0]! * (1 - fx) + digit[y1 * from + x1]! * fx;
      out[y * to + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}

/** The tight box of a square image's ink, or null when it has none. */
function inkBox(image: Uint8Array, side: number): Box | null {
  let x0 = side;
  let y0 = side;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (image[y * side + x]! <= INK) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

function squaresOverlap(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (w * h) / Math.min(a.width * a.height, b.width * b.height);
}

/**
 * Canvases of MNIST digits: each holds 1 to maxDigits digits of the chosen classes, each scaled
 * to a random side and placed at a random position (a digit's square overlaps another's by at
 * most 15% of the smaller), drawn with the brighter pixel winning; each object's box is the tight
 * box of its ink (pixels above 64).
 */
export function digitCanvases(options: DigitCanvasOptions): DetectionImages {
  const classes = options.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const size = options.size ?? 64;
  const maxDigits = options.maxDigits ?? 3;
  const minScale = options.minScale ?? 16;
  const maxScale = options.maxScale ?? 32;
  const clutter = options.clutter ?? 0;
  if (classes.length === 0 || classes.some((c) => !Number.isInteger(c) || c < 0 || c > 9)) throw new ImageDataError(`digit canvases: classes must be digits 0-9, got ${classes.join(',')}`, 'digit-canvases');
  if (!Number.isInteger(options.count) || options.count < 0) throw new RangeError(`digitCanvases: count must be a non-negative integer, got ${options.count}`);
  if (!(minScale >= 8 && maxScale >= minScale && maxScale <= size)) throw new RangeError(`digitCanvases: scales must satisfy 8 <= min <= max <= size, got ${minScale}, ${maxScale}, ${size}`);
  const mnist = loadIdxDataset('mnist', options.split);
  const pools = classes.map((c) => mnist.labels.reduce<number[]>((list, label, i) => (label === c ? (list.push(i), list) : list), []));
  const random = new SeededRandom(((options.seed ?? 0) * 2 + (options.split === 'train' ? 0 : 1)) >>> 0);
  const pixels = new Uint8Array(options.count * size * size);
  const objects: LabelledBox[][] = [];
  for (let n = 0; n < options.count; n++) {
    const canvas = pixels.subarray(n * size * size, (n + 1) * size * size);
    const placed: Box[] = [];
    const boxes: LabelledBox[] = [];
    const digits = 1 + random.int(maxDigits);
    for (let d = 0; d < digits; d++) {
      const label = random.int(classes.length);
      const pool = pools[label]!;
      const source = pool[random.int(pool.length)]!;
      const side = minScale + random.int(maxScale - minScale + 1);
      let spot: Box | null = null;
      for (let attempt = 0; attempt < 30 && spot === null; attempt++) {
        const candidate = { x: random.int(size - side + 1), y: random.int(size - side + 1), width: side, height: side };
        if (placed.every((p) => squaresOverlap(p, candidate) <= 0.15)) spot = candidate;
      }
      if (spot === null) continue;
      const digit = resizeDigit(mnist.data.subarray(source * 784, (source + 1) * 784), 28, side);
      const ink = inkBox(digit, side);
      if (ink === null) continue;
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const at = (spot.y + y) * size + spot.x + x;
          canvas[at] = Math.max(canvas[at]!, digit[y * side + x]!);
        }
      }
      placed.push(spot);
      boxes.push({ x: spot.x + ink.x, y: spot.y + ink.y, width: ink.width, height: ink.height, label });
    }
    const fragments = clutter === 0 ? 0 : random.int(clutter + 1);
    for (let f = 0; f < fragments; f++) {
      // A piece of a digit (0.4 to 0.8 of its side), scaled like a digit: strokes that are not an object.
      const pool = pools[random.int(classes.length)]!;
      const source = pool[random.int(pool.length)]!;
      const side = minScale + random.int(maxScale - minScale + 1);
      const digit = resizeDigit(mnist.data.subarray(source * 784, (source + 1) * 784), 28, side);
      const piece = Math.max(4, Math.round(side * (0.4 + 0.4 * random.next())));
      const from = { x: random.int(side - piece + 1), y: random.int(side - piece + 1) };
      const spot = { x: random.int(size - piece + 1), y: random.int(size - piece + 1), width: piece, height: piece };
      if (placed.some((p) => squaresOverlap(p, spot) > 0.15)) continue;
      for (let y = 0; y < piece; y++) {
        for (let x = 0; x < piece; x++) {
          const at = (spot.y + y) * size + spot.x + x;
          canvas[at] = Math.max(canvas[at]!, digit[(from.y + y) * side + from.x + x]!);
        }
      }
      placed.push(spot);
    }
    objects.push(boxes);
  }
  return { channels: 1, height: size, width: size, classNames: classes.map(String), pixels, objects };
}

/** The images at `indices`, in that order (a subset or a batch). */
export function selectDetections(images: DetectionImages, indices: readonly number[]): DetectionImages {
  const plane = images.channels * images.height * images.width;
  const pixels = new Uint8Array(indices.length * plane);
  indices.forEach((index, i) => {
    if (!(index >= 0 && index < images.objects.length)) throw new RangeError(`selectDetections: index ${index} outside [0, ${images.objects.length})`);
    pixels.set(images.pixels.subarray(index * plane, (index + 1) * plane), i * plane);
  });
  return { ...images, pixels, objects: indices.map((i) => images.objects[i]!) };
}

/**
 * Each image shifted by a random (dy, dx) in [−maxShift, maxShift] (zeros where it reads outside),
 * its boxes moved with the pixels and clipped to the image; a box left with less than half its
 * area is dropped.
 */
export function shiftDetections(batch: DetectionImages, maxShift: number, random: SeededRandom): DetectionImages {
  if (maxShift === 0) return batch;
  const { channels: C, height: H, width: W } = batch;
  const plane = H * W;
  const pixels = new Uint8Array(batch.pixels.length);
  const objects = batch.objects.map((boxes, n) => {
    const dy = random.int(2 * maxShift + 1) - maxShift;
    const dx = random.int(2 * maxShift + 1) - maxShift;
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * plane;
      for (let y = 0; y < H; y++) {
        const sy = y - dy;
        if (sy < 0 || sy >= H) continue;
        for (let x = 0; x < W; x++) {
          const sx = x - dx;
          if (sx >= 0 && sx < W) pixels[base + y * W + x] = batch.pixels[base + sy * W + sx]!;
        }
      }
    }
    const moved: LabelledBox[] = [];
    for (const b of boxes) {
      const x0 = Math.max(0, b.x + dx);
      const y0 = Math.max(0, b.y + dy);
      const x1 = Math.min(W, b.x + dx + b.width);
      const y1 = Math.min(H, b.y + dy + b.height);
      if (x1 <= x0 || y1 <= y0 || (x1 - x0) * (y1 - y0) < 0.5 * b.width * b.height) continue;
      moved.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, label: b.label });
    }
    return moved;
  });
  return { ...batch, pixels, objects };
}
