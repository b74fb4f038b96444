/**
 * A llama2.c checkpoint and its tokenizer.bin as a Kiln Llama model folder: config.json +
 * model.safetensors (Hugging Face Llama layout, via saveLlamaFolder), tokenizer.json +
 * tokenizer_config.json (Hugging Face's Llama form), and kiln.json, written last. The library
 * half of `kiln import llama2c`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { saveTokenizer } from '../tokenizers/load.js';
import { Llama2cTokenizer } from '../tokenizers/llama2c-tokenizer.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { saveLlamaFolder } from './hf-llama.js';
import { loadLlama2cCheckpoint, type LoadedLlama2c } from './llama2c.js';

/** kiln.json of an imported folder (the shape of KilnModelInfo in src/train/model-folder.ts). */
export interface ImportedModelInfo {
  architecture: 'llama';
  task: 'causal-lm';
  made: { by: string; config: Record<string, unknown>; date: string };
  step: number;
  val_loss: number | null;
}

export interface ImportLlama2cOptions {
  /** llama2.c checkpoint: legacy header or export.py --version 1. */
  checkpoint: string;
  /** llama2.c tokenizer.bin; its first vocab_size pieces are read, as run.c does. */
  tokenizer: string;
  /** Model folder to write; created if needed. */
  out: string;
}

/** The first line of an error's message, so that a bad file gives a one-line error. */
function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * Loads both files, checks they fit together, writes the folder and returns its kiln.json.
 * Nothing is written when either file is bad; errors are one line and name the file.
 * @example importLlama2c({ checkpoint: 'stories15M.bin', tokenizer: 'tokenizer.bin', out: 'models/stories15M' })
 */
export function importLlama2c(options: ImportLlama2cOptions): ImportedModelInfo {
  const { checkpoint, tokenizer: tokenizerFile, out } = options;
  const owner = 'importLlama2c';
  if (!existsSync(checkpoint)) throw new Error(`${owner}: the checkpoint ${checkpoint} does not exist`);
  if (!existsSync(tokenizerFile)) throw new Error(`${owner}: the tokenizer ${tokenizerFile} does not exist`);
  let loaded: LoadedLlama2c;
  try {
    loaded = loadLlama2cCheckpoint(checkpoint);
  } catch (error) {
    throw new Error(firstLine(error));
  }
  const { model, header } = loaded;
  let tokenizer: Llama2cTokenizer;
  try {
    tokenizer = Llama2cTokenizer.fromFile(tokenizerFile, header.vocabSize);
  } catch (error) {
    throw new Error(`${firstLine(error)} (the checkpoint's vocab_size is ${header.vocabSize})`);
  }
  mkdirSync(out, { recursive: true });
  saveLlamaFolder(model, out);
  saveTokenizer(tokenizer.toHfTokenizer(), path.join(out, 'tokenizer.json'));
  const info: ImportedModelInfo = {
    architecture: 'llama',
    task: 'causal-lm',
    made: {
      by: 'kiln import llama2c',
      config: { checkpoint: path.resolve(checkpoint), tokenizer: path.resolve(tokenizerFile), ...header },
      date: new Date().toISOString(),
    },
    step: 0,
    val_loss: null,
  };
  writeFileAtomic(path.join(out, 'kiln.json'), (fd) => writeAll(fd, Buffer.from(JSON.stringify(info, null, 2) + '\n', 'utf8')));
  return info;
}
