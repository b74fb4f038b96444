/**
 * Model folders a training run writes: the architecture's own files (config.json,
 * model.safetensors), tokenizer.json and kiln.json (what the model is and how it was made).
 * Every file is written atomically; kiln.json goes last.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import { loadTokenizer, saveTokenizer } from '../tokenizers/load.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { GenerateOptions } from '../models/sampling.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { type CausalLM, causalLMArchitecture } from './architectures.js';
import type { ArchitectureName } from './pretrain-config.js';

export const KILN_FILE = 'kiln.json';

/** kiln.json. */
export interface KilnModelInfo {
  architecture: ArchitectureName;
  task: 'causal-lm';
  /** How the model was made: the command and its resolved settings. */
  made: { by: string; config: Record<string, unknown>; date: string };
  /** Optimizer steps the weights have had. */
  step: number;
  /** Validation loss (nats per token) at `step`, when it was measured. */
  val_loss: number | null;
}

export function writeCausalLMFolder(model: CausalLM, tokenizer: Tokenizer, dir: string, info: KilnModelInfo): void {
  mkdirSync(dir, { recursive: true });
  causalLMArchitecture(info.architecture).save(model, dir);
  saveTokenizer(tokenizer, path.join(dir, 'tokenizer.json'));
  writeFileAtomic(path.join(dir, KILN_FILE), (fd) => writeAll(fd, Buffer.from(JSON.stringify(info, null, 2) + '\n', 'utf8')));
}

export interface LoadedCausalLM {
  model: CausalLM;
  tokenizer: Tokenizer;
  /** kiln.json, or null for a folder without one (read as GPT-2). */
  info: KilnModelInfo | null;
}

/** A model folder written by `kiln pretrain` (or a plain GPT-2 folder with a tokenizer.json). */
export function loadCausalLM(dir: string): LoadedCausalLM {
  if (!existsSync(dir)) throw new Error(`model folder ${dir} does not exist; pass a folder a training run wrote, e.g. runs/pretrain/best`);
  const kilnFile = path.join(dir, KILN_FILE);
  const info = existsSync(kilnFile) ? (JSON.parse(readFileSync(kilnFile, 'utf8')) as KilnModelInfo) : null;
  const model = causalLMArchitecture(info?.architecture ?? 'gpt').load(dir);
  return { model, tokenizer: loadTokenizer(dir), info };
}

/** The prompt followed by `maxNewTokens` sampled tokens, decoded. The prompt must not be empty. */
export function generateText(loaded: Pick<LoadedCausalLM, 'model' | 'tokenizer'>, prompt: string, options: GenerateOptions): string {
  const { model, tokenizer } = loaded;
  const ids = tokenizer.encode(prompt);
  if (ids.length === 0) throw new RangeError('generateText: the prompt encodes to no tokens; give at least one character');
  return scope(() => {
    const input = tensor(ids, { dtype: 'int64' }).unsqueeze(0); // (1, T)
    const out = model.generate(input, options); // (1, T + maxNewTokens)
    return tokenizer.decode(out.select(0, 0).toArray() as number[]);
  });
}
