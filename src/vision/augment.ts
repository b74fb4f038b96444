/**
 * Training-time augmentation on uint8 pixels, drawn from a SeededRandom so a seed fixes every
 * crop and flip: random crop after zero padding (shift by up to `cropPadding` pixels each way)
 * and horizontal flip with probability ½.
 *
 * N = images, C = channels, H = height, W = width.
 */
import type { SeededRandom } from '../data/random.js';

export interface AugmentOptions {
  /** Pad every side with this many zero pixels, then crop H×W at a random offset. 0 turns it off. @default 0 */
  cropPadding?: number;
  /** Mirror each image left-right with probability ½. @default false */
  flip?: boolean;
}

/** (N, C, H, W) uint8 -> a new (N, C, H, W) uint8 array, each image cropped and/or flipped. */
export function augmentPixels(pixels: Uint8Array, shape: [number, number, number, number], options: AugmentOptions, random: SeededRandom): Uint8Array {
  const [N, C, H, W] = shape;
  const pad = options.cropPadding ?? 0;
  const flip = options.flip ?? false;
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`augmentPixels: cropPadding must be a non-negative integer, got ${pad}`);
  if (pixels.length !== N * C * H * W) throw new RangeError(`augmentPixels: ${pixels.length} bytes for shape [${shape.join(', ')}]`);
  if (pad === 0 && !flip) return pixels.slice();
  const out = new Uint8Array(pixels.length); // zeros where the crop reads padding
  const plane = H * W;
  for (let n = 0; n < N; n++) {
    // Offset of the crop in the padded image minus the padding: a shift in [−pad, pad].
    const dy = pad === 0 ? 0 : random.int(2 * pad + 1) - pad;
    const dx = pad === 0 ? 0 : random.int(2 * pad + 1) - pad;
    const mirror = flip && random.next() < 0.5;
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * plane;
      for (let y = 0; y < H; y++) {
        const sy = y + dy;
        if (sy < 0 || sy >= H) continue;
        for (let x = 0; x < W; x++) {
          const cx = mirror ? W - 1 - x : x;
          const sx = cx + dx;
          if (sx < 0 || sx >= W) continue;
          out[base + y * W + x] = pixels[base + sy * W + sx]!;
        }
      }
    }
  }
  return out;
}
