/**
 * `--tokenizer bpe`: a byte-level BPE trained with Hugging Face's `tokenizers` and cut to the
 * requested vocabulary. Checked against Hugging Face itself (its encoding of the saved file) and
 * against a pair count made here (the first merge is the most frequent pair of the corpus).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultCorpus } from '../../src/data/default-corpus.js';
import { BYTE_TO_CHAR, appendUtf8, gpt2Pretokenizer } from '../../src/tokenizers/byte-level.js';
import { loadTokenizer, saveTokenizer } from '../../src/tokenizers/index.js';
import { trainByteLevelBpe } from '../../src/tokenizers/train-bpe.js';
import { prepareLmData } from '../../src/train/lm-data.js';
import { VARIED_TEXTS, hf, hfEncode, scratch } from './hf-reference.js';

const corpus = defaultCorpus({ sources: ['moby-dick'] }).slice(0, 150_000);

test('a trained BPE has the asked vocabulary: 256 bytes, merges, <|endoftext|> last', () => {
  const tokenizer = trainByteLevelBpe(corpus, { vocabSize: 600 });
  assert.equal(tokenizer.vocabSize, 600);
  assert.equal(tokenizer.eosId, 599);
  assert.deepEqual(tokenizer.roles, { eos: '<|endoftext|>' });
  const json = tokenizer.toJSON();
  BYTE_TO_CHAR.forEach((char, byte) => assert.equal(json.model.vocab[char], byte));
  assert.equal((json.model['merges'] as unknown[]).length, 600 - 257);
  // every text encodes and decodes back, also bytes the corpus never had
  for (const text of VARIED_TEXTS) assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
});

test("the first merge is the corpus's most frequent adjacent pair (counted here)", () => {
  const counts = new Map<string, number>();
  for (const [piece] of corpus.matchAll(gpt2Pretokenizer())) {
    const bytes: number[] = [];
    appendUtf8(piece, 0, bytes);
    for (let i = 0; i + 1 < bytes.length; i++) {
      const key = `${BYTE_TO_CHAR[bytes[i]!]} ${BYTE_TO_CHAR[bytes[i + 1]!]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  assert.ok(ranked[0]![1] > ranked[1]![1], 'the top pair is unique');
  const merges = trainByteLevelBpe(corpus, { vocabSize: 300 }).toJSON().model['merges'] as string[];
  assert.equal(merges[0], ranked[0]![0]);
  // and a smaller vocabulary is a prefix of a larger one's merges (BPE is greedy)
  const larger = trainByteLevelBpe(corpus, { vocabSize: 400 }).toJSON().model['merges'] as string[];
  assert.deepEqual(larger.slice(0, merges.length), merges);
});

test("the saved tokenizer.json runs in Hugging Face's tokenizers with the same ids as Kiln's encoder", async (t) => {
  const dir = scratch(t, 'kiln-bpe-train-');
  const tokenizer = trainByteLevelBpe(corpus, { vocabSize: 1000 });
  const file = saveTokenizer(tokenizer, path.join(dir, 'tokenizer.json'));
  const reference = hf.Tokenizer.fromFile(file);
  assert.equal(reference.getVocabSize(true), 1000);
  const reloaded = loadTokenizer(file);
  for (const text of [...VARIED_TEXTS, corpus.slice(5000, 9000)]) {
    const want = await hfEncode(reference, text);
    assert.deepEqual(tokenizer.encode(text), want, JSON.stringify(text.slice(0, 40)));
    assert.deepEqual(reloaded.encode(text), want, JSON.stringify(text.slice(0, 40)));
  }
  // Hugging Face always reads the special token in text; Kiln does with allowSpecial
  assert.deepEqual(tokenizer.encode('end<|endoftext|>start', { allowSpecial: true }), await hfEncode(reference, 'end<|endoftext|>start'));
});

test('a vocabulary larger than the corpus allows, or too small, is refused', () => {
  assert.throws(() => trainByteLevelBpe('abab abab', { vocabSize: 5000 }), /the corpus gives only \d+ merges, so the vocabulary can have at most \d+ tokens, not 5000/);
  assert.throws(() => trainByteLevelBpe(corpus, { vocabSize: 256 }), /vocabSize must be an integer ≥ 257/);
  assert.throws(() => trainByteLevelBpe('', {}), /the training text is empty/);
});

test("prepareLmData with tokenizer 'bpe' trains at the vocab size, caches, and retrains when it changes", (t) => {
  const dir = scratch(t, 'kiln-bpe-data-');
  const textFile = path.join(dir, 'text.txt');
  writeFileSync(textFile, corpus.slice(0, 60_000));
  const out = path.join(dir, 'run');
  const first = prepareLmData([textFile], 'bpe', out, { vocabSize: 400 });
  assert.equal(first.cached, false);
  assert.equal(first.tokenizer.vocabSize, 400);
  assert.deepEqual(Array.from(first.tokens.slice(0, 50)), first.tokenizer.encode(readFileSync(textFile, 'utf8')).slice(0, 50));
  assert.equal(prepareLmData([textFile], 'bpe', out, { vocabSize: 400 }).cached, true);
  const other = prepareLmData([textFile], 'bpe', out, { vocabSize: 300 });
  assert.equal(other.cached, false);
  assert.equal(other.tokenizer.vocabSize, 300);
  assert.throws(() => prepareLmData([textFile], 'bpe', path.join(dir, 'big'), { vocabSize: 100_000 }), /tokenizer bpe: the corpus gives only/);
});

test("training prints nothing on stdout (Hugging Face's trainer writes blank lines there; it runs in a child process)", () => {
  const module = new URL('../../src/tokenizers/train-bpe.js', import.meta.url).href;
  const script = `import { trainByteLevelBpe } from '${module}'; trainByteLevelBpe('ab ac ad ab ac ab '.repeat(50), { vocabSize: 260 });`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, '');
});

test('kiln pretrain --arch bert --tokenizer bpe --vocab-size N: the BPE has N tokens and the embedding N + 2 ([MASK], [PAD] reserved)', async (t) => {
  // --vocab-size names the BPE vocabulary here; it used to be checked as the embedding's rows too,
  // which refused every masked-LM run with a trained BPE ("smaller than the tokenizer's N ids plus 2").
  const dir = scratch(t, 'kiln-bpe-bert-');
  const textFile = path.join(dir, 'text.txt');
  writeFileSync(textFile, corpus.slice(0, 40_000));
  const { pretrainLanguageModel } = await import('../../src/train/pretrain.js');
  const result = await pretrainLanguageModel({
    config: { arch: 'bert', data: [textFile], tokenizer: 'bpe', vocabSize: 300, layers: 1, heads: 2, dim: 16, blockSize: 16, batchSize: 4, maxSteps: 2, warmup: 0, evalEvery: 2, evalIters: 1, threads: 1, out: path.join(dir, 'run') },
  });
  const info = JSON.parse(readFileSync(path.join(result.bestDir, 'kiln.json'), 'utf8')) as { vocab_size: number; mask_token_id: number; pad_token_id: number };
  assert.deepEqual([info.vocab_size, info.mask_token_id, info.pad_token_id], [302, 300, 301]);
});
