/**
 * The character tokenizer: nanoGPT's vocabulary rule (distinct code points, sorted), astral
 * characters as one token, errors for characters it has never seen, special tokens, and the
 * tokenizer.json round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CharTokenizer, loadTokenizer, saveTokenizer } from '../../src/tokenizers/index.js';
import { hf, hfEncode } from './hf-reference.js';

test('vocabulary is the sorted distinct characters, as nanoGPT builds it', () => {
  const tokenizer = CharTokenizer.fromText('hello world');
  // sorted(set('hello world')) = [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
  assert.deepEqual(tokenizer.characters, [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
  assert.equal(tokenizer.vocabSize, 8);
  assert.deepEqual(tokenizer.encode('hello world'), [3, 2, 4, 4, 5, 0, 7, 5, 6, 4, 1]);
  assert.equal(tokenizer.decode([7, 5, 6, 4, 1]), 'world');
  assert.equal(tokenizer.eosId, undefined);
  assert.equal(tokenizer.specialTokens.size, 0);
});

test('round trip on text with newlines, tabs, accents and CJK', () => {
  const text = 'Call me Ishmael.\n\tSome years ago—never mind how long…\r\ncafé naïve 你好，世界 e\u0301';
  const tokenizer = CharTokenizer.fromText(text);
  const ids = tokenizer.encode(text);
  assert.equal(ids.length, [...text].length);
  assert.equal(tokenizer.decode(ids), text);
});

test('an astral character (emoji, CJK extension B) is one token, ordered by code point', () => {
  // U+FFFD sorts before U+1F600 by code point, after it by UTF-16 unit (0xD83D < 0xFFFD)
  const text = '😀a\uFFFD𠀀b👍🏽';
  const tokenizer = CharTokenizer.fromText(text);
  assert.deepEqual(tokenizer.characters, ['a', 'b', '\uFFFD', '🏽', '👍', '😀', '𠀀']);
  assert.deepEqual(tokenizer.encode('😀'), [5]);
  assert.deepEqual(tokenizer.encode('👍🏽'), [4, 3]); // a skin-tone emoji is two code points
  assert.deepEqual(tokenizer.encode(text), [5, 0, 2, 6, 1, 4, 3]);
  assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
});

test('an unknown character throws, naming it and where it is', () => {
  const tokenizer = CharTokenizer.fromText('abc\n');
  assert.throws(
    () => tokenizer.encode('ab\nca😀b'),
    (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, /character "😀" \(U\+1F600\) at index 5 \(line 2, column 3\)/);
      assert.match(error.message, /vocabulary of 4 characters/);
      assert.match(error.message, /unk/);
      return true;
    },
  );
  assert.throws(() => tokenizer.encode('é'), /character "é" \(U\+00E9\) at index 0 \(line 1, column 1\)/);
});

test('with an unk token, unknown characters become unkId', () => {
  const tokenizer = CharTokenizer.fromText('cab', { specialTokens: { unk: '<unk>' } });
  assert.equal(tokenizer.unkId, 3);
  assert.deepEqual(tokenizer.encode('abzc😀'), [0, 1, 3, 2, 3]);
  assert.equal(tokenizer.decode([0, 3]), 'a<unk>');
});

test('special tokens follow the characters; their text is only read with allowSpecial', () => {
  const tokenizer = CharTokenizer.fromText('<>abeos', { specialTokens: { eos: '<eos>', bos: '<eos>', pad: '<pad>' } });
  // characters: < > a b e o s (ids 0..6), then <eos> = 7 (eos and bos), <pad> = 8
  assert.equal(tokenizer.vocabSize, 9);
  assert.equal(tokenizer.eosId, 7);
  assert.equal(tokenizer.bosId, 7);
  assert.equal(tokenizer.padId, 8);
  assert.deepEqual([...tokenizer.specialTokens], [['<eos>', 7], ['<pad>', 8]]);
  assert.deepEqual(tokenizer.encode('a<eos>b', { allowSpecial: true }), [2, 7, 3]);
  assert.deepEqual(tokenizer.encode('a<eos>b'), [2, 0, 4, 5, 6, 1, 3]); // literal characters
  assert.equal(tokenizer.decode([2, 7, 3, 8]), 'a<eos>b<pad>');
});

test('bad options and ids are clear errors', () => {
  assert.throws(() => CharTokenizer.fromText(''), /text is empty/);
  assert.throws(() => CharTokenizer.fromText('ab?', { specialTokens: { unk: '?' } }), /also a character of the vocabulary/);
  assert.throws(() => CharTokenizer.fromText('ab', { specialTokens: { end: '<e>' } as never }), /unknown special-token role 'end'/);
  assert.throws(() => CharTokenizer.fromText('ab', { specialToken: {} } as never), /unknown option 'specialToken'/);
  const tokenizer = CharTokenizer.fromText('ab');
  assert.throws(() => tokenizer.decode([0, 2]), /id 2 at position 1 is outside \[0, 2\)/);
  assert.throws(() => tokenizer.decode([1.5]), /id 1.5 at position 0 is not an integer/);
});

test('tokenizer.json: Hugging Face WordLevel shape, saved and loaded back', (t) => {
  const text = 'héllo, wörld 😀\n\t';
  const tokenizer = CharTokenizer.fromText(text, { specialTokens: { eos: '<|endoftext|>', unk: '<unk>' } });
  const json = tokenizer.toJSON();
  assert.equal(json.version, '1.0');
  assert.equal(json.model.type, 'WordLevel');
  assert.equal(json.model['unk_token'], '<unk>');
  assert.equal(json.model.vocab['😀'], tokenizer.encode('😀')[0]);
  assert.equal(json.model.vocab['<|endoftext|>'], tokenizer.eosId);
  assert.deepEqual(json.pre_tokenizer, { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false });
  assert.deepEqual(json.decoder, { type: 'Fuse' });
  // 13 characters: \t \n space , d h l o r w é ö 😀 (ids 0..12), then the special tokens
  assert.deepEqual(json.added_tokens.map((t) => [t.content, t.id, t.special]), [['<|endoftext|>', 13, true], ['<unk>', 14, true]]);

  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-char-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = saveTokenizer(tokenizer, dir);
  assert.equal(file, path.join(dir, 'tokenizer.json'));
  // the file is Hugging Face's shape only (its tokenizers refuses unknown keys); the roles go to tokenizer_config.json
  const { kiln, ...hfJson } = json;
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), hfJson);
  assert.deepEqual(kiln, { tokenizer: 'char', special_tokens: { eos: '<|endoftext|>', unk: '<unk>' } });
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')), {
    tokenizer_class: 'PreTrainedTokenizerFast',
    eos_token: '<|endoftext|>',
    unk_token: '<unk>',
  });
  const loaded = loadTokenizer(dir);
  assert.ok(loaded instanceof CharTokenizer);
  assert.equal(loaded.vocabSize, tokenizer.vocabSize);
  assert.deepEqual(loaded.roles, { eos: '<|endoftext|>', unk: '<unk>' });
  const sample = 'wölk 😀😀\t<|endoftext|>héllo?';
  assert.deepEqual(loaded.encode(sample, { allowSpecial: true }), tokenizer.encode(sample, { allowSpecial: true }));
  assert.equal(loaded.decode(loaded.encode(text)), text);
});

test('tokenizer.json without the kiln section (as Hugging Face re-saves it) still loads', () => {
  const tokenizer = CharTokenizer.fromText('abc', { specialTokens: { unk: '<unk>' } });
  const { kiln: _dropped, ...json } = tokenizer.toJSON();
  const loaded = loadTokenizer(json);
  assert.ok(loaded instanceof CharTokenizer);
  assert.equal(loaded.unkId, 3);
  assert.deepEqual(loaded.encode('cabx'), [2, 0, 1, 3]);
});

test('a WordLevel file with whole words is refused as a character tokenizer', () => {
  const json = CharTokenizer.fromText('ab').toJSON();
  json.model.vocab = { hello: 0, world: 1 };
  assert.throws(() => loadTokenizer(json), /"hello" is not a single character/);
});

test('masked-LM specials: [PAD] and [MASK] after the characters, kept through tokenizer_config.json, and run by Hugging Face', async (t) => {
  const tokenizer = CharTokenizer.fromText('abca', { specialTokens: { pad: '[PAD]', mask: '[MASK]', cls: '[CLS]', sep: '[SEP]' } });
  // roles get ids in the order eos, bos, pad, unk, mask, cls, sep
  assert.deepEqual([tokenizer.vocabSize, tokenizer.padId, tokenizer.maskId, tokenizer.clsId, tokenizer.sepId, tokenizer.eosId], [7, 3, 4, 5, 6, undefined]);
  assert.deepEqual(tokenizer.encode('a[MASK]c', { allowSpecial: true }), [0, 4, 2]);
  assert.equal(tokenizer.decode([0, 4, 3, 2], { skipSpecialTokens: true }), 'ac');
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-char-mask-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = saveTokenizer(tokenizer, dir);
  const loaded = loadTokenizer(dir);
  assert.ok(loaded instanceof CharTokenizer);
  assert.deepEqual(loaded.roles, { pad: '[PAD]', mask: '[MASK]', cls: '[CLS]', sep: '[SEP]' });
  assert.equal(loaded.maskId, 4);
  // the file is one Hugging Face's tokenizers loads, and it gives the same ids
  const reference = hf.Tokenizer.fromFile(file);
  assert.deepEqual(await hfEncode(reference, 'cab[MASK]a[PAD]'), loaded.encode('cab[MASK]a[PAD]', { allowSpecial: true }));
});

test('roles come from a Transformers tokenizer_config.json beside the file (string or AddedToken form)', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-char-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = CharTokenizer.fromText('xyz', { specialTokens: { eos: '<|end|>', unk: '<?>' } });
  saveTokenizer(tokenizer, dir);
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: { __type: 'AddedToken', content: '<?>' }, unk_token: '<|end|>' }));
  const swapped = loadTokenizer(dir);
  assert.deepEqual([swapped.eosId, swapped.unkId], [4, 3]);
  rmSync(path.join(dir, 'tokenizer_config.json'));
  // without it only the model's unk_token is known
  assert.deepEqual(loadTokenizer(dir).roles, { unk: '<?>' });
});

test("a special token with '-' in it is found in text (its regex escape was a syntax error in u-mode)", () => {
  const tokenizer = CharTokenizer.fromText('ab', { specialTokens: { eos: '<|end-of-text|>' } });
  assert.deepEqual(tokenizer.encode('a<|end-of-text|>b', { allowSpecial: true }), [0, 2, 1]);
});
