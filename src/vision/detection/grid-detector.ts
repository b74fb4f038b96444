/**
 * Kiln's object detector: a single-scale, YOLO-style grid detector (YOLOv2's box coding without
 * its anchor clusters). A small CNN (conv 3×3 → BatchNorm → ReLU → max-pool blocks, then two
 * 3×3 convs at stride 8) gives a feature per cell of an (H/8)×(W/8) grid; two 1×1 heads read it:
 * `box` — objectness and the box (tx, ty, tw, th) — and `classifier` — the class logits. The
 * cell that holds an object's centre predicts it: centre = (cell + sigmoid(t)) · stride, side =
 * anchor · exp(t).
 *
 * Why this design rather than SSD's multibox: objects here span a narrow range of scales (a
 * digit of 16–32 pixels on a 64-pixel canvas), for which one grid and one anchor suffice, the
 * loss has one positive per object (no anchor matching), and the class head is apart from the
 * box head, so fine-tuning on new classes replaces the classifier and keeps what was learnt about
 * where objects are and how big.
 *
 * N = images, C = channels, H = height, W = width, S = grid cells, K = classes.
 */
import { Conv2d } from '../../nn/conv2d.js';
import { bceWithLogits, crossEntropy, mseLoss } from '../../nn/functional.js';
import { Module } from '../../nn/module.js';
import { tensor } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ConvBlock } from '../models/small-cnn.js';
import type { LabelledBox } from './detection-data.js';

export interface GridDetectorConfig {
  /** @default 1 */
  inChannels: number;
  numClasses: number;
  /** Output channels of each pooling block; the grid's stride is 2^blocks. @default [16, 32, 64] */
  channels: number[];
  /** The box side (pixels) a zero size prediction means. @default 24 */
  anchor: number;
}

export const GRID_DETECTOR_DEFAULTS: Omit<GridDetectorConfig, 'numClasses'> = { inChannels: 1, channels: [16, 32, 64], anchor: 24 };

/** The raw outputs on the grid, channels last. */
export interface GridOutputs {
  /** (N, Sy, Sx) objectness logits */
  objectness: Tensor;
  /** (N, Sy, Sx, 4): tx, ty (through a sigmoid: the centre within the cell), tw, th (log of side / anchor) */
  box: Tensor;
  /** (N, Sy, Sx, K) class logits */
  classes: Tensor;
}

export class GridDetector extends Module {
  readonly architecture = 'grid-detector' as const;
  readonly headName = 'classifier';
  /** The settings it was built with (numClasses: the classes it was built for; `numClasses` below is the head's now). */
  readonly config: Readonly<GridDetectorConfig>;
  blocks: ConvBlock[];
  neck: ConvBlock[];
  /** (C_last) → objectness + 4 box numbers per cell */
  box: Conv2d;
  /** (C_last) → K class logits per cell */
  classifier: Conv2d;

  constructor(config: Partial<GridDetectorConfig> & { numClasses: number }) {
    super();
    const c = { ...GRID_DETECTOR_DEFAULTS, ...config };
    if (c.channels.length === 0) throw new RangeError('GridDetector: channels needs at least one block');
    if (!Number.isInteger(c.numClasses) || c.numClasses < 1) throw new RangeError(`GridDetector: numClasses must be a positive integer, got ${c.numClasses}`);
    this.config = c;
    this.blocks = c.channels.map((out, i) => new ConvBlock(i === 0 ? c.inChannels : c.channels[i - 1]!, out));
    const width = c.channels.at(-1)!;
    this.neck = [new ConvBlock(width, width, false), new ConvBlock(width, width, false)];
    this.box = new Conv2d(width, 5, 1);
    this.classifier = new Conv2d(width, c.numClasses, 1);
  }

  /** Pixels per grid cell. */
  get stride(): number {
    return 2 ** this.config.channels.length;
  }

  get numClasses(): number {
    return this.classifier.outChannels;
  }

  /** A new class head for K classes (fine-tuning on other labels); the box head stays. */
  resetHead(numClasses: number): void {
    this.classifier = new Conv2d(this.config.channels.at(-1)!, numClasses, 1);
  }

