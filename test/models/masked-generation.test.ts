/**
 * generateByMasking against its definition, with a stand-in model whose logits are known in
 * closed form: every step must show the model the last contextLength − 1 tokens followed by
 * [MASK], take the choice at the [MASK] position, and never choose a suppressed id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Module, scope, tensor, type Tensor } from '../../src/index.js';
import { generateByMasking } from '../../src/models/masked-generation.js';
import { ids, rowsOf } from './reference.js';

const V = 6;
const MASK = 5;

/** Logits that rank ids by (id + last context token) mod V; records every input it is shown. */
class ShiftModel extends Module {
  seen: number[][] = [];
  forward(input: Tensor): Tensor {
    const rows = rowsOf(input);
    this.seen.push(rows[0]!);
    const [B, T] = input.shape as [number, number];
    const logits = rows.flatMap((row) => {
      const previous = row.length >= 2 ? row[row.length - 2]! : 0;
      return Array.from({ length: T }, () => Array.from({ length: V }, (_, id) => ((id + previous) % V) * 1.0));
    });
    return tensor(logits.flat(), { dtype: 'float32' }).view(B, T, V); // (B, T, V)
  }
}

test('generateByMasking appends [MASK] to the last contextLength − 1 tokens and takes the prediction at it', () => {
  const model = new ShiftModel();
  const out = scope(() => rowsOf(generateByMasking(model, ids([[1, 2, 3]]), { maxNewTokens: 4, temperature: 0, maskTokenId: MASK, contextLength: 3, vocabSize: V })));
  // Greedy picks the id maximising (id + previous) mod V, i.e. id = (V − 1 − previous) mod V, unless it is [MASK].
  const expected = [1, 2, 3];
  for (let step = 0; step < 4; step++) {
    const previous = expected.at(-1)!;
    const ranked = Array.from({ length: V }, (_, id) => id).filter((id) => id !== MASK).sort((a, b) => ((b + previous) % V) - ((a + previous) % V));
    expected.push(ranked[0]!);
  }
  assert.deepEqual(out[0], expected);
  assert.deepEqual(model.seen, [[2, 3, MASK], ...expected.slice(3, 6).map((_, i) => [expected[2 + i]!, expected[3 + i]!, MASK])]);
  assert.equal(model.training, true, 'the mode is restored');
});

test('generateByMasking never picks suppressed ids, even when sampling, and checks its options', () => {
  const model = new ShiftModel();
  const out = scope(() => rowsOf(generateByMasking(model, ids([[0], [3]]), { maxNewTokens: 30, seed: 1, temperature: 5, maskTokenId: MASK, contextLength: 4, vocabSize: V, suppressIds: [0, 4] })));
  for (const row of out) for (const id of row.slice(1)) assert.ok(![0, 4, MASK].includes(id), `picked suppressed id ${id} in ${row.join(' ')}`);
  assert.throws(() => generateByMasking(model, ids([[1]]), { maxNewTokens: 1, maskTokenId: V, contextLength: 4, vocabSize: V }), /maskTokenId must be a token id in \[0, 6\)/);
  assert.throws(() => generateByMasking(model, ids([[1]]), { maxNewTokens: 1, maskTokenId: MASK, contextLength: 1, vocabSize: V }), /contextLength must be at least 2/);
  assert.throws(() => generateByMasking(model, ids([[1]]), { maxNewTokens: 1, topK: 5, maskTokenId: MASK, contextLength: 4, vocabSize: V, suppressIds: [0] }), /topK \(5\) is larger than the 4 tokens/);
});
