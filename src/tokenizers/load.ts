/** Reading and writing tokenizer.json: the tokenizer a model folder carries. */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { CharTokenizer } from './char.js';
import { Gpt2Tokenizer } from './gpt2-bpe.js';
import type { Tokenizer, TokenizerJson } from './tokenizer.js';

const SUPPORTED =
  "Kiln reads Kiln's character tokenizer (model 'WordLevel' with one character per token) and " +
  "byte-level BPE as GPT-2 has it (model 'BPE' with a 'ByteLevel' pre-tokenizer)";

/** A file path, or a folder holding tokenizer.json. */
function tokenizerFile(location: string): string {
  try {
    return statSync(location).isDirectory() ? path.join(location, 'tokenizer.json') : location;
  } catch {
    throw new Error(`loadTokenizer: ${location} does not exist; pass a tokenizer.json file, a model folder or the parsed JSON`);
  }
}

/**
 * Loads a tokenizer from a tokenizer.json file, a folder that holds one, or its parsed object.
 * @example const tokenizer = loadTokenizer('runs/tiny/best'); tokenizer.encode('Hello')
 */
export function loadTokenizer(pathOrJson: string | TokenizerJson | Record<string, unknown>): Tokenizer {
  let json: unknown = pathOrJson;
  let where = 'the tokenizer.json object';
  if (typeof pathOrJson === 'string') {
    const file = tokenizerFile(pathOrJson);
    where = file;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`loadTokenizer: cannot read ${file}: ${(error as Error).message}`);
    }
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`loadTokenizer: ${file} is not valid JSON (${(error as Error).message})`);
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError(`loadTokenizer: ${where} must be a JSON object in Hugging Face's tokenizer.json format`);
  }
  const object = json as Record<string, unknown>;
  const kiln = (object['kiln'] as Record<string, unknown> | undefined)?.['tokenizer'];
  const model = object['model'] as Record<string, unknown> | undefined;
  const modelType = model?.['type'];
  const preTokenizer = (object['pre_tokenizer'] as Record<string, unknown> | null | undefined)?.['type'];
  if (kiln === 'char' || modelType === 'WordLevel') return CharTokenizer.fromJSON(object);
  if (kiln === 'byte-level-bpe' || (modelType === 'BPE' && preTokenizer === 'ByteLevel')) return Gpt2Tokenizer.fromJSON(object);
  throw new TypeError(
    `loadTokenizer: ${where} has model.type ${JSON.stringify(modelType ?? null)} with pre_tokenizer ` +
      `${JSON.stringify(preTokenizer ?? null)}, which Kiln cannot run. ${SUPPORTED}.`,
  );
}

/**
 * Writes `tokenizer.toJSON()` to `file` (or `file`/tokenizer.json when `file` is a folder)
 * atomically: a temporary file, flushed to disk, then renamed over the target, so a crash
 * never leaves a torn file. Returns the path written.
 */
export function saveTokenizer(tokenizer: Tokenizer, file: string): string {
  let target = file;
  try {
    if (statSync(file).isDirectory()) target = path.join(file, 'tokenizer.json');
  } catch {
    // a file that does not exist yet
  }
  const json = Buffer.from(JSON.stringify(tokenizer.toJSON(), null, 2), 'utf8');
  writeFileAtomic(target, (fd) => writeAll(fd, json));
  return target;
}
