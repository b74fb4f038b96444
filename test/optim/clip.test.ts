/** Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (test/fixtures/optim.json). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scope, tensor, zeros, type Tensor } from '../../src/index.js';
import { clipGradNorm_, clipGradValue_ } from '../../src/optim/index.js';
import { Deviation, fixture, floats, toNumber, type ClipCase } from './fixture.js';

const TOLERANCE = 1e-5;

/** Three parameters holding the case's grads, and a fourth with no grad (to be skipped). */
function paramsWithGrads(c: ClipCase): Tensor[] {
  const params = c.grads.map((values, i) => {
    const p = zeros(c.shapes[i]!, { requiresGrad: true });
    p.grad = tensor(new Float32Array(values.map(toNumber)), { shape: c.shapes[i]! });
    return p;
  });
  params.push(zeros([3], { requiresGrad: true }));
  return params;
}

for (const c of fixture.clipping) {
  test(`${c.name} matches PyTorch`, (t) => {
    const params = paramsWithGrads(c);
    const deviation = new Deviation();
    if (c.fn === 'clipGradNorm_') {
      const total = clipGradNorm_(params, c.maxNorm!, toNumber(c.normType!));
      assert.equal(total.ndim, 0);
      deviation.check([total.item()], [c.totalNorm!], TOLERANCE, 'total norm');
    } else {
      clipGradValue_(params, c.clipValue!);
    }
    c.expected.forEach((expected, i) => deviation.check(floats(params[i]!.grad!), expected, TOLERANCE, `grad ${i}`));
    assert.equal(params[3]!.grad, null);
    t.diagnostic(deviation.toString());
  });
}

test('clipGradNorm_ with no gradients returns 0 and changes nothing', () => {
  const p = zeros([2], { requiresGrad: true });
  assert.equal(clipGradNorm_([p], 1).item(), 0);
  assert.equal(p.grad, null);
});

test('clipGradNorm_ takes a single tensor; the norm it returns survives the caller\'s scope', () => {
  const p = zeros([2], { requiresGrad: true });
  p.grad = tensor([3, 4], { dtype: 'float32' });
  const total = scope(() => clipGradNorm_(p, 1));
  assert.equal(total.item(), 5);
  const [a, b] = floats(p.grad!);
  assert.ok(Math.abs(a! - 0.6) < 1e-6 && Math.abs(b! - 0.8) < 1e-6);
});

test('clipGradNorm_ can refuse a non-finite norm', () => {
  const p = zeros([2], { requiresGrad: true });
  p.grad = tensor([Infinity, 1], { dtype: 'float32' });
  assert.throws(() => clipGradNorm_([p], 1, 2, { errorIfNonfinite: true }), /total 2-norm of the gradients is Infinity/);
  assert.deepEqual(Array.from(floats(p.grad!)), [Infinity, 1]);
  assert.throws(() => clipGradNorm_([p], -1), /maxNorm must be a number >= 0/);
});
