// The distributed-faults campaign, short: under `kiln launch`, rank 1 killed (SIGKILL) once and
// hung (SIGSTOP) once after a checkpoint (npm run test:reliability: 10 faults). Launch stops
// within the collective timeout plus the grace period and names rank 1; rank 0 says its
// collective failed; `--resume` finishes with the uninterrupted two-rank run's weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distributedFaultCampaign, FAULT_GRACE_S, FAULT_TIMEOUT_S } from '../../bench/reliability/distributed.js';
import { scratchFolder } from '../models/reference.js';

test('a rank killed and a rank hung mid-run: launch stops in time naming rank 1, and the run resumes from its checkpoint to the uninterrupted weights', async (t) => {
  const trials = await distributedFaultCampaign({ trials: 2, seed: 7, dir: scratchFolder('kiln-faults-') });
  for (const trial of trials) t.diagnostic(`${trial.fault}: launch stopped ${trial.seconds.toFixed(1)} s after the fault; resumed, largest weight difference ${trial.resumedDiff}`);
  assert.deepEqual(trials.map((trial) => trial.fault), ['kill', 'hang']);
  assert.deepEqual(trials.flatMap((trial) => trial.problems.map((p) => `${trial.fault}: ${p}`)), []);
  assert.ok(trials[0]!.seconds < 5, `a killed rank is noticed at once (${trials[0]!.seconds.toFixed(1)} s)`);
  assert.ok(trials[1]!.seconds >= FAULT_TIMEOUT_S - 0.5, `a hung rank is given the timeout (${trials[1]!.seconds.toFixed(1)} s)`);
  assert.ok(trials[1]!.seconds < FAULT_TIMEOUT_S + FAULT_GRACE_S + 8, `and then the grace period (${trials[1]!.seconds.toFixed(1)} s)`);
});
