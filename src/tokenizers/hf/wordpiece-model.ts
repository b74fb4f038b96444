/**
 * The `WordPiece` model of tokenizer.json (BERT), as Hugging Face's `tokenizers` runs it: each
 * piece is cut greedily into the longest vocabulary entries from the left, every entry after
 * the first spelled with the `##` continuation prefix; a piece with any part that matches
 * nothing, or longer than `max_input_chars_per_word` characters, becomes the single unk token.
 */
import { intField, stringField, type JsonObject } from './json-fields.js';

export class WordPieceModel {
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly prefix: string;
  private readonly maxChars: number;
  private readonly unkToken: string;
  private readonly unkId: number | undefined;

  constructor(model: JsonObject, vocab: ReadonlyMap<string, number>) {
    this.vocab = vocab;
    this.prefix = stringField(model, 'continuing_subword_prefix', 'model', '##');
    this.maxChars = intField(model, 'max_input_chars_per_word', 'model', 100);
    this.unkToken = stringField(model, 'unk_token', 'model', '[UNK]');
    this.unkId = vocab.get(this.unkToken);
  }

  private unk(piece: string): number[] {
    if (this.unkId === undefined) {
      throw new RangeError(`WordPiece: ${JSON.stringify(piece)} has no spelling in the vocabulary and the unk token ${JSON.stringify(this.unkToken)} is not in it either`);
    }
    return [this.unkId];
  }

  tokenize(piece: string): number[] {
    const chars = Array.from(piece);
    if (chars.length > this.maxChars) return this.unk(piece);
    const ids: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const text = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
        found = this.vocab.get(text);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return this.unk(piece);
      ids.push(found);
      start = end;
    }
    return ids;
  }
}

/** The `WordLevel` model: each piece is one vocabulary entry, or the unk token. */
export class WordLevelModel {
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly unkToken: string;

  constructor(model: JsonObject, vocab: ReadonlyMap<string, number>) {
    this.vocab = vocab;
    this.unkToken = stringField(model, 'unk_token', 'model', '<unk>');
  }

  tokenize(piece: string): number[] {
    const id = this.vocab.get(piece) ?? this.vocab.get(this.unkToken);
    if (id === undefined) {
      throw new RangeError(`WordLevel: ${JSON.stringify(piece)} is not in the vocabulary, and its unk token ${JSON.stringify(this.unkToken)} is not either`);
    }
    return [id];
  }
}
