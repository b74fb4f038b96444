// The Trainer's bookkeeping, on a task whose validation metrics are scripted: which checkpoint is
// best (higher accuracy, lower loss), when --patience stops the run, and best/ = the last
// without a validation metric. Every task (pretraining, fine-tuning, images) runs in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { epochSampler } from '../../src/finetune/batches.js';
import { Linear } from '../../src/nn/linear.js';
import { AdamW } from '../../src/optim/adamw.js';
import { type FinetuneLog, type LoopSettings, runTrainer } from '../../src/train/trainer.js';
import { scratchFolder } from '../models/reference.js';

const SETTINGS: LoopSettings = { warmup: 0, minLr: 0, gradClip: 0, batchSize: 2, gradAccumulation: 1, logEvery: 1, evalEvery: 1, patience: 2, timeLimit: null, seed: 0 };

/** Runs the Trainer with evaluation i returning `scripted[i]` under `key`; returns the result and the steps each folder was saved at. */
async function scripted(key: 'val_accuracy' | 'val_loss', scripted: number[], patience: number) {
  const out = scratchFolder('kiln-trainer-');
  const module = new Linear(1, 1);
  const optimizer = new AdamW([{ params: module.parameters() }], { lr: 1e-3 });
  const sampler = epochSampler(6, 0);
  const saves: { dir: string; step: number }[] = [];
  let evaluation = 0;
  const result = await runTrainer({
    settings: { ...SETTINGS, patience },
    run: { config: { patience }, defaults: {}, resumable: [] },
    out,
    metricKey: key,
    maxSteps: scripted.length,
    optimizer,
    multipliers: [1],
    module,
    sampler,
    draw: (count) => sampler.next(count),
    lossWeight: (examples) => examples.length,
    tokens: (examples) => examples.length,
    loss: () => module.weight.sum().mul(0),
    evaluate: () => {
      const value = scripted[evaluation++]!;
      return key === 'val_loss' ? { val_loss: value } : { val_loss: 1, val_accuracy: value };
    },
    save: (dir, step) => saves.push({ dir: path.basename(dir), step }),
  });
  const evalSteps = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as FinetuneLog).filter((l) => l.val_loss !== undefined).map((l) => l.step);
  return { result, bestSaves: saves.filter((s) => s.dir === 'best').map((s) => s.step), modelSaves: saves.filter((s) => s.dir === 'model').map((s) => s.step), evalSteps };
}

test('Trainer: the best checkpoint is the highest accuracy; patience 2 stops two evaluations after it', async () => {
  const { result, bestSaves, modelSaves, evalSteps } = await scripted('val_accuracy', [0.5, 0.7, 0.6, 0.65, 0.9, 0.95], 2);
  assert.equal(result.stoppedBy, 'earlyStopping');
  assert.equal(result.step, 4);
  assert.equal(result.bestStep, 2);
  assert.equal(result.best.val_accuracy, 0.7);
  assert.deepEqual(bestSaves, [1, 2]);
  assert.deepEqual(modelSaves, [1, 2, 3, 4]);
  assert.deepEqual(evalSteps, [1, 2, 3, 4]);
});

test('Trainer: for val_loss lower is better; an improvement resets the patience count; patience 0 runs every step', async () => {
  const lower = await scripted('val_loss', [3, 2, 2.5, 1.5, 1.6, 1.7, 1.0], 2);
  assert.equal(lower.result.stoppedBy, 'earlyStopping');
  assert.equal(lower.result.step, 6);
  assert.deepEqual(lower.bestSaves, [1, 2, 4]);
  assert.equal(lower.result.best.val_loss, 1.5);
  const all = await scripted('val_loss', [3, 4, 5, 6], 0);
  assert.equal(all.result.stoppedBy, 'maxSteps');
  assert.equal(all.result.step, 4);
  assert.deepEqual(all.bestSaves, [1]);
});

test('Trainer: without a validation metric (NaN) best/ follows the last checkpoint', async () => {
  const { result, bestSaves } = await scripted('val_loss', [Number.NaN, Number.NaN, Number.NaN], 0);
  assert.equal(result.step, 3);
  assert.deepEqual(bestSaves, [1, 2, 3]);
  assert.equal(result.bestStep, 3);
});
