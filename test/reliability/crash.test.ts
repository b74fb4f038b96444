// The crash campaign, short: one run of each task killed twice with SIGKILL (once at a random
// moment, once mid-write) and resumed (npm run test:reliability runs 25 of each, killed 3 times).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CRASH_TASKS, crashTask } from '../../bench/reliability/crash.js';
import { scratchFolder } from '../models/reference.js';

for (const [i, task] of CRASH_TASKS.entries()) {
  test(`crash campaign (short), ${task.name}: killed twice and resumed — every file loads, the uninterrupted run's weights byte for byte, no metrics line lost or repeated, no temporary file left`, async (t) => {
    const r = await crashTask(task, { runs: 1, kills: 2, seed: 20261207 + i, dir: scratchFolder('kiln-crash-') });
    t.diagnostic(`${r.kills} kills (${r.killsMidWrite} mid-write), ${r.resumes} resumes, ${r.freshStarts} fresh starts, ${r.seconds.toFixed(1)} s`);
    assert.ok(r.kills >= 1, 'at least one kill landed before the run finished');
    assert.deepEqual(r.resumeFailures, []);
    assert.deepEqual(r.unreadable, []);
    assert.deepEqual(r.weightMismatches, []);
    assert.deepEqual([r.metricsLost, r.metricsRepeated, r.metricsChanged], [0, 0, 0], 'metrics lines lost, repeated, changed');
    assert.equal(r.staleTempFiles, 0, 'temporary files of killed writes are cleaned up when the run starts again');
  });
}
