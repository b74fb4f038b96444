/**
 * tokenizer.json for byte-level BPE: GPT-2 saved in Hugging Face's shape and loaded back with
 * the same encodings, hand-made tiny vocabularies that pin down GPT-2's merge order, and the
 * loader's refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpt2Tokenizer, loadTokenizer, saveTokenizer } from '../../src/tokenizers/index.js';
import { BYTE_TO_CHAR } from '../../src/tokenizers/byte-level.js';
import { HfTokenizer } from '../../src/tokenizers/hf-tokenizer.js';
import { hf, hfEncode, scratch } from './hf-reference.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(path.resolve(here, '../../../test/fixtures/gpt2_bpe.json'), 'utf8')) as {
  cases: { name: string; text: string; ids: number[] }[];
};

test('GPT-2 saved as tokenizer.json has Hugging Face GPT-2 shape and loads back identical', (t) => {
  const gpt2 = Gpt2Tokenizer.fromPackage();
  const json = gpt2.toJSON();
  assert.equal(json.model.type, 'BPE');
  assert.equal(json.model.vocab['Ġthe'], 262);
  assert.equal(json.model.vocab['<|endoftext|>'], 50256);
  const merges = json.model['merges'] as string[];
  assert.equal(merges[0], 'Ġ t'); // the first line after "#version: 0.2" in vocab.bpe
  assert.equal(merges.length, 50000);
  assert.deepEqual(json.pre_tokenizer, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
  assert.equal(json.decoder?.['type'], 'ByteLevel');
  assert.deepEqual(json.added_tokens, [
    { id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ]);

  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-gpt2-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = saveTokenizer(gpt2, path.join(dir, 'tokenizer.json'));
  const loaded = loadTokenizer(file);
  assert.ok(loaded instanceof Gpt2Tokenizer);
  assert.equal(loaded.vocabSize, 50257);
  assert.equal(loaded.eosId, 50256);
  for (const c of fixture.cases) assert.deepEqual(loaded.encode(c.text), c.ids, c.name);
  assert.deepEqual(loaded.encode('x<|endoftext|>', { allowSpecial: true }), [87, 50256]);
});

/** A byte-level vocabulary: the 256 byte tokens (id = byte), then `extra` tokens. */
function tinyTokenizerJson(extra: string[], merges: (string | [string, string])[]): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((char, byte) => (vocab[char] = byte));
  extra.forEach((token, i) => (vocab[token] = 256 + i));
  return {
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab, merges },
  };
}

test('equal pairs merge left to right, as GPT-2 scans', () => {
  // merges: a a → aa (256). "aaaaa": both (a a) at 0 and at 2 merge, the fifth a is left: aa aa a
  const tokenizer = loadTokenizer(tinyTokenizerJson(['aa'], ['a a']));
  assert.deepEqual(tokenizer.encode('aaaaa'), [256, 256, 97]);
  assert.deepEqual(tokenizer.encode('aaa'), [256, 97]);
  assert.equal(tokenizer.eosId, undefined);
});

// merges (rank: pair → token): 0: a b → ab, 1: abc ab → abcab, 2: ab c → abc. "abcabc" starts
// a b c a b c → (rank 0 twice) ab c ab c → (rank 2 at 0) abc ab c; now GPT-2 and Hugging Face part.
const TWO_WAY_EXTRA = ['ab', 'abcab', 'abc'];

test("vocab.bpe (GPT-2's order): every occurrence of the lowest pair merges before any pair it creates", (t) => {
  // GPT-2's loop merges rank 2 twice (abc abc) before it looks again; no rank-1 pair is left
  const dir = scratch(t, 'kiln-bpe-order-');
  const json = tinyTokenizerJson(TWO_WAY_EXTRA, []);
  writeFileSync(path.join(dir, 'encoder.json'), JSON.stringify((json['model'] as { vocab: unknown }).vocab));
  writeFileSync(path.join(dir, 'vocab.bpe'), '#version: 0.2\na b\nabc ab\nab c\n');
  const tokenizer = Gpt2Tokenizer.fromFiles(path.join(dir, 'encoder.json'), path.join(dir, 'vocab.bpe'));
  assert.equal(tokenizer.mergeOrder, 'gpt2');
  assert.deepEqual(tokenizer.encode('abcabc'), [258, 258]);
  assert.deepEqual(tokenizer.encode('abcab'), [257]);
});

