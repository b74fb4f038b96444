/**
 * tokenizer.json pre-tokenizers: cut normalized text into the pieces the model tokenizes one by
 * one, following Hugging Face's `tokenizers`.
 */
import { BYTE_TO_CHAR, GPT2_PRETOKENIZER_SOURCE, appendUtf8 } from '../byte-level.js';
import { asArray, asObject, boolField, stringField, unsupportedComponent, type JsonObject } from './json-fields.js';
import { patternFromJson } from './pattern.js';

/** A piece of text; `first` when it starts at the very beginning of the input. */
export interface Piece {
  text: string;
  first: boolean;
}

export type PreTokenize = (pieces: Piece[]) => Piece[];

const SUPPORTED = ['Sequence', 'ByteLevel', 'Metaspace', 'Whitespace', 'WhitespaceSplit', 'BertPreTokenizer', 'Punctuation', 'Digits', 'Split', 'CharDelimiterSplit'];

/** How the matches of a split pattern join the text around them. */
type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly Behavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** [start, end, isMatch] segments that tile a text. */
type Segment = [number, number, boolean];

/** Segments of `text` from a regex (each match one segment, the gaps between as non-matches). */
function regexSegments(text: string, regex: RegExp): Segment[] {
  const segments: Segment[] = [];
  let previous = 0;
  regex.lastIndex = 0;
  for (const match of text.matchAll(regex)) {
    if (match[0].length === 0) continue;
    if (match.index > previous) segments.push([previous, match.index, false]);
    segments.push([match.index, match.index + match[0].length, true]);
    previous = match.index + match[0].length;
  }
  if (previous < text.length) segments.push([previous, text.length, false]);
  return segments;
}

/** Segments of `text` where every character passing `test` is a match of its own. */
function charSegments(text: string, test: (char: string) => boolean): Segment[] {
  const segments: Segment[] = [];
  let start = 0;
  let at = 0;
  for (const char of text) {
    if (test(char)) {
      if (at > start) segments.push([start, at, false]);
      segments.push([at, at + char.length, true]);
      start = at + char.length;
    }
    at += char.length;
  }
  if (at > start) segments.push([start, at, false]);
  return segments;
}

/** Hugging Face's NormalizedString::split on precomputed segments. */
function splitSegments(piece: Piece, segments: Segment[], behavior: Behavior, invert = false): Piece[] {
  const marked: Segment[] = invert ? segments.map(([s, e, m]) => [s, e, !m]) : segments;
  let kept: Segment[];
  switch (behavior) {
    case 'Removed':
      kept = marked.filter(([, , m]) => !m);
      break;
    case 'Isolated':
      kept = marked;
      break;
    case 'Contiguous': {
      kept = [];
      let previousMatch = false;
      for (const [s, e, m] of marked) {
        const last = kept[kept.length - 1];
        if (m === previousMatch && last !== undefined) last[1] = e;
        else kept.push([s, e, m]);
        previousMatch = m;
      }
      break;
    }
    case 'MergedWithPrevious': {
      kept = [];
      let previousMatch = false;
      for (const [s, e, m] of marked) {
        const last = kept[kept.length - 1];
        if (m && !previousMatch && last !== undefined) last[1] = e;
        else kept.push([s, e, m]);
        previousMatch = m;
      }
      break;
    }
    case 'MergedWithNext': {
      kept = [];
      let previousMatch = false;
      for (let i = marked.length - 1; i >= 0; i--) {
        const [s, e, m] = marked[i]!;
        const last = kept[kept.length - 1];
        if (m && !previousMatch && last !== undefined) last[0] = s;
        else kept.push([s, e, m]);
        previousMatch = m;
      }
      kept.reverse();
      break;
    }
  }
  return kept
    .filter(([s, e]) => e > s)
    .map(([s, e]) => ({ text: piece.text.slice(s, e), first: piece.first && s === 0 }));
}

