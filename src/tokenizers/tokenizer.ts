/**
 * What every Kiln tokenizer offers: text → token ids and back, its special tokens, and its
 * Hugging Face `tokenizer.json` form (the file a model folder carries).
 */

/** Options for {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Whether a special token's text written in the input (e.g. `<|endoftext|>`) becomes the
   * special token's id. Off by default, so that text from a corpus or a user cannot smuggle
   * control tokens in: the string is tokenized as ordinary text, as GPT-2's own encoder does.
   * Between documents, append {@link Tokenizer.eosId} yourself.
   * @default false
   * @example tokenizer.encode('a<|endoftext|>b', { allowSpecial: true }) // [64, 50256, 65]
   */
  allowSpecial?: boolean;
  /**
   * Whether to add the special tokens a tokenizer.json's post-processor puts around a sequence,
   * as Hugging Face's `encode` does by default: BERT's `[CLS] … [SEP]`, Llama's `<s> …`. A
   * prompt for a Llama model wants it (its BOS); a corpus for pretraining does not. Kiln's char
   * and GPT-2 tokenizers have no post-processor, so for them it changes nothing.
   * @default false
   */
  addSpecialTokens?: boolean;
}

/** Options for {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /**
   * Leave the special tokens out of the text (Hugging Face's `skip_special_tokens`).
   * @default false
   */
  skipSpecialTokens?: boolean;
}

/**
 * Special tokens by role, each given as the token's text.
 * @example { eos: '<|endoftext|>' }
 */
export interface SpecialTokenRoles {
  /** End of sequence / document separator. */
  eos?: string;
  /** Beginning of sequence. */
  bos?: string;
  /** Padding for batches of unequal length. */
  pad?: string;
  /** Stands for any input the vocabulary cannot spell. */
  unk?: string;
  /** The masked-LM mask token (BERT's `[MASK]`). */
  mask?: string;
  /** Classification token at the start of a sequence (BERT's `[CLS]`). */
  cls?: string;
  /** Separator after a sequence (BERT's `[SEP]`). */
  sep?: string;
}

export type SpecialTokenRole = keyof SpecialTokenRoles;

/**
 * The kinds of tokenizer Kiln implements: its character tokenizer, GPT-2-style byte-level BPE,
 * and 'hf', any other tokenizer.json pipeline (BPE, WordPiece or WordLevel model with
 * normalizers, pre-tokenizers, post-processor and decoder) run by {@link HfTokenizer}.
 */
export type TokenizerKind = 'char' | 'byte-level-bpe' | 'hf';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** One more than the largest id: the row count an embedding table needs. */
  readonly vocabSize: number;
  /** Every special token: its text → its id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** The special tokens by role, as text. */
  readonly roles: Readonly<SpecialTokenRoles>;
  readonly eosId: number | undefined;
  readonly bosId: number | undefined;
  readonly padId: number | undefined;
  readonly unkId: number | undefined;
  readonly maskId: number | undefined;
  readonly clsId: number | undefined;
  readonly sepId: number | undefined;
  /** Text → token ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /**
   * Token ids → text; `decode(encode(text)) === text` for any text the char and byte-level BPE
   * tokenizers can encode (a normalizing tokenizer such as BERT's lowercases on the way).
   */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** The Hugging Face `tokenizer.json` object (write it with `JSON.stringify` or `saveTokenizer`). */
  toJSON(): TokenizerJson;
}

/** An entry of `added_tokens` in tokenizer.json. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/**
 * Kiln's section of a tokenizer.json object in memory: what tokenizer.json cannot say (which
 * special token plays which role, which Kiln class reads it). Hugging Face's `tokenizers`
 * refuses files with unknown top-level keys, so saveTokenizer leaves it out of the file and
 * writes the roles to tokenizer_config.json; files written by earlier Kiln versions with the
 * section still load.
 */
export interface KilnTokenizerSection {
  tokenizer?: TokenizerKind;
  special_tokens: SpecialTokenRoles;
}

/** The shape of a Hugging Face `tokenizer.json` file, as far as Kiln writes it. */
export interface TokenizerJson {
  version: '1.0';
  truncation: Record<string, unknown> | null;
  padding: Record<string, unknown> | null;
  added_tokens: AddedTokenJson[];
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown> | null;
  model: { type: string; vocab: Record<string, number> } & Record<string, unknown>;
  /** Kiln's roles, in memory only: saveTokenizer writes them to tokenizer_config.json instead. */
  kiln?: KilnTokenizerSection;
}

/** An added token as Hugging Face writes it for a special token. */
export function specialAddedToken(content: string, id: number): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** Throws unless `id` (at `position` in the input of `decode`) is an id the tokenizer has. */
export function checkTokenId(id: number, position: number, known: boolean, vocabSize: number, owner: string): void {
  if (!known) {
    const what = !Number.isInteger(id)
      ? 'is not an integer'
      : id >= 0 && id < vocabSize
        ? 'is not assigned to any token'
        : `is outside [0, ${vocabSize})`;
    throw new RangeError(`${owner}.decode: id ${String(id)} at position ${position} ${what}; ids come from this tokenizer's encode()`);
  }
}
