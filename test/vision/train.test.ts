// Image runs on the shared training loop: settings, gradient accumulation, and the image sampler's checkpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { ConfigError } from '../../src/train/config-error.js';
import { InMemoryImages } from '../../src/vision/image-source.js';
import { ImageDraws } from '../../src/vision/image-draws.js';
import { IMAGE_RUN_DEFAULTS, resolveImageRunConfig, runImageClassification } from '../../src/vision/image-run.js';
import { scratchFolder } from '../models/reference.js';

test('image runs: the library and the command share their defaults (3 epochs); an unknown setting is refused by name', () => {
  const config = resolveImageRunConfig({ out: 'runs/x', data: 'mnist' });
  assert.equal(config.epochs, 3);
  assert.equal(config.epochs, IMAGE_RUN_DEFAULTS.epochs);
  assert.throws(() => resolveImageRunConfig({ out: 'runs/x', data: 'mnist', epoch: 2 } as never), (e: Error) => e instanceof ConfigError && /unknown setting 'epoch'; the settings are .*epochs/.test(e.message));
  assert.equal(resolveImageRunConfig({ out: 'runs/x', epochs: undefined } as never).epochs, 3, 'an undefined value keeps the default');
  assert.throws(() => resolveImageRunConfig({ out: 'runs/x', gradAccumulation: 0 }), /grad-accumulation must be a positive integer, got 0/);
  assert.throws(() => resolveImageRunConfig({ out: 'runs/x', evalEvery: 2.5 }), /eval-every must be a positive integer, got 2.5/);
  assert.throws(() => resolveImageRunConfig({ out: 'runs/x', gradClip: -1 }), /grad-clip must be a finite number ≥ 0, got -1/);
});

test('image runs: 2 micro-batches of 4 give the weights of one batch of 8 (ViT, to 1e-5)', async (t) => {
  const dir = scratchFolder('kiln-image-accumulate-');
  const common = {
    data: 'mnist', classes: [0, 1, 2], perClass: 16, valSize: 24, arch: 'vit' as const, patchSize: 7, hiddenSize: 16, layers: 1, heads: 2,
    maxSteps: 6, evalEvery: 3, logEvery: 2, lr: 1e-3, threads: 1, seed: 3,
  };
  const one = await runImageClassification({ ...common, batchSize: 8, out: path.join(dir, 'one') });
  const two = await runImageClassification({ ...common, batchSize: 4, gradAccumulation: 2, out: path.join(dir, 'two') });
  assert.equal(one.steps, 6);
  assert.equal(two.steps, 6);
  const a = loadSafetensors(path.join(dir, 'one', 'model', 'model.safetensors')).tensors;
  const b = loadSafetensors(path.join(dir, 'two', 'model', 'model.safetensors')).tensors;
  let worst = 0;
  for (const [name, t] of Object.entries(a)) worst = Math.max(worst, t.sub(b[name]!).abs().max().item());
  t.diagnostic(`largest parameter difference, 2 x 4 vs 1 x 8: ${worst}`);
  assert.ok(worst < 1e-5, `largest parameter difference ${worst}`);
  // The weights moved: the comparison is not of two untrained models.
  const fresh = await runImageClassification({ ...common, batchSize: 8, maxSteps: 1, lr: 1e-9, out: path.join(dir, 'fresh') });
  assert.equal(fresh.steps, 1);
  const c = loadSafetensors(path.join(dir, 'fresh', 'model', 'model.safetensors')).tensors;
  assert.ok(Object.entries(a).some(([name, t]) => t.sub(c[name]!).abs().max().item() > 1e-3));
});

test('ImageDraws: a checkpoint taken while the next draw waits ahead resumes the same images and augmentation', async () => {
  const n = 10;
  const pixels = Uint8Array.from({ length: n * 2 * 4 * 4 }, (_, i) => (i * 29) % 251);
  const images = new InMemoryImages(pixels, Int32Array.from({ length: n }, (_, i) => i % 3), ['a', 'b', 'c'], 2, 4, 4);
  const options = { seed: 9, augment: { cropPadding: 1, flip: true } };
  const draws = new ImageDraws(images, options);
  for (let i = 0; i < 3; i++) await draws.load(draws.next(4));
  const saved = JSON.parse(JSON.stringify(draws.state())) as ReturnType<ImageDraws['state']>;
  const after: { indices: number[]; pixels: number[] }[] = [];
  for (let i = 0; i < 4; i++) {
    const indices = draws.next(4);
    after.push({ indices, pixels: [...(await draws.load(indices)).pixels] });
  }
  const resumed = new ImageDraws(images, options);
  resumed.restore(saved);
  for (const expected of after) {
    const indices = resumed.next(4);
    assert.deepEqual(indices, expected.indices);
    assert.deepEqual([...(await resumed.load(indices)).pixels], expected.pixels);
  }
  // Every image once per epoch: 10 images in draws of 4 cover each once in the first 8 + 2 of the next epoch.
  const fresh = new ImageDraws(images, { seed: 1 });
  const seen = [...fresh.next(4), ...fresh.next(4), ...fresh.next(2)];
  assert.deepEqual([...seen].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
});
