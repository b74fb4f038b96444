import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics, exactMatch, generationMetrics, lcsLength, rougeL } from '../../src/finetune/metrics.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('classification metrics: a hand-worked 3-class case', () => {
  // truth a a a b b c, predicted a b a b c c:
  // a: TP 2, predicted 2, support 3 -> P 1, R 2/3, F1 0.8
  // b: TP 1, predicted 2, support 2 -> P 1/2, R 1/2, F1 1/2
  // c: TP 1, predicted 2, support 1 -> P 1/2, R 1, F1 2/3
  const m = classificationMetrics([0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 2, 2], ['a', 'b', 'c']);
  close(m.accuracy, 4 / 6, 'accuracy');
  assert.deepEqual(m.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  const expected = [[1, 2 / 3, 0.8, 3], [0.5, 0.5, 0.5, 2], [0.5, 1, 2 / 3, 1]];
  m.perClass.forEach((c, i) => {
    const [p, r, f, s] = expected[i]!;
    close(c.precision, p!, `precision ${c.label}`);
    close(c.recall, r!, `recall ${c.label}`);
    close(c.f1, f!, `f1 ${c.label}`);
    assert.equal(c.support, s);
  });
  close(m.macro_f1, (0.8 + 0.5 + 2 / 3) / 3, 'macro-F1');
});

test('classification metrics: F1 equals 2TP / (2TP + FP + FN) on random labels; unpredicted classes score 0', () => {
  let state = 99;
  const next = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0), (state >>> 8) % n);
  const truth = Array.from({ length: 500 }, () => next(4));
  const predicted = truth.map((t) => (next(3) === 0 ? next(4) : t));
  const m = classificationMetrics(truth, predicted, ['w', 'x', 'y', 'z']);
  let f1Sum = 0;
  for (let c = 0; c < 4; c++) {
    let tp = 0, fp = 0, fn = 0;
    truth.forEach((t, i) => {
      const p = predicted[i]!;
      if (t === c && p === c) tp++;
      else if (p === c) fp++;
      else if (t === c) fn++;
    });
    const f1 = (2 * tp) / (2 * tp + fp + fn);
    close(m.perClass[c]!.f1, f1, `class ${c}`);
    f1Sum += f1;
  }
  close(m.macro_f1, f1Sum / 4, 'macro-F1');
  const none = classificationMetrics([0, 0, 1], [0, 0, 0], ['a', 'b']);
  assert.equal(none.perClass[1]!.precision, 0);
  assert.equal(none.perClass[1]!.f1, 0);
  close(none.macro_f1, (0.8 + 0) / 2, 'macro-F1 with an unpredicted class');
  assert.throws(() => classificationMetrics([0], [0, 1], ['a', 'b']), /one prediction per example/);
});

/** LCS length by trying every subsequence of `a` (exponential: a different algorithm from the DP). */
function bruteLcs(a: string[], b: string[]): number {
  let best = 0;
  for (let mask = 0; mask < 1 << a.length; mask++) {
    const sub = a.filter((_, i) => (mask >> i) & 1);
    let j = 0;
    for (const w of b) if (j < sub.length && sub[j] === w) j++;
    if (j === sub.length) best = Math.max(best, sub.length);
  }
  return best;
}

test('ROUGE-L and exact match: hand-worked values and a brute-force LCS', () => {
  // LCS(the cat sat on the mat, the cat is on the mat) = "the cat on the mat" = 5 of 6 words each.
  close(rougeL('the cat sat on the mat', 'the cat is on the mat'), 5 / 6, 'rouge-L');
  // LCS 2 ("a c"), P 2/2, R 2/4 -> F 2·1·0.5/1.5 = 2/3
  close(rougeL('a c', 'a b c d'), 2 / 3, 'rouge-L asymmetric');
  assert.equal(rougeL('x y', 'a b'), 0);
  assert.equal(rougeL('', ''), 1);
  let state = 5;
  const next = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0), (state >>> 8) % n);
  for (let trial = 0; trial < 30; trial++) {
    const a = Array.from({ length: 1 + next(9) }, () => 'abc'[next(3)]!);
    const b = Array.from({ length: 1 + next(9) }, () => 'abc'[next(3)]!);
    assert.equal(lcsLength(a, b), bruteLcs(a, b));
  }
  assert.ok(exactMatch(' cba ', 'cba'));
  assert.ok(!exactMatch('cb', 'cba'));
  const g = generationMetrics(['cba', 'x y'], ['cba', 'x z']);
  close(g.exact_match, 0.5, 'exact match');
  close(g.rouge_l, (1 + 0.5) / 2, 'mean rouge-L');
});
