/**
 * GPT-2's byte-level BPE against test/fixtures/gpt2_bpe.json, which an independent Python
 * implementation wrote (test/fixtures/gpt2_bpe_reference.py: GPT-2's regex with Python's
 * `regex` module, the literal merge loop), plus token ids published for GPT-2, the end-of-text
 * token, decoding of invalid UTF-8, and errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpt2Tokenizer } from '../../src/tokenizers/index.js';
import { BYTE_TO_CHAR } from '../../src/tokenizers/byte-level.js';

interface Fixture {
  source: { vocab_size: number; merge_count: number };
  cases: { name: string; text: string; ids: number[] }[];
  decodes: { name: string; ids: number[]; text: string }[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(path.resolve(here, '../../../test/fixtures/gpt2_bpe.json'), 'utf8')) as Fixture;
const gpt2 = Gpt2Tokenizer.fromPackage();

test('the vocabulary is the one the fixture was made from', () => {
  assert.equal(gpt2.vocabSize, fixture.source.vocab_size);
  assert.equal(gpt2.vocabSize, 50257);
  assert.equal((gpt2.toJSON().model['merges'] as unknown[]).length, fixture.source.merge_count);
  assert.ok(fixture.cases.length > 100, 'the fixture holds the hand-picked and the random cases');
});

for (const c of fixture.cases) {
  test(`encodes like the reference implementation: ${c.name}`, () => {
    assert.deepEqual(gpt2.encode(c.text), c.ids);
    assert.equal(gpt2.decode(c.ids), c.text);
  });
}

test('decodes invalid UTF-8 with U+FFFD exactly where Python errors="replace" puts it', () => {
  for (const d of fixture.decodes) assert.equal(gpt2.decode(d.ids), d.text, d.name);
  assert.equal(gpt2.decode([]), '');
});

test('token ids published for GPT-2', () => {
  assert.deepEqual(gpt2.encode('Hello world'), [15496, 995]);
  assert.deepEqual(gpt2.encode(' the'), [262]);
  assert.deepEqual(gpt2.encode('The'), [464]);
  assert.deepEqual(gpt2.encode('\n'), [198]);
  assert.deepEqual(gpt2.encode(','), [11]);
  assert.equal(gpt2.idToToken(262), 'Ġthe');
  assert.equal(gpt2.decode([15496, 11, 995, 0]), 'Hello, world!');
});

test('byte stand-ins: printable bytes are themselves, space is Ġ, newline Ċ, soft hyphen Ń', () => {
  assert.equal(BYTE_TO_CHAR[0x41], 'A');
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ');
  assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  assert.equal(BYTE_TO_CHAR[0x00], 'Ā');
  assert.equal(BYTE_TO_CHAR[0xad], 'Ń');
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
});

test('<|endoftext|> is id 50256, the eos token; in text it is literal unless allowSpecial', () => {
  assert.equal(gpt2.eosId, 50256);
  assert.equal(gpt2.bosId, undefined);
  assert.deepEqual([...gpt2.specialTokens], [['<|endoftext|>', 50256]]);
  const literal = gpt2.encode('a<|endoftext|>b');
  assert.ok(!literal.includes(50256));
  assert.equal(gpt2.decode(literal), 'a<|endoftext|>b');
  assert.deepEqual(gpt2.encode('a<|endoftext|>b', { allowSpecial: true }), [64, 50256, 65]);
  assert.deepEqual(gpt2.encode('<|endoftext|><|endoftext|>', { allowSpecial: true }), [50256, 50256]);
  assert.equal(gpt2.decode([64, 50256, 65]), 'a<|endoftext|>b');
});

test('errors: lone surrogates, unknown ids, unknown options', () => {
  assert.throws(() => gpt2.encode('ok \uD83D then'), /lone surrogate U\+D83D at index 3/);
  assert.throws(() => gpt2.encode('\uDE00'), /lone surrogate U\+DE00 at index 0/);
  assert.throws(() => gpt2.decode([15496, 50257]), /id 50257 at position 1 is outside \[0, 50257\)/);
  assert.throws(() => gpt2.decode([-1]), /id -1 at position 0/);
  assert.throws(() => Gpt2Tokenizer.fromPackage({ cache: 10 } as never), /unknown option 'cache'/);
  assert.throws(() => Gpt2Tokenizer.fromPackage({ specialTokens: { pad: '<pad>' } }), /the pad token "<pad>" is not in the vocabulary/);
});

test('the per-piece cache changes nothing, whatever its size', () => {
  for (const cacheSize of [0, 3]) {
    const small = Gpt2Tokenizer.fromPackage({ cacheSize });
    for (const c of fixture.cases) assert.deepEqual(small.encode(c.text), c.ids, `cacheSize ${cacheSize}: ${c.name}`);
  }
});

test('decode can leave the special tokens out', () => {
  const ids = gpt2.encode('Hello<|endoftext|> world', { allowSpecial: true });
  assert.deepEqual(ids, [15496, 50256, 995]); // 15496 "Hello", 995 " world" (GPT-2's published ids)
  assert.equal(gpt2.decode(ids), 'Hello<|endoftext|> world');
  assert.equal(gpt2.decode(ids, { skipSpecialTokens: true }), 'Hello world');
});
