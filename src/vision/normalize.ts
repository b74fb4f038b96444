/** Turning uint8 pixels into the float tensor a model reads. N = images, C = channels. */
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** Per-channel mean and std of pixels scaled to [0, 1]: x = (p / 255 − mean) / std. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** What image folders use when nothing else is known: [0, 1] → [−1, 1]. */
export function defaultNormalization(channels: number): Normalization {
  return { mean: Array(channels).fill(0.5), std: Array(channels).fill(0.5) };
}

export function checkNormalization(normalization: Normalization, channels: number): void {
  const { mean, std } = normalization;
  if (mean.length !== channels || std.length !== channels) {
    throw new RangeError(`normalization: need ${channels} mean and std values (one per channel), got ${mean.length} and ${std.length}`);
  }
  if (std.some((s) => !(s > 0))) throw new RangeError(`normalization: every std must be positive, got [${std.join(', ')}]`);
}

/** (N, C, H, W) uint8 pixels -> (N, C, H, W) float32, normalised per channel. */
export function pixelsToTensor(pixels: Uint8Array, shape: [number, number, number, number], normalization: Normalization): Tensor {
  const C = shape[1];
  checkNormalization(normalization, C);
  const mean = tensor(new Float32Array(normalization.mean), { shape: [1, C, 1, 1] });
  const std = tensor(new Float32Array(normalization.std), { shape: [1, C, 1, 1] });
  return tensor(pixels, { shape, dtype: 'uint8' }).float().div(255).sub(mean).div(std); // (N, C, H, W)
}
