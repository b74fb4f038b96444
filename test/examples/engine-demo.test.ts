// The demo's spiral classifier learns (the demo runs it as `npm run demo`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainSpirals } from '../../examples/engine-demo.js';

test('engine demo: the spiral classifier reaches high accuracy', () => {
  const lines: string[] = [];
  const { accuracy } = trainSpirals({ steps: 3000, log: (line) => lines.push(line) });
  assert.ok(accuracy > 0.9, `accuracy ${accuracy}`);
  assert.ok(lines.some((l) => /^step 3000/.test(l)));
});
