/**
 * Kiln's synchronous tokenizer.json pipeline against Hugging Face's `tokenizers` (npm): files of
 * every supported family are built here — mostly with Hugging Face's own API and saved by it —
 * and both encode the same varied text; Kiln's ids must equal Hugging Face's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultCorpus } from '../../src/data/default-corpus.js';
import { HfTokenizer } from '../../src/tokenizers/hf-tokenizer.js';
import { loadTokenizer, saveTokenizer } from '../../src/tokenizers/index.js';
import { trainByteLevelBpe } from '../../src/tokenizers/train-bpe.js';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { VARIED_TEXTS, hf, hfEncode, scratch } from './hf-reference.js';

type HfTokenizerInstance = InstanceType<typeof hf.Tokenizer>;
/** tokenizer.json objects edited in place by the tests. */
type Json = Record<string, any>;

const corpus = defaultCorpus({ sources: ['moby-dick'] }).slice(0, 120_000);
const TEXTS = [...VARIED_TEXTS, corpus.slice(20_000, 21_500)];

/** Kiln's and Hugging Face's ids agree on every text, with and without the post-processor's tokens. */
async function assertSameIds(kiln: Tokenizer, reference: HfTokenizerInstance, texts: readonly string[] = TEXTS): Promise<void> {
  for (const text of texts) {
    for (const addSpecialTokens of [false, true]) {
      const want = await hfEncode(reference, text, addSpecialTokens);
      assert.deepEqual(kiln.encode(text, { allowSpecial: true, addSpecialTokens }), want, `${JSON.stringify(text.slice(0, 50))} addSpecialTokens=${addSpecialTokens}`);
    }
  }
}

/** Saves an HF-built tokenizer and loads the file in Kiln. */
function saveAndLoad(reference: HfTokenizerInstance, dir: string, name: string): Tokenizer {
  const file = path.join(dir, `${name}.json`);
  reference.save(file, false);
  return loadTokenizer(file);
}

/** Frequent lowercase words of the corpus. */
function frequentWords(count: number): string[] {
  const counts = new Map<string, number>();
  for (const [word] of corpus.toLowerCase().matchAll(/\p{L}+/gu)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, count).map(([word]) => word);
}

test('WordPiece (BERT): BertNormalizer, BertPreTokenizer, ## continuations, [UNK], [CLS] … [SEP]', async (t) => {
  const dir = scratch(t, 'kiln-wordpiece-');
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const pieces = [
    ...specials,
    ...'abcdefghijklmnopqrstuvwxyz0123456789.,;:!?\'"()-—東京'.split(''),
    ...'abcdefghijklmnopqrstuvwxyz0123456789'.split('').map((c) => `##${c}`),
    ...['##s', '##ed', '##ing', '##ly', '##er', '##est', '##tion', '##al'],
    ...frequentWords(400),
  ];
  const vocab = Object.fromEntries([...new Set(pieces)].map((piece, id) => [piece, id]));
  const reference = new hf.Tokenizer(hf.WordPiece.init(vocab, { unkToken: '[UNK]', maxInputCharsPerWord: 20 }));
  reference.setNormalizer(hf.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  reference.setPreTokenizer(hf.bertPreTokenizer());
  reference.setPostProcessor(hf.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', vocab['[CLS]']!], ['[SEP]', vocab['[SEP]']!]]));
  reference.setDecoder(hf.wordPieceDecoder('##', true));
  reference.addSpecialTokens(specials);
  const kiln = saveAndLoad(reference, dir, 'bert');
  assert.ok(kiln instanceof HfTokenizer);
  assert.deepEqual([kiln.padId, kiln.unkId, kiln.clsId, kiln.sepId, kiln.maskId], [0, 1, 2, 3, 4]);
  const withMask = ['The [MASK] sat on the mat.', '[CLS]already[SEP] there', 'supercalifragilisticexpialidocious is too long', 'ÉCOLE Über façade ﬁne\u0000ctrl\u200bzero-width'];
  await assertSameIds(kiln, reference, [...TEXTS, ...withMask]);
  for (const text of [TEXTS[0]!, TEXTS[1]!, withMask[0]!]) {
    const ids = await hfEncode(reference, text, true);
    for (const skipSpecialTokens of [true, false]) {
      assert.equal(kiln.decode(ids, { skipSpecialTokens }), await reference.decode(ids, skipSpecialTokens), `decode ${JSON.stringify(text)} skip=${skipSpecialTokens}`);
    }
  }
});

/** A Llama-style file from a BPE that Hugging Face trains on the corpus with ▁ for spaces. */
function llamaStyle(dir: string, variant: 'normalizer' | 'metaspace'): Json {
  const trainer = new hf.Tokenizer(hf.BPE.empty());
  trainer.setPreTokenizer(hf.metaspacePreTokenizer('▁', 'always', true));
  const corpusFile = path.join(dir, 'corpus.txt');
  writeFileSync(corpusFile, corpus);
  trainer.train([corpusFile]);
  trainer.save(path.join(dir, 'trained.json'), false);
  const trained = JSON.parse(readFileSync(path.join(dir, 'trained.json'), 'utf8')) as Json;
  // <unk>, <s>, </s>, the 256 byte tokens, then the trained pieces (no more than 600 merges)
  const merges = (trained['model']['merges'] as [string, string][]).slice(0, 600);
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  const alphabet = Object.keys(trained['model']['vocab']).filter((token) => Array.from(token).length === 1);
  for (const token of [...alphabet, ...merges.map(([a, b]) => a + b)]) if (!tokens.includes(token)) tokens.push(token);
  const special = (content: string, id: number): Json => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json: Json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('<unk>', 0), special('<s>', 1), special('</s>', 2)],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges,
    },
  };
  if (variant === 'normalizer') {
    // Llama 2's form: ▁ prepended and spaces replaced by the normalizer, no pre-tokenizer
    json['normalizer'] = { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
  } else {
    json['pre_tokenizer'] = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true };
    json['decoder'] = { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }, { type: 'Fuse' }] };
  }
  return json;
}

