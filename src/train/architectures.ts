/**
 * The language models `pretrainLanguageModel` can build, save, load and sample from, by name,
 * each with its training objective. Adding an architecture is one entry here: how to build it
 * from the run's shape settings, how to write and read its model folder, and how it generates.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BertForMaskedLM } from '../models/bert.js';
import type { CausalLanguageModel } from '../models/causal-language-model.js';
import { GPT } from '../models/gpt.js';
import { Llama } from '../models/llama.js';
import { LstmLM } from '../models/lstm-lm.js';
import { generateByMasking } from '../models/masked-generation.js';
import type { GenerateOptions } from '../models/sampling.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadBertFolder, saveBertFolder } from '../io/hf-bert.js';
import { loadGpt2Folder, saveGpt2Folder } from '../io/hf-gpt2.js';
import { loadLlamaFolder, saveLlamaFolder } from '../io/hf-llama.js';
import { loadLstmFolder, saveLstmFolder } from '../io/kiln-lstm.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { ConfigError } from './config-error.js';
import { type ModelVocabulary, type Objective, unspeakableIds } from './model-vocabulary.js';
import type { LanguageModel } from './objectives.js';
import { type ArchitectureName, KNOWN_ARCHITECTURES, type PretrainConfig } from './pretrain-config.js';

export type { LanguageModel } from './objectives.js';

/** The most positions a language model reads at once; null for a recurrent model, which has no limit. */
export function modelContextLength(model: LanguageModel): number | null {
  if (model instanceof GPT) return model.config.blockSize;
  if (model instanceof Llama) return model.config.maxSeqLen;
  if (model instanceof BertForMaskedLM) return model.config.maxPositionEmbeddings;
  if (model instanceof LstmLM) return null;
  throw new ConfigError(`${model.constructor.name} is not a language model Kiln knows the context of`);
}

/** What kiln.json's `task` says of a model an objective trained. */
export type LanguageModelTask = 'causal-lm' | 'masked-lm';

/** A causal language model: what training and generation need of GPT, Llama and the LSTM. */
export interface CausalLM extends LanguageModel {
  /** ids (B, T) int64 -> (B, T + maxNewTokens) int64. */
  generate(ids: Tensor, options: GenerateOptions): Tensor;
}

export interface LanguageModelArchitecture {
  readonly name: ArchitectureName;
  readonly objective: Objective;
  readonly task: LanguageModelTask;
  /** A freshly initialised model (draws from the engine's generator). */
  build(config: Readonly<PretrainConfig>, vocabulary: ModelVocabulary): LanguageModel;
  /** Writes config.json and model.safetensors into `dir`. */
  save(model: LanguageModel, dir: string, vocabulary: ModelVocabulary): void;
  /** Reads a folder `save` wrote. */
  load(dir: string): LanguageModel;
  /** Appends `options.maxNewTokens` tokens: ids (B, T) int64 -> (B, T + maxNewTokens). */
  generate(model: LanguageModel, ids: Tensor, options: GenerateOptions, vocabulary: ModelVocabulary): Tensor;
}

/** Hidden width of Llama's SwiGLU MLP: ⅔ of 4·dim, rounded up to a multiple of 32 (llama2.c's multiple_of). */
export function llamaHiddenSize(dim: number): number {
  const multipleOf = 32;
  return multipleOf * Math.ceil(Math.floor((2 * 4 * dim) / 3) / multipleOf);
}

/** A model's constructor errors (RangeError: shapes that do not fit) as the user's settings to fix. */
function built<M>(arch: string, make: () => M): M {
  try {
    return make();
  } catch (error) {
    if (error instanceof RangeError) throw new ConfigError(`--arch ${arch}: ${error.message}`);
    throw error;
  }
}

/** A causal model's own generate, never choosing ids past the tokenizer's vocabulary (e.g. padding rows). */
const causalGenerate = (model: LanguageModel, ids: Tensor, options: GenerateOptions, vocabulary: ModelVocabulary): Tensor => {
  const unspeakable = unspeakableIds(vocabulary);
  const suppressIds = [...new Set([...(options.suppressIds ?? []), ...unspeakable])];
  return (model as CausalLanguageModel).generate(ids, suppressIds.length === 0 ? options : { ...options, suppressIds });
};

const gpt: LanguageModelArchitecture = {
  name: 'gpt',
  objective: 'causal',
  task: 'causal-lm',
  build: (config, vocabulary) =>
    built('gpt', () => new GPT({ vocabSize: vocabulary.size, blockSize: config.blockSize, nLayer: config.layers, nHead: config.heads, nEmbd: config.dim, dropout: config.dropout })),
  save: (model, dir) => saveGpt2Folder(model as GPT, dir),
  load: (dir) => loadGpt2Folder(dir).model,
  generate: causalGenerate,
};

