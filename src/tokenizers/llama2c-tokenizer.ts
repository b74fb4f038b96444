/**
 * llama2.c's `tokenizer.bin` and the SentencePiece-style tokenizer its run.c implements.
 *
 * File layout (little-endian): int32 max_token_length, then for each token id in order:
 * float32 score, int32 byte length, the piece's bytes (not NUL-terminated). The pieces are
 * SentencePiece's with '▁' already turned into ' '; ids 0, 1, 2 are <unk>, BOS and EOS, and
 * ids 3..258 are the byte tokens `<0x00>`..`<0xFF>`.
 *
 * encode follows run.c: optional BOS, a "dummy prefix" space for non-empty text, one token per
 * UTF-8 codepoint found in the vocabulary (else its bytes as byte tokens, id = byte + 3), then
 * repeatedly merge the adjacent pair whose concatenation is a piece with the highest score
 * (the leftmost on ties) until no pair merges. decode follows run.c too: a piece right after BOS
 * loses its leading space, and `<0xXX>` pieces become raw bytes.
 *
 * {@link Llama2cTokenizer.toTokenizerJson} gives the same tokenizer in Hugging Face's Llama form
 * (see there), which Kiln's HfTokenizer and Hugging Face's `tokenizers` both run.
 */
import { readFileSync } from 'node:fs';
import { HfTokenizer } from './hf-tokenizer.js';
import { specialAddedToken, type TokenizerJson } from './tokenizer.js';

export const LLAMA2C_BOS = 1;
export const LLAMA2C_EOS = 2;
/** run.c's byte fallback: the byte token for byte b has id b + 3. */
const BYTE_TOKEN_OFFSET = 3;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

export interface Llama2cEncodeOptions {
  /** Prepend BOS (1), as run.c does for a prompt. @default true */
  bos?: boolean;
  /** Append EOS (2). @default false */
  eos?: boolean;
}

export class Llama2cTokenizer {
  /** The longest piece in bytes, from the file's header. */
  readonly maxTokenLength: number;
  readonly #pieces: Uint8Array[];
  readonly #scores: Float32Array;
  /** Piece bytes as a latin1 string -> id (the first id when a piece repeats). */
  readonly #lookup = new Map<string, number>();

