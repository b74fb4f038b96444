// Issue 3, acceptance 4: a character-level LSTM language model trains on a text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POTTERY_TEXT, trainCharLstm } from '../../examples/char-lstm.js';

test('char-level LSTM: loss falls from ln(V) ≈ 3.5 to below 0.6 nats per character in 300 steps', () => {
  const { firstLoss, finalLoss, sample } = trainCharLstm({ log: () => {} });
  const vocab = new Set(POTTERY_TEXT).size;
  assert.ok(Math.abs(firstLoss - Math.log(vocab)) < 0.3, `initial loss ${firstLoss} should be near ln(${vocab})`);
  assert.ok(finalLoss < 0.6, `final loss ${finalLoss}`);
  assert.ok(sample.startsWith('The potter '));
  // The greedy continuation reproduces text from the corpus.
  assert.ok(POTTERY_TEXT.includes(sample.slice(0, 30)), `sample '${sample}' is not from the text`);
});
