/**
 * Byte-level BPE trained on a corpus with Hugging Face's `tokenizers` (npm), kept to a chosen
 * vocabulary size.
 *
 * The package's Node API trains only with the model's default trainer (`Tokenizer.train(files)`
 * takes no vocabulary size: BpeTrainer's default of 30,000 tokens, no minimum frequency). BPE
 * training is greedy — each merge is the most frequent pair given the merges before it — so
 * the first k merges of a longer run are exactly what a run stopped at k merges learns. Kiln
 * therefore trains once with the default and keeps the merges that fill `vocabSize`:
 *
 *   ids 0..255     the 256 single bytes, in byte order (also the bytes the corpus lacks, so any
 *                  text encodes)
 *   ids 256..N-2   the tokens the kept merges make, in the order they were learned
 *   id N-1         `<|endoftext|>`, the end-of-text (eos) special token
 *
 * The result is a GPT-2-shaped tokenizer.json (BPE model, ByteLevel pre-tokenizer and decoder)
 * that Hugging Face's `tokenizers` loads and runs as it is.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BYTE_TO_CHAR } from './byte-level.js';
import { GPT2_END_OF_TEXT, Gpt2Tokenizer } from './gpt2-bpe.js';
import { specialAddedToken, type TokenizerJson } from './tokenizer.js';

/** The BPE vocabulary size Kiln trains when none is given. */
export const DEFAULT_BPE_VOCAB_SIZE = 4096;

/** The smallest vocabulary: 256 bytes and the end-of-text token, no merges. */
export const MIN_BPE_VOCAB_SIZE = 257;

export interface TrainBpeOptions {
  /**
   * Tokens in the trained vocabulary, counting the 256 byte tokens and `<|endoftext|>`; the
   * rest are merges. At most 257 + the merges the corpus allows (and below ~30,000, the trainer's
   * own limit).
   * @default 4096
   */
  vocabSize?: number;
}

/**
 * Runs in a child Node process: Hugging Face's trainer writes progress-bar blank lines straight
 * to the process's stdout (fd 1), which would corrupt Kiln's own output (and --json output).
 * argv: corpus file, output file, path of the tokenizers package.
 */
const TRAIN_SCRIPT = `
const [corpus, out, modulePath] = process.argv.slice(1);
const hf = require(modulePath);
const tokenizer = new hf.Tokenizer(hf.BPE.empty());
tokenizer.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
tokenizer.train([corpus]);
tokenizer.save(out, false);
`;

function tokenizersPackage(): string {
  try {
    return createRequire(import.meta.url).resolve('tokenizers');
  } catch (error) {
    throw new Error(`trainByteLevelBpe: cannot find Hugging Face's tokenizers package (${(error as Error).message}); run npm install`);
  }
}

/** The merges Hugging Face learned, in order, as [left, right] (both string and array forms). */
function readMerges(json: Record<string, unknown>): [string, string][] {
  const merges = (json['model'] as Record<string, unknown> | undefined)?.['merges'];
  if (!Array.isArray(merges)) throw new Error('trainByteLevelBpe: the trained tokenizer has no model.merges list');
  return merges.map((merge: unknown) => {
    if (typeof merge === 'string') {
      const space = merge.indexOf(' ');
      return [merge.slice(0, space), merge.slice(space + 1)];
    }
    return merge as [string, string];
  });
}

/**
 * Trains a byte-level BPE on `text` and returns it as a Gpt2Tokenizer (eos `<|endoftext|>`).
 * Deterministic: the same text and size give the same tokenizer.
 * @example const tokenizer = trainByteLevelBpe(corpus, { vocabSize: 4096 })
 */
export function trainByteLevelBpe(text: string, options: TrainBpeOptions = {}): Gpt2Tokenizer {
  const owner = 'trainByteLevelBpe';
  for (const key of Object.keys(options)) {
    if (key !== 'vocabSize') throw new TypeError(`${owner}: unknown option '${key}'; the options are vocabSize`);
  }
  const vocabSize = options.vocabSize ?? DEFAULT_BPE_VOCAB_SIZE;
  if (!Number.isInteger(vocabSize) || vocabSize < MIN_BPE_VOCAB_SIZE) {
    throw new RangeError(`${owner}: vocabSize must be an integer ≥ ${MIN_BPE_VOCAB_SIZE} (256 bytes + <|endoftext|>), got ${String(vocabSize)}`);
  }
  if (typeof text !== 'string' || text.length === 0) throw new RangeError(`${owner}: the training text is empty; give a corpus with some text`);

  const modulePath = tokenizersPackage();
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bpe-'));
  let learned: [string, string][];
  try {
    const corpusFile = path.join(dir, 'corpus.txt');
    writeFileSync(corpusFile, text, 'utf8');
    const trainedFile = path.join(dir, 'trained.json');
    const run = spawnSync(process.execPath, ['-e', TRAIN_SCRIPT, corpusFile, trainedFile, modulePath], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (run.status !== 0) {
      const why = run.error?.message ?? (run.stderr.trim().split('\n').find((line) => /Error/.test(line)) ?? run.stderr.trim().split('\n')[0] ?? `exit ${String(run.status)}`);
      throw new Error(`${owner}: Hugging Face's BPE trainer failed: ${why}`);
    }
    learned = readMerges(JSON.parse(readFileSync(trainedFile, 'utf8')) as Record<string, unknown>);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((char, byte) => (vocab[char] = byte));
  let size = 256;
  const merges: [string, string][] = [];
  const target = vocabSize - 1; // the last id is <|endoftext|>
  for (const [left, right] of learned) {
    const token = left + right;
    // a merge can rebuild a token an earlier merge made (ab+c and a+bc); it adds no id
    const isNew = !Object.hasOwn(vocab, token);
    if (isNew && size === target) break;
    if (isNew) vocab[token] = size++;
    merges.push([left, right]);
  }
  if (size < target) {
    throw new RangeError(
      `${owner}: the corpus gives only ${size - 256} merges, so the vocabulary can have at most ${size + 1} tokens, ` +
        `not ${vocabSize}; choose a smaller vocab size or a larger corpus`,
    );
  }
  vocab[GPT2_END_OF_TEXT] = target;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [specialAddedToken(GPT2_END_OF_TEXT, target)],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
    kiln: { tokenizer: 'byte-level-bpe', special_tokens: { eos: GPT2_END_OF_TEXT } },
  };
  return Gpt2Tokenizer.fromJSON(json);
}
