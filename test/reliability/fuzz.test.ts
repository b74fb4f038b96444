// The loader fuzz campaign, short: a few hundred mutated inputs per loader (npm run
// test:reliability runs the full one). Every input loads or is refused with an Error; no crash,
// no hang, no throw that is not an Error, nothing over a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzzCampaign } from '../../bench/reliability/campaign.js';

test('fuzzing every loader (short campaign): every mutated input loads or is refused with an Error — no crash, hang or non-Error throw', async (t) => {
  const reports = await runFuzzCampaign({ perTarget: 150, seed: 20261207, hangMs: 20_000 });
  assert.ok(reports.length >= 17, `${reports.length} targets`);
  for (const r of reports) {
    t.diagnostic(`${r.target}: ${r.inputs} inputs, ${r.loaded} loaded, ${r.refused} refused, ${r.seconds.toFixed(1)} s, max RSS ${r.maxRssMb.toFixed(0)} MB`);
    assert.deepEqual(r.crashes.map((c) => `${c.index} ${c.how}`), [], `${r.target}: crashes`);
    assert.deepEqual(r.hangs, [], `${r.target}: hangs`);
    assert.deepEqual(r.nonErrors, [], `${r.target}: throws that are not Errors`);
    assert.equal(r.loaded + r.refused, r.inputs, `${r.target}: every input accounted for`);
    assert.ok(r.refused > 0, `${r.target}: the mutations reach the loader's checks`);
    assert.ok(r.loaded > 0, `${r.target}: some mutated inputs still load (the worker checked that its unmutated files do)`);
  }
});
