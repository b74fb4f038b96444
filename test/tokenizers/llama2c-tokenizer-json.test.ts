/**
 * llama2.c's tokenizer.bin in Hugging Face's Llama tokenizer.json form: loaded back by Kiln (and
 * run by Hugging Face's tokenizers), it gives the ids run.c gives — the reference's ids in
 * test/fixtures/llama_tiny.json, written by test/fixtures/llama_reference.py's port of run.c.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HfTokenizer } from '../../src/tokenizers/hf-tokenizer.js';
import { loadTokenizer, saveTokenizer } from '../../src/tokenizers/index.js';
import { Llama2cTokenizer } from '../../src/tokenizers/llama2c-tokenizer.js';
import { VARIED_TEXTS, hf, hfEncode, scratch } from './hf-reference.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../../test/fixtures');
const reference = JSON.parse(readFileSync(path.join(fixtures, 'llama_tiny.json'), 'utf8')) as {
  llama2c: { prompt: string; prompt_ids: number[] };
  tokenizer: { texts: string[]; ids: number[][] };
};

test("tokenizer.bin saved as a Llama tokenizer.json encodes to run.c's ids, in Kiln and in Hugging Face", async (t) => {
  const dir = scratch(t, 'kiln-llama2c-tok-');
  const bin = Llama2cTokenizer.fromFile(path.join(fixtures, 'llama2c-tokenizer.bin'));
  const json = bin.toTokenizerJson();
  assert.deepEqual([json.model.vocab['<unk>'], json.model.vocab['<s>'], json.model.vocab['</s>'], json.model.vocab['<0x41>']], [0, 1, 2, 3 + 0x41]);
  const file = saveTokenizer(bin.toHfTokenizer(), path.join(dir, 'tokenizer.json'));
  const kiln = loadTokenizer(dir);
  assert.ok(kiln instanceof HfTokenizer);
  assert.deepEqual([kiln.vocabSize, kiln.unkId, kiln.bosId, kiln.eosId], [288, 0, 1, 2]);
  const theirs = hf.Tokenizer.fromFile(file);
  const texts = [...reference.tokenizer.texts, reference.llama2c.prompt];
  const want = [...reference.tokenizer.ids, reference.llama2c.prompt_ids];
  for (let i = 0; i < texts.length; i++) {
    assert.deepEqual(kiln.encode(texts[i]!, { addSpecialTokens: true }), want[i], `Kiln: ${JSON.stringify(texts[i])}`);
    assert.deepEqual(await hfEncode(theirs, texts[i]!, true), want[i], `Hugging Face: ${JSON.stringify(texts[i])}`);
  }
  // beyond the fixture: run.c's port and the converted file agree on varied text (byte fallback for most of it)
  for (const text of VARIED_TEXTS) assert.deepEqual(kiln.encode(text, { addSpecialTokens: true }), bin.encode(text), JSON.stringify(text));
  // decoding as Llama: the dummy-prefix space is stripped, <s> skipped
  for (const text of ['the cat sat on the mat', 'hé! the mast', ' two  spaces']) {
    const ids = bin.encode(text);
    assert.equal(kiln.decode(ids, { skipSpecialTokens: true }), bin.decode(ids));
    assert.equal(kiln.decode(ids, { skipSpecialTokens: true }), await theirs.decode(ids, true));
  }
});
