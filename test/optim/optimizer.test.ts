/** The Optimizer base: parameter groups, options checking, zeroGrad, skipped grads, state lifetime. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, scope, tensor, type Tensor } from '../../src/index.js';
import { Adam, AdamW, RMSprop, SGD } from '../../src/optim/index.js';
import { PARAM_NAMES, floats, lossOf, makeProblem } from './fixture.js';

const f32 = { dtype: 'float32' } as const;

function withGrad(values: number[], grad: number[]): Tensor {
  const p = tensor(values, { ...f32, requiresGrad: true });
  p.grad = tensor(grad, f32);
  return p;
}

test('SGD without momentum is p -= lr × grad (closed form)', () => {
  const p = withGrad([1, 2], [0.5, -1]);
  new SGD([p], { lr: 0.1 }).step();
  assert.deepEqual(Array.from(floats(p)), [Math.fround(1 - 0.05), Math.fround(2 + 0.1)]);
});

test("Adam's first step moves each weight by lr against the gradient's sign (closed form)", () => {
  // after one step m̂ = g and v̂ = g², so the update is lr × g / (|g| + eps)
  const p = withGrad([1, 1, 1], [3, -0.2, 1e-3]);
  new Adam([p], { lr: 0.01, eps: 1e-12 }).step();
  const values = Array.from(floats(p));
  [0.99, 1.01, 0.99].forEach((v, i) => assert.ok(Math.abs(values[i]! - v) < 1e-6, `${values[i]} vs ${v}`));
});

test("AdamW's weight decay shrinks the weights even with a zero gradient", () => {
  const p = withGrad([2, -4], [0, 0]);
  new AdamW([p], { lr: 0.1, weightDecay: 0.5 }).step(); // p × (1 - 0.05), then a zero Adam step
  assert.deepEqual(Array.from(floats(p)), [Math.fround(2 * Math.fround(0.95)), Math.fround(-4 * Math.fround(0.95))]);
});

test('parameters may be any iterable: an array, a Set, a generator', () => {
  const a = withGrad([1], [1]);
  const b = withGrad([1], [1]);
  function* both(): Generator<Tensor> {
    yield a;
    yield b;
  }
  assert.equal(new SGD(new Set([a, b]), { lr: 1 }).paramGroups[0]!.params.length, 2);
  assert.equal(new SGD(both(), { lr: 1 }).paramGroups[0]!.params.length, 2);
});

test('param groups take per-group overrides of the defaults', () => {
  const { params } = makeProblem();
  const optimizer = new AdamW(
    [{ params: [params.w1, params.w2] }, { params: [params.b1, params.b2], weightDecay: 0, lr: 1e-4 }],
    { lr: 1e-3, betas: [0.9, 0.95] },
  );
  const [weights, biases] = optimizer.paramGroups;
  assert.equal(weights!.lr, 1e-3);
  assert.equal(weights!.weightDecay, 0.01); // AdamW's default
  assert.deepEqual(weights!.betas, [0.9, 0.95]);
  assert.equal(biases!.lr, 1e-4);
  assert.equal(biases!.weightDecay, 0);
  assert.deepEqual(biases!.betas, [0.9, 0.95]);
});

test('bad parameters and options are errors that say what is wrong', () => {
  const p = withGrad([1], [1]);
  assert.throws(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
  assert.throws(() => new SGD([p, p], { lr: 0.1 }), /already in a param group/);
  assert.throws(() => new SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /param group 1: params\[0\].*already in a param group/);
  assert.throws(() => new Adam([p], { learningRate: 0.1 } as never), /Adam: unknown option 'learningRate'; the options are lr, betas/);
  assert.throws(() => new Adam([{ params: [p], weight_decay: 0.1 } as never]), /param group 0: unknown option 'weight_decay'/);
  assert.throws(() => new SGD([p], { lr: -1 }), /lr must be a finite number >= 0, got -1/);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /nesterov needs momentum > 0 and dampening 0/);
  assert.throws(() => new Adam([p], { betas: [0.9, 1] }), /betas\[1\] must be a finite number >= 0 < 1/);
  assert.throws(() => new SGD([tensor([1, 2])], { lr: 0.1 }), /int64 \[2\]; only floating-point tensors can be optimized/);
  const nonLeaf = p.mul(2);
  assert.throws(() => new SGD([nonLeaf], { lr: 0.1 }), /not a leaf tensor/);
});

test('zeroGrad sets grads to null by default, or to zeros', () => {
  const p = withGrad([1, 2], [3, 4]);
  const optimizer = new SGD([p], { lr: 0.1 });
  optimizer.zeroGrad(false);
  assert.deepEqual(Array.from(floats(p.grad!)), [0, 0]);
  optimizer.zeroGrad();
  assert.equal(p.grad, null);
});

test('parameters whose grad is null are skipped and get no state', () => {
  const used = withGrad([1], [1]);
  const unused = tensor([5], { ...f32, requiresGrad: true });
  const optimizer = new Adam([used, unused], { lr: 0.1, weightDecay: 0.1 });
  optimizer.step();
  assert.deepEqual(Array.from(floats(unused)), [5]);
  assert.notDeepEqual(Array.from(floats(used)), [1]);
  assert.deepEqual(Object.keys(optimizer.stateDict().state), ['0']);
});

test('lr is writable between steps (as schedulers do)', () => {
  const p = withGrad([1], [1]);
  const optimizer = new SGD([p], { lr: 0.1 });
  optimizer.paramGroups[0]!.lr = 0;
  optimizer.step();
  assert.deepEqual(Array.from(floats(p)), [1]);
  optimizer.paramGroups[0]!.lr = 0.5;
  optimizer.step();
  assert.deepEqual(Array.from(floats(p)), [0.5]);
});

test('addParamGroup adds parameters part-way through (e.g. unfreezing a layer)', () => {
  const { x, y, params } = makeProblem(['w1', 'b1']);
  const optimizer = new SGD([params.w2, params.b2], { lr: 0.1, momentum: 0.9 });
  optimizer.step();
  params.w1.requiresGrad = true;
  params.b1.requiresGrad = true;
  optimizer.addParamGroup({ params: [params.w1, params.b1], lr: 0.01 });
  assert.throws(() => optimizer.addParamGroup({ params: [params.w2] }), /already in a param group/);
  const before = Array.from(floats(params.w1));
  scope(() => lossOf(params, x, y).backward());
  optimizer.step();
  assert.notDeepEqual(Array.from(floats(params.w1)), before);
  assert.equal(optimizer.paramGroups[1]!.lr, 0.01);
  assert.equal(optimizer.paramGroups[1]!.momentum, 0.9);
});

test('optimizer state survives the scopes that steps run in', () => {
  const scoped = makeProblem();
  const plain = makeProblem();
  const make = (p: typeof scoped.params): RMSprop => new RMSprop(PARAM_NAMES.map((n) => p[n]), { lr: 0.01, momentum: 0.9, centered: true });
  const scopedOptimizer = make(scoped.params);
  const plainOptimizer = make(plain.params);
  for (let i = 0; i < 5; i++) {
    // state is created in the first scope; a disposed buffer would throw in the next one
    scope(() => {
      scopedOptimizer.zeroGrad();
      lossOf(scoped.params, scoped.x, scoped.y).backward();
      scopedOptimizer.step();
    });
    plainOptimizer.zeroGrad();
    lossOf(plain.params, plain.x, plain.y).backward();
    plainOptimizer.step();
  }
  for (const n of PARAM_NAMES) assert.ok(scoped.params[n].equal(plain.params[n]));
});

test('step() records nothing for autograd and leaves parameters as leaves', () => {
  const { x, y, params } = makeProblem();
  const optimizer = new SGD(PARAM_NAMES.map((n) => params[n]), { lr: 0.1, momentum: 0.9 });
  scope(() => lossOf(params, x, y).backward());
  optimizer.step();
  for (const n of PARAM_NAMES) {
    assert.equal(params[n].isLeaf, true);
    assert.equal(params[n].gradFn, null);
  }
  // the momentum buffer is a copy, not the grad itself
  const buffer = optimizer.stateDict().state[0]!['momentumBuffer'] as Tensor;
  noGrad(() => params.w1.grad!.zero_());
  assert.ok(buffer.abs().sum().item() > 0);
});
