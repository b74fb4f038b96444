// Issue 3, acceptance 3: model + optimizer state dicts resume training bit-identically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, CosineLR, F, Tensor, manualSeed, nn, randint, randn } from '../../src/index.js';

function makeModel(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(8, 16), new nn.GELU(), new nn.LayerNorm(16), new nn.Linear(16, 3));
}

function trainSteps(model: nn.Sequential, optimizer: AdamW, schedule: CosineLR, batches: [Tensor, Tensor][]): void {
  for (const [x, y] of batches) {
    optimizer.zeroGrad();
    F.crossEntropy(model.forward(x), y).backward();
    optimizer.step();
    schedule.step();
  }
}

test('a run resumed from model and optimizer state dicts matches an uninterrupted run exactly', () => {
  manualSeed(3);
  const batches: [Tensor, Tensor][] = Array.from({ length: 20 }, () => [randn([4, 8]), randint(0, 3, [4])]);
  const options = { lr: 3e-3, weightDecay: 0.1 };
  const scheduleOptions = { warmupSteps: 3, totalSteps: 20, minLr: 1e-4 };

  manualSeed(7);
  const straight = makeModel();
  const straightOptimizer = new AdamW(straight.parameters(), options);
  trainSteps(straight, straightOptimizer, new CosineLR(straightOptimizer, scheduleOptions), batches);

  manualSeed(7);
  const first = makeModel();
  const firstOptimizer = new AdamW(first.parameters(), options);
  const firstSchedule = new CosineLR(firstOptimizer, scheduleOptions);
  trainSteps(first, firstOptimizer, firstSchedule, batches.slice(0, 8));
  const saved = {
    model: Object.fromEntries(Object.entries(first.stateDict()).map(([k, t]) => [k, t.clone()])),
    optimizer: firstOptimizer.stateDict(),
    schedule: firstSchedule.stateDict(),
  };

  manualSeed(99); // a different initialisation, overwritten by the load
  const resumed = makeModel();
  resumed.loadStateDict(saved.model);
  const resumedOptimizer = new AdamW(resumed.parameters(), options);
  resumedOptimizer.loadStateDict(saved.optimizer);
  const resumedSchedule = new CosineLR(resumedOptimizer, scheduleOptions);
  resumedSchedule.loadStateDict(saved.schedule);
  trainSteps(resumed, resumedOptimizer, resumedSchedule, batches.slice(8));

  const expected = straight.stateDict();
  for (const [name, value] of Object.entries(resumed.stateDict())) {
    assert.ok(value.equal(expected[name]!), `${name} differs after resuming`);
  }
});
