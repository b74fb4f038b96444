/**
 * ResNet-18 and ViT against reference forwards. test/fixtures/vision_reference.py (Debian's
 * PyTorch, torchvision's ResNet-18 and Hugging Face's ViTForImageClassification written out
 * with torch.nn.functional under their parameter names) wrote tiny random weights, inputs and
 * the float64 logits they produce; Kiln loads the weights by key and must match to 1e-4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tensor, loadSafetensors, manualSeed, noGrad, scope, tensor } from '../../src/index.js';
import { ResNet, type ResNetConfig } from '../../src/vision/models/resnet.js';
import { SmallCnn } from '../../src/vision/models/small-cnn.js';
import { ViTForImageClassification, type ViTConfig } from '../../src/vision/models/vit.js';
import { buildImageClassifier, loadImageClassifier, saveImageClassifier, specOf } from '../../src/vision/image-model-folder.js';
import { fixtures, scratchFolder } from '../models/reference.js';

const configs = JSON.parse(readFileSync(path.join(fixtures, 'vision_tiny.json'), 'utf8')) as { resnet18: ResNetConfig; vit: ViTConfig };
const load = (name: string): Record<string, Tensor> => loadSafetensors(path.join(fixtures, name)).tensors;

function maxAbsDiff(got: Tensor, want: Tensor): number {
  assert.deepEqual(got.shape, want.shape);
  return scope(() => got.double().sub(want).abs().max().item());
}

test('ResNet-18 loads torchvision-named weights by key and matches the reference logits (eval and train mode)', () => {
  const model = new ResNet(configs.resnet18);
  const weights = load('vision-resnet18.safetensors');
  const result = model.loadStateDict(weights); // strict: every torchvision key, nothing else
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  assert.ok('layer2.0.downsample.0.weight' in weights && 'layer1.1.bn2.running_var' in weights && 'fc.weight' in weights);
  const io = load('vision-resnet18-io.safetensors');
  model.eval();
  const evalDiff = noGrad(() => maxAbsDiff(model.forward(io['input']!), io['logits_eval']!));
  assert.ok(evalDiff < 1e-4, `eval logits differ by ${evalDiff}`);
  model.train();
  const trainDiff = noGrad(() => maxAbsDiff(model.forward(io['input']!), io['logits_train']!));
  assert.ok(trainDiff < 1e-4, `train-mode logits differ by ${trainDiff}`);
});

test('ViT loads Hugging Face-named weights by key and matches the reference logits', () => {
  const model = new ViTForImageClassification(configs.vit);
  const weights = load('vision-vit.safetensors');
  assert.deepEqual(model.loadStateDict(weights), { missingKeys: [], unexpectedKeys: [] });
  assert.ok('vit.encoder.layer.1.attention.attention.query.weight' in weights && 'vit.embeddings.patch_embeddings.projection.weight' in weights);
  const io = load('vision-vit-io.safetensors');
  model.eval();
  const diff = noGrad(() => maxAbsDiff(model.forward(io['input']!), io['logits']!));
  assert.ok(diff < 1e-4, `logits differ by ${diff}`);
});

test('ResNet-34 has torchvision\'s block counts: 3, 4, 6, 3 basic blocks', () => {
  const model = new ResNet({ arch: 'resnet34', widths: [2, 2, 2, 2], numClasses: 3 });
  assert.deepEqual([model.layer1.length, model.layer2.length, model.layer3.length, model.layer4.length], [3, 4, 6, 3]);
  // The 21.8 M parameters torchvision reports for resnet34 at full width (closed form of its layers).
  assert.equal(new ResNet({ arch: 'resnet34' }).numParameters(), 21_797_672);
  assert.equal(new ResNet({ arch: 'resnet18' }).numParameters(), 11_689_512);
});

test('a saved image classifier reloads with the same outputs; resetHead changes only the head', async () => {
  manualSeed(3);
  const dir = scratchFolder('kiln-vision-model-');
  for (const model of [new SmallCnn({ numClasses: 4 }), new ResNet({ ...configs.resnet18, inChannels: 1, stem: 'small', numClasses: 4 }), new ViTForImageClassification({ ...configs.vit, imageSize: 28, patchSize: 7, inChannels: 1, numClasses: 4 })]) {
    model.eval();
    const x = tensor(new Float32Array(2 * 28 * 28).map((_, i) => Math.sin(i)), { shape: [2, 1, 28, 28] });
    const before = noGrad(() => model.forward(x));
    saveImageClassifier(model, dir, {
      classNames: ['a', 'b', 'c', 'd'], channels: 1, imageSize: [28, 28], normalization: { mean: [0.5], std: [0.5] },
      info: { architecture: model.architecture, task: 'image-classification', made: { by: 'test', config: {}, date: '' }, step: 0, val_accuracy: null, test_accuracy: null },
    });
    const loaded = loadImageClassifier(dir);
    assert.deepEqual(loaded.classNames, ['a', 'b', 'c', 'd']);
    loaded.model.eval();
    assert.equal(noGrad(() => maxAbsDiff(loaded.model.forward(x), before)), 0);
    const rebuilt = buildImageClassifier(specOf(model));
    rebuilt.resetHead(7);
    assert.equal(rebuilt.numClasses, 7);
    assert.deepEqual(noGrad(() => rebuilt.forward(x)).shape, [2, 7]);
  }
});
