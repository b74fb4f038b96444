/**
 * Batches of variable-length token sequences: samplers over example indices (shuffled epochs,
 * or class-balanced draws) and right-padding into tensors.
 *
 * B = batch, T = the longest sequence in the batch.
 */
import { SeededRandom } from '../data/random.js';
import { ConfigError } from '../train/config-error.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** Draws batches of example indices, forever. */
export interface IndexSampler {
  next(batchSize: number): number[];
  /** Where the sampler is, as JSON, for a checkpoint; `restore` continues from it. */
  state(): SamplerState;
  restore(state: SamplerState): void;
}

/** The generator's state and the rest of the current epoch's order (an epoch sampler's). */
export interface SamplerState {
  random: number;
  order: number[];
}

/** Shuffled passes over 0..n-1: every example once per epoch. */
export function epochSampler(n: number, seed: number): IndexSampler {
  const random = new SeededRandom(seed);
  let order: number[] = [];
  return {
    next(batchSize) {
      const out: number[] = [];
      while (out.length < batchSize) {
        if (order.length === 0) order = random.permutation(n);
        out.push(order.pop()!);
      }
      return out;
    },
    state: () => ({ random: random.state, order: [...order] }),
    restore(state) {
      random.restore(state.random);
      order = [...state.order];
    },
  };
}

/** Each draw picks a class uniformly, then one of its examples uniformly (with replacement). */
export function balancedSampler(labels: readonly number[], seed: number): IndexSampler {
  const random = new SeededRandom(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => byClass.set(label, [...(byClass.get(label) ?? []), i]));
  const classes = [...byClass.values()];
  return {
    next(batchSize) {
      return Array.from({ length: batchSize }, () => {
        const members = classes[random.int(classes.length)]!;
        return members[random.int(members.length)]!;
      });
    },
    state: () => ({ random: random.state, order: [] }),
    restore: (state) => random.restore(state.random),
  };
}

/** Sequences right-padded with `padValue` to the longest: (B, T) int64, and their lengths (B) int64. */
export function padBatch(sequences: readonly (readonly number[])[], padValue: number): { ids: Tensor; lengths: Tensor } {
  const T = Math.max(...sequences.map((s) => s.length));
  const flat = new Array<number>(sequences.length * T).fill(padValue);
  sequences.forEach((s, b) => s.forEach((id, t) => (flat[b * T + t] = id)));
  return {
    ids: tensor(flat, { dtype: 'int64' }).view(sequences.length, T), // (B, T)
    lengths: tensor(sequences.map((s) => s.length), { dtype: 'int64' }), // (B)
  };
}

/** Inverse-frequency class weights, n / (K · n_c) (scikit-learn's 'balanced'); a class with no examples gets 0. */
export function inverseFrequencyWeights(labels: readonly number[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) counts[l]!++;
  return counts.map((c) => (c === 0 ? 0 : labels.length / (numClasses * c)));
}

/**
 * The loss's class weights a run's `classWeights` setting asks for: null for none, inverse
 * frequency for 'auto', else the given list, which must have one weight per label.
 */
export function resolveClassWeights(setting: 'none' | 'auto' | readonly number[], labels: readonly number[], labelNames: readonly string[]): number[] | null {
  const K = labelNames.length;
  const weights = setting === 'none' ? null : setting === 'auto' ? inverseFrequencyWeights(labels, K) : [...setting];
  if (weights !== null && weights.length !== K) {
    throw new ConfigError(`class-weights has ${weights.length} weights but there are ${K} labels (${labelNames.join(', ')}); give one per label in that order`);
  }
  return weights;
}
