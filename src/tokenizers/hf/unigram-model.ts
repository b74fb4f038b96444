/**
 * The `Unigram` model of tokenizer.json (SentencePiece's unigram language model: T5, ALBERT, XLNet,
 * the Universal Sentence Encoder), as Hugging Face's `tokenizers` runs it: the piece is cut into
 * the vocabulary entries whose scores (log-probabilities) sum highest — Viterbi over every
 * segmentation. A character no entry starts with becomes the unk token at the unk score (the
 * lowest score less 10, as `tokenizers` gives it), and with `fuse_unk` (the default) a run of them
 * is one unk token.
 *
 * `model.vocab` is an array of `[piece, score]`; a piece's id is its index.
 */
import { asArray, boolField, type JsonObject } from './json-fields.js';

/** How far below the lowest piece score an unknown character scores (`tokenizers`' K_UNK_PENALTY). */
const UNK_PENALTY = 10;

/** Reads `model.vocab` of a Unigram model: [[piece, score], …] → piece texts and scores by id. */
export function unigramVocab(model: JsonObject): { pieces: string[]; scores: number[] } {
  const pieces: string[] = [];
  const scores: number[] = [];
  for (const [id, entry] of asArray(model['vocab'], 'model.vocab').entries()) {
    const pair = Array.isArray(entry) ? entry : [];
    if (typeof pair[0] !== 'string' || (typeof pair[1] !== 'number' && pair[1] !== null) || pair.length !== 2) {
      throw new TypeError(`tokenizer.json: model.vocab[${id}] must be [piece, score], got ${JSON.stringify(entry)}`);
    }
    pieces.push(pair[0]);
    scores.push(pair[1] ?? 0);
  }
  return { pieces, scores };
}

export class UnigramModel {
  private readonly byPiece = new Map<string, { id: number; score: number }>();
  private readonly longest: number;
  private readonly unkId: number | undefined;
  private readonly unkScore: number;
  private readonly fuseUnk: boolean;

  constructor(model: JsonObject, pieces: readonly string[], scores: readonly number[]) {
    const unk = model['unk_id'] ?? null;
    if (unk !== null && (!Number.isInteger(unk) || (unk as number) < 0 || (unk as number) >= pieces.length)) {
      throw new TypeError(`tokenizer.json: model.unk_id must be null or an id below ${pieces.length}, got ${JSON.stringify(unk)}`);
    }
    this.unkId = unk === null ? undefined : (unk as number);
    this.fuseUnk = boolField(model, 'fuse_unk', 'model', true);
    let longest = 1;
    let lowest = Infinity;
    for (const [id, piece] of pieces.entries()) {
      if (id === this.unkId || piece === '' || this.byPiece.has(piece)) continue;
      this.byPiece.set(piece, { id, score: scores[id]! });
      longest = Math.max(longest, Array.from(piece).length);
      lowest = Math.min(lowest, scores[id]!);
    }
    this.longest = longest;
    this.unkScore = (Number.isFinite(lowest) ? lowest : 0) - UNK_PENALTY;
  }

  tokenize(piece: string): number[] {
    const chars = Array.from(piece);
    const n = chars.length;
    // best[i]: the highest score of a segmentation of chars[0, i); from[i], id[i]: its last token
    const best = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1);
    const id = new Int32Array(n + 1).fill(-1);
    best[0] = 0;
    for (let start = 0; start < n; start++) {
      if (best[start] === -Infinity) continue;
      let text = '';
      let single = false;
      for (let end = start + 1; end <= Math.min(n, start + this.longest); end++) {
        text += chars[end - 1];
        const entry = this.byPiece.get(text);
        if (entry === undefined) continue;
        if (end === start + 1) single = true;
        const score = best[start]! + entry.score;
        if (score > best[end]!) {
          best[end] = score;
          from[end] = start;
          id[end] = entry.id;
        }
      }
      if (!single) {
        const score = best[start]! + this.unkScore;
        if (score > best[start + 1]!) {
          best[start + 1] = score;
          from[start + 1] = start;
          id[start + 1] = -1; // unknown
        }
      }
    }
    const out: number[] = [];
    for (let end = n; end > 0; end = from[end]!) {
      if (id[end] !== -1) {
        out.push(id[end]!);
        continue;
      }
      if (this.unkId === undefined) {
        throw new RangeError(`Unigram: ${JSON.stringify(chars[end - 1])} is in no vocabulary entry and the model has no unk_id`);
      }
      if (!(this.fuseUnk && out.length > 0 && out[out.length - 1] === this.unkId)) out.push(this.unkId);
    }
    return out.reverse();
  }
}
