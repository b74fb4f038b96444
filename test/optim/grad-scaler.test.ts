/**
 * Dynamic loss scaling (GradScaler, as PyTorch's): fp16 gradients that underflow to zero without
 * scaling survive with it (and equal the fp32 gradient after unscaling), so training moves; a
 * step with an inf gradient is skipped — parameters and optimizer state untouched — and the scale
 * halves; the scale doubles after growthInterval clean steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const values = (t: Tensor): number[] => Array.from(t.toTypedArray() as Float32Array);
const f32 = (v: number[]) => tensor(v, { dtype: 'float32' });
import { Parameter } from '../../src/nn/parameter.js';
import { GradScaler } from '../../src/optim/grad-scaler.js';
import { SGD } from '../../src/optim/sgd.js';
import { AdamW } from '../../src/optim/adamw.js';

const X = [1e-4, -2e-4, 2.5e-4];

/** fp32 master weights, fp16 compute, an fp32 loss: 1e-4 · Σ w_i x_i, whose fp16 gradients (1e-8 to 2.5e-8) round to zero (fp16's smallest subnormal is 6e-8). */
function lossOf(w: Parameter) {
  return w.to('float16').mul(tensor(X).to('float16')).float().sum().mul(1e-4);
}

test('fp16 gradients underflow to zero without loss scaling and train with it', () => {
  const plain = new Parameter(f32([0.5, -0.25, 1]));
  lossOf(plain).backward();
  assert.ok(values(plain.grad!).every((g) => g === 0), `without scaling every gradient is zero: ${values(plain.grad!)}`);

  const w = new Parameter(f32([0.5, -0.25, 1]));
  const optimizer = new SGD([w], { lr: 1e4 });
  const scaler = new GradScaler();
  scaler.scale(lossOf(w)).backward();
  scaler.unscale(optimizer);
  const grad = values(w.grad!);
  X.forEach((x, i) => assert.ok(Math.abs(grad[i]! - 1e-4 * x) < 1e-4 * Math.abs(x) * 2e-3, `gradient ${i}: ${grad[i]} vs ${1e-4 * x}`));
  const before = values(w);
  assert.equal(scaler.step(optimizer), true);
  scaler.update();
  const after = values(w);
  assert.ok(after.every((v, i) => v !== before[i]), 'the step moved every weight');
  assert.equal(scaler.scaleValue, 65536);
});

test('a step with an inf gradient is skipped and the scale halves; clean steps grow it back', () => {
  const w = new Parameter(f32([1, 2, 3]));
  const optimizer = new AdamW([w], { lr: 0.1 });
  const scaler = new GradScaler({ initScale: 1024, growthInterval: 2 });
  const step = (grad: number[]) => {
    optimizer.zeroGrad();
    w.grad = f32(grad).mul(scaler.scaleValue);
    const stepped = scaler.step(optimizer);
    scaler.update();
    return stepped;
  };
  assert.equal(step([Number.POSITIVE_INFINITY, 1, 1]), false);
  assert.deepEqual(values(w), [1, 2, 3], 'parameters untouched');
  assert.deepEqual(optimizer.stateDict().state, {}, 'no optimizer state was made');
  assert.equal(scaler.scaleValue, 512);
  assert.equal(step([Number.NaN, 0, 0]), false);
  assert.equal(scaler.scaleValue, 256);
  assert.equal(step([0.1, 0.2, 0.3]), true);
  assert.notDeepEqual(values(w), [1, 2, 3]);
  assert.equal(scaler.scaleValue, 256);
  assert.equal(step([0.1, 0.2, 0.3]), true);
  assert.equal(scaler.scaleValue, 512, 'two clean steps in a row double it');
  assert.deepEqual(scaler.stateDict(), { scale: 512, growthTracker: 0 });
  assert.throws(() => scaler.update(), /call step\(\) \(or unscale\(\)\) first/);
  assert.throws(() => new GradScaler({ backoffFactor: 2 }), /backoffFactor must be in \(0, 1\)/);
});
