/**
 * Character-level tokenizer: one token per Unicode code point (an emoji outside the BMP is one
 * token, not two UTF-16 halves). Ids follow nanoGPT's `sorted(set(text))`: the distinct
 * characters in code-point order get 0..n-1, then the special tokens follow.
 *
 * Saved as a Hugging Face tokenizer.json that `tokenizers` can load and run: a `WordLevel` model
 * whose vocabulary is the characters, a `Split` pre-tokenizer that isolates every character
 * (regex `[\s\S]`), and a `Fuse` decoder that joins the pieces without spaces. One difference:
 * Hugging Face always reads special tokens written in the text, Kiln only with `allowSpecial`.
 */
import { ROLES, SpecialTokens, checkRoles, SpecialTokenAccessors } from './special-tokens.js';
import {
  checkTokenId,
  specialAddedToken,
  type DecodeOptions,
  type EncodeOptions,
  type SpecialTokenRoles,
  type Tokenizer,
  type TokenizerJson,
} from './tokenizer.js';

export interface CharTokenizerOptions {
  /**
   * Special tokens to add after the characters, by role (eos, bos, pad, unk, mask, cls, sep).
   * Each must be a string that is not a single character of the vocabulary. They get the ids
   * after the characters, in that role order (a text given to two roles gets one id). With
   * `unk`, characters outside the vocabulary encode as the unk token instead of throwing.
   * @default {}
   * @example { eos: '<eos>', unk: '<unk>' }
   * @example { pad: '[PAD]', mask: '[MASK]' } // masked-LM pretraining: tokenizer.maskId, tokenizer.padId
   */
  specialTokens?: SpecialTokenRoles;
}

/** Hugging Face `Split` pattern for "every character on its own": `.` skips newlines. */
const EACH_CHARACTER = '[\\s\\S]';

function describeCharacter(char: string): string {
  const codePoint = char.codePointAt(0)!;
  return `${JSON.stringify(char)} (U+${codePoint.toString(16).toUpperCase().padStart(4, '0')})`;
}

function lineAndColumn(text: string, index: number): string {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  const column = index - (before.lastIndexOf('\n') + 1) + 1;
  return `line ${line}, column ${column}`;
}

function isSingleCodePoint(text: string): boolean {
  return text.length > 0 && text.length === String.fromCodePoint(text.codePointAt(0)!).length;
}

