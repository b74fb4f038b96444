/**
 * face-api's networks (@vladmandic/face-api, MIT; Vincent Mühler's face-api.js) as Kiln modules,
 * computing what its TensorFlow.js graphs compute so that its published weights load and give
 * its outputs:
 *
 * - TinyFaceDetector: a Tiny-YOLOv2-style detector (separable convs, leaky ReLU, 5 anchors), input 416.
 * - SsdMobilenetV1: MobileNetV1 (depthwise + pointwise, ReLU6) with SSD box predictors on six
 *   feature maps, 5,118 anchors, input 512.
 * - FaceLandmark68Net: four dense blocks of separable convs and a fully connected layer → 68 points, input 112.
 * - FaceRecognitionNet: a ResNet-34-like net (dlib's) → a 128-d descriptor, input 150.
 *
 * TensorFlow's 'same' padding puts an odd extra pixel at the bottom and right, and its max-pool
 * ignores padded cells: stride-2 'same' layers pad (0, 1, 0, 1) explicitly (−∞ for pools).
 * Parameters keep their TensorFlow.js names (see tfjs-parameters.ts). B = 1 image, NCHW.
 */
import { avgPool2d, batchNorm, conv2d, maxPool2d, pad } from '../../nn/functional.js';
import { Module } from '../../nn/module.js';
import { zeros } from '../../tensor/creation.js';
import { cat } from '../../tensor/ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { loadTfjsParameters, TfjsParameters } from './tfjs-parameters.js';

import type { FaceArchitecture } from './face-architectures.js';
export { FACE_ARCHITECTURES, type FaceArchitecture } from './face-architectures.js';

type Spec = [string, number[]];

/** A separable conv's weights: depthwise (C, 1, 3, 3), pointwise (out, C, 1, 1), bias. */
const separable = (prefix: string, cin: number, cout: number): Spec[] => [
  [`${prefix}/depthwise_filter`, [cin, 1, 3, 3]],
  [`${prefix}/pointwise_filter`, [cout, cin, 1, 1]],
  [`${prefix}/bias`, [cout]],
];

/** Zero padding, then a separable conv (depthwise 3×3 with `stride`, pointwise 1×1) + bias. */
function separableConv(p: TfjsParameters, prefix: string, x: Tensor, stride: number, pads: [number, number, number, number]): Tensor {
  const dw = p.get(`${prefix}/depthwise_filter`);
  const h = conv2d(pad(x, pads), dw, null, { stride, groups: dw.shape[0]! });
  return conv2d(h, p.get(`${prefix}/pointwise_filter`), p.get(`${prefix}/bias`));
}

