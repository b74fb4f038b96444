/**
 * Reading and writing tokenizer.json: the tokenizer a model folder carries.
 *
 * Hugging Face's `tokenizers` refuses a tokenizer.json with keys it does not know, so the
 * special-token roles (which token is eos, pad, mask, …) that tokenizer.json cannot say go where
 * Hugging Face Transformers keeps them: `tokenizer_config.json` beside it (`eos_token`,
 * `pad_token`, `mask_token`, …). In memory, `toJSON()` carries them as a `kiln` section.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeAll, writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import { CharTokenizer } from './char.js';
import { Gpt2Tokenizer } from './gpt2-bpe.js';
import { HfTokenizer } from './hf-tokenizer.js';
import { ROLES } from './special-tokens.js';
import type { SpecialTokenRoles, Tokenizer, TokenizerJson } from './tokenizer.js';

export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

/** Roles from a Transformers tokenizer_config.json (`"eos_token": "</s>"` or `{ "content": "</s>", … }`). */
function rolesFromConfig(file: string): SpecialTokenRoles | undefined {
  if (!existsSync(file)) return undefined;
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`loadTokenizer: ${file} is not valid JSON (${(error as Error).message}); fix or delete it`);
  }
  const roles: SpecialTokenRoles = {};
  for (const role of ROLES) {
    const value = config[`${role}_token`];
    const text = typeof value === 'string' ? value : (value as Record<string, unknown> | null | undefined)?.['content'];
    if (typeof text === 'string' && text !== '') roles[role] = text;
  }
  return roles;
}

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
  let object = json as Record<string, unknown>;
  if (typeof pathOrJson === 'string' && object['kiln'] === undefined) {
    const roles = rolesFromConfig(path.join(path.dirname(where), TOKENIZER_CONFIG_FILE));
    if (roles !== undefined) object = { ...object, kiln: { special_tokens: roles } };
  }
  const kiln = (object['kiln'] as Record<string, unknown> | undefined)?.['tokenizer'];
  if (kiln === 'char') return CharTokenizer.fromJSON(object);
  if (kiln === 'byte-level-bpe') return Gpt2Tokenizer.fromJSON(object);
  if (kiln === undefined) {
    // Kiln's own shapes load into their faster classes; anything else runs as the general pipeline
    const model = object['model'] as Record<string, unknown> | undefined;
    const preTokenizer = (object['pre_tokenizer'] as Record<string, unknown> | null | undefined)?.['type'];
    try {
      if (model?.['type'] === 'WordLevel') return CharTokenizer.fromJSON(object);
      if (model?.['type'] === 'BPE' && preTokenizer === 'ByteLevel') return Gpt2Tokenizer.fromJSON(object);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
    }
  }
  try {
    return HfTokenizer.fromJSON(object);
  } catch (error) {
    const Kind = error instanceof TypeError ? TypeError : error instanceof RangeError ? RangeError : Error;
    throw new Kind(`loadTokenizer: ${where}: ${(error as Error).message}`);
  }
}

/** tokenizer_config.json as Transformers reads it: the tokenizer class and each special token by role (`eos_token`, …). */
export function tokenizerConfigJson(tokenizer: Tokenizer): Record<string, string> {
  const config: Record<string, string> = { tokenizer_class: 'PreTrainedTokenizerFast' };
  for (const role of ROLES) {
    const text = tokenizer.roles[role];
    if (text !== undefined) config[`${role}_token`] = text;
  }
  return config;
}

/**
 * Writes `tokenizer.toJSON()` (less its `kiln` section) to `file` (or `file`/tokenizer.json when
 * `file` is a folder) atomically: a temporary file, flushed to disk, then renamed over the
 * target, so a crash never leaves a torn file. When the file is named tokenizer.json, the roles
 * go to tokenizer_config.json beside it. Returns the path written.
 */
export function saveTokenizer(tokenizer: Tokenizer, file: string): string {
  let target = file;
  try {
    if (statSync(file).isDirectory()) target = path.join(file, 'tokenizer.json');
  } catch {
    // a file that does not exist yet
  }
  mkdirSync(path.dirname(target), { recursive: true });
  const { kiln: _kiln, ...hfJson } = tokenizer.toJSON();
  const json = Buffer.from(JSON.stringify(hfJson, null, 2), 'utf8');
  writeFileAtomic(target, (fd) => writeAll(fd, json));
  if (path.basename(target) === 'tokenizer.json') writeJsonAtomic(path.join(path.dirname(target), TOKENIZER_CONFIG_FILE), tokenizerConfigJson(tokenizer));
  return target;
}
