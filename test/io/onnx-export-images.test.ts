/**
 * ONNX export of image classifiers, checked by transformers.js: its image-classification
 * pipeline reads the exported folder (preprocessor_config.json included) and must give the
 * labels and probabilities `kiln predict --task image-classification` gives for the same files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { AutoProcessor, ImageClassificationPipeline, PreTrainedModel, env, pipeline } from '@huggingface/transformers';
import { exportOnnx } from '../../src/io/onnx/export.js';
import { normal_, uniform_ } from '../../src/nn/init.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { manualSeed } from '../../src/tensor/creation.js';
import { loadImageClassifier, saveImageClassifier } from '../../src/vision/image-model-folder.js';
import type { ImageClassifier } from '../../src/vision/models/image-classifier.js';
import { ResNet } from '../../src/vision/models/resnet.js';
import { SmallCnn } from '../../src/vision/models/small-cnn.js';
import { ViTForImageClassification } from '../../src/vision/models/vit.js';
import { predictImages } from '../../src/vision/predict-images.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kiln-onnx-images-'));
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/';
const LABELS = ['cat', 'dog', 'fish'];

/** PNG files of the model's size: a dark, a bright, a striped, a checkered and two noisy images. */
async function images(channels: 1 | 3, size: number, count: number, fileSize = size): Promise<string[]> {
  const files: string[] = [];
  for (let n = 0; n < count; n++) {
    const pixels = Buffer.alloc(fileSize * fileSize * channels);
    let seed = n + 1;
    for (let i = 0; i < pixels.length; i++) {
      const [y, x] = [Math.floor(i / channels / fileSize), Math.floor(i / channels) % fileSize];
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const noise = seed % 256;
      pixels[i] = [20, 235, y % 4 < 2 ? 255 : 0, (x + y) % 2 === 0 ? 255 : 0, noise, (noise * (i % channels + 1)) % 256][n]!;
    }
    const file = path.join(dir, `image-${channels}-${fileSize}-${n}.png`);
    const image = sharp(pixels, { raw: { width: fileSize, height: fileSize, channels } });
    await (channels === 1 ? image.toColourspace('b-w') : image).png().toFile(file);
    files.push(file);
  }
  return files;
}

/** Saves `model` with wide random weights and batch-norm statistics (so the export's batch norm is exercised and predictions are decisive). */
function saveModel(model: ImageClassifier, name: string, channels: 1 | 3, size: number): string {
  noGrad(() => {
    for (const [key, p] of model.namedParameters()) if (p.ndim >= 2) normal_(p, 0, key.includes('classifier') || key.startsWith('fc') ? 0.5 : 0.2);
    for (const [key, b] of Object.entries(model.stateDict())) {
      if (key.endsWith('running_mean')) uniform_(b, -0.2, 0.2);
      if (key.endsWith('running_var')) uniform_(b, 0.5, 1.5);
    }
  });
  const out = path.join(dir, name);
  const mean = channels === 1 ? [0.45] : [0.485, 0.456, 0.406];
  const std = channels === 1 ? [0.25] : [0.229, 0.224, 0.225];
  saveImageClassifier(model, out, {
    classNames: LABELS, channels, imageSize: [size, size], normalization: { mean, std },
    info: { architecture: model.architecture, task: 'image-classification', made: { by: 'test', config: {}, date: '' }, step: 0, val_accuracy: null, test_accuracy: null },
  });
  return out;
}

async function check(modelDir: string, channels: 1 | 3, size: number, transformersType: boolean, fileSize = size): Promise<void> {
  const onnxDir = `${modelDir}-onnx`;
  assert.equal(exportOnnx(modelDir, onnxDir).task, 'image-classification');
  const files = await images(channels, size, 6, fileSize);
  const kiln = await predictImages(loadImageClassifier(modelDir), files, { topK: LABELS.length });
  const classify = transformersType
    ? await pipeline('image-classification', onnxDir, { dtype: 'fp32' })
    : new ImageClassificationPipeline({ task: 'image-classification', model: await PreTrainedModel.from_pretrained(onnxDir, { dtype: 'fp32' }), processor: await AutoProcessor.from_pretrained(onnxDir) });
  const outcomes = new Set<string>();
  for (const [i, file] of files.entries()) {
    const got = (await classify(file, { top_k: null })) as { label: string; score: number }[];
    const expected = kiln[i]!;
    assert.equal(got[0]!.label, expected.label, path.basename(file));
    outcomes.add(expected.top.map((t) => `${t.label} ${t.probability.toFixed(3)}`).join(', '));
    for (const { label, probability } of expected.top) {
      const score = got.find((s) => s.label === label)!.score;
      assert.ok(Math.abs(score - probability) < 1e-4, `${path.basename(file)} ${label}: ${score} vs ${probability}`);
    }
  }
  assert.equal(outcomes.size, files.length, 'every file got its own probabilities: the outputs depend on the pixels');
}

test('small CNN on grey images: transformers.js gives kiln predict\'s labels and probabilities', async () => {
  manualSeed(11);
  const model = new SmallCnn({ inChannels: 1, numClasses: 3, imageSize: [28, 28], channels: [4, 8], hidden: 16 });
  await check(saveModel(model, 'cnn', 1, 28), 1, 28, false);
});

test('ResNet-18 (ImageNet stem: 7×7 stride-2 conv and max pool; downsampling shortcuts) on RGB images: pipeline("image-classification")', async () => {
  manualSeed(12);
  const model = new ResNet({ arch: 'resnet18', inChannels: 3, numClasses: 3, widths: [4, 8, 8, 8], stem: 'imagenet' });
  await check(saveModel(model, 'resnet', 3, 32), 3, 32, true);
});

test('ViT on RGB images: pipeline("image-classification")', async () => {
  manualSeed(13);
  const model = new ViTForImageClassification({ inChannels: 3, numClasses: 3, imageSize: 16, patchSize: 4, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 32 });
  await check(saveModel(model, 'vit', 3, 16), 3, 16, true);
});

test('images of another size are resized the same way (lanczos3, exactly H×W): ViT on 40×40 files', async () => {
  manualSeed(14);
  const model = new ViTForImageClassification({ inChannels: 3, numClasses: 3, imageSize: 16, patchSize: 4, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32 });
  await check(saveModel(model, 'vit-resized', 3, 16), 3, 16, true, 40);
});
