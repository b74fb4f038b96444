/**
 * Exact resume: saving the parameters and the optimizer's stateDict part-way, then loading both
 * into fresh tensors and a fresh optimizer, continues training bit for bit as the run that was
 * never interrupted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, scope, type Tensor } from '../../src/index.js';
import { Adam, AdamW, RMSprop, SGD, type Optimizer, type OptimizerStateDict } from '../../src/optim/index.js';
import { PARAM_NAMES, lossOf, makeProblem, type ParamName } from './fixture.js';

type Params = Record<ParamName, Tensor>;

/** Weights and biases in separate groups, as a fine-tuning run would have them. */
function groups(params: Params): { params: Tensor[]; weightDecay?: number; lr?: number }[] {
  return [{ params: [params.w1, params.w2] }, { params: [params.b1, params.b2], weightDecay: 0, lr: 0.002 }];
}

const CONFIGS: Record<string, (params: Params) => Optimizer> = {
  'SGD nesterov': (p) => new SGD(groups(p), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
  'Adam amsgrad': (p) => new Adam(groups(p), { lr: 0.01, amsgrad: true, weightDecay: 1e-3 }),
  AdamW: (p) => new AdamW(groups(p), { lr: 0.01 }),
  'RMSprop centered momentum': (p) => new RMSprop(groups(p), { lr: 0.005, momentum: 0.9, centered: true }),
};

function train(optimizer: Optimizer, params: Params, x: Tensor, y: Tensor, steps: number): void {
  for (let i = 0; i < steps; i++) {
    scope(() => {
      optimizer.zeroGrad();
      lossOf(params, x, y).backward();
      optimizer.step();
    });
  }
}

function copyParams(params: Params): Params {
  const copy = {} as Params;
  noGrad(() => {
    for (const name of PARAM_NAMES) copy[name] = params[name].clone().requiresGrad_(params[name].requiresGrad);
  });
  return copy;
}

for (const [name, make] of Object.entries(CONFIGS)) {
  test(`${name}: resuming from stateDict continues bit-identically`, () => {
    // the run that is never interrupted: 10 steps, a scheduler-like lr change, 10 more
    const straight = makeProblem();
    const straightOptimizer = make(straight.params);
    train(straightOptimizer, straight.params, straight.x, straight.y, 10);
    straightOptimizer.paramGroups[0]!.lr *= 0.5;
    train(straightOptimizer, straight.params, straight.x, straight.y, 10);

    // the interrupted run: 10 steps, lr change, checkpoint ...
    const first = makeProblem();
    const firstOptimizer = make(first.params);
    train(firstOptimizer, first.params, first.x, first.y, 10);
    firstOptimizer.paramGroups[0]!.lr *= 0.5;
    const savedParams = copyParams(first.params);
    const savedState: OptimizerStateDict = firstOptimizer.stateDict();
    // ... and it keeps going, which must not reach into the saved copies
    train(firstOptimizer, first.params, first.x, first.y, 3);

    // resume into fresh parameters and a fresh optimizer (built with the original lr)
    const resumed = copyParams(savedParams);
    const resumedOptimizer = make(resumed);
    resumedOptimizer.loadStateDict(savedState);
    assert.equal(resumedOptimizer.paramGroups[0]!.lr, straightOptimizer.paramGroups[0]!.lr);
    train(resumedOptimizer, resumed, first.x, first.y, 10);

    for (const p of PARAM_NAMES) {
      assert.ok(resumed[p].equal(straight.params[p]), `${p} differs from the uninterrupted run`);
    }
    // and the optimizer state itself came out the same
    const a = resumedOptimizer.stateDict();
    const b = straightOptimizer.stateDict();
    assert.deepEqual(a.paramGroups, b.paramGroups);
    assert.deepEqual(Object.keys(a.state), Object.keys(b.state));
    for (const [index, entry] of Object.entries(a.state)) {
      for (const [key, value] of Object.entries(entry)) {
        const other = b.state[Number(index)]![key]!;
        if (typeof value === 'number') assert.equal(value, other, `state[${index}].${key}`);
        else assert.ok(value.equal(other as Tensor), `state[${index}].${key} differs`);
      }
    }
  });
}

test("stateDict has PyTorch's layout: numbered state and groups listing their parameters", () => {
  const { x, y, params } = makeProblem();
  const optimizer = new Adam(groups(params), { lr: 0.01 });
  train(optimizer, params, x, y, 2);
  const saved = optimizer.stateDict();
  assert.deepEqual(saved.paramGroups, [
    { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, fused: false, params: [0, 1] },
    { lr: 0.002, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, fused: false, params: [2, 3] },
  ]);
  assert.deepEqual(Object.keys(saved.state), ['0', '1', '2', '3']);
  assert.deepEqual(Object.keys(saved.state[0]!), ['step', 'expAvg', 'expAvgSq']);
  assert.equal(saved.state[0]!['step'], 2);
  assert.deepEqual((saved.state[0]!['expAvg'] as Tensor).shape, [3, 3]); // w1's shape
  // copies: changing them leaves the optimizer alone
  noGrad(() => (saved.state[0]!['expAvg'] as Tensor).zero_());
  assert.ok((optimizer.stateDict().state[0]!['expAvg'] as Tensor).abs().sum().item() > 0);
});

test('loadStateDict rejects a dict of another shape and leaves the optimizer as it was', () => {
  const { x, y, params } = makeProblem();
  const optimizer = new AdamW(groups(params), { lr: 0.01 });
  train(optimizer, params, x, y, 2);
  const before = optimizer.stateDict();
  const other = new AdamW(PARAM_NAMES.map((n) => params[n]), { lr: 0.01 });
  assert.throws(() => optimizer.loadStateDict(other.stateDict()), /1 param groups, this optimizer 2/);
  const wrongShape: OptimizerStateDict = { ...before, state: { ...before.state, 0: { ...before.state[0]!, expAvg: before.state[2]!['expAvg']! } } };
  assert.throws(() => optimizer.loadStateDict(wrongShape), /state 'expAvg' of parameter 0 is float32 \[3\] but the parameter is float32 \[3, 3\]/);
  const unknownKey = { ...before, paramGroups: before.paramGroups.map((g) => ({ ...g, momentum: 0.9 })) };
  assert.throws(() => optimizer.loadStateDict(unknownKey), /unknown option 'momentum'/);
  const after = optimizer.stateDict();
  assert.deepEqual(after.paramGroups, before.paramGroups);
  for (const [index, entry] of Object.entries(before.state)) {
    assert.ok((entry['expAvg'] as Tensor).equal(after.state[Number(index)]!['expAvg'] as Tensor));
  }
});
