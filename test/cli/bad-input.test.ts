/** The README's bad-input catalogue (bench/reliability/bad-input.ts), every row run as written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBadInputCatalogue } from '../../bench/reliability/bad-input.js';

test("the README's bad-input catalogue: each of its commands exits 2 with the message it shows", async () => {
  const { rows, failures } = await runBadInputCatalogue();
  assert.ok(rows >= 60, `the catalogue has ${rows} rows`);
  assert.deepEqual(failures, []);
});
