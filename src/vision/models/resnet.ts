/**
 * ResNet-18 / ResNet-34 (He et al. 2015, basic blocks) under torchvision's parameter names —
 * conv1, bn1, layer1.0.conv1, layer1.0.bn1, …, layer2.0.downsample.0 (the 1×1 conv),
 * layer2.0.downsample.1 (its BatchNorm), …, fc — so a torchvision state dict loads by key.
 * Widths and the stem are configurable: the 'imagenet' stem is torchvision's (7×7 stride-2 conv,
 * 3×3 stride-2 max-pool); the 'small' stem (3×3 stride-1 conv, no pool) keeps the resolution of
 * 28×28 or 32×32 images, as CIFAR ResNets do. Both use the same parameter names.
 *
 * B = batch, C = channels, H = height, W = width, K = classes.
 */
import { BatchNorm2d } from '../../nn/batch-norm.js';
import { Conv2d } from '../../nn/conv2d.js';
import { maxPool2d } from '../../nn/functional.js';
import { kaimingNormal_ } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/sequential.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ImageClassifier } from './image-classifier.js';

export interface ResNetConfig {
  /** @default 'resnet18' */
  arch: 'resnet18' | 'resnet34';
  /** @default 3 */
  inChannels: number;
  /** @default 1000 */
  numClasses: number;
  /** Output channels of layer1..layer4. @default [64, 128, 256, 512] */
  widths: [number, number, number, number];
  /** @default 'imagenet' */
  stem: 'imagenet' | 'small';
}

/** Basic blocks per stage. */
export const RESNET_LAYERS: Record<ResNetConfig['arch'], [number, number, number, number]> = {
  resnet18: [2, 2, 2, 2],
  resnet34: [3, 4, 6, 3],
};

export const RESNET_DEFAULTS: ResNetConfig = { arch: 'resnet18', inChannels: 3, numClasses: 1000, widths: [64, 128, 256, 512], stem: 'imagenet' };

/** Two 3×3 convs with a residual connection; the first may stride and the shortcut then projects. */
export class BasicBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  /** 1×1 conv + BatchNorm on the shortcut when the shape changes, else null. */
  downsample: Sequential | null;

  constructor(inChannels: number, outChannels: number, stride: number) {
    super();
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(outChannels);
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(outChannels);
    this.downsample =
      stride !== 1 || inChannels !== outChannels
        ? new Sequential(new Conv2d(inChannels, outChannels, 1, { stride, bias: false }), new BatchNorm2d(outChannels))
        : null;
  }

  /** (B, Cin, H, W) -> (B, Cout, H/stride, W/stride) */
  forward(x: Tensor): Tensor {
    const h = this.bn1.forward(this.conv1.forward(x)).relu();
    const branch = this.bn2.forward(this.conv2.forward(h));
    const shortcut = this.downsample === null ? x : this.downsample.forward(x);
    return branch.add(shortcut).relu();
  }
}

export class ResNet extends Module implements ImageClassifier {
  readonly headName = 'fc';
  readonly config: Readonly<ResNetConfig>;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  layer1: BasicBlock[];
  layer2: BasicBlock[];
  layer3: BasicBlock[];
  layer4: BasicBlock[];
  /** (widths[3]) -> (K) */
  fc: Linear;

  constructor(config: Partial<ResNetConfig> = {}) {
    super();
    const c = { ...RESNET_DEFAULTS, ...config };
    this.config = c;
    const blocks = RESNET_LAYERS[c.arch];
    if (blocks === undefined) throw new RangeError(`ResNet: unknown arch '${String(c.arch)}'; use resnet18 or resnet34`);
    this.conv1 = c.stem === 'imagenet'
      ? new Conv2d(c.inChannels, c.widths[0], 7, { stride: 2, padding: 3, bias: false })
      : new Conv2d(c.inChannels, c.widths[0], 3, { stride: 1, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(c.widths[0]);
    const stage = (index: number): BasicBlock[] => {
      const inChannels = index === 0 ? c.widths[0] : c.widths[index - 1]!;
      const out = c.widths[index]!;
      return Array.from({ length: blocks[index]! }, (_, b) => new BasicBlock(b === 0 ? inChannels : out, out, b === 0 && index > 0 ? 2 : 1));
    };
    this.layer1 = stage(0);
    this.layer2 = stage(1);
    this.layer3 = stage(2);
    this.layer4 = stage(3);
    this.fc = new Linear(c.widths[3], c.numClasses);
    // torchvision's initialisation of the convs; BatchNorm starts at weight 1, bias 0.
    for (const [name, p] of this.namedParameters()) {
      if (p.ndim === 4 && !name.startsWith('fc')) kaimingNormal_(p, { mode: 'fan_out', nonlinearity: 'relu' });
    }
  }

  get architecture(): 'resnet18' | 'resnet34' {
    return this.config.arch;
  }

  get numClasses(): number {
    return this.fc.outFeatures;
  }

  resetHead(numClasses: number): void {
    this.fc = new Linear(this.config.widths[3], numClasses);
  }

  /** x (B, C, H, W) -> pooled features (B, widths[3]) */
  features(x: Tensor): Tensor {
    let h = this.bn1.forward(this.conv1.forward(x)).relu(); // (B, w0, H/2, W/2) with the imagenet stem
    if (this.config.stem === 'imagenet') h = maxPool2d(h, 3, { stride: 2, padding: 1 }); // (B, w0, H/4, W/4)
    for (const stage of [this.layer1, this.layer2, this.layer3, this.layer4]) {
      for (const block of stage) h = block.forward(h);
    }
    return h.mean([2, 3]); // global average pool: (B, w3, h, w) -> (B, w3)
  }

  /** x (B, C, H, W) -> logits (B, K) */
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.features(x));
  }
}
