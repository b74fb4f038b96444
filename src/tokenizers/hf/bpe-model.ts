/**
 * The `BPE` model of tokenizer.json, as Hugging Face's `tokenizers` runs it: a piece is split
 * into characters (the first plain, later ones with `continuing_subword_prefix`, the last with
 * `end_of_word_suffix`), characters outside the vocabulary become `<0xNN>` byte tokens
 * (`byte_fallback`) or the unk token (consecutive ones fused with `fuse_unk`), then merges apply
 * by rank in Hugging Face's order (bpe-merges.ts). Covers GPT-2/RoBERTa byte-level files and
 * Llama/SentencePiece-style files alike.
 *
 * As in Hugging Face, a character with no token, no byte fallback and no unk token is dropped.
 */
import { BpeMerges } from '../bpe-merges.js';
import { asArray, boolField, type JsonObject } from './json-fields.js';

function optionalString(json: JsonObject, key: string): string | null {
  const value = json[key];
  if (value === null || value === undefined || value === '') return null;
  if (typeof value !== 'string') throw new TypeError(`tokenizer.json: model.${key} must be a string or null, got ${JSON.stringify(value)}`);
  return value;
}

export class BpeModel {
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly merges: BpeMerges;
  private readonly unkId: number | null;
  private readonly fuseUnk: boolean;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  private readonly prefix: string | null;
  private readonly suffix: string | null;
  /** byte → id of `<0xNN>`, when the vocabulary has it. */
  private readonly byteTokenIds: (number | undefined)[] = [];
  private readonly cache = new Map<string, readonly number[]>();

  constructor(model: JsonObject, vocab: ReadonlyMap<string, number>) {
    this.vocab = vocab;
    const dropout = model['dropout'];
    if (dropout !== null && dropout !== undefined && dropout !== 0 && dropout !== 1) {
      throw new TypeError(`tokenizer.json: model.dropout is ${JSON.stringify(dropout)}; BPE dropout is random at encode time, which Kiln does not do — set it to null`);
    }
    this.fuseUnk = boolField(model, 'fuse_unk', 'model', false);
    this.byteFallback = boolField(model, 'byte_fallback', 'model', false);
    this.ignoreMerges = boolField(model, 'ignore_merges', 'model', false);
    this.prefix = optionalString(model, 'continuing_subword_prefix');
    this.suffix = optionalString(model, 'end_of_word_suffix');
    const unk = optionalString(model, 'unk_token');
    this.unkId = unk === null ? null : (vocab.get(unk) ?? null);
    if (unk !== null && this.unkId === null) throw new RangeError(`tokenizer.json: model.unk_token ${JSON.stringify(unk)} is not in model.vocab`);
    for (let b = 0; b < 256; b++) this.byteTokenIds[b] = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

    const prefixLength = this.prefix?.length ?? 0;
    const idOf = (token: string, index: number): number => {
      const id = vocab.get(token);
      if (id === undefined) throw new RangeError(`tokenizer.json: model.merges[${index}] uses ${JSON.stringify(token)}, which is not in model.vocab`);
      return id;
    };
    const merges = asArray(model['merges'] ?? [], 'model.merges').map((merge, index) => {
      let parts: unknown = merge;
      if (typeof merge === 'string') parts = merge.split(' ');
      if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string') {
        throw new TypeError(`tokenizer.json: model.merges[${index}] is ${JSON.stringify(merge)}; expected "left right" or ["left", "right"]`);
      }
      const [left, right] = parts as [string, string];
      return [idOf(left, index), idOf(right, index), idOf(left + right.slice(prefixLength), index)] as const;
    });
    this.merges = new BpeMerges(merges, 'hf');
  }

  /** One pre-tokenized piece → ids. */
  tokenize(piece: string): readonly number[] {
    if (piece.length === 0) return [];
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    const ids = this.tokenizeUncached(piece);
    if (this.cache.size >= 100_000) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  private tokenizeUncached(piece: string): number[] {
    if (this.ignoreMerges) {
      const whole = this.vocab.get(piece);
      if (whole !== undefined) return [whole];
    }
    const symbols: number[] = [];
    let pendingUnk = false;
    const chars = Array.from(piece);
    chars.forEach((char, i) => {
      let text = char;
      if (i > 0 && this.prefix !== null) text = this.prefix + text;
      if (i === chars.length - 1 && this.suffix !== null) text += this.suffix;
      const id = this.vocab.get(text);
      if (id !== undefined) {
        if (pendingUnk) symbols.push(this.unkId!);
        pendingUnk = false;
        symbols.push(id);
        return;
      }
      if (this.byteFallback) {
        const bytes = Buffer.from(text, 'utf8');
        const byteIds = Array.from(bytes, (b) => this.byteTokenIds[b]);
        if (byteIds.every((b) => b !== undefined)) {
          symbols.push(...(byteIds as number[]));
          return;
        }
      }
      if (this.unkId === null) return;
      if (pendingUnk && !this.fuseUnk) symbols.push(this.unkId);
      pendingUnk = true;
    });
    if (pendingUnk) symbols.push(this.unkId!);
    return this.merges.apply(symbols);
  }
}
