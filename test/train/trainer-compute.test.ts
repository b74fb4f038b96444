// How the Trainer computes, on a small regression every step of which is known: dynamic loss
// scaling (a step whose scaled gradients overflow float32 is skipped, its schedule step too, and
// the scale halves; the scale is saved with the state and resumed), running out of memory (a real
// allocation libtorch refuses becomes an OutOfMemoryError naming the batch and what to change;
// the process and the run folder go on, and the run resumes with the batch split in two), and a
// resumed run whose batch size × accumulation is unchanged training exactly as the uninterrupted one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { epochSampler } from '../../src/finetune/batches.js';
import { Linear } from '../../src/nn/linear.js';
import { mseLoss } from '../../src/nn/functional.js';
import { AdamW } from '../../src/optim/adamw.js';
import { GradScaler } from '../../src/optim/grad-scaler.js';
import { autocastSupported } from '../../src/tensor/autocast.js';
import { manualSeed, ones, tensor } from '../../src/tensor/creation.js';
import { cudaDeviceCount } from '../../src/tensor/runtime.js';
import { ConfigError } from '../../src/train/config-error.js';
import { OutOfMemoryError } from '../../src/train/out-of-memory.js';
import { type FinetuneLog, type LoopHooks, type LoopSettings, runTrainer } from '../../src/train/trainer.js';
import { scratchFolder } from '../models/reference.js';

const SETTINGS: LoopSettings = { warmup: 0, minLr: 0, gradClip: 1, batchSize: 4, gradAccumulation: 1, logEvery: 1, evalEvery: 1, patience: 0, timeLimit: null, seed: 0 };
const EXAMPLES = 12;
/** Example i: features (i/12, (i/12)², 1) and target 2·i/12 − 1. */
const features = (i: number): number[] => [i / EXAMPLES, (i / EXAMPLES) ** 2, 1];

interface Run {
  out: string;
  settings?: Partial<LoopSettings> & { precision?: 'fp32' | 'bf16' | 'fp16' };
  maxSteps: number;
  resume?: boolean;
  gradScaler?: GradScaler;
  /** Replaces the loss at these steps (1-based). */
  lossAt?: Record<number, (model: Linear) => ReturnType<LoopHooks['loss']>>;
}