for (const variant of ['normalizer', 'metaspace'] as const) {
  test(`Llama/SentencePiece-style BPE (${variant === 'normalizer' ? 'Prepend + Replace normalizer' : 'Metaspace pre-tokenizer'}): ▁, <0xNN> byte fallback, <s>`, async (t) => {
    const dir = scratch(t, 'kiln-llama-style-');
    const json = llamaStyle(dir, variant);
    const reference = hf.Tokenizer.fromString(JSON.stringify(json));
    const kiln = loadTokenizer(json);
    assert.ok(kiln instanceof HfTokenizer);
    assert.deepEqual([kiln.unkId, kiln.bosId, kiln.eosId], [0, 1, 2]);
    await assertSameIds(kiln, reference, [...TEXTS, '<s>Hello</s> again <s>']);
    for (const text of TEXTS.slice(0, 5)) {
      const ids = await hfEncode(reference, text, true);
      assert.equal(kiln.decode(ids, { skipSpecialTokens: true }), await reference.decode(ids, true), `decode ${JSON.stringify(text)}`);
    }
  });
}

test('RoBERTa-style byte-level BPE: prefix space, <mask> with lstrip, <s> … </s>', async (t) => {
  const dir = scratch(t, 'kiln-roberta-');
  const json = trainByteLevelBpe(corpus, { vocabSize: 800 }).toJSON() as unknown as Json;
  delete json['kiln'];
  const added = ['<s>', '<pad>', '</s>', '<mask>'].map((content, i) => ({
    id: 800 + i, content, single_word: false, lstrip: content === '<mask>', rstrip: false, normalized: false, special: true,
  }));
  json['added_tokens'] = [...json['added_tokens'], ...added];
  json['pre_tokenizer'] = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  json['post_processor'] = { type: 'RobertaProcessing', sep: ['</s>', 802], cls: ['<s>', 800], trim_offsets: true, add_prefix_space: true };
  const file = path.join(dir, 'tokenizer.json');
  writeFileSync(file, JSON.stringify(json));
  const reference = hf.Tokenizer.fromFile(file);
  const kiln = loadTokenizer(file);
  assert.ok(kiln instanceof HfTokenizer);
  // roles by convention when no tokenizer_config.json says otherwise: </s> is eos before <|endoftext|>
  assert.deepEqual([kiln.bosId, kiln.padId, kiln.maskId, kiln.eosId], [800, 801, 803, 802]);
  await assertSameIds(kiln, reference, [...TEXTS, 'The cat <mask> on the mat.', 'a   <mask>b<mask>']);
});

