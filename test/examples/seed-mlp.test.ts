// The seed example runs as written: loss falls every epoch, accuracy ends far above chance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainSeedMlp } from '../../examples/seed-mlp.js';

test('seed MLP: loss falls epoch over epoch and accuracy ends well above chance', () => {
  const lines: string[] = [];
  const { epochLosses, accuracy } = trainSeedMlp((line) => lines.push(line));
  assert.equal(epochLosses.length, 10);
  for (let i = 1; i < epochLosses.length; i++) {
    assert.ok(epochLosses[i]! < epochLosses[i - 1]!, `epoch ${i + 1} loss ${epochLosses[i]} >= ${epochLosses[i - 1]}`);
  }
  // 10 roughly balanced classes: chance is about 10%.
  assert.ok(accuracy > 0.3, `accuracy ${accuracy}`);
  assert.match(lines[0]!, /^Epoch: 1, Loss: \d+\.\d{4}$/);
  assert.match(lines[9]!, /^Epoch: 10, Loss: \d+\.\d{4}$/);
});