const llama: LanguageModelArchitecture = {
  name: 'llama',
  objective: 'causal',
  task: 'causal-lm',
  build: (config, vocabulary) => {
    if (config.dropout !== 0) throw new ConfigError(`--arch llama has no dropout (as Llama); set dropout to 0, got ${config.dropout}`);
    return built('llama', () =>
      new Llama({
        vocabSize: vocabulary.size,
        dim: config.dim,
        nLayers: config.layers,
        nHeads: config.heads,
        nKvHeads: config.kvHeads ?? config.heads,
        intermediateSize: llamaHiddenSize(config.dim),
        maxSeqLen: config.blockSize,
        normEps: 1e-5,
        ropeTheta: 10000,
        tieEmbeddings: false,
      }),
    );
  },
  save: (model, dir) => saveLlamaFolder(model as Llama, dir),
  load: (dir) => loadLlamaFolder(dir).model,
  generate: causalGenerate,
};

const lstm: LanguageModelArchitecture = {
  name: 'lstm',
  objective: 'causal',
  task: 'causal-lm',
  build: (config, vocabulary) =>
    built('lstm', () => new LstmLM({ vocabSize: vocabulary.size, embeddingDim: config.dim, hiddenSize: config.dim, numLayers: config.layers, dropout: config.dropout, tieWeights: false })),
  save: (model, dir) => saveLstmFolder(model as LstmLM, dir),
  load: (dir) => loadLstmFolder(dir).model,
  generate: causalGenerate,
};

/** config.json's key for the [MASK] id (Transformers keeps keys it does not know as attributes). */
export const MASK_TOKEN_ID_KEY = 'mask_token_id';

/** BERT's config.json gains `mask_token_id`, so a folder says which id is [MASK] without kiln.json. */
function addMaskTokenId(dir: string, maskTokenId: number): void {
  const file = path.join(dir, 'config.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  json[MASK_TOKEN_ID_KEY] = maskTokenId;
  const sorted = Object.fromEntries(Object.keys(json).sort().map((k) => [k, json[k]]));
  writeFileAtomic(file, (fd) => writeAll(fd, Buffer.from(JSON.stringify(sorted, null, 2) + '\n', 'utf8')));
}

/** The [MASK] id BERT's config.json records, or null. */
export function readMaskTokenId(dir: string): number | null {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return null;
  const value = (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)[MASK_TOKEN_ID_KEY];
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

const bert: LanguageModelArchitecture = {
  name: 'bert',
  objective: 'masked',
  task: 'masked-lm',
  build: (config, vocabulary) =>
    built('bert', () =>
      new BertForMaskedLM({
        vocabSize: vocabulary.size,
        hiddenSize: config.dim,
        numHiddenLayers: config.layers,
        numAttentionHeads: config.heads,
        intermediateSize: 4 * config.dim,
        maxPositionEmbeddings: config.blockSize,
        hiddenDropout: config.dropout,
        attentionDropout: config.dropout,
        padTokenId: vocabulary.padTokenId!,
      }),
    ),
  save: (model, dir, vocabulary) => {
    saveBertFolder(model as BertForMaskedLM, dir);
    if (vocabulary.maskTokenId !== null) addMaskTokenId(dir, vocabulary.maskTokenId);
  },
  load: (dir) => loadBertFolder(dir, { architecture: 'BertForMaskedLM' }).model,
  generate: (model, ids, options, vocabulary) => {
    const bertModel = model as BertForMaskedLM;
    if (vocabulary.maskTokenId === null) {
      throw new Error('cannot generate from a masked LM without a [MASK] id: its kiln.json and config.json record none (mask_token_id)');
    }
    return generateByMasking(bertModel, ids, {
      ...options,
      maskTokenId: vocabulary.maskTokenId,
      contextLength: bertModel.config.maxPositionEmbeddings,
      vocabSize: bertModel.config.vocabSize,
      suppressIds: [...new Set([...(options.suppressIds ?? []), ...unspeakableIds(vocabulary)])],
    });
  },
};

const ARCHITECTURES: Record<ArchitectureName, LanguageModelArchitecture> = { gpt, llama, bert, lstm };

/** The architectures that can be trained: all of KNOWN_ARCHITECTURES. */
export const SUPPORTED_ARCHITECTURES: readonly ArchitectureName[] = KNOWN_ARCHITECTURES.filter((name) => name in ARCHITECTURES);

/** The architecture called `name`, or a ConfigError listing the supported ones. */
export function languageModelArchitecture(name: string): LanguageModelArchitecture {
  const found = (ARCHITECTURES as Partial<Record<string, LanguageModelArchitecture>>)[name];
  if (found === undefined) throw new ConfigError(`architecture '${name}' is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
  return found;
}