  /** x (N, C, H, W) → the grid's outputs, (H/stride) × (W/stride) cells. */
  forward(x: Tensor): GridOutputs {
    let h = this.blocks.reduce((y, block) => block.forward(y), x);
    h = this.neck.reduce((y, layer) => layer.forward(y), h); // (N, C_last, Sy, Sx)
    const box = this.box.forward(h).permute(0, 2, 3, 1); // (N, Sy, Sx, 5)
    return {
      objectness: box.select(3, 0), // (N, Sy, Sx)
      box: box.narrow(3, 1, 4), // (N, Sy, Sx, 4)
      classes: this.classifier.forward(h).permute(0, 2, 3, 1), // (N, Sy, Sx, K)
    };
  }
}

/** Where the loss wants each cell: an object's cell holds its centre (the last object wins a shared cell). */
export interface GridTargets {
  /** (N·Sy·Sx) 1 where a cell is responsible for an object */
  objectness: Float32Array;
  /** (N·Sy·Sx·4) the centre within the cell (tx, ty in [0, 1)) and log(side / anchor) */
  box: Float32Array;
  /** (N·Sy·Sx) class index, −100 where no object */
  classes: BigInt64Array;
  positives: number;
}

export function gridTargets(objects: readonly (readonly LabelledBox[])[], grid: [number, number], stride: number, anchor: number): GridTargets {
  const [Sy, Sx] = grid;
  const cells = objects.length * Sy * Sx;
  const objectness = new Float32Array(cells);
  const box = new Float32Array(cells * 4);
  const classes = new BigInt64Array(cells).fill(-100n);
  objects.forEach((boxes, n) => {
    for (const b of boxes) {
      const cx = (b.x + b.width / 2) / stride;
      const cy = (b.y + b.height / 2) / stride;
      const i = Math.min(Sy - 1, Math.max(0, Math.floor(cy)));
      const j = Math.min(Sx - 1, Math.max(0, Math.floor(cx)));
      const cell = (n * Sy + i) * Sx + j;
      objectness[cell] = 1;
      box.set([Math.min(1, Math.max(0, cx - j)), Math.min(1, Math.max(0, cy - i)), Math.log(b.width / anchor), Math.log(b.height / anchor)], cell * 4);
      classes[cell] = BigInt(b.label);
    }
  });
  return { objectness, box, classes, positives: objectness.reduce((s, v) => s + v, 0) };
}

/** The loss's weights: YOLOv1's λ_coord = 5 on the box, λ_noobj = 0.5 on cells without an object. */
export const DETECTION_LOSS_WEIGHTS = { box: 5, noObject: 0.5 } as const;

/**
 * The batch's loss, summed over cells and divided by the images: objectness by binary
 * cross-entropy on every cell (cells without an object weighted 0.5), and on the cells
 * responsible for an object the centre by binary cross-entropy against its place in the cell, the
 * log sides by squared error (both × 5), and the class by cross-entropy.
 */
export function detectionLoss(outputs: GridOutputs, objects: readonly (readonly LabelledBox[])[], stride: number, anchor: number): Tensor {
  const [N, Sy, Sx] = outputs.objectness.shape as [number, number, number];
  const t = gridTargets(objects, [Sy, Sx], stride, anchor);
  const objT = tensor(t.objectness, { shape: [N, Sy, Sx] });
  const weight = objT.mul(1 - DETECTION_LOSS_WEIGHTS.noObject).add(DETECTION_LOSS_WEIGHTS.noObject);
  let loss = bceWithLogits(outputs.objectness, objT, { weight, reduction: 'sum' });
  if (t.positives > 0) {
    const mask = objT.unsqueeze(3); // (N, Sy, Sx, 1)
    const boxT = tensor(t.box, { shape: [N, Sy, Sx, 4] });
    const centre = bceWithLogits(outputs.box.narrow(3, 0, 2), boxT.narrow(3, 0, 2), { weight: mask, reduction: 'sum' });
    const sides = mseLoss(outputs.box.narrow(3, 2, 2).mul(mask), boxT.narrow(3, 2, 2).mul(mask), 'sum');
    const K = outputs.classes.shape[3]!;
    const cls = crossEntropy(outputs.classes.reshape([-1, K]), tensor(t.classes), { reduction: 'sum' });
    loss = loss.add(centre.add(sides).mul(DETECTION_LOSS_WEIGHTS.box)).add(cls);
  }
  return loss.div(N);
}