/** 'same' padding of a k×k layer with `stride` over `size` pixels, TensorFlow's way: [before, after]. */
function samePadding(size: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** (l, r, t, b) 'same' padding of a square k×k layer for x (B, C, H, W). */
function same(x: Tensor, k: number, stride: number): [number, number, number, number] {
  const [t, b] = samePadding(x.shape[2]!, k, stride);
  const [l, r] = samePadding(x.shape[3]!, k, stride);
  return [l, r, t, b];
}

/** TensorFlow's 2×2 max-pool with 'same' padding (padded cells ignored). */
function maxPoolSame(x: Tensor, stride: number): Tensor {
  const pads = same(x, 2, stride);
  return maxPool2d(pads.some((v) => v > 0) ? pad(x, pads, Number.NEGATIVE_INFINITY) : x, 2, { stride });
}

// ---- TinyFaceDetector ----

const TINY_CHANNELS = [16, 32, 64, 128, 256, 512];

export class TinyFaceDetector extends Module {
  readonly arch = 'tiny-face-detector';
  /** (x, y) of the five anchors, in grid cells. */
  static readonly ANCHORS: readonly [number, number][] = [[1.603231, 2.094468], [6.041143, 7.080126], [2.882459, 3.518061], [4.266906, 5.178857], [9.041765, 10.66308]];
  static readonly MEAN: readonly [number, number, number] = [117.001, 114.697, 97.404];
  params: TfjsParameters;

  constructor() {
    super();
    const specs: Spec[] = [['conv0/filters', [16, 3, 3, 3]], ['conv0/bias', [16]]];
    for (let i = 1; i < TINY_CHANNELS.length; i++) specs.push(...separable(`conv${i}`, TINY_CHANNELS[i - 1]!, TINY_CHANNELS[i]!));
    specs.push(['conv8/filters', [25, 512, 1, 1]], ['conv8/bias', [25]]);
    this.params = new TfjsParameters(specs);
  }

  /** (1, 3, S, S) normalised, S a multiple of 32 → (1, 25, S/32, S/32): per anchor tx, ty, tw, th, objectness. */
  forward(x: Tensor): Tensor {
    const p = this.params;
    const leaky = (t: Tensor): Tensor => t.leakyRelu(0.1);
    let h = leaky(conv2d(x, p.get('conv0/filters'), p.get('conv0/bias')));
    h = maxPoolSame(h, 2);
    for (let i = 1; i <= 5; i++) {
      h = leaky(separableConv(p, `conv${i}`, h, 1, [1, 1, 1, 1]));
      h = maxPoolSame(h, i === 5 ? 1 : 2);
    }
    return conv2d(h, p.get('conv8/filters'), p.get('conv8/bias'));
  }
}

// ---- SSD MobileNetV1 ----

/** MobileNetV1's depthwise blocks 1–13: [in, out, depthwise stride]. */
const MOBILENET_BLOCKS: [number, number, number][] = [
  [32, 64, 1], [64, 128, 2], [128, 128, 1], [128, 256, 2], [256, 256, 1], [256, 512, 2],
  [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 512, 1], [512, 1024, 2], [1024, 1024, 1],
];
/** The extra feature layers after MobileNetV1: [kernel, stride, in, out]. */
const SSD_EXTRAS: [number, number, number, number][] = [[1, 1, 1024, 256], [3, 2, 256, 512], [1, 1, 512, 128], [3, 2, 128, 256], [1, 1, 256, 128], [3, 2, 128, 256], [1, 1, 256, 64], [3, 2, 64, 128]];
/** Channels of the six maps the box predictors read, and their anchors per cell. */
const SSD_HEADS: [number, number][] = [[512, 3], [1024, 6], [512, 6], [256, 6], [256, 6], [128, 6]];
export const SSD_ANCHORS = 5118;

export class SsdMobilenetV1 extends Module {
  readonly arch = 'ssd-mobilenetv1';
  params: TfjsParameters;

  constructor() {
    super();
    const specs: Spec[] = [['MobilenetV1/Conv2d_0_pointwise/weights', [32, 3, 3, 3]], ['MobilenetV1/Conv2d_0_pointwise/convolution_bn_offset', [32]]];
    for (const [i, [cin, cout]] of MOBILENET_BLOCKS.entries()) {
      const d = `MobilenetV1/Conv2d_${i + 1}_depthwise`;
      specs.push([`${d}/depthwise_weights`, [cin, 1, 3, 3]]);
      for (const stat of ['gamma', 'beta', 'moving_mean', 'moving_variance']) specs.push([`${d}/BatchNorm/${stat}`, [cin]]);
      specs.push([`MobilenetV1/Conv2d_${i + 1}_pointwise/weights`, [cout, cin, 1, 1]], [`MobilenetV1/Conv2d_${i + 1}_pointwise/convolution_bn_offset`, [cout]]);
    }
    for (const [i, [k, , cin, cout]] of SSD_EXTRAS.entries()) {
      specs.push([`Prediction/Conv2d_${i}_pointwise/weights`, [cout, cin, k, k]], [`Prediction/Conv2d_${i}_pointwise/convolution_bn_offset`, [cout]]);
    }
    for (const [i, [cin, anchors]] of SSD_HEADS.entries()) {
      specs.push([`Prediction/BoxPredictor_${i}/BoxEncodingPredictor/weights`, [anchors * 4, cin, 1, 1]], [`Prediction/BoxPredictor_${i}/BoxEncodingPredictor/biases`, [anchors * 4]]);
      specs.push([`Prediction/BoxPredictor_${i}/ClassPredictor/weights`, [anchors * 3, cin, 1, 1]], [`Prediction/BoxPredictor_${i}/ClassPredictor/biases`, [anchors * 3]]);
    }
    specs.push(['Output/extra_dim', [1, SSD_ANCHORS, 4]]);
    this.params = new TfjsParameters(specs);
  }

  /** Conv (k×k, 'same', stride) + folded BatchNorm offset + ReLU6. */
  private pointwise(name: string, x: Tensor, stride: number): Tensor {
    const w = this.params.get(`${name}/weights`);
    const k = w.shape[2]!;
    const pads = same(x, k, stride);
    return conv2d(pads.some((v) => v > 0) ? pad(x, pads) : x, w, this.params.get(`${name}/convolution_bn_offset`), { stride }).clamp(0, 6);
  }

  /**
   * (1, 3, 512, 512) in [−1, 1] → box encodings (1, 5118, 4) as [ty, tx, th, tw] and class
   * logits (1, 5118, 3) (index 1 is face), anchors in order: map, y, x, anchor.
   */
  forward(x: Tensor): { boxes: Tensor; classes: Tensor } {
    const p = this.params;
    let h = this.pointwise('MobilenetV1/Conv2d_0_pointwise', x, 2);
    const maps: Tensor[] = [];
    for (const [i, [, , stride]] of MOBILENET_BLOCKS.entries()) {
      const d = `MobilenetV1/Conv2d_${i + 1}_depthwise`;
      const dw = p.get(`${d}/depthwise_weights`);
      h = conv2d(pad(h, same(h, 3, stride)), dw, null, { stride, groups: dw.shape[0]! });
      h = batchNorm(h, p.get(`${d}/BatchNorm/moving_mean`).detach(), p.get(`${d}/BatchNorm/moving_variance`).detach(), { weight: p.get(`${d}/BatchNorm/gamma`), bias: p.get(`${d}/BatchNorm/beta`), eps: 0.0010000000474974513 }).clamp(0, 6);
      h = this.pointwise(`MobilenetV1/Conv2d_${i + 1}_pointwise`, h, 1);
      if (i + 1 === 11) maps.push(h);
    }
    maps.push(h);
    for (const [i, [, stride]] of SSD_EXTRAS.entries()) {
      h = this.pointwise(`Prediction/Conv2d_${i}_pointwise`, h, stride);
      if (i % 2 === 1) maps.push(h);
    }
    const boxes: Tensor[] = [];
    const classes: Tensor[] = [];
    for (const [i, map] of maps.entries()) {
      const head = `Prediction/BoxPredictor_${i}`;
      const b = conv2d(map, p.get(`${head}/BoxEncodingPredictor/weights`), p.get(`${head}/BoxEncodingPredictor/biases`));
      const c = conv2d(map, p.get(`${head}/ClassPredictor/weights`), p.get(`${head}/ClassPredictor/biases`));
      boxes.push(b.permute(0, 2, 3, 1).reshape([1, -1, 4]));
      classes.push(c.permute(0, 2, 3, 1).reshape([1, -1, 3]));
    }
    return { boxes: cat(boxes, 1), classes: cat(classes, 1) };
  }

  /** The anchors (5118, 4) as [ymin, xmin, ymax, xmax] in the padded square, as the weights store them. */
  anchors(): Tensor {
    return this.params.get('Output/extra_dim').select(0, 0);
  }
}

// ---- FaceLandmark68Net ----

export class FaceLandmark68Net extends Module {
  readonly arch = 'face-landmark-68';
  static readonly MEAN: readonly [number, number, number] = [122.782, 117.001, 104.298];
  params: TfjsParameters;

  constructor() {
    super();
    const widths = [3, 32, 64, 128, 256];
    const specs: Spec[] = [];
    for (let d = 0; d < 4; d++) {
      const [cin, cout] = [widths[d]!, widths[d + 1]!];
      if (d === 0) specs.push(['dense0/conv0/filters', [32, 3, 3, 3]], ['dense0/conv0/bias', [32]]);
      else specs.push(...separable(`dense${d}/conv0`, cin, cout));
      for (let c = 1; c <= 3; c++) specs.push(...separable(`dense${d}/conv${c}`, cout, cout));
    }
    specs.push(['fc/weights', [136, 256]], ['fc/bias', [136]]);
    this.params = new TfjsParameters(specs);
  }

  /** (1, 3, 112, 112) normalised → (1, 136): x0, y0, x1, y1, … in [0, 1] of the padded square. */
  forward(x: Tensor): Tensor {
    const p = this.params;
    let h = x;
    for (let d = 0; d < 4; d++) {
      const s = `dense${d}`;
      const out1 = (d === 0 ? conv2d(pad(h, same(h, 3, 2)), p.get('dense0/conv0/filters'), p.get('dense0/conv0/bias'), { stride: 2 }) : separableConv(p, `${s}/conv0`, h, 2, same(h, 3, 2))).relu();
      const out2 = separableConv(p, `${s}/conv1`, out1, 1, [1, 1, 1, 1]);
      const out3 = separableConv(p, `${s}/conv2`, out1.add(out2).relu(), 1, [1, 1, 1, 1]);
      const out4 = separableConv(p, `${s}/conv3`, out1.add(out2).add(out3).relu(), 1, [1, 1, 1, 1]);
      h = out1.add(out2).add(out3).add(out4).relu();
    }
    h = avgPool2d(h, 7, { stride: 2 }).flatten(1);
    return h.matmul(p.get('fc/weights').t()).add(p.get('fc/bias'));
  }
}

// ---- FaceRecognitionNet ----

/** The residual blocks after the stem: [name, in, out, downsampling]. */
const RECOGNITION_BLOCKS: [string, number, number, boolean][] = [
  ['conv32_1', 32, 32, false], ['conv32_2', 32, 32, false], ['conv32_3', 32, 32, false],
  ['conv64_down', 32, 64, true], ['conv64_1', 64, 64, false], ['conv64_2', 64, 64, false], ['conv64_3', 64, 64, false],
  ['conv128_down', 64, 128, true], ['conv128_1', 128, 128, false], ['conv128_2', 128, 128, false],
  ['conv256_down', 128, 256, true], ['conv256_1', 256, 256, false], ['conv256_2', 256, 256, false],
  ['conv256_down_out', 256, 256, true],
];

export class FaceRecognitionNet extends Module {
  readonly arch = 'face-recognition';
  static readonly MEAN: readonly [number, number, number] = [122.782, 117.001, 104.298];
  params: TfjsParameters;

  constructor() {
    super();
    const layer = (name: string, cin: number, cout: number, k: number): Spec[] => [
      [`${name}/conv/filters`, [cout, cin, k, k]], [`${name}/conv/bias`, [cout]], [`${name}/scale/weights`, [cout]], [`${name}/scale/biases`, [cout]],
    ];
    const specs: Spec[] = layer('conv32_down', 3, 32, 7);
    for (const [name, cin, cout] of RECOGNITION_BLOCKS) specs.push(...layer(`${name}/conv1`, cin, cout, 3), ...layer(`${name}/conv2`, cout, cout, 3));
    specs.push(['fc', [128, 256]]);
    this.params = new TfjsParameters(specs);
  }

  /** conv + bias, then the 'scale' layer (a folded BatchNorm: · weights + biases). */
  private convLayer(name: string, x: Tensor, stride: number, padding: number): Tensor {
    const p = this.params;
    const out = conv2d(x, p.get(`${name}/conv/filters`), p.get(`${name}/conv/bias`), { stride, padding });
    const scale = (t: string): Tensor => p.get(`${name}/scale/${t}`).reshape([1, -1, 1, 1]);
    return out.mul(scale('weights')).add(scale('biases'));
  }

  /** (1, 3, 150, 150) normalised → (1, 128), not normalised to unit length (as face-api's). */
  forward(x: Tensor): Tensor {
    let h = this.convLayer('conv32_down', x, 2, 0).relu();
    h = maxPool2d(h, 3, { stride: 2 });
    for (const [name, cin, cout, down] of RECOGNITION_BLOCKS) {
      if (!down) {
        const out = this.convLayer(`${name}/conv2`, this.convLayer(`${name}/conv1`, h, 1, 1).relu(), 1, 1);
        h = out.add(h).relu();
        continue;
      }
      let out = this.convLayer(`${name}/conv2`, this.convLayer(`${name}/conv1`, h, 2, 0).relu(), 1, 1);
      let pooled = avgPool2d(h, 2, { stride: 2 });
      const [ph, pw] = [pooled.shape[2]!, pooled.shape[3]!];
      if (out.shape[2] !== ph || out.shape[3] !== pw) out = pad(out, [0, pw - out.shape[3]!, 0, ph - out.shape[2]!]); // zeros at the bottom and right
      if (cout !== cin) pooled = cat([pooled, zeros(pooled.shape)], 1);
      h = pooled.add(out).relu();
    }
    return h.mean([2, 3]).matmul(this.params.get('fc').t());
  }
}

/** Graph constants face-api's SSD manifest carries besides its weights (shapes, slice bounds, preprocessing scalars). */
const SSD_LEFTOVERS = /(^Preprocessor\/|^Postprocessor\/|\/stack(_1)?\/\d+$|\/strided_slice\/|^concat_1\/axis$)/;

/** `arch` with the weights of a face-api manifest read by loadTfjsWeights (layouts converted; a manifest of another network is an error). */
export function faceNetworkFromTfjs(arch: FaceArchitecture, weights: Record<string, Tensor>): TinyFaceDetector | SsdMobilenetV1 | FaceLandmark68Net | FaceRecognitionNet {
  const net = faceNetwork(arch);
  loadTfjsParameters(net.params, weights, arch, (name) => arch === 'ssd-mobilenetv1' && SSD_LEFTOVERS.test(name));
  return net;
}

/** A new, uninitialised network of `arch`. */
export function faceNetwork(arch: FaceArchitecture): TinyFaceDetector | SsdMobilenetV1 | FaceLandmark68Net | FaceRecognitionNet {
  switch (arch) {
    case 'tiny-face-detector': return new TinyFaceDetector();
    case 'ssd-mobilenetv1': return new SsdMobilenetV1();
    case 'face-landmark-68': return new FaceLandmark68Net();
    case 'face-recognition': return new FaceRecognitionNet();
  }
}
