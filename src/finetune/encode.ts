/**
 * Texts to token ids for fine-tuning: characters a character vocabulary lacks are dropped
 * (or become its unk token), and long sequences are cut to the model's length.
 */
import { CharTokenizer } from '../tokenizers/char.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';

/** Which part of a text too long for the model is kept. */
export type Truncation = 'head' | 'tail' | 'head+tail';
export const TRUNCATIONS: readonly Truncation[] = ['head', 'tail', 'head+tail'];

/**
 * Token ids of `text`. A character tokenizer without an unk token cannot spell characters its
 * training text never had (an e-mail's '€' in a model pretrained on a novel); those are
 * dropped rather than failing the run.
 */
export function encodeLenient(tokenizer: Tokenizer, text: string): number[] {
  if (tokenizer instanceof CharTokenizer && tokenizer.unkId === undefined) {
    const known = knownCharacters(tokenizer);
    let kept = '';
    for (const c of text) if (known.has(c)) kept += c;
    return tokenizer.encode(kept);
  }
  return tokenizer.encode(text);
}

const knownCache = new WeakMap<CharTokenizer, Set<string>>();
function knownCharacters(tokenizer: CharTokenizer): Set<string> {
  let known = knownCache.get(tokenizer);
  if (known === undefined) {
    known = new Set(tokenizer.characters);
    knownCache.set(tokenizer, known);
  }
  return known;
}

/** `ids` cut to at most `maxLength`: the first tokens, the last, or half of each. */
export function truncate(ids: readonly number[], maxLength: number, truncation: Truncation): number[] {
  if (ids.length <= maxLength) return [...ids];
  if (truncation === 'head') return ids.slice(0, maxLength);
  if (truncation === 'tail') return ids.slice(ids.length - maxLength);
  const head = Math.ceil(maxLength / 2);
  return [...ids.slice(0, head), ...ids.slice(ids.length - (maxLength - head))];
}

/**
 * Token ids of a text for a classifier: encoded, with `prefixId` (an encoder's [CLS]) first
 * when given, cut to `maxLength`, never empty (an empty text becomes one `fallbackId`).
 */
export function encodeForClassification(
  tokenizer: Tokenizer,
  text: string,
  options: { maxLength: number; truncation: Truncation; prefixId?: number | undefined; fallbackId: number },
): number[] {
  const room = options.maxLength - (options.prefixId === undefined ? 0 : 1);
  let ids = truncate(encodeLenient(tokenizer, text), room, options.truncation);
  if (options.prefixId !== undefined) ids = [options.prefixId, ...ids];
  return ids.length === 0 ? [options.fallbackId] : ids;
}
