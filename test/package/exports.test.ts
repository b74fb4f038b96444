// The public API: every name the area modules export reaches src/index.ts as the same thing. A
// name exported by two modules re-exported with `export *` would silently vanish from the index
// (ECMAScript drops ambiguous star exports), so this catches a clash the compiler does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as index from '../../src/index.js';
import * as io from '../../src/io/index.js';
import * as optim from '../../src/optim/index.js';
import * as report from '../../src/report/index.js';
import * as vision from '../../src/vision/index.js';

test('public exports: every name of io, optim, report and vision reaches the index unchanged; the Trainer is public', () => {
  const api = index as Record<string, unknown>;
  for (const [area, module] of Object.entries({ io, optim, report, vision })) {
    for (const [name, value] of Object.entries(module)) {
      assert.ok(name in api, `${area} exports ${name}, which src/index.ts lacks (two star exports of one name?)`);
      assert.equal(api[name], value, `src/index.ts's ${name} is not ${area}'s`);
    }
  }
  for (const name of ['runTrainer', 'pretrainLanguageModel', 'finetune', 'runImageClassification', 'withAllocationBudget']) assert.equal(typeof api[name], 'function', name);
});