function behaviorField(json: JsonObject, where: string, fallback: Behavior): Behavior {
  const value = json['behavior'] ?? fallback;
  if (!(BEHAVIORS as readonly unknown[]).includes(value)) {
    throw new TypeError(`tokenizer.json: ${where}.behavior must be one of ${BEHAVIORS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as Behavior;
}

const WHITE_SPACE = /^\p{White_Space}$/u;
/** BERT's punctuation: any ASCII punctuation (also $+<=>^`|~) or Unicode punctuation (P*). */
const BERT_PUNCTUATION = /^[!-/:-@[-`{-~\p{P}]$/u;
const NUMERIC = /^\p{N}$/u;
/** Rust regex's `\w+|[^\w\s]+`, with Unicode \w (alphabetic, marks, digits, connectors). */
const WHITESPACE_WORDS = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;
const WHITE_SPACE_RUNS = /\p{White_Space}+/gu;

/** A piece's UTF-8 bytes spelled with GPT-2's byte characters. */
function toByteChars(text: string): string {
  const bytes: number[] = [];
  appendUtf8(text, 0, bytes);
  let out = '';
  for (const b of bytes) out += BYTE_TO_CHAR[b];
  return out;
}

function byteLevel(json: JsonObject, where: string): PreTokenize {
  const addPrefixSpace = boolField(json, 'add_prefix_space', where, true);
  const useRegex = boolField(json, 'use_regex', where, true);
  const regex = new RegExp(GPT2_PRETOKENIZER_SOURCE, 'gu');
  return (pieces) =>
    pieces.flatMap((piece) => {
      const spaced = addPrefixSpace && !piece.text.startsWith(' ') ? { text: ' ' + piece.text, first: piece.first } : piece;
      const split = useRegex ? splitSegments(spaced, regexSegments(spaced.text, regex), 'Isolated') : [spaced];
      return split.map((p) => ({ text: toByteChars(p.text), first: p.first }));
    });
}

function metaspace(json: JsonObject, where: string): PreTokenize {
  const replacement = stringField(json, 'replacement', where, '\u2581');
  // files before prepend_scheme had add_prefix_space: true = 'always', false = 'never'
  const legacy = json['add_prefix_space'];
  const scheme = json['prepend_scheme'] ?? (legacy === false ? 'never' : 'always');
  if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') {
    throw new TypeError(`tokenizer.json: ${where}.prepend_scheme must be always, first or never, got ${JSON.stringify(scheme)}`);
  }
  const split = boolField(json, 'split', where, true);
  const splitRegex = new RegExp(replacement.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'gu');
  return (pieces) =>
    pieces.flatMap((piece) => {
      let text = piece.text.replaceAll(' ', replacement);
      const prepend = scheme === 'always' || (scheme === 'first' && piece.first);
      if (prepend && !text.startsWith(replacement)) text = replacement + text;
      const replaced = { text, first: piece.first };
      return split ? splitSegments(replaced, regexSegments(text, splitRegex), 'MergedWithNext') : [replaced];
    });
}

/** The pre-tokenizer of a tokenizer.json (`null` for none). */
export function preTokenizerFromJson(value: unknown, where = 'pre_tokenizer'): PreTokenize | null {
  if (value === null || value === undefined) return null;
  const json = asObject(value, where);
  const type = json['type'];
  const each = (segmentsOf: (text: string) => Segment[], behavior: Behavior, invert = false): PreTokenize => (pieces) =>
    pieces.flatMap((piece) => splitSegments(piece, segmentsOf(piece.text), behavior, invert));
  switch (type) {
    case 'Sequence': {
      const steps = asArray(json['pretokenizers'], `${where}.pretokenizers`)
        .map((part, i) => preTokenizerFromJson(part, `${where}.pretokenizers[${i}]`))
        .filter((step): step is PreTokenize => step !== null);
      return (pieces) => steps.reduce((out, step) => step(out), pieces);
    }
    case 'ByteLevel':
      return byteLevel(json, `${where} ByteLevel`);
    case 'Metaspace':
      return metaspace(json, `${where} Metaspace`);
    case 'Whitespace':
      return each((text) => regexSegments(text, WHITESPACE_WORDS), 'Removed', true);
    case 'WhitespaceSplit':
      return each((text) => regexSegments(text, WHITE_SPACE_RUNS), 'Removed');
    case 'BertPreTokenizer': {
      const words = each((text) => regexSegments(text, WHITE_SPACE_RUNS), 'Removed');
      const punctuation = each((text) => charSegments(text, (c) => BERT_PUNCTUATION.test(c)), 'Isolated');
      return (pieces) => punctuation(words(pieces));
    }
    case 'Punctuation':
      return each((text) => charSegments(text, (c) => BERT_PUNCTUATION.test(c)), behaviorField(json, `${where} Punctuation`, 'Isolated'));
    case 'Digits': {
      const individual = boolField(json, 'individual_digits', `${where} Digits`, false);
      return each((text) => charSegments(text, (c) => NUMERIC.test(c)), individual ? 'Isolated' : 'Contiguous');
    }
    case 'Split': {
      const regex = patternFromJson(json['pattern'], `${where} Split.pattern`);
      const behavior = behaviorField(json, `${where} Split`, 'Isolated');
      return each((text) => regexSegments(text, regex), behavior, boolField(json, 'invert', `${where} Split`, false));
    }
    case 'CharDelimiterSplit': {
      const delimiter = stringField(json, 'delimiter', `${where} CharDelimiterSplit`);
      return each((text) => charSegments(text, (c) => c === delimiter), 'Removed');
    }
    default:
      throw unsupportedComponent('pre_tokenizer', type, SUPPORTED);
  }
}

/** Whether a character is White_Space (for added tokens' lstrip/rstrip). */
export function isWhiteSpace(char: string): boolean {
  return WHITE_SPACE.test(char);
}
