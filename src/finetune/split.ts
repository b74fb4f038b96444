/** Stratified splits of labelled examples: each class divided in the same proportions. */
import { SeededRandom } from '../data/random.js';

/**
 * Indices of `labels` split into parts of the given fractions (the rest goes to the first part,
 * 'train'), class by class after a seeded shuffle, so each part keeps the class balance. Each
 * part's indices are shuffled together at the end.
 * @example stratifiedSplit(ids, { val: 0.1, test: 0.1 }, 7) // { train, val, test }
 */
export function stratifiedSplit<K extends string>(labels: readonly number[], fractions: Record<K, number>, seed: number): Record<K | 'train', number[]> {
  const random = new SeededRandom(seed);
  const keys = Object.keys(fractions) as K[];
  const parts = { train: [] as number[] } as Record<K | 'train', number[]>;
  for (const k of keys) parts[k] = [];
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => byClass.set(label, [...(byClass.get(label) ?? []), i]));
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label)!;
    const order = random.permutation(members.length).map((j) => members[j]!);
    let start = 0;
    for (const k of keys) {
      const n = Math.round(fractions[k] * members.length);
      parts[k].push(...order.slice(start, start + n));
      start += n;
    }
    parts.train.push(...order.slice(start));
  }
  for (const k of ['train', ...keys] as (K | 'train')[]) {
    const part = parts[k];
    parts[k] = random.permutation(part.length).map((j) => part[j]!);
  }
  return parts;
}

/** A stratified subsample of at most `size` indices from `indices` (all of them when fewer). */
export function stratifiedSubsample(indices: readonly number[], labels: readonly number[], size: number, seed: number): number[] {
  if (size >= indices.length) return [...indices];
  const sub = stratifiedSplit(indices.map((i) => labels[i]!), { keep: size / indices.length }, seed).keep;
  return sub.map((j) => indices[j]!);
}
