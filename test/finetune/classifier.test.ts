import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBackbone } from '../../src/finetune/backbone.js';
import { SequenceClassifier } from '../../src/finetune/classifier.js';
import { BertForMaskedLM, type BertModel } from '../../src/models/bert.js';
import { GPT } from '../../src/models/gpt.js';
import type { Llama } from '../../src/models/llama.js';
import { languageModelArchitecture } from '../../src/train/architectures.js';
import { PRETRAIN_DEFAULTS } from '../../src/train/pretrain-config.js';
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

test('scratch:ARCH builds the network kiln pretrain --arch ARCH builds from the same flags (one registry)', () => {
  const shape = { layers: 2, heads: 4, dim: 64, blockSize: 32, dropout: 0.1 };
  const flags = { ...PRETRAIN_DEFAULTS, ...shape };
  for (const arch of ['gpt', 'llama', 'bert', 'lstm'] as const) {
    manualSeed(9);
    const scratch = buildBackbone(arch, shape, 100, 3).module;
    manualSeed(9);
    const vocabulary = { size: 100, tokenizerSize: 100, maskTokenId: null, padTokenId: arch === 'bert' ? 3 : null };
    const pretrained = languageModelArchitecture(arch).build({ ...flags, arch, dropout: arch === 'llama' ? 0 : shape.dropout }, vocabulary);
    const body = pretrained instanceof BertForMaskedLM ? pretrained.bert : pretrained;
    const shapes = (m: { stateDict(): Record<string, { shape: readonly number[] }> }): string[] => Object.entries(m.stateDict()).map(([k, t]) => `${k} [${t.shape.join(', ')}]`);
    assert.deepEqual(shapes(scratch as never), shapes(body as never), arch);
  }
  // Llama's MLP width is Llama's rule (2/3 of 4·dim, rounded up to a multiple of 32), not 4·dim: 192 for dim 64.
  const llama = buildBackbone('llama', shape, 100).module as Llama;
  assert.equal(llama.config.intermediateSize, 192);
  // BERT's padding row is the tokenizer's pad id (here 3), not id 0 (a real token of a character vocabulary).
  const bert = buildBackbone('bert', shape, 100, 3).module as BertModel;
  assert.equal(bert.config.padTokenId, 3);
  assert.throws(() => buildBackbone('vit', shape, 100), /scratch:vit is not a backbone fine-tuning can build; choose scratch:gpt, scratch:llama, scratch:bert, scratch:lstm/);
});