/** A fresh model (same seed every time) trained by the Trainer; returns the result, the log lines and the final weights. */
async function train(run: Run) {
  manualSeed(0);
  const model = new Linear(3, 1);
  const optimizer = new AdamW([{ params: model.parameters() }], { lr: 0.05, weightDecay: 0 });
  const sampler = epochSampler(EXAMPLES, 0);
  const settings = { ...SETTINGS, ...run.settings };
  let step = 0;
  const result = await runTrainer<number>({
    settings,
    run: { config: { batchSize: settings.batchSize, gradAccumulation: settings.gradAccumulation, precision: settings.precision ?? 'fp32' }, defaults: {}, resumable: ['precision'] },
    out: run.out,
    metricKey: 'val_loss',
    maxSteps: run.maxSteps,
    optimizer,
    multipliers: [1],
    module: model,
    sampler,
    resume: run.resume,
    gradScaler: run.gradScaler,
    draw: (count) => sampler.next(count),
    lossWeight: (examples) => examples.length,
    tokens: (examples) => examples.length,
    loss: (batch) => {
      const special = run.lossAt?.[step + 1];
      if (special !== undefined) return special(model);
      const x = tensor(batch.map(features), { dtype: 'float32' });
      const y = tensor(batch.map((i) => [(2 * i) / EXAMPLES - 1]), { dtype: 'float32' });
      return mseLoss(model.forward(x), y);
    },
    evaluate: () => ({ val_loss: Number.NaN }),
    save: () => {},
    onLog: (log, { isEval }) => {
      if (!isEval) step = log.step;
    },
  });
  const lines = readFileSync(path.join(run.out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as FinetuneLog).filter((l) => l.val_loss === undefined);
  return { result, lines, weight: model.weight.toArray() as number[][], bias: model.bias!.toArray() as number[] };
}

test('Trainer with a GradScaler: a step whose scaled gradients overflow is skipped (weights and schedule unchanged), the scale halves, and a resumed run keeps the scale', async () => {
  const out = scratchFolder('kiln-scaler-');
  // Step 2's loss is finite (w·1e35 ≈ 1e34) but its gradient times the scale 2^16 is 6.6e39 > float32's 3.4e38: inf.
  const overflow = { 2: (model: Linear) => model.weight.sum().mul(1e35) };
  const plain = await train({ out: scratchFolder('kiln-scaler-plain-'), maxSteps: 1 });
  const first = await train({ out, maxSteps: 2, gradScaler: new GradScaler(), lossAt: overflow });
  assert.deepEqual(first.lines.map((l) => l.loss_scale), [65536, 32768], 'the scale halves after the overflowing step');
  assert.deepEqual(first.weight, plain.weight, 'the skipped step left the weights as step 1 made them');
  assert.deepEqual(first.bias, plain.bias);
  const resumed = await train({ out, maxSteps: 4, resume: true, gradScaler: new GradScaler() });
  assert.deepEqual(resumed.lines.map((l) => l.step), [1, 2, 3, 4]);
  assert.deepEqual(resumed.lines.slice(2).map((l) => l.loss_scale), [32768, 32768], 'the resumed run starts from the saved scale, not 2^16');
  // The schedule did not advance on the skipped step: step 3 logs the lr that step 2 had in a run without the overflow.
  const skipped = await train({ out: scratchFolder('kiln-scaler-skip-'), maxSteps: 4, gradScaler: new GradScaler(), lossAt: overflow });
  const reference = await train({ out: scratchFolder('kiln-scaler-ref-'), maxSteps: 4 });
  assert.equal(skipped.lines[2]!.lr, reference.lines[1]!.lr);
  assert.notEqual(reference.lines[2]!.lr, reference.lines[1]!.lr);
  assert.equal(reference.lines[0]!.loss_scale, undefined, 'an fp32 run without a scaler logs no scale');
});

test("precision fp16: a default GradScaler where the device's autocast has fp16, else a one-line ConfigError that names bf16", async () => {
  const out = scratchFolder('kiln-fp16-');
  if (autocastSupported('fp16', 'cpu') || cudaDeviceCount() > 0) {
    const run = await train({ out, maxSteps: 2, settings: { precision: 'fp16' } });
    assert.deepEqual(run.lines.map((l) => l.loss_scale), [65536, 65536]);
  } else {
    await assert.rejects(train({ out, maxSteps: 2, settings: { precision: 'fp16' } }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^--precision fp16 on cpu: libtorch [\d.]+'s CPU autocast has no fp16 \(it has from libtorch 2\.4\): use --precision bf16 on the CPU/);
      return true;
    });
  }
});

test('running out of memory: a refused allocation is an OutOfMemoryError naming the batch and what to change; the run then resumes with the batch split in two', async () => {
  const out = scratchFolder('kiln-oom-');
  // 2^48 float32 values: 1 PiB, more than any machine's address space, so malloc refuses it whatever the overcommit setting.
  const huge = { 3: () => ones([1]).expand([2 ** 48]).contiguous().sum() };
  await assert.rejects(train({ out, maxSteps: 4, settings: { evalEvery: 2 }, lossAt: huge }), (error: Error) => {
    assert.ok(error instanceof OutOfMemoryError, String(error));
    assert.match(error.message, /^out of memory on cpu at step 3 with --batch-size 4: lower --batch-size and raise --grad-accumulation \(e\.g\. --batch-size 2 --grad-accumulation 2 trains on the same 4 examples a step\), add --grad-checkpointing \(transformers\), or use --precision bf16; /);
    assert.match(error.message, new RegExp(`${out}/state keeps the checkpoint of step 2: rerun with --resume`));
    assert.match(error.message, /\(libtorch: .*DefaultCPUAllocator: can't allocate memory/);
    return true;
  });
  // The same process goes on: the run resumes from step 2 with the batch split in two, and matches a run that never failed.
  const resumed = await train({ out, maxSteps: 4, resume: true, settings: { batchSize: 2, gradAccumulation: 2 } });
  assert.deepEqual(resumed.lines.map((l) => l.step), [1, 2, 3, 4]);
  const whole = await train({ out: scratchFolder('kiln-oom-ref-'), maxSteps: 4 });
  resumed.lines.forEach((l, i) => assert.ok(Math.abs(l.loss - whole.lines[i]!.loss) < 1e-6, `step ${l.step}: ${l.loss} vs ${whole.lines[i]!.loss}`));
  resumed.weight[0]!.forEach((w, i) => assert.ok(Math.abs(w - whole.weight[0]![i]!) < 1e-6, `weight ${i}`));
});

test('resuming with another batch size: accepted when batch size × accumulation is unchanged (the same examples a step), refused otherwise', async () => {
  const out = scratchFolder('kiln-regroup-');
  // A run of 4 steps killed in step 3, after its checkpoint at step 2.
  const killed = { 3: (): never => { throw new Error('killed'); } };
  await assert.rejects(train({ out, maxSteps: 4, settings: { evalEvery: 2 }, lossAt: killed }), /^Error: killed$/);
  await assert.rejects(train({ out, maxSteps: 4, resume: true, settings: { batchSize: 2 } }), (error: Error) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^cannot resume with different batch-size \(saved 4, given 2\); a resumed run may only change precision, and batch-size with grad-accumulation when their product stays the same/);
    return true;
  });
  const regrouped = await train({ out, maxSteps: 4, resume: true, settings: { batchSize: 1, gradAccumulation: 4 } });
  const whole = await train({ out: scratchFolder('kiln-regroup-ref-'), maxSteps: 4 });
  regrouped.lines.forEach((l, i) => assert.ok(Math.abs(l.loss - whole.lines[i]!.loss) < 1e-6, `step ${l.step}: ${l.loss} vs ${whole.lines[i]!.loss}`));
});

test('a finite loss whose gradients are NaN stops the run with a clear error (clipping would have made every weight NaN)', async () => {
  // d/dw sqrt(0·w) = 0 · 0.5 / sqrt(0) = NaN, while the loss itself is 0.
  const nanGradient = { 2: (model: Linear) => model.weight.mul(0).sqrt().sum() };
  await assert.rejects(train({ out: scratchFolder('kiln-nan-grad-'), maxSteps: 3, lossAt: nanGradient }), /^Error: the gradients became NaN at step 2 \(the loss was 0\); lower --lr$/);
});