export class CharTokenizer extends SpecialTokenAccessors implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  /** The characters of the vocabulary in id order (from `fromText`: `characters[id]` has that id). */
  readonly characters: readonly string[];
  protected readonly special: SpecialTokens;
  /** id → the text it decodes to (characters and special tokens). */
  private readonly textOf: (string | undefined)[];
  private readonly idOfCodePoint = new Map<number, number>();

  /** `characterOfId[id]`: the character with that id, or a hole where a special token's id is. */
  private constructor(characterOfId: (string | undefined)[], specialIds: Map<string, number>, roles: SpecialTokenRoles, owner: string) {
    super();
    this.special = new SpecialTokens(specialIds, roles, owner);
    this.textOf = [];
    characterOfId.forEach((char, id) => {
      if (char === undefined) return;
      this.idOfCodePoint.set(char.codePointAt(0)!, id);
      this.textOf[id] = char;
    });
    this.characters = Object.freeze(this.textOf.filter((c): c is string => c !== undefined));
    for (const [text, id] of specialIds) {
      if (isSingleCodePoint(text) && this.idOfCodePoint.has(text.codePointAt(0)!)) {
        throw new RangeError(
          `${owner}: special token ${describeCharacter(text)} is also a character of the vocabulary; ` +
            `use a string that never occurs as a character, such as '<unk>'`,
        );
      }
      if (this.textOf[id] !== undefined) {
        throw new RangeError(`${owner}: id ${id} is given to both ${JSON.stringify(this.textOf[id])} and the special token ${JSON.stringify(text)}`);
      }
      this.textOf[id] = text;
    }
    this.vocabSize = this.textOf.length;
  }

  /**
   * Builds the vocabulary from the distinct code points of `text`.
   * @example CharTokenizer.fromText(corpus, { specialTokens: { eos: '<eos>' } })
   */
  static fromText(text: string, options: CharTokenizerOptions = {}): CharTokenizer {
    const owner = 'CharTokenizer.fromText';
    if (typeof text !== 'string') throw new TypeError(`${owner}: text must be a string, got ${typeof text}`);
    for (const key of Object.keys(options)) {
      if (key !== 'specialTokens') throw new TypeError(`${owner}: unknown option '${key}'; the options are specialTokens`);
    }
    const roles = checkRoles(options.specialTokens, owner);
    const codePoints = new Set<number>();
    for (const char of text) codePoints.add(char.codePointAt(0)!);
    if (codePoints.size === 0) throw new RangeError(`${owner}: the text is empty, so there are no characters to build a vocabulary from`);
    const characters = [...codePoints].sort((a, b) => a - b).map((c) => String.fromCodePoint(c));
    const specialIds = new Map<string, number>();
    for (const role of ROLES) {
      const token = roles[role];
      if (token !== undefined && !specialIds.has(token)) specialIds.set(token, characters.length + specialIds.size);
    }
    return new CharTokenizer(characters, specialIds, roles, owner);
  }

  /**
   * Reads the tokenizer.json object that {@link toJSON} writes. Roles come from its `kiln`
   * section (loadTokenizer fills it from tokenizer_config.json); without one, from the model's
   * `unk_token` only.
   */
  static fromJSON(json: TokenizerJson | Record<string, unknown>): CharTokenizer {
    const owner = 'CharTokenizer.fromJSON';
    const model = json['model'] as Record<string, unknown> | undefined;
    if (model?.['type'] !== 'WordLevel' || typeof model['vocab'] !== 'object' || model['vocab'] === null) {
      throw new TypeError(`${owner}: expected model.type 'WordLevel' with a vocab object, got model.type ${JSON.stringify(model?.['type'])}`);
    }
    const added = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as Record<string, unknown>[]) : [];
    const specialIds = new Map<string, number>();
    for (const token of added) {
      if (typeof token['content'] !== 'string' || !Number.isInteger(token['id'])) {
        throw new TypeError(`${owner}: added_tokens entries need a string content and an integer id, got ${JSON.stringify(token)}`);
      }
      specialIds.set(token['content'], token['id'] as number);
    }
    const kiln = json['kiln'] as Record<string, unknown> | undefined;
    let roles: SpecialTokenRoles = checkRoles(kiln?.['special_tokens'], `${owner} (kiln.special_tokens)`);
    const unkToken = model['unk_token'];
    if (kiln === undefined && typeof unkToken === 'string' && specialIds.has(unkToken)) roles = { unk: unkToken };

    const characters: (string | undefined)[] = [];
    const seen = new Map<number, string>();
    for (const [token, id] of Object.entries(model['vocab'] as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0) {
        throw new TypeError(`${owner}: vocab entry ${JSON.stringify(token)} has id ${JSON.stringify(id)}; ids are non-negative integers`);
      }
      const other = seen.get(id as number);
      if (other !== undefined) throw new RangeError(`${owner}: id ${String(id)} is given to both ${JSON.stringify(other)} and ${JSON.stringify(token)}`);
      seen.set(id as number, token);
      if (specialIds.has(token)) {
        if (specialIds.get(token) !== id) {
          throw new RangeError(`${owner}: special token ${JSON.stringify(token)} has id ${String(specialIds.get(token))} in added_tokens but ${String(id)} in the vocab`);
        }
        continue;
      }
      if (!isSingleCodePoint(token)) {
        throw new TypeError(
          `${owner}: vocab entry ${JSON.stringify(token)} is not a single character, so this WordLevel tokenizer is not a ` +
            `character tokenizer; Kiln loads WordLevel files only in the form CharTokenizer writes`,
        );
      }
      characters[id as number] = token;
    }
    const specialIdSet = new Set(specialIds.values());
    for (let id = 0; id < characters.length; id++) {
      if (characters[id] === undefined && !specialIdSet.has(id)) {
        throw new RangeError(`${owner}: no token has id ${id}; ids must run 0..n-1 without gaps`);
      }
    }
    return new CharTokenizer(characters, specialIds, roles, owner);
  }

  /**
   * One id per code point. A character outside the vocabulary throws (naming it and where it
   * is), or becomes `unkId` when the tokenizer has an unk token.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TypeError(`CharTokenizer.encode: text must be a string, got ${typeof text}`);
    const ids: number[] = [];
    const unk = this.unkId;
    this.special.walk(
      text,
      options.allowSpecial === true,
      (segment, offset) => {
        for (let i = 0; i < segment.length; ) {
          const codePoint = segment.codePointAt(i)!;
          const id = this.idOfCodePoint.get(codePoint);
          if (id !== undefined) ids.push(id);
          else if (unk !== undefined) ids.push(unk);
          else {
            const index = offset + i;
            throw new RangeError(
              `CharTokenizer.encode: character ${describeCharacter(String.fromCodePoint(codePoint))} at index ${index} ` +
                `(${lineAndColumn(text, index)}) is not in the vocabulary of ${this.characters.length} characters; build ` +
                `the tokenizer from text that contains it, or give it an unk token (specialTokens: { unk: '<unk>' })`,
            );
          }
          i += codePoint > 0xffff ? 2 : 1;
        }
      },
      (id) => ids.push(id),
    );
    return ids;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens === true ? new Set(this.special.ids.values()) : undefined;
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const piece = this.textOf[ids[i]!];
      checkTokenId(ids[i]!, i, piece !== undefined, this.vocabSize, 'CharTokenizer');
      if (skip?.has(ids[i]!) !== true) text += piece;
    }
    return text;
  }

  toJSON(): TokenizerJson {
    const vocab: Record<string, number> = Object.fromEntries(
      this.textOf.flatMap((text, id) => (text === undefined ? [] : [[text, id]])),
    );
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [...this.special.ids].map(([content, id]) => specialAddedToken(content, id)),
      normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: EACH_CHARACTER }, behavior: 'Isolated', invert: false },
      post_processor: null,
      decoder: { type: 'Fuse' },
      // Hugging Face requires unk_token; one that is not in the vocab makes unknown characters an error there too
      model: { type: 'WordLevel', vocab, unk_token: this.roles.unk ?? '<unk>' },
      kiln: { tokenizer: 'char', special_tokens: { ...this.roles } },
    };
  }
}
