/**
 * Images for the face networks, prepared as face-api prepares a tensor input: an RGB image
 * (H, W, 3 interleaved, values 0–255) padded to a square with zeros — at the bottom or right for
 * the detectors, centred for the landmark and recognition nets — then resized to the net's input
 * with TensorFlow's legacy bilinear resize (align_corners and half-pixel centres both off: the
 * source of output pixel i is i · in/out, which PyTorch's `interpolate` does not offer), and
 * given to the net as (1, 3, S, S) float32.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ImageDataError } from '../image-data-error.js';
import { MAX_INPUT_PIXELS } from '../decode-image.js';

/** An RGB image: `data` holds height × width × 3 values, row by row. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array | Float32Array;
}

/** Decodes an image file (anything sharp reads) to RGB at its own size; a clear error when it is not an image. */
export async function readRgbImage(file: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ImageDataError(`${file}: cannot read it (${(error as Error).message})`, file);
  }
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion to RGB`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (error) {
    throw new ImageDataError(`${file}: not a readable image (${(error as Error).message.split('\n')[0]})`, file);
  }
}

/** The integer box (x, y, w, h) of `image`, as a new image. */
export function cropImage(image: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const data = new Float32Array(w * h * 3);
  for (let row = 0; row < h; row++) {
    const from = ((y + row) * image.width + x) * 3;
    data.set(image.data.subarray(from, from + w * 3), row * w * 3);
  }
  return { width: w, height: h, data };
}

/** `image` padded with zeros to a square: at the bottom or right, or centred (the bottom or right side gets round(diff / 2)). */
export function padToSquare(image: RgbImage, centre: boolean): RgbImage {
  const { width, height } = image;
  const side = Math.max(width, height);
  const diff = Math.abs(width - height);
  const after = Math.round(diff * (centre ? 0.5 : 1));
  const before = diff - after;
  const top = height < width ? before : 0;
  const left = width < height ? before : 0;
  const data = new Float32Array(side * side * 3);
  for (let row = 0; row < height; row++) {
    data.set(image.data.subarray(row * width * 3, (row + 1) * width * 3), ((top + row) * side + left) * 3);
  }
  return { width: side, height: side, data };
}

/** TensorFlow's legacy bilinear resize (alignCorners false, halfPixelCenters false), arithmetic in doubles, float32 out. */
export function resizeBilinear(image: RgbImage, outHeight: number, outWidth: number): RgbImage {
  const { width, height, data } = image;
  const out = new Float32Array(outHeight * outWidth * 3);
  const ratioY = height / outHeight;
  const ratioX = width / outWidth;
  for (let y = 0; y < outHeight; y++) {
    const sy = y * ratioY;
    const y0 = Math.max(0, Math.floor(sy));
    const y1 = Math.min(height - 1, Math.ceil(sy));
    const fy = sy - y0;
    for (let x = 0; x < outWidth; x++) {
      const sx = x * ratioX;
      const x0 = Math.max(0, Math.floor(sx));
      const x1 = Math.min(width - 1, Math.ceil(sx));
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const tl = data[(y0 * width + x0) * 3 + c]!;
        const tr = data[(y0 * width + x1) * 3 + c]!;
        const bl = data[(y1 * width + x0) * 3 + c]!;
        const br = data[(y1 * width + x1) * 3 + c]!;
        const top = tl + (tr - tl) * fx;
        const bottom = bl + (br - bl) * fx;
        out[(y * outWidth + x) * 3 + c] = top + (bottom - top) * fy;
      }
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

/** How face-api sizes an image of `image`'s shape inside a square of `side`: round(w · s), round(h · s). */
export function reshapedSize(image: Pick<RgbImage, 'width' | 'height'>, side: number): { width: number; height: number } {
  const scale = side / Math.max(image.width, image.height);
  return { width: Math.floor(image.width * scale + 0.5), height: Math.floor(image.height * scale + 0.5) };
}

/**
 * `image` as a net input: padded to a square (centred or not), resized to `size` × `size` if it
 * is not already, each channel mapped by (value − mean[c]) / divisor, as (1, 3, size, size).
 */
export function netInput(image: RgbImage, size: number, options: { centre: boolean; mean: readonly [number, number, number]; divisor: number }): Tensor {
  let square = padToSquare(image, options.centre);
  if (square.width !== size) square = resizeBilinear(square, size, size);
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const { mean, divisor } = options;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = (square.data[p * 3 + c]! - mean[c]!) / divisor;
  }
  return tensor(out, { shape: [1, 3, size, size] });
}
