/**
 * Detections from a GridDetector: every cell's box decoded (centre = (cell + sigmoid(t)) ·
 * stride, side = anchor · exp(t)), scored sigmoid(objectness) × the best class's probability,
 * kept above `minScore`, clipped to the image, then greedy non-maximum suppression per class.
 *
 * N = images, C = channels, H = height, W = width, S = grid cells, K = classes.
 */
import { noGrad } from '../../tensor/autograd.js';
import { scope } from '../../tensor/scope.js';
import { boxIou, suppress } from '../boxes.js';
import { type Normalization, pixelsToTensor } from '../normalize.js';
import type { LabelledBox } from './detection-data.js';
import type { GridDetector } from './grid-detector.js';

export interface DetectedObject extends LabelledBox {
  score: number;
}

export interface DetectObjectsOptions {
  /** The lowest score kept. @default 0.05 */
  minScore?: number;
  /** Suppress a box that overlaps a better one of its class by more than this IoU. @default 0.5 */
  iou?: number;
  /** At most this many objects per image. @default 100 */
  maxDetections?: number;
  /** Images per forward. @default 128 */
  batchSize?: number;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Each image's objects, best first. `pixels` (N, C, H, W) uint8. */
export function detectObjects(model: GridDetector, pixels: Uint8Array, shape: [number, number, number, number], normalization: Normalization, options: DetectObjectsOptions = {}): DetectedObject[][] {
  const minScore = options.minScore ?? 0.05;
  const iou = options.iou ?? 0.5;
  const maxDetections = options.maxDetections ?? 100;
  const batchSize = options.batchSize ?? 128;
  const [N, C, H, W] = shape;
  const plane = C * H * W;
  const stride = model.stride;
  const anchor = model.config.anchor;
  const wasTraining = model.training;
  model.eval();
  const results: DetectedObject[][] = [];
  try {
    for (let start = 0; start < N; start += batchSize) {
      const n = Math.min(batchSize, N - start);
      const raw = scope(() =>
        noGrad(() => {
          const out = model.forward(pixelsToTensor(pixels.subarray(start * plane, (start + n) * plane), [n, C, H, W], normalization));
          return {
            objectness: out.objectness.contiguous().toTypedArray() as Float32Array, // (n, Sy, Sx)
            box: out.box.contiguous().toTypedArray() as Float32Array, // (n, Sy, Sx, 4)
            probabilities: out.classes.softmax(3).contiguous().toTypedArray() as Float32Array, // (n, Sy, Sx, K)
            grid: out.objectness.shape.slice(1) as [number, number],
          };
        }),
      );
      const [Sy, Sx] = raw.grid;
      const K = model.numClasses;
      for (let b = 0; b < n; b++) {
        const candidates: DetectedObject[] = [];
        for (let i = 0; i < Sy; i++) {
          for (let j = 0; j < Sx; j++) {
            const cell = (b * Sy + i) * Sx + j;
            const objectness = sigmoid(raw.objectness[cell]!);
            if (objectness <= minScore) continue;
            let label = 0;
            for (let k = 1; k < K; k++) if (raw.probabilities[cell * K + k]! > raw.probabilities[cell * K + label]!) label = k;
            const score = objectness * raw.probabilities[cell * K + label]!;
            if (score <= minScore) continue;
            const [tx, ty, tw, th] = raw.box.subarray(cell * 4, cell * 4 + 4) as unknown as [number, number, number, number];
            const cx = (j + sigmoid(tx)) * stride;
            const cy = (i + sigmoid(ty)) * stride;
            const w = anchor * Math.exp(Math.min(tw, 10));
            const h = anchor * Math.exp(Math.min(th, 10));
            const x0 = Math.max(0, cx - w / 2);
            const y0 = Math.max(0, cy - h / 2);
            const x1 = Math.min(W, cx + w / 2);
            const y1 = Math.min(H, cy + h / 2);
            if (x1 <= x0 || y1 <= y0) continue;
            candidates.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, label, score });
          }
        }
        const kept = suppress(candidates, (a, c) => (a.label === c.label ? boxIou(a, c) : 0), iou, maxDetections);
        results.push(kept);
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return results;
}
