/**
 * TF-IDF features of texts, as scikit-learn's TfidfVectorizer computes them, for two analyzers
 * side by side (a FeatureUnion): word n-grams and character n-grams inside word boundaries.
 * Each analyzer's block of a row is L2-normalised on its own, then the blocks are concatenated.
 *
 * - word: lowercased tokens of two or more word characters (scikit-learn's
 *   `(?u)\b\w\w+\b`), n-grams joined by one space;
 * - char_wb: lowercased, whitespace runs collapsed, each word padded with a space on both
 *   sides, n-grams of its characters (a word shorter than n counts once, as scikit-learn).
 * Term frequency is sublinear (1 + ln tf); idf is smooth: ln((1 + n) / (1 + df)) + 1.
 *
 * F = features (vocabulary size), N = texts.
 */

export type Analyzer = 'word' | 'char_wb';

/** One analyzer's settings. */
export interface AnalyzerSettings {
  analyzer: Analyzer;
  /** Shortest and longest n-gram, in tokens (word) or characters (char_wb). */
  ngramRange: [number, number];
  /** Keep n-grams that occur in at least this many training texts. */
  minDf: number;
}

/** A sparse row: feature indices (ascending) and their values. */
export interface SparseRow {
  indices: Int32Array;
  values: Float64Array;
}

/** What `kiln finetune --from baseline:tfidf` uses: word 1–2-grams and character 2–5-grams. */
export const DEFAULT_ANALYZERS: readonly AnalyzerSettings[] = Object.freeze([
  { analyzer: 'word', ngramRange: [1, 2], minDf: 2 },
  { analyzer: 'char_wb', ngramRange: [2, 5], minDf: 2 },
] as AnalyzerSettings[]);

const WORD_TOKEN = /[\p{L}\p{N}_]{2,}/gu;

function wordNgrams(text: string, [minN, maxN]: [number, number]): string[] {
  const tokens = text.toLowerCase().match(WORD_TOKEN) ?? [];
  const out: string[] = [];
  for (let n = minN; n <= maxN; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(n === 1 ? tokens[i]! : tokens.slice(i, i + n).join(' '));
  }
  return out;
}

function charWbNgrams(text: string, [minN, maxN]: [number, number]): string[] {
  const out: string[] = [];
  for (const word of text.toLowerCase().split(/\s+/u)) {
    if (word === '') continue;
    const chars = Array.from(` ${word} `); // code points, as Python indexes a str
    for (let n = minN; n <= maxN; n++) {
      let offset = 0;
      out.push(chars.slice(0, n).join(''));
      while (offset + n < chars.length) {
        offset++;
        out.push(chars.slice(offset, offset + n).join(''));
      }
      if (offset === 0) break; // the whole padded word was shorter than n: counted once
    }
  }
  return out;
}

/** The n-grams one analyzer sees in a text, with repeats. */
export function analyze(text: string, settings: AnalyzerSettings): string[] {
  return settings.analyzer === 'word' ? wordNgrams(text, settings.ngramRange) : charWbNgrams(text, settings.ngramRange);
}

function counts(grams: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const g of grams) map.set(g, (map.get(g) ?? 0) + 1);
  return map;
}

/** One analyzer's fitted vocabulary and idf. */
export interface FittedAnalyzer {
  settings: AnalyzerSettings;
  /** Feature names in index order (sorted, as scikit-learn sorts its vocabulary). */
  vocabulary: string[];
  /** idf per feature, in the same order. */
  idf: Float64Array;
}

/** A fitted vectorizer: texts in, sparse TF-IDF rows out. */
export class TfidfVectorizer {
  readonly analyzers: readonly FittedAnalyzer[];
  /** Total features over all analyzers (F). */
  readonly numFeatures: number;
  private readonly lookups: Map<string, number>[];
  private readonly offsets: number[];

  constructor(analyzers: readonly FittedAnalyzer[]) {
    this.analyzers = analyzers;
    this.lookups = analyzers.map((a) => new Map(a.vocabulary.map((term, i) => [term, i])));
    this.offsets = [];
    let offset = 0;
    for (const a of analyzers) {
      if (a.idf.length !== a.vocabulary.length) throw new RangeError(`TfidfVectorizer: ${a.settings.analyzer} has ${a.vocabulary.length} terms but ${a.idf.length} idf values`);
      this.offsets.push(offset);
      offset += a.vocabulary.length;
    }
    this.numFeatures = offset;
  }

  /**
   * Learns each analyzer's vocabulary (n-grams in ≥ minDf texts) and idf from training texts.
   * @example TfidfVectorizer.fit(['good flight', 'bad flight'], DEFAULT_ANALYZERS).transform(['good'])
   */
  static fit(texts: readonly string[], settings: readonly AnalyzerSettings[] = DEFAULT_ANALYZERS): TfidfVectorizer {
    if (texts.length === 0) throw new RangeError('TfidfVectorizer.fit: no texts; it needs the training texts to learn a vocabulary');
    const n = texts.length;
    const fitted = settings.map((s): FittedAnalyzer => {
      const df = new Map<string, number>();
      for (const text of texts) for (const term of new Set(analyze(text, s))) df.set(term, (df.get(term) ?? 0) + 1);
      const vocabulary = [...df.keys()].filter((t) => df.get(t)! >= s.minDf).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const idf = Float64Array.from(vocabulary, (t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1);
      return { settings: s, vocabulary, idf };
    });
    return new TfidfVectorizer(fitted);
  }

  /** One sparse row per text (N rows over F features); a text with no known n-gram is an empty row. */
  transform(texts: readonly string[]): SparseRow[] {
    return texts.map((text) => {
      const indices: number[] = [];
      const values: number[] = [];
      this.analyzers.forEach((a, k) => {
        const lookup = this.lookups[k]!;
        const block: [number, number][] = [];
        for (const [term, tf] of counts(analyze(text, a.settings))) {
          const i = lookup.get(term);
          if (i !== undefined) block.push([i, (1 + Math.log(tf)) * a.idf[i]!]);
        }
        block.sort((x, y) => x[0] - y[0]);
        const norm = Math.sqrt(block.reduce((sum, [, v]) => sum + v * v, 0));
        for (const [i, v] of block) {
          indices.push(this.offsets[k]! + i);
          values.push(v / norm);
        }
      });
      return { indices: Int32Array.from(indices), values: Float64Array.from(values) };
    });
  }
}