test('WordLevel with NFD + Lowercase + StripAccents, Whitespace, Digits and Punctuation pre-tokenizers', async (t) => {
  const dir = scratch(t, 'kiln-wordlevel-');
  const words = ['[UNK]', ...frequentWords(300), ...'0123456789.,;:!?\'"()-'.split(''), 'cafe', 'naive', 'ecole'];
  const reference = new hf.Tokenizer(hf.WordLevel.init(Object.fromEntries([...new Set(words)].map((w, i) => [w, i])), { unkToken: '[UNK]' }));
  reference.setNormalizer(hf.sequenceNormalizer([hf.nfdNormalizer(), hf.lowercase(), hf.stripAccentsNormalizer()]));
  reference.setPreTokenizer(hf.sequencePreTokenizer([hf.whitespacePreTokenizer(), hf.digitsPreTokenizer(true), hf.punctuationPreTokenizer('isolated')]));
  const kiln = saveAndLoad(reference, dir, 'wordlevel');
  await assertSameIds(kiln, reference, [...TEXTS, 'Café NAÏVE école 2024!']);
});

test('Split pre-tokenizer with an Oniguruma regex (Llama 3 style), then ByteLevel without its regex', async (t) => {
  const dir = scratch(t, 'kiln-split-');
  const json = trainByteLevelBpe(corpus, { vocabSize: 700 }).toJSON() as unknown as Json;
  delete json['kiln'];
  json['pre_tokenizer'] = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
  json['model']['ignore_merges'] = true;
  const file = path.join(dir, 'tokenizer.json');
  writeFileSync(file, JSON.stringify(json));
  const kiln = loadTokenizer(file);
  assert.ok(kiln instanceof HfTokenizer);
  await assertSameIds(kiln, hf.Tokenizer.fromFile(file), [...TEXTS, "IT'S I'M WE'LL They'VE 12345678"]);
  // and Kiln saves it back in a form Hugging Face still reads
  const again = saveTokenizer(kiln, path.join(dir, 'again', 'tokenizer.json'));
  assert.deepEqual(await hfEncode(hf.Tokenizer.fromFile(again), TEXTS[1]!), kiln.encode(TEXTS[1]!));
});

test('added tokens: single_word, lstrip/rstrip, normalized and raw, special and not', async (t) => {
  const dir = scratch(t, 'kiln-added-');
  const words = ['[UNK]', 'the', 'cat', 'sat', 'on', 'mat', 'a', 'b', 'c', 's', 't', 'h', 'e', 'm', 'o', 'n', '.', ','];
  const reference = new hf.Tokenizer(hf.WordLevel.init(Object.fromEntries(words.map((w, i) => [w, i])), { unkToken: '[UNK]' }));
  reference.setNormalizer(hf.lowercase());
  reference.setPreTokenizer(hf.whitespacePreTokenizer());
  reference.addAddedTokens([
    new hf.AddedToken('CAT', false, { singleWord: true, normalized: false }),
    new hf.AddedToken('on the', false, { normalized: true }),
    new hf.AddedToken('<x>', true, { leftStrip: true, rightStrip: true }),
    new hf.AddedToken('zz', false, { singleWord: true }),
  ]);
  const kiln = saveAndLoad(reference, dir, 'added');
  const texts = ['The CAT sat ON THE mat', 'theCAT CATs CAT.', 'a  <x>  b<x>c', 'zz zzz azz zz.', 'on the mat on them', 'CAT_ CAT'];
  for (const text of texts) assert.deepEqual(kiln.encode(text, { allowSpecial: true }), await hfEncode(reference, text), JSON.stringify(text));
  // without allowSpecial the special <x> is text — the Whitespace pre-tokenizer's words <, x, > (all unknown) —
  // while the non-special CAT still matches
  assert.deepEqual(kiln.encode('CAT <x>'), [18, 0, 0, 0]);
});
