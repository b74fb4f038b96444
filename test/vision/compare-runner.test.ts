/** kiln compare's image runner: a step budget becomes whole epochs; what it cannot do is refused by name. */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import type { CompareJob } from '../../src/report/compare-job.js';
import { imageCompareRunner } from '../../src/vision/compare-runner.js';
import { loadIdxDataset } from '../../src/vision/mnist.js';
import { scratchFolder } from '../models/reference.js';

const dir = scratchFolder('kiln-image-compare-');

/** 20 test-set ones and 20 sevens as PNGs in label folders. */
async function digitFolder(): Promise<string> {
  const folder = path.join(dir, 'digits');
  const images = loadIdxDataset('mnist', 'test');
  for (const [name, digit] of [['one', 1], ['seven', 7]] as const) {
    mkdirSync(path.join(folder, name), { recursive: true });
    for (let i = 0, written = 0; i < images.length && written < 20; i++) {
      if (images.labels[i] !== digit) continue;
      await sharp(Buffer.from(images.pixels([i])), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(path.join(folder, name, `${i}.png`));
      written++;
    }
  }
  return folder;
}

function job(train: string, overrides: Partial<CompareJob> = {}): CompareJob {
  return { task: 'image-classification', train: [train], test: undefined, candidate: { name: 'scratch-cnn', source: 'scratch:cnn', scratchArch: 'cnn' }, seed: 0, budget: { steps: 9 }, outDir: path.join(dir, 'run'), ...overrides };
}

test("a scratch CNN candidate trains the budget's steps and is scored on the validation split; a wall-clock budget is a time limit", async () => {
  const folder = await digitFolder();
  const run = await imageCompareRunner(job(folder), { batchSize: 8, valFraction: 0.1, imageSize: 28, channels: 1 });
  assert.ok(run.metrics['accuracy']! >= 0 && run.metrics['accuracy']! <= 1);
  assert.equal(run.trainableParameters, run.parameters);
  assert.ok(run.tokensPerSecond > 0, 'images per second of training');
  const lines = readFileSync(path.join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number });
  assert.equal(Math.max(...lines.map((l) => l.step)), 9); // the budget's 9 steps
  const timed = await imageCompareRunner(job(folder, { budget: { seconds: 1 }, outDir: path.join(dir, 'timed') }), { batchSize: 8, valFraction: 0.1, imageSize: 28, channels: 1 });
  assert.ok(timed.seconds >= 1 && timed.seconds < 20, `stopped by the time limit after ${timed.seconds} s`);
  await assert.rejects(imageCompareRunner(job(folder, { test: ['x'] })), /drop --test/);
});
