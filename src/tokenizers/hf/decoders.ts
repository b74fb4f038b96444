/**
 * tokenizer.json decoders: token strings → text, following Hugging Face's `tokenizers`. Each
 * decoder maps the list of token strings to a new list; the last list is joined.
 */
import { CHAR_TO_BYTE } from '../byte-level.js';
import { asArray, asObject, intField, stringField, boolField, unsupportedComponent, type JsonObject } from './json-fields.js';
import { patternFromJson } from './pattern.js';

export type DecodeChain = (tokens: string[]) => string[];

const SUPPORTED = ['Sequence', 'ByteLevel', 'Metaspace', 'WordPiece', 'BPEDecoder', 'ByteFallback', 'Fuse', 'Strip', 'Replace'];

const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });
const STRICT_UTF8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

function byteLevel(tokens: string[]): string[] {
  const bytes: number[] = [];
  for (const token of tokens) {
    const mapped: number[] = [];
    let all = true;
    for (const char of token) {
      const byte = CHAR_TO_BYTE.get(char);
      if (byte === undefined) {
        all = false;
        break;
      }
      mapped.push(byte);
    }
    // a token that is not spelled in byte characters (an added token) passes as its UTF-8
    bytes.push(...(all ? mapped : Buffer.from(token, 'utf8')));
  }
  return [UTF8.decode(Uint8Array.from(bytes))];
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    try {
      out.push(STRICT_UTF8.decode(Uint8Array.from(pending)));
    } catch {
      for (let i = 0; i < pending.length; i++) out.push('\ufffd');
    }
    pending = [];
  };
  for (const token of tokens) {
    const byte = BYTE_TOKEN.exec(token);
    if (byte !== null) pending.push(Number.parseInt(byte[1]!, 16));
    else {
      flush();
      out.push(token);
    }
  }
  flush();
  return out;
}

/** WordPiece's clean-up of spaces before punctuation and in English contractions. */
const CLEANUP: readonly [string, string][] = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [' do not', " don't"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

function cleanup(text: string): string {
  return CLEANUP.reduce((out, [from, to]) => out.replaceAll(from, to), text);
}

function strip(content: string, start: number, stop: number): DecodeChain {
  return (tokens) =>
    tokens.map((token) => {
      const chars = Array.from(token);
      let from = 0;
      while (from < start && from < chars.length && chars[from] === content) from++;
      let to = chars.length;
      while (chars.length - to < stop && to > from && chars[to - 1] === content) to--;
      return chars.slice(from, to).join('');
    });
}

/** The decoder of a tokenizer.json; without one, tokens are joined with spaces. */
export function decoderFromJson(value: unknown, where = 'decoder'): DecodeChain | null {
  if (value === null || value === undefined) return null;
  const json: JsonObject = asObject(value, where);
  const type = json['type'];
  switch (type) {
    case 'Sequence': {
      const steps = asArray(json['decoders'], `${where}.decoders`)
        .map((part, i) => decoderFromJson(part, `${where}.decoders[${i}]`))
        .filter((step): step is DecodeChain => step !== null);
      return (tokens) => steps.reduce((out, step) => step(out), tokens);
    }
    case 'ByteLevel':
      return byteLevel;
    case 'Metaspace': {
      const replacement = stringField(json, 'replacement', where, '\u2581');
      const scheme = json['prepend_scheme'] ?? (json['add_prefix_space'] === false ? 'never' : 'always');
      // the first token loses its replacement characters (the prepended one) unless nothing was prepended
      return (tokens) =>
        tokens.map((token, i) => {
          let out = '';
          for (const char of token) out += char !== replacement ? char : i === 0 && scheme !== 'never' ? '' : ' ';
          return out;
        });
    }
    case 'WordPiece': {
      const prefix = stringField(json, 'prefix', where, '##');
      const doCleanup = boolField(json, 'cleanup', where, true);
      return (tokens) =>
        tokens.map((token, i) => {
          let out = token;
          if (i !== 0) out = out.startsWith(prefix) ? out.replace(prefix, '') : ' ' + out;
          return doCleanup ? cleanup(out) : out;
        });
    }
    case 'BPEDecoder': {
      const suffix = stringField(json, 'suffix', where, '</w>');
      return (tokens) => tokens.map((token, i) => token.replaceAll(suffix, i === tokens.length - 1 ? '' : ' '));
    }
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip':
      return strip(stringField(json, 'content', where), intField(json, 'start', where, 0), intField(json, 'stop', where, 0));
    case 'Replace': {
      const pattern = patternFromJson(json['pattern'], `${where}.pattern`);
      const content = stringField(json, 'content', where);
      return (tokens) => tokens.map((token) => token.replace(pattern, () => content));
    }
    default:
      throw unsupportedComponent('decoder', type, SUPPORTED);
  }
}
