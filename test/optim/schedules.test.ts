/**
 * Learning-rate schedules against PyTorch's schedulers (test/fixtures/optim.json), and the
 * scheduler object's behaviour: per-group base lrs, the pure lrAt, and resuming from a state dict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zeros } from '../../src/index.js';
import {
  Adam,
  ConstantLR,
  CosineLR,
  LinearLR,
  OneCycleLR,
  SGD,
  StepLR,
  cosineLr,
  linearLr,
  oneCycleLr,
  stepLr,
  type LrScheduler,
  type Optimizer,
} from '../../src/optim/index.js';
import { fixture, type ScheduleCase } from './fixture.js';

/** lrs are float64 on both sides; PyTorch's chained forms differ from closed forms by a few ulps. */
const TOLERANCE = 1e-9;

function close(actual: number, expected: number, what: string): number {
  const deviation = Math.abs(actual - expected);
  assert.ok(deviation <= TOLERANCE * (1e-3 + Math.abs(expected)), `${what}: got ${actual}, PyTorch ${expected}`);
  return deviation / Math.max(Math.abs(expected), 1e-12);
}

function optimizerFor(c: ScheduleCase): Optimizer {
  const groups = c.baseLrs.map((lr) => ({ params: [zeros([1], { requiresGrad: true })], lr }));
  if (c.reference.includes('Adam')) return new Adam(groups);
  return new SGD(groups, { lr: 1, momentum: c.momentum === undefined ? 0 : 0.9 });
}

function schedulerFor(c: ScheduleCase, optimizer: Optimizer): LrScheduler {
  const options = c.options as never;
  switch (c.schedule) {
    case 'ConstantLR': return new ConstantLR(optimizer, options);
    case 'StepLR': return new StepLR(optimizer, options);
    case 'CosineLR': return new CosineLR(optimizer, options);
    case 'LinearLR': return new LinearLR(optimizer, options);
    case 'OneCycleLR': return new OneCycleLR(optimizer, options);
  }
}

function momentumOf(group: object): number {
  const g = group as { momentum?: number; betas?: readonly number[] };
  return g.betas !== undefined ? g.betas[0]! : g.momentum!;
}

let worst = 0;

for (const c of fixture.schedules) {
  test(`${c.name}: the lr sequence matches ${c.reference}`, (t) => {
    const optimizer = optimizerFor(c);
    const scheduler = schedulerFor(c, optimizer);
    let max = 0;
    c.lrs.forEach((expected, step) => {
      if (step > 0) scheduler.step();
      assert.equal(scheduler.stepCount, step);
      expected.forEach((lr, g) => {
        max = Math.max(max, close(optimizer.paramGroups[g]!.lr, lr, `step ${step}, group ${g}`));
        assert.equal(scheduler.lastLr[g], optimizer.paramGroups[g]!.lr);
      });
      c.momentum?.[step]!.forEach((m, g) => close(momentumOf(optimizer.paramGroups[g]!), m, `momentum at step ${step}, group ${g}`));
    });
    // lrAt is the same sequence, computed without stepping
    c.lrs.forEach((expected, step) => scheduler.lrAt(step).forEach((lr, g) => close(lr, expected[g]!, `lrAt(${step})[${g}]`)));
    worst = Math.max(worst, max);
    t.diagnostic(`max relative deviation ${max.toExponential(2)}`);
  });
}

test('every schedule case ran (largest relative deviation in the diagnostic)', (t) => {
  assert.ok(fixture.schedules.length >= 10);
  t.diagnostic(`max relative deviation over all schedules ${worst.toExponential(2)}`);
});

