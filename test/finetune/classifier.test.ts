import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBackbone } from '../../src/finetune/backbone.js';
import { SequenceClassifier } from '../../src/finetune/classifier.js';
import { GPT } from '../../src/models/gpt.js';
import { manualSeed, randint, tensor } from '../../src/tensor/creation.js';
import { cat } from '../../src/tensor/ops.js';

const flat = (t: { toArray(): unknown }): number[] => (t.toArray() as unknown[]).flat(3) as number[];
const maxAbsDiff = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

test('pooling: last token of each unpadded text; mean over windows for texts longer than the context', () => {
  manualSeed(3);
  const backbone = buildBackbone('gpt', { layers: 2, heads: 2, dim: 8, blockSize: 8, dropout: 0 }, 13);
  const gpt = backbone.module as GPT;
  const ids = randint(0, 13, [2, 20], { dtype: 'int64' }); // row 0: 20 tokens, row 1: 6 then padding
  const last = new SequenceClassifier(backbone, ['a', 'b'], 'last', 0).eval();
  const short = ids.narrow(1, 0, 8);
  const lastLogits = flat(last.forward(short, tensor([8, 6], { dtype: 'int64' })));
  // Each row on its own, without padding: the head applied to its last hidden state.
  const expectedLast = [0, 1].flatMap((row) => {
    const n = row === 0 ? 8 : 6;
    const hidden = gpt.transformer.forward(short.narrow(0, row, 1).narrow(1, 0, n)).select(1, n - 1); // (1, C)
    return flat(last.score.forward(hidden));
  });
  assert.ok(maxAbsDiff(lastLogits, expectedLast) < 1e-5);

  const mean = new SequenceClassifier(backbone, ['a', 'b'], 'mean', 0).eval();
  const meanLogits = flat(mean.forward(ids, tensor([20, 6], { dtype: 'int64' })));
  // Row 0 read as windows [0, 8), [8, 16), [16, 20), each through the model alone; row 1 as its 6 tokens.
  const row0 = cat([0, 8, 16].map((start) => gpt.transformer.forward(ids.narrow(0, 0, 1).narrow(1, start, Math.min(8, 20 - start)))), 1).mean(1); // (1, C)
  const row1 = gpt.transformer.forward(ids.narrow(0, 1, 1).narrow(1, 0, 6)).mean(1); // (1, C)
  const expectedMean = [...flat(mean.score.forward(row0)), ...flat(mean.score.forward(row1))];
  assert.ok(maxAbsDiff(meanLogits, expectedMean) < 1e-5, `mean pooling over windows: ${maxAbsDiff(meanLogits, expectedMean)}`);
  // A length that is a whole number of windows.
  const twoWindows = ids.narrow(1, 0, 16);
  const expectedTwo = cat([0, 8].map((start) => gpt.transformer.forward(twoWindows.narrow(0, 0, 1).narrow(1, start, 8))), 1).mean(1); // (1, C)
  const twoLogits = flat(mean.forward(twoWindows, tensor([16, 6], { dtype: 'int64' }))).slice(0, 2);
  assert.ok(maxAbsDiff(twoLogits, flat(mean.score.forward(expectedTwo))) < 1e-5, 'exactly two windows');
  assert.throws(() => last.forward(ids, tensor([20, 6], { dtype: 'int64' })), /only mean pooling reads longer texts/);
  assert.throws(() => new SequenceClassifier(backbone, ['a', 'b'], 'cls'), /causal/);
});
