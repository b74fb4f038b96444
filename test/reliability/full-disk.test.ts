// The full-disk campaign, short: a GPT pretraining run into a tmpfs too small for its first
// checkpoint, one that fills up later (resumed once the disk grows), and one that fits
// (npm run test:reliability sweeps 24 sizes). Needs a private mount namespace (root, or
// unprivileged user namespaces), as CI and the development machine have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullDiskCampaign } from '../../bench/reliability/full-disk.js';
import { scratchFolder } from '../models/reference.js';

test('full disk (short campaign): the run stops with an error naming the file and the space, every earlier file loads, and --resume finishes it with the same weights once there is space', (t) => {
  const trials = fullDiskCampaign({ trials: 3, dir: scratchFolder('kiln-full-disk-') });
  for (const trial of trials) t.diagnostic(`${trial.sizeKb} KB: ${trial.outcome}${trial.file === undefined ? '' : ` writing ${trial.file}`}${trial.resumed ? ', resumed' : ''}`);
  assert.deepEqual(trials.flatMap((trial) => trial.problems.map((p) => `${trial.sizeKb} KB: ${p}`)), []);
  assert.ok(trials.some((trial) => trial.outcome === 'full' && !trial.resumed), 'one run filled the disk before its first checkpoint');
  assert.ok(trials.some((trial) => trial.resumed), 'one run filled the disk after a checkpoint and resumed');
  assert.equal(trials.at(-1)!.outcome, 'fit', 'twice the run folder fits');
});
