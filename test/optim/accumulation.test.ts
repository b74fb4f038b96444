/**
 * Gradient accumulation: k micro-batches, each backward on loss / k, add up to the full batch's
 * gradient (backward() accumulates into .grad), so one optimizer step then matches a full-batch step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scope, type Tensor } from '../../src/index.js';
import { AdamW, SGD, type Optimizer } from '../../src/optim/index.js';
import { PARAM_NAMES, floats, lossOf, makeProblem, type ParamName } from './fixture.js';

const MICRO_BATCHES = 4; // the 8 examples in 4 micro-batches of 2
const TOLERANCE = 1e-6;

function maxDifference(a: Tensor, b: Tensor): number {
  const x = floats(a);
  const y = floats(b);
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
}

function accumulate(params: Record<ParamName, Tensor>, x: Tensor, y: Tensor): void {
  const size = x.shape[0]! / MICRO_BATCHES;
  for (let k = 0; k < MICRO_BATCHES; k++) {
    scope(() => lossOf(params, x.narrow(0, k * size, size), y.narrow(0, k * size, size)).div(MICRO_BATCHES).backward());
  }
}

const OPTIMIZERS: Record<string, (params: Tensor[]) => Optimizer> = {
  'SGD momentum': (p) => new SGD(p, { lr: 0.1, momentum: 0.9 }),
  AdamW: (p) => new AdamW(p, { lr: 0.01 }),
};

for (const [name, make] of Object.entries(OPTIMIZERS)) {
  test(`accumulating ${MICRO_BATCHES} micro-batches equals the full batch, before and after a ${name} step`, () => {
    const full = makeProblem();
    const micro = makeProblem();
    const fullOptimizer = make(PARAM_NAMES.map((n) => full.params[n]));
    const microOptimizer = make(PARAM_NAMES.map((n) => micro.params[n]));
    for (let step = 0; step < 3; step++) {
      fullOptimizer.zeroGrad();
      microOptimizer.zeroGrad();
      scope(() => lossOf(full.params, full.x, full.y).backward());
      accumulate(micro.params, micro.x, micro.y);
      for (const p of PARAM_NAMES) {
        const d = maxDifference(micro.params[p].grad!, full.params[p].grad!);
        assert.ok(d <= TOLERANCE, `step ${step}: grad of ${p} differs by ${d}`);
      }
      fullOptimizer.step();
      microOptimizer.step();
      for (const p of PARAM_NAMES) {
        const d = maxDifference(micro.params[p], full.params[p]);
        assert.ok(d <= TOLERANCE, `after step ${step + 1}: ${p} differs by ${d}`);
      }
    }
  });
}

test('without dividing by k the accumulated gradient is k times too large (the test can tell)', () => {
  const full = makeProblem();
  const micro = makeProblem();
  scope(() => lossOf(full.params, full.x, full.y).backward());
  const size = micro.x.shape[0]! / MICRO_BATCHES;
  for (let k = 0; k < MICRO_BATCHES; k++) {
    scope(() => lossOf(micro.params, micro.x.narrow(0, k * size, size), micro.y.narrow(0, k * size, size)).backward());
  }
  const d = maxDifference(micro.params.w1.grad!.div(MICRO_BATCHES), full.params.w1.grad!);
  assert.ok(d <= TOLERANCE);
  assert.ok(maxDifference(micro.params.w1.grad!, full.params.w1.grad!) > 1e-3);
});
