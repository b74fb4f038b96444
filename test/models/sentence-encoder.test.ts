import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeFolder } from '../../src/finetune/backbone.js';
import { predict } from '../../src/finetune/evaluate.js';
import { finetune } from '../../src/finetune/finetune.js';
import { resolveFinetuneConfig } from '../../src/finetune/finetune-config.js';
import { loadSentenceEncoderFolder, loadUseLiteTfjs, loadUseLiteTokenizer, saveSentenceEncoderFolder, useLiteFolder } from '../../src/io/sentence-encoder.js';
import { ModelFolderError } from '../../src/io/model-folder-error.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/creation.js';
import { loadTokenizer, saveTokenizer } from '../../src/tokenizers/load.js';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { VARIED_TEXTS, hf, hfEncode } from '../tokenizers/hf-reference.js';
import type { SentenceEncoder } from '../../src/models/sentence-encoder.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(here, '..', '..', '..', 'test', 'fixtures', 'sentence_encoder_reference.json');
const reference = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { texts: string[]; ids: number[][]; embeddings: number[][] };

/** Every text in one right-padded batch -> sentence vectors (B, 512) as arrays. */
function embedAll(model: SentenceEncoder, tokenizer: Tokenizer, texts: readonly string[]): number[][] {
  const ids = texts.map((t) => tokenizer.encode(t));
  const T = Math.max(...ids.map((row) => row.length));
  const padded = ids.map((row) => [...row, ...Array<number>(T - row.length).fill(0)]);
  const mask = ids.map((row) => Array.from({ length: T }, (_, i) => (i < row.length ? 1 : 0)));
  return noGrad(() => model.embed(tensor(padded, { dtype: 'int64' }), tensor(mask, { dtype: 'int64' }))).toArray() as number[][];
}

function largestDifference(a: number[][], b: number[][]): number {
  let worst = 0;
  for (const [i, row] of a.entries()) for (const [j, v] of row.entries()) worst = Math.max(worst, Math.abs(v - b[i]![j]!));
  return worst;
}

const { model, tokenizer } = loadUseLiteTfjs('use-lite');
model.eval();

test('the Universal Sentence Encoder lite read from its TensorFlow.js folder gives the sentence vectors TensorFlow.js computes (1e-5), texts padded in one batch', () => {
  assert.deepEqual(reference.texts.map((t) => tokenizer.encode(t)), reference.ids, "the tokenizer's ids are the reference tokenizer's, unknown characters included");
  const vectors = embedAll(model, tokenizer, reference.texts);
  assert.ok(largestDifference(vectors, reference.embeddings) < 1e-5, `largest difference ${largestDifference(vectors, reference.embeddings)}`);
  // one text alone gives the same vector as inside the padded batch
  const alone = embedAll(model, tokenizer, [reference.texts[1]!]);
  assert.ok(largestDifference(alone, [reference.embeddings[1]!]) < 1e-5);
});

test("its tokenizer.json is read by Hugging Face's tokenizers as it is, with the same ids as Kiln's", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-use-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = saveTokenizer(tokenizer, path.join(dir, 'tokenizer.json'));
  const theirs = hf.Tokenizer.fromFile(file);
  for (const text of [...VARIED_TEXTS, ...reference.texts, 'Thanks @united!!! 😡😡 worst #fail', 'unseen ✈✈✈ marks']) {
    assert.deepEqual(tokenizer.encode(text), await hfEncode(theirs, text), JSON.stringify(text));
  }
  assert.deepEqual(loadTokenizer(dir).encode('Not good at all.'), tokenizer.encode('Not good at all.'));
  assert.deepEqual(loadUseLiteTokenizer().encode('Not good at all.'), tokenizer.encode('Not good at all.'), 'the tokenizer read without the weights');
});

test("Kiln's sentence-encoder folder keeps the weights: the reloaded model gives the reference vectors", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-use-folder-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  saveSentenceEncoderFolder(model, dir);
  assert.equal(describeFolder(dir).architecture, 'sentence-encoder');
  const again = loadSentenceEncoderFolder(dir);
  again.eval();
  assert.ok(largestDifference(embedAll(again, tokenizer, reference.texts), reference.embeddings) < 1e-5);
});

