// Autograd behaviour checked against closed-form derivatives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enableGrad, grad, isGradEnabled, noGrad, ones, tensor } from '../../src/index.js';

const f64 = { dtype: 'float64' } as const;

test('backward of a scalar fills .grad of every leaf', () => {
  // y = sum(a * b + a^2): dy/da = b + 2a, dy/db = a
  const a = tensor([1, 2, 3], { ...f64, requiresGrad: true });
  const b = tensor([4, 5, 6], { ...f64, requiresGrad: true });
  a.mul(b).add(a.square()).sum().backward();
  assert.deepEqual(a.grad!.toArray(), [6, 9, 12]);
  assert.deepEqual(b.grad!.toArray(), [1, 2, 3]);
  assert.equal(a.isLeaf, true);
});

test('backward with an explicit gradient computes a vector-Jacobian product', () => {
  const x = tensor([1, 2], { ...f64, requiresGrad: true });
  const y = x.mul(x); // dy_i/dx_i = 2 x_i
  y.backward(tensor([3, 0.5], f64));
  assert.deepEqual(x.grad!.toArray(), [6, 2]);
});

test('gradients accumulate across backward calls until reset', () => {
  const x = tensor([2], { ...f64, requiresGrad: true });
  x.mul(3).sum().backward();
  x.mul(3).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [6]);
  x.grad = null;
  assert.equal(x.grad, null);
});

test('retainGraph allows a second backward through the same graph', () => {
  const x = tensor([1.5], { ...f64, requiresGrad: true });
  const y = x.exp().sum();
  y.backward(undefined, { retainGraph: true });
  y.backward();
  assert.ok(Math.abs((x.grad!.item()) - 2 * Math.exp(1.5)) < 1e-12);
  const z = x.exp().sum();
  z.backward();
  assert.throws(() => z.backward(), /backward.*second time|freed/i);
});

test('grad() with createGraph gives second derivatives', () => {
  // f = x^3: f' = 3x^2, f'' = 6x
  const x = tensor([2, -1], { ...f64, requiresGrad: true });
  const [first] = grad(x.pow(3).sum(), x, { createGraph: true });
  assert.deepEqual(first!.toArray(), [12, 3]);
  const [second] = grad(first!.sum(), x);
  assert.deepEqual(second!.toArray(), [12, -6]);
  assert.equal(x.grad, null, 'grad() must not touch .grad');
});

test('grad() reports unused inputs as null only when allowed', () => {
  const x = tensor([1], { ...f64, requiresGrad: true });
  const unused = tensor([1], { ...f64, requiresGrad: true });
  assert.throws(() => grad(x.mul(2).sum(), [x, unused]), /not have been used|unused/i);
  const result = grad(x.mul(2).sum(), [x, unused], { allowUnused: true });
  assert.deepEqual(result[0]!.toArray(), [2]);
  assert.equal(result[1], null);
});

test('noGrad stops recording and restores the mode, even on throw', () => {
  const x = ones([2], { requiresGrad: true });
  const y = noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(isGradEnabled(), true);
  assert.throws(() => noGrad(() => { throw new Error('inside'); }), /inside/);
  assert.equal(isGradEnabled(), true);
  const z = noGrad(() => enableGrad(() => x.mul(2)));
  assert.equal(z.requiresGrad, true);
  assert.match(z.gradFn ?? '', /^MulBackward/);
});

test('retainGrad keeps the gradient of an intermediate tensor', () => {
  const x = tensor([1, 2], { ...f64, requiresGrad: true });
  const h = x.mul(3).retainGrad();
  h.square().sum().backward(); // d/dh = 2h = 6x
  assert.deepEqual(h.grad!.toArray(), [6, 12]);
  assert.equal(h.isLeaf, false);
});

test('in-place updates under noGrad change a leaf without breaking later graphs', () => {
  const w = tensor([1, 1], { ...f64, requiresGrad: true });
  w.mul(tensor([2, 3], f64)).sum().backward();
  noGrad(() => w.sub_(w.grad!.mul(0.5)));
  assert.deepEqual(w.toArray(), [0, -0.5]);
  assert.throws(() => w.add_(1), /leaf Variable that requires grad|in-place/);
});

test('detach cuts the graph', () => {
  const x = tensor([3], { ...f64, requiresGrad: true });
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
});
