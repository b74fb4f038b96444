/**
 * A small CNN for 28×28-ish images: blocks of conv 3×3 → BatchNorm → ReLU → max-pool 2×2, then
 * a hidden fully connected layer with dropout and the classifier. With the default two blocks
 * of 32 and 64 channels it is the classic MNIST network (≈0.4 M parameters for 28×28 input).
 *
 * B = batch, C = channels, H = height, W = width, K = classes.
 */
import { BatchNorm2d } from '../../nn/batch-norm.js';
import { Conv2d } from '../../nn/conv2d.js';
import { Dropout } from '../../nn/dropout.js';
import { maxPool2d } from '../../nn/functional.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ImageClassifier } from './image-classifier.js';

export interface SmallCnnConfig {
  /** @default 1 */
  inChannels: number;
  /** @default 10 */
  numClasses: number;
  /** Input [height, width]; fixes the size of the first fully connected layer. @default [28, 28] */
  imageSize: [number, number];
  /** Output channels of each conv block; each block halves H and W. @default [32, 64] */
  channels: number[];
  /** Width of the hidden fully connected layer. @default 128 */
  hidden: number;
  /** Dropout before the hidden layer and before the classifier. @default 0.25 */
  dropout: number;
}

export const SMALL_CNN_DEFAULTS: SmallCnnConfig = { inChannels: 1, numClasses: 10, imageSize: [28, 28], channels: [32, 64], hidden: 128, dropout: 0.25 };

/** conv 3×3 (padding 1, no bias: the BatchNorm has one) → BatchNorm → ReLU → max-pool 2×2 (unless `pool` is false). */
export class ConvBlock extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;

  constructor(inChannels: number, outChannels: number, readonly pool = true) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, 3, { padding: 1, bias: false });
    this.bn = new BatchNorm2d(outChannels);
  }

  /** (B, Cin, H, W) -> (B, Cout, ⌊H/2⌋, ⌊W/2⌋), or (B, Cout, H, W) without pooling */
  forward(x: Tensor): Tensor {
    const y = this.bn.forward(this.conv.forward(x)).relu();
    return this.pool ? maxPool2d(y, 2) : y;
  }
}

export class SmallCnn extends Module implements ImageClassifier {
  readonly architecture = 'cnn' as const;
  readonly headName = 'classifier';
  readonly config: Readonly<SmallCnnConfig>;
  blocks: ConvBlock[];
  dropout: Dropout;
  /** (C_last · H' · W') -> (hidden) */
  fc: Linear;
  /** (hidden) -> (K) */
  classifier: Linear;

  constructor(config: Partial<SmallCnnConfig> = {}) {
    super();
    const c = { ...SMALL_CNN_DEFAULTS, ...config };
    if (c.channels.length === 0) throw new RangeError('SmallCnn: channels needs at least one conv block');
    let [H, W] = c.imageSize;
    for (let i = 0; i < c.channels.length; i++) [H, W] = [Math.floor(H / 2), Math.floor(W / 2)];
    if (H < 1 || W < 1) throw new RangeError(`SmallCnn: ${c.channels.length} blocks halve ${c.imageSize.join('x')} images to nothing; use fewer blocks or larger images`);
    this.config = c;
    this.blocks = c.channels.map((out, i) => new ConvBlock(i === 0 ? c.inChannels : c.channels[i - 1]!, out));
    this.dropout = new Dropout(c.dropout);
    this.fc = new Linear(c.channels.at(-1)! * H * W, c.hidden);
    this.classifier = new Linear(c.hidden, c.numClasses);
  }

  get numClasses(): number {
    return this.classifier.outFeatures;
  }

  resetHead(numClasses: number): void {
    this.classifier = new Linear(this.config.hidden, numClasses);
  }

  /** x (B, C, H, W) -> logits (B, K) */
  forward(x: Tensor): Tensor {
    const features = this.blocks.reduce((h, block) => block.forward(h), x).flatten(1); // (B, C_last·H'·W')
    const hidden = this.fc.forward(this.dropout.forward(features)).relu(); // (B, hidden)
    return this.classifier.forward(this.dropout.forward(hidden)); // (B, K)
  }
}
