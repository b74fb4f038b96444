// The long-run campaign, short: 3,000 training steps of `kiln pretrain` and 300 generations in
// one process each (npm run test:reliability: 100,000 and 10,000), resident memory flat within
// 100 MB after warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longGeneration, longTraining } from '../../bench/reliability/long-run.js';
import { scratchFolder } from '../models/reference.js';

test('long runs (short campaign): resident memory of a training process and a generating process stays within 100 MB of its warm-up level', async (t) => {
  const dir = scratchFolder('kiln-long-run-');
  for (const report of [await longTraining({ steps: 3000, dir }), await longGeneration({ count: 300, dir })]) {
    t.diagnostic(`${report.count} ${report.what}: ${report.warmRssMb.toFixed(0)} MB after warm-up, at most ${report.maxRssMb.toFixed(0)} MB, drift ${report.driftMb.toFixed(1)} MB (${report.samples.length} samples)`);
    assert.ok(report.samples.length >= 5, `${report.what}: RSS sampled ${report.samples.length} times`);
    assert.ok(report.driftMb < 100, `${report.what}: RSS grew ${report.driftMb.toFixed(1)} MB after warm-up`);
  }
});
