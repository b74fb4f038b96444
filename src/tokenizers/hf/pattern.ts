/**
 * tokenizer.json patterns (`{ "String": "…" }` or `{ "Regex": "…" }`) as JavaScript regexes.
 *
 * Hugging Face compiles `Regex` patterns with Oniguruma. Two differences from JavaScript's
 * `u`-mode syntax matter for real tokenizer files and are translated here:
 * - `\s` is Unicode White_Space in Oniguruma; JavaScript's `\s` also matches U+FEFF and misses
 *   U+0085, so `\s`/`\S` become `\p{White_Space}`/`\P{White_Space}`.
 * - Scoped case-insensitive groups `(?i:…)` (Llama 3's contractions) are not in Node 20's
 *   regexes; their ASCII letters become `[xX]` classes.
 */
import { asObject, type JsonObject } from './json-fields.js';

function escapeRegExp(text: string): string {
  // not '-': `\-` outside a class is a syntax error in a `u` regex
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function bothCases(letter: string): string {
  const lower = letter.toLowerCase();
  const upper = letter.toUpperCase();
  return lower === upper ? letter : lower + upper;
}

/** Oniguruma pattern source → JavaScript `u`-mode source (see the file comment). */
export function onigurumaToJs(source: string): string {
  let out = '';
  let inClass = false;
  // depth of groups opened, and the depths at which a (?i: group started
  let depth = 0;
  const caseless: number[] = [];
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === 's') out += inClass ? '\\p{White_Space}' : '[\\p{White_Space}]';
      else if (next === 'S') out += inClass ? '\\P{White_Space}' : '[\\P{White_Space}]';
      else if ((next === 'p' || next === 'P') && source[i + 2] === '{') {
        const end = source.indexOf('}', i);
        out += source.slice(i, end + 1);
        i = end;
        continue;
      } else out += c + (next ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += caseless.length > 0 && /[A-Za-z]/.test(c) ? bothCases(c) : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === '^') out += source[++i];
      if (source[i + 1] === ']') out += '\\' + source[++i]; // a leading ] is literal
      continue;
    }
    if (c === '(') {
      depth++;
      if (source.startsWith('(?i:', i)) {
        caseless.push(depth);
        out += '(?:';
        i += 3;
        continue;
      }
      if (source.startsWith('(?i)', i) || source.startsWith('(?-i', i) || /^\(\?[imx-]+[:)]/.test(source.slice(i))) {
        throw new TypeError(`tokenizer.json: the regex ${JSON.stringify(source)} uses an inline flag group at index ${i} that Kiln cannot translate; only (?i:…) is supported`);
      }
      out += c;
      continue;
    }
    if (c === ')') {
      if (caseless[caseless.length - 1] === depth) caseless.pop();
      depth--;
      out += c;
      continue;
    }
    out += caseless.length > 0 && /[A-Za-z]/.test(c) ? `[${bothCases(c)}]` : c;
  }
  return out;
}

/** A global regex for a tokenizer.json pattern object. */
export function patternFromJson(value: unknown, where: string): RegExp {
  const pattern: JsonObject = asObject(value, where);
  if (typeof pattern['String'] === 'string') return new RegExp(escapeRegExp(pattern['String']), 'gu');
  if (typeof pattern['Regex'] === 'string') {
    try {
      return new RegExp(onigurumaToJs(pattern['Regex']), 'gu');
    } catch (error) {
      throw new TypeError(`tokenizer.json: ${where} regex ${JSON.stringify(pattern['Regex'])} cannot be run in JavaScript: ${(error as Error).message}`);
    }
  }
  throw new TypeError(`tokenizer.json: ${where} must be { "String": … } or { "Regex": … }, got ${JSON.stringify(value)}`);
}