  constructor(pieces: Uint8Array[], scores: Float32Array, maxTokenLength: number) {
    if (pieces.length !== scores.length) throw new RangeError(`Llama2cTokenizer: ${pieces.length} pieces but ${scores.length} scores`);
    this.#pieces = pieces;
    this.#scores = scores;
    this.maxTokenLength = maxTokenLength;
    pieces.forEach((piece, id) => {
      const key = Buffer.from(piece).toString('latin1');
      if (!this.#lookup.has(key)) this.#lookup.set(key, id);
    });
  }

  /**
   * Parses tokenizer.bin's bytes. Reads pieces to the end of the file, or exactly `vocabSize`
   * of them when given (run.c takes the count from the model); a truncated or inconsistent file
   * is an error naming the token and offset.
   */
  static fromBytes(bytes: Uint8Array, vocabSize?: number, source = 'tokenizer.bin'): Llama2cTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const fail = (problem: string): never => {
      throw new Error(`llama2.c tokenizer ${source}: ${problem}`);
    };
    if (bytes.length < 4) fail(`the file has ${bytes.length} bytes, too few for the max_token_length header`);
    const maxTokenLength = view.getInt32(0, true);
    if (maxTokenLength < 1) fail(`max_token_length is ${maxTokenLength}; is this a tokenizer.bin?`);
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let offset = 4;
    while (vocabSize === undefined ? offset < bytes.length : pieces.length < vocabSize) {
      const id = pieces.length;
      if (offset + 8 > bytes.length) fail(`token ${id} at byte ${offset}: the file ends inside its score/length${vocabSize === undefined ? '' : ` (expected ${vocabSize} tokens)`}`);
      const score = view.getFloat32(offset, true);
      const length = view.getInt32(offset + 4, true);
      if (length < 0 || length > maxTokenLength) fail(`token ${id} at byte ${offset}: length ${length} is outside [0, max_token_length ${maxTokenLength}]`);
      if (offset + 8 + length > bytes.length) fail(`token ${id} at byte ${offset}: its ${length} bytes run past the end of the file`);
      pieces.push(bytes.slice(offset + 8, offset + 8 + length));
      scores.push(score);
      offset += 8 + length;
    }
    if (pieces.length < BYTE_TOKEN_OFFSET + 256) {
      fail(`it has ${pieces.length} tokens; llama2.c's layout needs at least ${BYTE_TOKEN_OFFSET + 256} (<unk>, BOS, EOS and 256 byte tokens)`);
    }
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxTokenLength);
  }

  /** Reads a tokenizer.bin file (see {@link fromBytes}). */
  static fromFile(file: string, vocabSize?: number): Llama2cTokenizer {
    return Llama2cTokenizer.fromBytes(readFileSync(file), vocabSize, file);
  }

  get vocabSize(): number {
    return this.#pieces.length;
  }

  /** The piece of `id` as text (byte tokens as written, `<0xXX>`). */
  piece(id: number): string {
    const bytes = this.#pieces[id];
    if (bytes === undefined) throw new RangeError(`Llama2cTokenizer: id ${id} is outside [0, ${this.vocabSize})`);
    return Buffer.from(bytes).toString('utf8');
  }

  score(id: number): number {
    return this.#scores[id]!;
  }

  /** Text -> ids, as run.c's encode(). */
  encode(text: string, options: Llama2cEncodeOptions = {}): number[] {
    const ids: number[] = options.bos ?? true ? [LLAMA2C_BOS] : [];
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > 0) ids.push(this.#idOf(' ', 'the dummy-prefix space'));
    for (let i = 0; i < bytes.length; ) {
      let n = 1;
      while (i + n < bytes.length && (bytes[i + n]! & 0xc0) === 0x80 && n < 4) n++; // a UTF-8 codepoint's continuation bytes
      const codepoint = bytes.subarray(i, i + n);
      const id = this.#lookup.get(codepoint.toString('latin1'));
      if (id !== undefined) ids.push(id);
      else for (const b of codepoint) ids.push(b + BYTE_TOKEN_OFFSET); // byte fallback
      i += n;
    }
    const keyOf = (id: number): string => Buffer.from(this.#pieces[id]!).toString('latin1');
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIndex = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const merged = this.#lookup.get(keyOf(ids[i]!) + keyOf(ids[i + 1]!));
        if (merged !== undefined && this.#scores[merged]! > bestScore) {
          bestScore = this.#scores[merged]!;
          bestId = merged;
          bestIndex = i;
        }
      }
      if (bestIndex === -1) break;
      ids.splice(bestIndex, 2, bestId);
    }
    if (options.eos ?? false) ids.push(LLAMA2C_EOS);
    return ids;
  }

  /**
   * Ids -> text, as run.c's decode() applied token by token: BOS and EOS produce nothing, the
   * piece after BOS drops a leading space (the dummy prefix), `<0xXX>` pieces are raw bytes.
   * The bytes are then read as UTF-8 (invalid sequences become U+FFFD).
   */
  decode(ids: ArrayLike<number>): string {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`Llama2cTokenizer.decode: id ${id} is outside [0, ${this.vocabSize})`);
      if (id === LLAMA2C_BOS || id === LLAMA2C_EOS) continue;
      let piece = this.#pieces[id]!;
      if (i > 0 && ids[i - 1] === LLAMA2C_BOS && piece[0] === 0x20) piece = piece.subarray(1);
      const byte = BYTE_PIECE.exec(Buffer.from(piece).toString('latin1'));
      chunks.push(byte === null ? piece : Uint8Array.of(Number.parseInt(byte[1]!, 16)));
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * The tokenizer in Hugging Face's Llama 2 tokenizer.json form: a BPE model with byte fallback
   * over the same ids, `▁` for the space, `<unk>`/`<s>`/`</s>` as ids 0/1/2, a normalizer that
   * prepends `▁` (run.c's dummy prefix) and replaces spaces, `<s>` added by the post-processor
   * (encode with `addSpecialTokens`), and Llama's decoder chain.
   *
   * run.c merges by piece score; a BPE file merges by rank. The merges are every split of a
   * piece into two pieces of the vocabulary, ranked by the merged piece's score (highest first),
   * then by the left and right ids — the order Hugging Face's own SentencePiece conversion uses.
   * Where pieces tie in score, run.c takes the leftmost pair and the ranks decide instead, so the
   * two can differ on such vocabularies (llama2.c's trained vocabularies have distinct scores).
   */
  toTokenizerJson(): TokenizerJson {
    const SPACE = '\u2581';
    const specials = ['<unk>', '<s>', '</s>'];
    const vocab: Record<string, number> = {};
    const tokenOf: string[] = [];
    this.#pieces.forEach((bytes, id) => {
      const token = id < specials.length ? specials[id]! : Buffer.from(bytes).toString('utf8').replaceAll(' ', SPACE);
      tokenOf.push(token);
      if (!Object.hasOwn(vocab, token)) vocab[token] = id; // a repeated piece keeps its first id, as run.c's lookup does
    });
    const merges: { left: string; right: string; score: number; leftId: number; rightId: number }[] = [];
    for (let id = BYTE_TOKEN_OFFSET + 256; id < tokenOf.length; id++) {
      const token = tokenOf[id]!;
      if (vocab[token] !== id) continue;
      const chars = Array.from(token);
      for (let cut = 1; cut < chars.length; cut++) {
        const left = chars.slice(0, cut).join('');
        const right = chars.slice(cut).join('');
        const leftId = vocab[left];
        const rightId = vocab[right];
        if (leftId !== undefined && rightId !== undefined) merges.push({ left, right, score: this.#scores[id]!, leftId, rightId });
      }
    }
    merges.sort((a, b) => b.score - a.score || a.leftId - b.leftId || a.rightId - b.rightId);
    const template = (withPair: boolean): Record<string, unknown>[] => [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      ...(withPair ? [{ SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }] : []),
    ];
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: specials.map((content, id) => ({ ...specialAddedToken(content, id), normalized: false })),
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: SPACE },
          { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
        ],
      },
      pre_tokenizer: null,
      post_processor: {
        type: 'TemplateProcessing',
        single: template(false),
        pair: template(true),
        special_tokens: { '<s>': { id: '<s>', ids: [LLAMA2C_BOS], tokens: ['<s>'] } },
      },
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: '<unk>',
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        ignore_merges: false,
        vocab,
        merges: merges.map(({ left, right }) => [left, right]),
      },
      kiln: { tokenizer: 'hf', special_tokens: { unk: '<unk>', bos: '<s>', eos: '</s>' } },
    };
  }

  /** {@link toTokenizerJson} as a Kiln Tokenizer (save it with saveTokenizer). */
  toHfTokenizer(): HfTokenizer {
    return HfTokenizer.fromJSON(this.toTokenizerJson());
  }

  #idOf(piece: string, what: string): number {
    const id = this.#lookup.get(Buffer.from(piece, 'utf8').toString('latin1'));
    if (id === undefined) throw new Error(`Llama2cTokenizer: the vocabulary has no piece ${JSON.stringify(piece)} (${what})`);
    return id;
  }
}
