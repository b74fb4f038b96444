/**
 * Metrics of fine-tuned models, computed from plain arrays: classification (accuracy, macro-F1,
 * per-class precision/recall/F1, confusion matrix) and generation (exact match, ROUGE-L).
 */

/** Per-class scores; a class nothing was predicted as (or that never occurs) scores 0 there, as scikit-learn's zero_division=0. */
export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Examples whose true class this is. */
  support: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  /** Unweighted mean of the per-class F1 over every class. */
  macro_f1: number;
  perClass: ClassScores[];
  /** confusion[trueClass][predictedClass] = count. */
  confusion: number[][];
  /** Number of examples. */
  count: number;
}

/**
 * Scores predicted class ids against true ones, for classes 0..labels.length-1.
 * @example classificationMetrics([0, 1, 1], [0, 1, 0], ['ham', 'spam']).macro_f1
 */
export function classificationMetrics(truth: readonly number[], predicted: readonly number[], labels: readonly string[]): ClassificationMetrics {
  if (truth.length !== predicted.length) {
    throw new RangeError(`classificationMetrics: ${truth.length} true labels but ${predicted.length} predictions; pass one prediction per example`);
  }
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  truth.forEach((t, i) => {
    const p = predicted[i]!;
    if (!(t >= 0 && t < k && p >= 0 && p < k)) throw new RangeError(`classificationMetrics: class ids must be in [0, ${k}), got true ${t} and predicted ${p} at ${i}`);
    confusion[t]![p]!++;
  });
  let correct = 0;
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    correct += tp;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predictedAs === 0 ? 0 : tp / predictedAs;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support };
  });
  const count = truth.length;
  return {
    accuracy: count === 0 ? 0 : correct / count,
    macro_f1: k === 0 ? 0 : perClass.reduce((a, s) => a + s.f1, 0) / k,
    perClass,
    confusion,
    count,
  };
}

/** Whitespace-separated tokens: what ROUGE-L compares. */
function words(text: string): string[] {
  return text.trim().split(/\s+/).filter((w) => w !== '');
}

/** Length of the longest common subsequence of two sequences (dynamic programming, O(n·m)). */
export function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * ROUGE-L F1 of one candidate against one reference, over whitespace tokens (Lin, 2004, β = 1):
 * P = LCS/|candidate|, R = LCS/|reference|, F = 2PR/(P + R). Two empty texts score 1.
 */
export function rougeL(candidate: string, reference: string): number {
  const c = words(candidate);
  const r = words(reference);
  if (c.length === 0 && r.length === 0) return 1;
  const lcs = lcsLength(c, r);
  if (lcs === 0) return 0;
  const precision = lcs / c.length;
  const recall = lcs / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Whether two texts are equal after trimming surrounding whitespace. */
export function exactMatch(candidate: string, reference: string): boolean {
  return candidate.trim() === reference.trim();
}

export interface GenerationMetrics {
  /** Fraction of completions equal to the reference (trimmed). */
  exact_match: number;
  /** Mean ROUGE-L F1. */
  rouge_l: number;
  count: number;
}

export function generationMetrics(candidates: readonly string[], references: readonly string[]): GenerationMetrics {
  if (candidates.length !== references.length) {
    throw new RangeError(`generationMetrics: ${candidates.length} candidates but ${references.length} references`);
  }
  const n = candidates.length;
  if (n === 0) return { exact_match: 0, rouge_l: 0, count: 0 };
  let em = 0;
  let rouge = 0;
  candidates.forEach((c, i) => {
    if (exactMatch(c, references[i]!)) em++;
    rouge += rougeL(c, references[i]!);
  });
  return { exact_match: em / n, rouge_l: rouge / n, count: n };
}
