/**
 * Model folders a training run writes: the architecture's own files (config.json,
 * model.safetensors), tokenizer.json and kiln.json (what the model is and how it was made).
 * Every file is written atomically; kiln.json goes last. Loading dispatches on kiln.json's
 * architecture (a folder without one is read as GPT-2), so `kiln generate` works for every
 * architecture, and for folders other commands wrote (e.g. `kiln import llama2c`: an HF Llama).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import { loadTokenizer, saveTokenizer } from '../tokenizers/load.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { GenerateOptions } from '../models/sampling.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { type LanguageModel, type LanguageModelTask, languageModelArchitecture, readMaskTokenId } from './architectures.js';
import type { ModelVocabulary } from './model-vocabulary.js';
import type { ArchitectureName } from './pretrain-config.js';
import { ModelFolderError } from '../io/model-folder-error.js';
import { KILN_FILE, resolveModelFolder } from '../util/run-files.js';

/** Where a model folder records what it holds (one name for every kind of folder); which folder a run folder means. */
export { KILN_FILE, resolveModelFolder };

/** kiln.json. */
export interface KilnModelInfo {
  architecture: ArchitectureName;
  task: LanguageModelTask;
  /** How the model was made: the command and its resolved settings. */
  made: { by: string; config: Record<string, unknown>; date: string };
  /** Optimizer steps the weights have had. */
  step: number;
  /** Validation loss (nats per token) at `step`, when it was measured. */
  val_loss: number | null;
  /** Embedding rows, when they differ from the tokenizer's vocabulary (reserved or padding ids). */
  vocab_size?: number;
  /** The [MASK] id of a masked LM (perhaps reserved after the tokenizer's vocabulary). */
  mask_token_id?: number;
  /** The [PAD] id of a masked LM (perhaps reserved after the tokenizer's vocabulary). */
  pad_token_id?: number;
}

/** kiln.json's record of the ids beyond the tokenizer's text. */
export function vocabularyInfo(vocabulary: ModelVocabulary): Pick<KilnModelInfo, 'vocab_size' | 'mask_token_id' | 'pad_token_id'> {
  return {
    ...(vocabulary.size === vocabulary.tokenizerSize ? {} : { vocab_size: vocabulary.size }),
    ...(vocabulary.maskTokenId === null ? {} : { mask_token_id: vocabulary.maskTokenId }),
    ...(vocabulary.padTokenId === null ? {} : { pad_token_id: vocabulary.padTokenId }),
  };
}

/** Writes the model's files, tokenizer.json and then kiln.json (with the vocabulary's special ids) into `dir`. */
export function writeModelFolder(model: LanguageModel, tokenizer: Tokenizer, dir: string, info: KilnModelInfo, vocabulary: ModelVocabulary): void {
  mkdirSync(dir, { recursive: true });
  languageModelArchitecture(info.architecture).save(model, dir, vocabulary);
  saveTokenizer(tokenizer, path.join(dir, 'tokenizer.json'));
  const json: KilnModelInfo = { ...info, ...vocabularyInfo(vocabulary) };
  writeJsonAtomic(path.join(dir, KILN_FILE), json);
}

export interface LoadedLanguageModel {
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** kiln.json, or null for a folder without one (read as GPT-2). */
  info: KilnModelInfo | null;
  architecture: ArchitectureName;
  /** The tokenizer's ids and the special ids kiln.json (or BERT's config.json) records. */
  vocabulary: ModelVocabulary;
}

function readKilnInfo(dir: string): KilnModelInfo | null {
  const file = path.join(dir, KILN_FILE);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as KilnModelInfo;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); restore it or delete it to read the folder as GPT-2`);
  }
}

/**
 * A model folder written by `kiln pretrain` (any architecture), `kiln import`, or a plain
 * GPT-2 folder with a tokenizer.json.
 * @example const loaded = loadLanguageModel('runs/pretrain/best'); console.log(generateText(loaded, 'The', { maxNewTokens: 50 }));
 */
export function loadLanguageModel(folder: string): LoadedLanguageModel {
  const { dir } = resolveModelFolder(folder);
  if (!existsSync(dir)) throw new ModelFolderError(`model folder ${dir} does not exist; pass a folder a training run wrote, e.g. runs/pretrain/best`);
  const info = readKilnInfo(dir);
  const architecture = info?.architecture ?? 'gpt';
  const model = languageModelArchitecture(architecture).load(dir);
  const tokenizer = loadTokenizer(dir);
  const size = info?.vocab_size ?? tokenizer.vocabSize;
  const vocabulary: ModelVocabulary = {
    size,
    tokenizerSize: tokenizer.vocabSize,
    maskTokenId: info?.mask_token_id ?? (architecture === 'bert' ? readMaskTokenId(dir) : null),
    padTokenId: info?.pad_token_id ?? null,
  };
  return { model, tokenizer, info, architecture, vocabulary };
}

/** The old names, from when every model was causal. */
export const loadCausalLM = loadLanguageModel;
export type LoadedCausalLM = LoadedLanguageModel;

/**
 * The prompt followed by `maxNewTokens` generated tokens, decoded: sampled from the next-token
 * distribution of a causal model, or by iterative masked prediction from a masked one. The
 * prompt must not be empty.
 */
export function generateText(loaded: Pick<LoadedLanguageModel, 'model' | 'tokenizer'> & Partial<Pick<LoadedLanguageModel, 'architecture' | 'vocabulary'>>, prompt: string, options: GenerateOptions): string {
  const { model, tokenizer } = loaded;
  const architecture = languageModelArchitecture(loaded.architecture ?? 'gpt');
  const vocabulary = loaded.vocabulary ?? { size: tokenizer.vocabSize, tokenizerSize: tokenizer.vocabSize, maskTokenId: null, padTokenId: null };
  const ids = tokenizer.encode(prompt, { addSpecialTokens: true }); // e.g. Llama's <s>
  if (ids.length === 0) throw new RangeError('generateText: the prompt encodes to no tokens; give at least one character');
  return scope(() => {
    const input = tensor(ids, { dtype: 'int64' }).unsqueeze(0); // (1, T)
    const out = architecture.generate(model, input, options, vocabulary); // (1, T + maxNewTokens)
    return tokenizer.decode(out.select(0, 0).toArray() as number[], { skipSpecialTokens: true });
  });
}
