import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TextDataError } from '../../src/data/text-data-error.js';
import { truncate } from '../../src/finetune/encode.js';
import { labelIds, labelSet, readLabelledExamples } from '../../src/finetune/labelled-data.js';
import { cleanEmail, spamAssassinExamples } from '../../src/finetune/spam-assassin.js';
import { stratifiedSplit } from '../../src/finetune/split.js';
import { inverseFrequencyWeights } from '../../src/finetune/batches.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kiln-ft-data-'));

test('labelled data: CSV, TSV, JSONL (integer labels) and label folders', () => {
  writeFileSync(path.join(dir, 'a.csv'), 'id,body,y\n1,"hello, world",pos\n2,bye,neg\n');
  assert.deepEqual(readLabelledExamples(path.join(dir, 'a.csv'), { textColumn: 'body', labelColumn: 'y' }), [
    { text: 'hello, world', label: 'pos' },
    { text: 'bye', label: 'neg' },
  ]);
  writeFileSync(path.join(dir, 'a.tsv'), 'text\tlabel\nx y\t1\n');
  assert.deepEqual(readLabelledExamples(path.join(dir, 'a.tsv')), [{ text: 'x y', label: '1' }]);
  writeFileSync(path.join(dir, 'a.jsonl'), '{"text":"a","label":10}\n\n{"text":"b","label":2}\n');
  const jsonl = readLabelledExamples(path.join(dir, 'a.jsonl'));
  assert.deepEqual(labelSet(jsonl), ['2', '10'], 'integer labels sort numerically');
  mkdirSync(path.join(dir, 'folder', 'spam'), { recursive: true });
  mkdirSync(path.join(dir, 'folder', 'ham'), { recursive: true });
  writeFileSync(path.join(dir, 'folder', 'spam', '1.txt'), 'buy now');
  writeFileSync(path.join(dir, 'folder', 'ham', '1.txt'), 'see you');
  assert.deepEqual(readLabelledExamples(path.join(dir, 'folder')), [{ text: 'see you', label: 'ham' }, { text: 'buy now', label: 'spam' }]);
});

test('labelled data: a wrong column, an empty file and an unknown label are one-line TextDataErrors', () => {
  writeFileSync(path.join(dir, 'b.csv'), 'text,label\nhi,pos\n');
  const oneLine = (pattern: RegExp) => (e: Error) => e instanceof TextDataError && pattern.test(e.message) && !e.message.includes('\n');
  assert.throws(() => readLabelledExamples(path.join(dir, 'b.csv'), { labelColumn: 'class' }), oneLine(/no "class" column.*--label-column/));
  writeFileSync(path.join(dir, 'empty.csv'), '');
  assert.throws(() => readLabelledExamples(path.join(dir, 'empty.csv')), oneLine(/is empty/));
  writeFileSync(path.join(dir, 'header.csv'), 'text,label\n');
  assert.throws(() => readLabelledExamples(path.join(dir, 'header.csv')), oneLine(/has no examples/));
  assert.throws(() => labelIds([{ text: 'x', label: 'maybe' }], ['neg', 'pos'], 'b.csv'), oneLine(/unknown label "maybe".*"neg", "pos"/));
});

test('stratified split keeps each class in proportion, is seeded, and covers every index once', () => {
  const labels = [...new Array<number>(900).fill(0), ...new Array<number>(100).fill(1)];
  const parts = stratifiedSplit(labels, { val: 0.1, test: 0.2 }, 3);
  const count = (idx: number[], c: number): number => idx.filter((i) => labels[i] === c).length;
  assert.deepEqual([count(parts.val, 0), count(parts.val, 1)], [90, 10]);
  assert.deepEqual([count(parts.test, 0), count(parts.test, 1)], [180, 20]);
  assert.deepEqual([count(parts.train, 0), count(parts.train, 1)], [630, 70]);
  assert.deepEqual([...parts.train, ...parts.val, ...parts.test].sort((a, b) => a - b), labels.map((_, i) => i));
  assert.deepEqual(stratifiedSplit(labels, { val: 0.1, test: 0.2 }, 3), parts);
  assert.notDeepEqual(stratifiedSplit(labels, { val: 0.1, test: 0.2 }, 4).val, parts.val);
  // n / (K · n_c): 1000 / (2 · 900), 1000 / (2 · 100)
  assert.deepEqual(inverseFrequencyWeights(labels, 2), [1000 / 1800, 5]);
});

test('truncation keeps the head, the tail, or half of each', () => {
  const ids = [1, 2, 3, 4, 5, 6, 7];
  assert.deepEqual(truncate(ids, 4, 'head'), [1, 2, 3, 4]);
  assert.deepEqual(truncate(ids, 4, 'tail'), [4, 5, 6, 7]);
  assert.deepEqual(truncate(ids, 5, 'head+tail'), [1, 2, 3, 6, 7]);
  assert.deepEqual(truncate(ids, 9, 'head'), ids);
});

test('the default task is the SpamAssassin corpus: 6,046 e-mails, 1,896 spam, subject and body only', () => {
  const examples = spamAssassinExamples();
  assert.equal(examples.length, 2500 + 1400 + 250 + 500 + 1396);
  assert.equal(examples.filter((e) => e.label === 'spam').length, 500 + 1396);
  assert.equal(cleanEmail('From: a@b\nSubject: Hi there\nX-Y: z\n\n<p>Hello</p>\n  world &amp;&nbsp;more'), 'Subject: Hi there\nHello world & more');
  assert.ok(examples.every((e) => e.text.startsWith('Subject:')));
});
