/**
 * Kiln's image classifiers as ONNX: the small CNN, ResNet-18/34 (torchvision's layout) and ViT
 * (Hugging Face's), in inference mode (batch norm with its running statistics, no dropout).
 * Input pixel_values (B, C, H, W) float32, already normalised as config.json's normalization
 * says; output logits (B, K).
 *
 * B = batch, C = channels, H × W = image size, P = patches, E = ViT width, K = classes.
 */
import type { BatchNorm2d } from '../../nn/batch-norm.js';
import type { Conv2d } from '../../nn/conv2d.js';
import type { ImageClassifier } from '../../vision/models/image-classifier.js';
import { ResNet } from '../../vision/models/resnet.js';
import { SmallCnn } from '../../vision/models/small-cnn.js';
import { ViTForImageClassification } from '../../vision/models/vit.js';
import { type OnnxGraph, float } from './graph.js';
import { attention, dim, geluErf, layerNorm, linear, mergeHeads, splitHeads } from './layers.js';

function conv2d(g: OnnxGraph, x: string, conv: Conv2d, name: string): string {
  if (typeof conv.padding === 'string') throw new Error(`ONNX export: ${name} uses padding '${conv.padding}', which the exporter does not write; numeric padding exports`);
  const [pH, pW] = conv.padding;
  const inputs = [x, g.weight(`${name}.weight`, conv.weight)];
  if (conv.bias !== null) inputs.push(g.weight(`${name}.bias`, conv.bias));
  return g.op('Conv', inputs, { kernel_shape: [...conv.kernelSize], strides: [...conv.stride], pads: [pH, pW, pH, pW], dilations: [...conv.dilation], group: conv.groups });
}

function batchNorm(g: OnnxGraph, x: string, bn: BatchNorm2d, name: string): string {
  if (bn.running_mean === null || bn.running_var === null || bn.weight === null || bn.bias === null) {
    throw new Error(`ONNX export: ${name} is a batch norm without running statistics or affine weights, which the exporter does not write`);
  }
  return g.op('BatchNormalization', [x, g.weight(`${name}.weight`, bn.weight), g.weight(`${name}.bias`, bn.bias), g.weight(`${name}.running_mean`, bn.running_mean), g.weight(`${name}.running_var`, bn.running_var)], { epsilon: float(bn.eps) });
}

function maxPool(g: OnnxGraph, x: string, kernel: number, stride: number, padding: number): string {
  return g.op('MaxPool', [x], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [padding, padding, padding, padding] });
}

function smallCnn(g: OnnxGraph, model: SmallCnn, pixels: string): string {
  let x = pixels;
  model.blocks.forEach((block, i) => {
    x = maxPool(g, g.op('Relu', [batchNorm(g, conv2d(g, x, block.conv, `blocks.${i}.conv`), block.bn, `blocks.${i}.bn`)]), 2, 2, 0); // (B, c_i, H/2^i, W/2^i)
  });
  const hidden = g.op('Relu', [linear(g, g.op('Flatten', [x], { axis: 1 }), model.fc, 'fc')]); // (B, hidden)
  return linear(g, hidden, model.classifier, 'classifier');
}

function resNet(g: OnnxGraph, model: ResNet, pixels: string): string {
  let h = g.op('Relu', [batchNorm(g, conv2d(g, pixels, model.conv1, 'conv1'), model.bn1, 'bn1')]);
  if (model.config.stem === 'imagenet') h = maxPool(g, h, 3, 2, 1);
  (['layer1', 'layer2', 'layer3', 'layer4'] as const).forEach((stage) => {
    model[stage].forEach((block, b) => {
      const name = `${stage}.${b}`;
      const inner = g.op('Relu', [batchNorm(g, conv2d(g, h, block.conv1, `${name}.conv1`), block.bn1, `${name}.bn1`)]);
      const branch = batchNorm(g, conv2d(g, inner, block.conv2, `${name}.conv2`), block.bn2, `${name}.bn2`);
      const downsample = block.downsample;
      const shortcut = downsample === null ? h : batchNorm(g, conv2d(g, h, downsample.at(0) as Conv2d, `${name}.downsample.0`), downsample.at(1) as BatchNorm2d, `${name}.downsample.1`);
      h = g.op('Relu', [g.op('Add', [branch, shortcut])]);
    });
  });
  return linear(g, g.op('Flatten', [g.op('GlobalAveragePool', [h])], { axis: 1 }), model.fc, 'fc'); // (B, w3) -> (B, K)
}

function vit(g: OnnxGraph, model: ViTForImageClassification, pixels: string): string {
  const { hiddenSize: E, numAttentionHeads: heads } = model.config;
  const headDim = E / heads;
  const e = model.vit.embeddings;
  const patches = g.op('Transpose', [g.op('Reshape', [conv2d(g, pixels, e.patch_embeddings.projection, 'vit.embeddings.patch_embeddings.projection'), g.ints([0, 0, -1])])], { perm: [0, 2, 1] }); // (B, E, H/p, W/p) -> (B, P, E)
  const cls = g.op('Expand', [g.weight('vit.embeddings.cls_token', e.cls_token), g.op('Concat', [g.op('Unsqueeze', [dim(g, pixels, 0), g.ints([0])]), g.ints([1, E])], { axis: 0 })]); // (B, 1, E)
  let x = g.op('Add', [g.op('Concat', [cls, patches], { axis: 1 }), g.weight('vit.embeddings.position_embeddings', e.position_embeddings)]); // (B, P + 1, E)
  model.vit.encoder.layer.forEach((layer, i) => {
    const name = `vit.encoder.layer.${i}`;
    const h = layerNorm(g, x, layer.layernorm_before, `${name}.layernorm_before`);
    const self = layer.attention.attention;
    const project = (p: 'query' | 'key' | 'value'): string => splitHeads(g, linear(g, h, self[p], `${name}.attention.attention.${p}`), heads, headDim);
    const attended = mergeHeads(g, attention(g, project('query'), project('key'), project('value'), null, headDim), E);
    x = g.op('Add', [x, linear(g, attended, layer.attention.output.dense, `${name}.attention.output.dense`)]);
    const inner = geluErf(g, linear(g, layerNorm(g, x, layer.layernorm_after, `${name}.layernorm_after`), layer.intermediate.dense, `${name}.intermediate.dense`));
    x = g.op('Add', [x, linear(g, inner, layer.output.dense, `${name}.output.dense`)]);
  });
  const first = g.op('Gather', [layerNorm(g, x, model.vit.layernorm, 'vit.layernorm'), g.ints([0], [])], { axis: 1 }); // [CLS] (B, E)
  return linear(g, first, model.classifier, 'classifier');
}

/** Input pixel_values (B, C, H, W); output logits (B, K). */
export function imageClassifierGraph(g: OnnxGraph, model: ImageClassifier, channels: number, size: readonly [number, number]): void {
  const pixels = g.input('pixel_values', 'float32', ['batch_size', channels, size[0], size[1]]);
  let logits: string;
  if (model instanceof SmallCnn) logits = smallCnn(g, model, pixels);
  else if (model instanceof ResNet) logits = resNet(g, model, pixels);
  else if (model instanceof ViTForImageClassification) logits = vit(g, model, pixels);
  else throw new Error(`ONNX export: ${model.constructor.name} is not an image classifier the exporter knows (cnn, resnet18, resnet34, vit)`);
  g.output(logits, 'logits', 'float32', ['batch_size', model.numClasses]);
}
