// trainImageClassifier's metrics lines, on a few synthetic images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { manualSeed } from '../../src/index.js';
import { InMemoryImages } from '../../src/vision/image-source.js';
import { SmallCnn } from '../../src/vision/models/small-cnn.js';
import { defaultNormalization } from '../../src/vision/normalize.js';
import { trainImageClassifier } from '../../src/vision/train-image-classifier.js';
import { scratchFolder } from '../models/reference.js';
import { ConfigError } from '../../src/train/config-error.js';
import { IMAGE_RUN_DEFAULTS, resolveImageRunConfig } from '../../src/vision/image-run.js';

test('an epoch that ends on a regular log line repeats its loss on the validation line, never NaN', async () => {
  manualSeed(0);
  const n = 8;
  const pixels = new Uint8Array(n * 8 * 8).map((_, i) => (i * 37) % 256);
  const images = new InMemoryImages(pixels, Int32Array.from({ length: n }, (_, i) => i % 2), ['a', 'b'], 1, 8, 8);
  const metricsFile = path.join(scratchFolder('kiln-train-images-'), 'metrics.jsonl');
  const model = new SmallCnn({ inChannels: 1, numClasses: 2, imageSize: [8, 8], channels: [4] });
  // 8 images in batches of 4: 2 steps an epoch, and a regular line every 2 steps.
  await trainImageClassifier({ model, train: images, val: images, normalization: defaultNormalization(1), metricsFile, settings: { epochs: 2, batchSize: 4, logEvery: 2 } });
  const lines = readFileSync(metricsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number | null; val_accuracy?: number });
  assert.deepEqual(lines.map((l) => [l.step, 'val_accuracy' in l]), [[2, false], [2, true], [4, false], [4, true]]);
  for (const line of lines) assert.ok(typeof line.loss === 'number' && Number.isFinite(line.loss), `loss ${line.loss} at step ${line.step}`);
  assert.equal(lines[1]!.loss, lines[0]!.loss);
  assert.equal(lines[3]!.loss, lines[2]!.loss);
});

test('image runs: the library and the command share their defaults (3 epochs); an unknown setting is refused by name', () => {
  const config = resolveImageRunConfig({ out: 'runs/x', data: 'mnist' });
  assert.equal(config.epochs, 3);
  assert.equal(config.epochs, IMAGE_RUN_DEFAULTS.epochs);
  assert.throws(() => resolveImageRunConfig({ out: 'runs/x', data: 'mnist', epoch: 2 } as never), (e: Error) => e instanceof ConfigError && /unknown setting 'epoch'; the settings are .*epochs/.test(e.message));
  assert.equal(resolveImageRunConfig({ out: 'runs/x', epochs: undefined } as never).epochs, 3, 'an undefined value keeps the default');
});
