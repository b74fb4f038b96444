/**
 * tokenizer.json normalizers as string → string functions, following Hugging Face's
 * `tokenizers` (only the text matters to Kiln, not the offsets alignment it also tracks).
 */
import { asArray, asObject, boolField, stringField, unsupportedComponent, type JsonObject } from './json-fields.js';
import { patternFromJson } from './pattern.js';

export type Normalize = (text: string) => string;

const SUPPORTED = ['Sequence', 'NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'StripAccents', 'Strip', 'Replace', 'Prepend', 'BertNormalizer'];

/**
 * Lowercases code point by code point, as Rust's `char::to_lowercase` does: no context rules
 * (JavaScript's whole-string toLowerCase turns a word-final Σ into ς; Hugging Face gives σ).
 */
export function lowercase(text: string): string {
  if (!text.includes('\u03a3')) return text.toLowerCase();
  let out = '';
  for (const char of text) out += char.toLowerCase();
  return out;
}

/** BERT's CJK ideograph blocks: each such character becomes its own word. */
function isChineseChar(codePoint: number): boolean {
  return (
    (codePoint >= 0x4e00 && codePoint <= 0x9fff) ||
    (codePoint >= 0x3400 && codePoint <= 0x4dbf) ||
    (codePoint >= 0x20000 && codePoint <= 0x2a6df) ||
    (codePoint >= 0x2a700 && codePoint <= 0x2b73f) ||
    (codePoint >= 0x2b740 && codePoint <= 0x2b81f) ||
    (codePoint >= 0x2b920 && codePoint <= 0x2ceaf) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0x2f800 && codePoint <= 0x2fa1f)
  );
}

/** Tab, newline and carriage return count as whitespace, not control characters, in BERT. */
const BERT_WHITESPACE = /^[\t\n\r\p{White_Space}]$/u;
const OTHER = /^\p{C}$/u;
const NON_SPACING_MARK = /\p{Mn}/gu;
const MARK = /\p{M}/gu;

/** BertNormalizer: clean text, isolate CJK ideographs, strip accents, lowercase (in that order). */
function bertNormalizer(json: JsonObject): Normalize {
  const where = 'normalizer BertNormalizer';
  const cleanText = boolField(json, 'clean_text', where, true);
  const handleChineseChars = boolField(json, 'handle_chinese_chars', where, true);
  const doLowercase = boolField(json, 'lowercase', where, true);
  // strip_accents: null means "as lowercase"
  const stripAccents = json['strip_accents'] === null || json['strip_accents'] === undefined ? doLowercase : boolField(json, 'strip_accents', where, doLowercase);
  return (text) => {
    let out = text;
    if (cleanText || handleChineseChars) {
      out = '';
      for (const char of text) {
        const codePoint = char.codePointAt(0)!;
        if (cleanText) {
          if (codePoint === 0 || codePoint === 0xfffd) continue;
          if (BERT_WHITESPACE.test(char)) {
            out += ' ';
            continue;
          }
          if (OTHER.test(char)) continue;
        }
        out += handleChineseChars && isChineseChar(codePoint) ? ` ${char} ` : char;
      }
    }
    if (stripAccents) out = out.normalize('NFD').replace(NON_SPACING_MARK, '');
    if (doLowercase) out = lowercase(out);
    return out;
  };
}

/** Strips White_Space at the start and/or end. */
function strip(left: boolean, right: boolean): Normalize {
  return (text) => {
    let out = text;
    if (left) out = out.replace(/^\p{White_Space}+/u, '');
    if (right) out = out.replace(/\p{White_Space}+$/u, '');
    return out;
  };
}

/** The normalizer of a tokenizer.json (`null` for none). */
export function normalizerFromJson(value: unknown, where = 'normalizer'): Normalize | null {
  if (value === null || value === undefined) return null;
  const json = asObject(value, where);
  const type = json['type'];
  switch (type) {
    case 'Sequence': {
      const parts = asArray(json['normalizers'], `${where}.normalizers`).map((part, i) => normalizerFromJson(part, `${where}.normalizers[${i}]`));
      const steps = parts.filter((part): part is Normalize => part !== null);
      return (text) => steps.reduce((out, step) => step(out), text);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (text) => text.normalize(type);
    case 'Lowercase':
      return lowercase;
    case 'StripAccents':
      // every combining mark (Hugging Face's is_combining_mark); usually after NFD
      return (text) => text.replace(MARK, '');
    case 'Strip':
      return strip(boolField(json, 'strip_left', where, true), boolField(json, 'strip_right', where, true));
    case 'Replace': {
      const pattern = patternFromJson(json['pattern'], `${where}.pattern`);
      const content = stringField(json, 'content', where);
      return (text) => text.replace(pattern, () => content);
    }
    case 'Prepend': {
      const prepend = stringField(json, 'prepend', where);
      return (text) => (text.length === 0 ? text : prepend + text);
    }
    case 'BertNormalizer':
      return bertNormalizer(json);
    default:
      throw unsupportedComponent('normalizer', type, SUPPORTED);
  }
}