test("tokenizer.json (Hugging Face's order): the lowest (rank, position) pair always merges next, as its tokenizers does", async () => {
  const json = tinyTokenizerJson(TWO_WAY_EXTRA, [['a', 'b'], ['abc', 'ab'], ['ab', 'c']]);
  const tokenizer = loadTokenizer(json);
  const reference = hf.Tokenizer.fromString(JSON.stringify({ version: '1.0', truncation: null, padding: null, post_processor: null, decoder: null, ...json }));
  for (const text of ['abcabc', 'abcab', 'ababcc abcabcab']) assert.deepEqual(tokenizer.encode(text), await hfEncode(reference, text), text);
  assert.deepEqual(tokenizer.encode('abcabc'), [257, 99]); // abc+ab merges as soon as it appears: abcab c
});

test('vocab.bpe files: a malformed line is named', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bpe-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const json = tinyTokenizerJson(['ab'], []);
  const encoder = path.join(dir, 'encoder.json');
  writeFileSync(encoder, JSON.stringify((json['model'] as { vocab: unknown }).vocab));
  const merges = path.join(dir, 'vocab.bpe');
  writeFileSync(merges, '#version: 0.2\na b\n');
  assert.deepEqual(Gpt2Tokenizer.fromFiles(encoder, merges).encode('abab'), [256, 256]);
  writeFileSync(merges, '#version: 0.2\na b\nab\n');
  assert.throws(() => Gpt2Tokenizer.fromFiles(encoder, merges), /vocab\.bpe line 3 is "ab"; each merge line is two tokens/);
  writeFileSync(merges, '#version: 0.2\nb a\n');
  assert.throws(() => Gpt2Tokenizer.fromFiles(encoder, merges), /vocab\.bpe line 2 uses "ba", which is not in the vocabulary/);
});

test('the loader refuses what it cannot run, naming the component and what it supports', (t) => {
  assert.throws(
    () => loadTokenizer({ model: { type: 'Bigram', vocab: [] }, pre_tokenizer: { type: 'Metaspace' } }),
    /model type "Bigram" is not supported by Kiln; the supported model types are BPE, WordPiece, WordLevel, Unigram/,
  );
  assert.throws(() => loadTokenizer({ model: { type: 'Unigram', vocab: [['a', -1], ['b']] } }), /model\.vocab\[1\] must be \[piece, score\], got \["b"\]/);
  assert.throws(() => loadTokenizer({ model: { type: 'Unigram', vocab: [['a', -1]], unk_id: 3 } }), /model\.unk_id must be null or an id below 1, got 3/);
  assert.throws(() => loadTokenizer({ model: { type: 'Unigram', vocab: [['a', -1]], unk_id: null } }).encode('ab'), /"b" is in no vocabulary entry and the model has no unk_id/);
  assert.throws(
    () => loadTokenizer({ model: { type: 'BPE', vocab: {}, merges: [] }, pre_tokenizer: { type: 'UnicodeScripts' } }),
    /pre_tokenizer type "UnicodeScripts" is not supported by Kiln; the supported pre_tokenizer types are Sequence, ByteLevel/,
  );
  assert.throws(
    () => loadTokenizer({ ...tinyTokenizerJson([], []), normalizer: { type: 'Sequence', normalizers: [{ type: 'Precompiled', precompiled_charsmap: '' }] } }),
    /normalizer type "Precompiled" is not supported by Kiln/,
  );
  assert.throws(() => loadTokenizer({ ...tinyTokenizerJson([], []), decoder: { type: 'CTC' } }), /decoder type "CTC" is not supported/);
  assert.throws(() => loadTokenizer({ ...tinyTokenizerJson([], []), post_processor: { type: 'Foo' } }), /post_processor type "Foo" is not supported/);
  // GPT-2-shaped files load as Gpt2Tokenizer, other byte-level ones (RoBERTa's prefix space) as HfTokenizer
  const prefixed = tinyTokenizerJson([], []);
  (prefixed['pre_tokenizer'] as Record<string, unknown>)['add_prefix_space'] = true;
  const roberta = loadTokenizer(prefixed);
  assert.ok(roberta instanceof HfTokenizer);
  assert.deepEqual(roberta.encode('a'), [0x20, 0x61]); // the prefix space's byte token, then a's (ids = bytes here)
  const missingByte = tinyTokenizerJson([], []);
  delete (missingByte['model'] as { vocab: Record<string, number> }).vocab['Ġ'];
  assert.throws(() => loadTokenizer(missingByte), /lacks the single-byte tokens for byte\(s\) 0x20/);
  assert.throws(() => loadTokenizer(path.join(tmpdir(), 'kiln-no-such-dir', 'tokenizer.json')), /does not exist/);
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bad-json-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": ');
  assert.throws(() => loadTokenizer(dir), /tokenizer\.json is not valid JSON/);
});
