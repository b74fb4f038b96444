/**
 * Optimizer trajectories against PyTorch's: from the same float32 weights, 20 steps of each
 * optimizer configuration in test/fixtures/optim.json, the parameters compared after every step.
 * Adam and AdamW run twice: composed op by op, and fused (one native pass per parameter), both
 * held to the same tolerance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scope, type Tensor } from '../../src/index.js';
import { Adam, AdamW, RMSprop, SGD, type Optimizer } from '../../src/optim/index.js';
import { Deviation, PARAM_NAMES, fixture, floats, lossOf, makeProblem, type OptimizerCase, type ParamName } from './fixture.js';

const TOLERANCE = 1e-5;

function build(c: OptimizerCase, params: Record<ParamName, Tensor>, fused = false): Optimizer {
  const spec = c.groups === null
    ? PARAM_NAMES.map((n) => params[n])
    : c.groups.map((g) => ({ ...g, params: g.params.map((n) => params[n]) }));
  // the fixture's options are Kiln's option names; unknown ones would throw
  const options = (fused ? { ...c.options, fused: true } : c.options) as never;
  switch (c.optimizer) {
    case 'SGD': return new SGD(spec as never, options);
    case 'Adam': return new Adam(spec as never, options);
    case 'AdamW': return new AdamW(spec as never, options);
    case 'RMSprop': return new RMSprop(spec as never, options);
  }
}

const overall = new Deviation();

const runs = fixture.optimizers.flatMap((c) => [{ c, fused: false }, ...(c.optimizer === 'Adam' || c.optimizer === 'AdamW' ? [{ c, fused: true }] : [])]);
for (const { c, fused } of runs) {
  test(`${c.name}${fused ? ' (fused)' : ''}: 20 steps match PyTorch's`, (t) => {
    const { x, y, params } = makeProblem(c.frozen);
    const optimizer = build(c, params, fused);
    const deviation = new Deviation();
    c.steps.forEach((expected, step) => {
      optimizer.zeroGrad();
      scope(() => lossOf(params, x, y).backward());
      optimizer.step();
      for (const name of PARAM_NAMES) {
        deviation.check(floats(params[name]), expected[name], TOLERANCE, `step ${step + 1}, ${name}`);
        overall.check(floats(params[name]), expected[name], TOLERANCE, `step ${step + 1}, ${name}`);
      }
    });
    t.diagnostic(deviation.toString());
  });
}

test('every optimizer case was compared (largest deviation in the diagnostic)', (t) => {
  let values = 0;
  for (const { c } of runs) for (const snapshot of c.steps) for (const name of PARAM_NAMES) values += snapshot[name].length;
  assert.equal(overall.total, values);
  t.diagnostic(overall.toString());
});
