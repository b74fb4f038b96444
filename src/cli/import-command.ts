/**
 * `kiln import llama2c`: a llama2.c checkpoint (legacy or export version 1) and its
 * tokenizer.bin → a Kiln Llama model folder: config.json + model.safetensors (Hugging Face
 * Llama layout), tokenizer.json (+ tokenizer_config.json) in Hugging Face's Llama form, and
 * kiln.json. `kiln generate --model DIR` then runs it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { type FlagSpec, formatFlags, parseFlags } from './args.js';
import { UsageError } from './usage-error.js';

export const IMPORT_SUMMARY = 'turn a model from another format (llama2.c) into a Kiln model folder';

export const IMPORT_FORMATS = ['llama2c'] as const;

export const IMPORT_FLAGS: readonly FlagSpec[] = [
  { name: 'checkpoint', kind: 'string', help: "llama2.c checkpoint (.bin from export.py, legacy or --version 1)", valueName: 'FILE' },
  { name: 'tokenizer', kind: 'string', help: "llama2.c tokenizer.bin (the vocabulary the checkpoint was trained with)", valueName: 'FILE' },
  { name: 'out', kind: 'string', help: 'model folder to write (created if needed; files there with the same names are replaced)', valueName: 'DIR' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function importHelp(): string {
  return [
    'Usage: kiln import llama2c --checkpoint FILE --tokenizer FILE --out DIR',
    '',
    "Writes a Kiln Llama model folder (config.json, model.safetensors, tokenizer.json, kiln.json);",
    "then 'kiln generate --model DIR --temperature 0' samples greedily, as llama2.c's run.c does.",
    '',
    'Flags:',
    formatFlags(IMPORT_FLAGS),
  ].join('\n');
}

/** The first line of an error's message, so that a bad file gives a one-line error. */
function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** kiln.json of an imported folder (the shape of KilnModelInfo in src/train/model-folder.ts). */
export interface ImportedModelInfo {
  architecture: 'llama';
  task: 'causal-lm';
  made: { by: string; config: Record<string, unknown>; date: string };
  step: number;
  val_loss: number | null;
}

export interface ImportLlama2cOptions {
  checkpoint: string;
  tokenizer: string;
  out: string;
}

/**
 * The library call behind the command: loads both files, checks they fit together, writes the
 * folder, and returns its kiln.json. Errors are one line each and name the file.
 */
export async function importLlama2c(options: ImportLlama2cOptions): Promise<ImportedModelInfo> {
  const { checkpoint, tokenizer: tokenizerFile, out } = options;
  const command = 'kiln import llama2c';
  if (!existsSync(checkpoint)) throw new UsageError(`${command}: --checkpoint ${checkpoint} does not exist`);
  if (!existsSync(tokenizerFile)) throw new UsageError(`${command}: --tokenizer ${tokenizerFile} does not exist`);
  const [{ loadLlama2cCheckpoint }, { saveLlamaFolder }, { Llama2cTokenizer }, { saveTokenizer }] = await Promise.all([
    import('../io/llama2c.js'),
    import('../io/hf-llama.js'),
    import('../tokenizers/llama2c-tokenizer.js'),
    import('../tokenizers/load.js'),
  ]);
  let loaded: ReturnType<typeof loadLlama2cCheckpoint>;
  try {
    loaded = loadLlama2cCheckpoint(checkpoint);
  } catch (error) {
    throw new UsageError(`${command}: ${firstLine(error)}`);
  }
  const { model, header } = loaded;
  let tokenizer: InstanceType<typeof Llama2cTokenizer>;
  try {
    // run.c reads exactly vocab_size pieces from tokenizer.bin
    tokenizer = Llama2cTokenizer.fromFile(tokenizerFile, header.vocabSize);
  } catch (error) {
    throw new UsageError(`${command}: ${firstLine(error)} (the checkpoint's vocab_size is ${header.vocabSize})`);
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
  // kiln.json last: a folder with it is complete
  writeFileAtomic(path.join(out, 'kiln.json'), (fd) => writeAll(fd, Buffer.from(JSON.stringify(info, null, 2) + '\n', 'utf8')));
  return info;
}

export async function runImport(argv: readonly string[]): Promise<number> {
  const [format, ...rest] = argv;
  if (format === undefined || format === '--help' || format === '-h') {
    process.stdout.write(importHelp() + '\n');
    return format === undefined ? 2 : 0;
  }
  if (!(IMPORT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`kiln import: unknown format '${format}'; the formats are ${IMPORT_FORMATS.join(', ')} (kiln import llama2c --checkpoint FILE --tokenizer FILE --out DIR)`);
  }
  const flags = parseFlags(rest, IMPORT_FLAGS, 'import llama2c');
  if (flags.get('help') === true) {
    process.stdout.write(importHelp() + '\n');
    return 0;
  }
  const need = (name: string, what: string): string => {
    const value = flags.get(name);
    if (typeof value !== 'string' || value === '') throw new UsageError(`kiln import llama2c: --${name} ${what} is required`);
    return value;
  };
  const options = { checkpoint: need('checkpoint', 'FILE'), tokenizer: need('tokenizer', 'FILE'), out: need('out', 'DIR') };
  const info = await importLlama2c(options);
  const c = info.made.config;
  process.stdout.write(
    `imported ${String(c['format'])} llama2.c checkpoint (dim ${String(c['dim'])}, ${String(c['nLayers'])} layers, vocab ${String(c['vocabSize'])}) into ${options.out}\n`,
  );
  return 0;
}
