/**
 * Predictions for image files: each is decoded and resized as the model's config.json says,
 * normalised the same way, and classified. Files that do not decode are reported, not fatal,
 * unless asked.
 *
 * N = images, K = classes.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { decodeImage } from './decode-image.js';
import type { BadImagePolicy } from './image-folder.js';
import type { LoadedImageClassifier } from './image-model-folder.js';
import { pixelsToTensor } from './normalize.js';

export interface ImagePrediction {
  file: string;
  /** The most probable class name. */
  label: string;
  probability: number;
  /** The top-k classes, most probable first. */
  top: { label: string; probability: number }[];
}

/** `input` itself when it is a file, else every file under it (sub-folders too), sorted. */
export function listImageFiles(input: string): string[] {
  const stat = statSync(input, { throwIfNoEntry: false });
  if (stat === undefined) throw new Error(`${input}: no such file or folder; give an image file or a folder of images`);
  if (stat.isFile()) return [input];
  const out: string[] = [];
  for (const name of readdirSync(input).sort()) {
    if (name.startsWith('.')) continue;
    const full = path.join(input, name);
    if (statSync(full).isDirectory()) out.push(...listImageFiles(full));
    else out.push(full);
  }
  return out;
}

export interface PredictOptions {
  /** @default 3 */
  topK?: number;
  /** @default 'skip' */
  badImages?: BadImagePolicy;
  onBadImage?: (file: string, reason: string) => void;
  /** @default 64 */
  batchSize?: number;
}

export async function predictImages(loaded: LoadedImageClassifier, files: readonly string[], options: PredictOptions = {}): Promise<ImagePrediction[]> {
  const { model, config, classNames } = loaded;
  const [H, W] = config.image_size;
  const C = config.num_channels as 1 | 3;
  const k = Math.min(options.topK ?? 3, classNames.length);
  const batchSize = options.batchSize ?? 64;
  model.eval();
  const out: ImagePrediction[] = [];
  for (let start = 0; start < files.length; start += batchSize) {
    const group = files.slice(start, start + batchSize);
    const decoded = await Promise.all(
      group.map(async (file) => {
        try {
          return await decodeImage(file, { height: H, width: W, channels: C });
        } catch (error) {
          if ((options.badImages ?? 'skip') === 'error') throw error;
          options.onBadImage?.(file, (error as Error).message);
          return null;
        }
      }),
    );
    const good = group.filter((_, i) => decoded[i] !== null);
    if (good.length === 0) continue;
    const pixels = new Uint8Array(good.length * C * H * W);
    decoded.filter((d): d is Uint8Array => d !== null).forEach((d, i) => pixels.set(d, i * C * H * W));
    const probabilities = scope(() => noGrad(() => model.forward(pixelsToTensor(pixels, [good.length, C, H, W], config.normalization)).softmax(1).toArray() as number[][])); // (N, K)
    good.forEach((file, i) => {
      const row = probabilities[i]!;
      const top = row.map((p, c) => ({ label: classNames[c]!, probability: p })).sort((a, b) => b.probability - a.probability).slice(0, k);
      out.push({ file, label: top[0]!.label, probability: top[0]!.probability, top });
    });
  }
  return out;
}