test('the pure lr functions give the closed forms', () => {
  assert.equal(stepLr(0, { lr: 1, stepSize: 2, gamma: 0.5 }), 1);
  assert.equal(stepLr(5, { lr: 1, stepSize: 2, gamma: 0.5 }), 0.25);
  // nanoGPT's defaults: warm-up over 2000 steps, cosine to 6e-5 at 600000
  const nano = { lr: 6e-4, minLr: 6e-5, warmupSteps: 2000, totalSteps: 600000 };
  assert.equal(cosineLr(0, nano), 0);
  assert.equal(cosineLr(1000, nano), 3e-4);
  assert.equal(cosineLr(2000, nano), 6e-4);
  assert.ok(Math.abs(cosineLr(301000, nano) - 3.3e-4) < 1e-15); // half way: (lr + minLr) / 2
  assert.equal(cosineLr(600000, nano), 6e-5);
  assert.equal(cosineLr(10 ** 7, nano), 6e-5);
  assert.equal(linearLr(5, { lr: 1, totalSteps: 10 }), 0.5);
  assert.equal(linearLr(12, { lr: 1, totalSteps: 10, minLr: 0.1 }), 0.1);
  // 0.04 up to rounding: PyTorch's cos anneal computes end + (start - end) / 2 × (cos + 1)
  assert.ok(Math.abs(oneCycleLr(0, { maxLr: 1, totalSteps: 100 }) - 1 / 25) < 1e-15);
  assert.ok(Math.abs(oneCycleLr(29, { maxLr: 1, totalSteps: 100 }) - 1) < 1e-15);
  assert.ok(Math.abs(oneCycleLr(99, { maxLr: 1, totalSteps: 100 }) - 1 / 25 / 1e4) < 1e-18);
  assert.throws(() => cosineLr(-1, nano), /step must be an integer >= 0/);
});

test('each group follows the schedule from its own base lr', () => {
  const body = zeros([2], { requiresGrad: true });
  const head = zeros([2], { requiresGrad: true });
  const optimizer = new SGD([{ params: [body], lr: 1e-4 }, { params: [head] }], { lr: 1e-3 });
  const scheduler = new CosineLR(optimizer, { warmupSteps: 2, totalSteps: 10, minLr: [1e-5, 1e-4] });
  assert.deepEqual(scheduler.baseLrs, [1e-4, 1e-3]);
  for (let i = 0; i < 2; i++) scheduler.step();
  assert.deepEqual(scheduler.lastLr, [1e-4, 1e-3]); // end of warm-up: each group's peak
  for (let i = 0; i < 8; i++) scheduler.step();
  assert.deepEqual(scheduler.lastLr, [1e-5, 1e-4]); // each group's floor
  assert.throws(() => new CosineLR(optimizer, { totalSteps: 10, minLr: [0, 0, 0] }), /3 values but the optimizer has 2 param groups/);
});

test('a scheduler resumed from its state dict continues the same sequence', () => {
  const make = (): { optimizer: SGD; scheduler: OneCycleLR } => {
    const optimizer = new SGD([zeros([1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
    return { optimizer, scheduler: new OneCycleLR(optimizer, { maxLr: 0.1, totalSteps: 30, cycleMomentum: true }) };
  };
  const straight = make();
  const first = make();
  for (let i = 0; i < 12; i++) {
    straight.scheduler.step();
    first.scheduler.step();
  }
  const saved = first.scheduler.stateDict();
  const resumed = make();
  resumed.scheduler.loadStateDict(saved);
  assert.deepEqual(resumed.scheduler.lastLr, straight.scheduler.lastLr);
  for (let i = 0; i < 15; i++) {
    straight.scheduler.step();
    resumed.scheduler.step();
    assert.deepEqual(resumed.scheduler.lastLr, straight.scheduler.lastLr);
    assert.equal(resumed.optimizer.paramGroups[0]!.momentum, straight.optimizer.paramGroups[0]!.momentum);
  }
});

test('schedule options are checked', () => {
  const optimizer = new SGD([zeros([1], { requiresGrad: true })], { lr: 0.1 });
  assert.throws(() => new StepLR(optimizer, { stepSize: 0 }), /stepSize must be an integer >= 1/);
  assert.throws(() => new CosineLR(optimizer, { totalSteps: 5, warmupSteps: 10 }), /totalSteps must be an integer >= 10/);
  assert.throws(() => new CosineLR(optimizer, { totalSteps: 5, minlr: 0 } as never), /unknown option 'minlr'/);
  assert.throws(() => new OneCycleLR(optimizer, { maxLr: 1, totalSteps: 10, anneal: 'exp' } as never), /anneal must be 'cos' or 'linear'/);
  assert.throws(() => new OneCycleLR(optimizer, { maxLr: 1, totalSteps: 10, pctStart: 0.1 }), /rising phase with no length/);
  assert.throws(
    () => new OneCycleLR({ paramGroups: [{ lr: 0.1 }] }, { maxLr: 1, totalSteps: 10, cycleMomentum: true }),
    /param group 0 has neither momentum nor betas/,
  );
});