test('a damaged TensorFlow.js folder is refused naming what is wrong', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-use-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(useLiteFolder(), dir, { recursive: true });
  writeFileSync(path.join(dir, 'vocab.json'), '[["a", 0]]');
  assert.throws(() => loadUseLiteTfjs(dir), (e: Error) => e instanceof ModelFolderError && /vocab\.json must be an array of \[piece, score\]/.test(e.message));
  cpSync(path.join(useLiteFolder(), 'vocab.json'), path.join(dir, 'vocab.json'));
  writeFileSync(path.join(dir, 'group1-shard7of7'), Buffer.alloc(100));
  assert.throws(() => loadUseLiteTfjs(dir), (e: Error) => e instanceof ModelFolderError && /shards hold/.test(e.message));
  assert.throws(() => loadUseLiteTfjs(here), (e: Error) => e instanceof ModelFolderError && /not a TensorFlow\.js Universal Sentence Encoder lite folder/.test(e.message));
});

test('kiln finetune --from use-lite trains a classifier that predict serves; scratch:sentence-encoder is the same network from random weights', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-use-ft-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = ['great flight, thanks!', 'loved the crew', 'best service ever', 'smooth and on time', 'thank you so much', 'wonderful staff'];
  const bad = ['worst airline ever', 'lost my bag again', 'delayed for hours', 'rude agent, awful', 'cancelled and no help', 'terrible seats'];
  const rows = ['text,label'];
  for (let i = 0; i < 4; i++) for (const [texts, label] of [[good, 'positive'], [bad, 'negative']] as const) for (const text of texts) rows.push(`"${text} ${i}",${label}`);
  const data = path.join(dir, 'tiny.csv');
  writeFileSync(data, rows.join('\n') + '\n');
  const common = { task: 'classify', train: data, valFraction: 0.25, testFraction: 0, maxSteps: 12, evalEvery: 12, batchSize: 8, lr: 1e-4, threads: 1 } as const;
  const result = await finetune({ config: { ...common, from: 'use-lite', out: path.join(dir, 'use') } });
  const info = JSON.parse(readFileSync(path.join(dir, 'use', 'best', 'kiln.json'), 'utf8')) as { architecture: string; pooling: string };
  assert.deepEqual([info.architecture, info.pooling], ['sentence-encoder', 'mean']);
  assert.ok(result.best.val_accuracy! >= 0.9, `validation accuracy ${result.best.val_accuracy}`);
  const [positive, negative] = predict(path.join(dir, 'use', 'best'), ['thanks, a great crew', 'awful, my bag is lost']);
  assert.deepEqual([positive!.label, negative!.label], ['positive', 'negative']);
  const scratch = await finetune({ config: { ...common, from: 'scratch:sentence-encoder', tokenizer: path.join(dir, 'use', 'best'), maxSteps: 2, evalEvery: 2, out: path.join(dir, 'scratch') } });
  assert.equal(scratch.step, 2);
  assert.equal(describeFolder(path.join(dir, 'scratch', 'best')).architecture, 'sentence-encoder');
  // LoRA finds the attention projections it wraps by default: rank-8 A and B on query and value of
  // layer 0 (256 wide) and layer 1 (512 wide), and the head
  const lora = await finetune({ config: { ...common, from: 'use-lite', mode: 'lora', maxSteps: 2, evalEvery: 2, out: path.join(dir, 'lora') } });
  assert.equal(lora.trainable.trainableParameters, 2 * 8 * (256 + 256) + 2 * 8 * (512 + 512) + 512 * 2 + 2);
});

test('--from use-lite gets lr 1e-4 in full mode unless one is given; freeze and LoRA keep theirs', () => {
  assert.equal(resolveFinetuneConfig({ from: 'use-lite' }).lr, 1e-4);
  assert.equal(resolveFinetuneConfig({ from: 'use-lite', lr: 3e-5 }).lr, 3e-5);
  assert.equal(resolveFinetuneConfig({ from: 'use-lite', mode: 'lora' }).lr, 3e-3);
  assert.equal(resolveFinetuneConfig({ from: 'scratch:gpt' }).lr, 3e-4);
});
