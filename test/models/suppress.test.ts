/** suppressIds: generation never chooses a suppressed id, whatever the logits say. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, manualSeed, scope } from '../../src/index.js';
import { LstmLM } from '../../src/models/lstm-lm.js';
import { ids, rowsOf } from './reference.js';

test('GPT and LstmLM generation with every id but one suppressed can only produce that id; bad ids are errors', () => {
  manualSeed(0);
  const V = 7;
  const models = [new GPT({ vocabSize: V, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 }), new LstmLM({ vocabSize: V, embeddingDim: 8, hiddenSize: 8, numLayers: 1 })];
  for (const model of models) {
    const suppressIds = [0, 1, 2, 4, 5, 6];
    for (const temperature of [0, 1.5]) {
      const out = scope(() => rowsOf(model.generate(ids([[1, 2], [6, 0]]), { maxNewTokens: 10, temperature, seed: 3, suppressIds })));
      for (const row of out) assert.deepEqual(row.slice(2), Array(10).fill(3), `${model.constructor.name} at temperature ${temperature}`);
    }
    assert.throws(() => model.generate(ids([[1]]), { maxNewTokens: 1, suppressIds: [V] }), /suppressIds must be token ids in \[0, 7\)/);
    assert.throws(() => model.generate(ids([[1]]), { maxNewTokens: 1, suppressIds: [0, 1, 2, 3, 4, 5, 6] }), /leave no token to choose from/);
    assert.throws(() => model.generate(ids([[1]]), { maxNewTokens: 1, topK: 3, suppressIds: [0, 1, 2, 3, 4] }), /topK \(3\) is larger than the 2 tokens/);
  }
});
