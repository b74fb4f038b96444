/**
 * Multinomial logistic regression on sparse rows with an L2 penalty, as scikit-learn's
 * LogisticRegression(C, solver='lbfgs') defines it: minimise
 *   C · Σ_i s_i · CE(softmax(W x_i + b), y_i) + ½ ‖W‖²
 * (the intercept b is not penalised; s_i is the example's class weight). Solved by L-BFGS on the
 * objective divided by C · Σ s_i, which has the same minimum and a gradient of a scale that does
 * not depend on C or N.
 *
 * K = classes, F = features, N = examples.
 */
import { lbfgs } from './lbfgs.js';
import type { SparseRow } from './vectorizer.js';

export interface LogisticRegressionOptions {
  /** Inverse regularisation strength, scikit-learn's C. */
  c: number;
  /** Weight of each class's examples in the loss; null weighs every example 1. */
  classWeights?: readonly number[] | null;
  /** A previous solution (e.g. for a neighbouring C) to start from. */
  init?: LogisticRegressionWeights;
  /** Gradient tolerance of the scaled objective. @default 1e-6 */
  tolerance?: number;
  /** L-BFGS iterations at most. @default 1000 */
  maxIterations?: number;
}

export interface LogisticRegressionWeights {
  /** (K, F) row-major. */
  coef: Float64Array;
  /** (K) */
  intercept: Float64Array;
  numClasses: number;
  numFeatures: number;
}

/** Softmax of W x + b for one sparse row, into `out` (K). */
export function rowProbabilities(w: LogisticRegressionWeights, row: SparseRow, out: Float64Array = new Float64Array(w.numClasses)): Float64Array {
  const { coef, intercept, numClasses: K, numFeatures: F } = w;
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < K; k++) {
    let z = intercept[k]!;
    for (let j = 0; j < row.indices.length; j++) z += coef[k * F + row.indices[j]!]! * row.values[j]!;
    out[k] = z;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) sum += out[k] = Math.exp(out[k]! - max);
  for (let k = 0; k < K; k++) out[k]! /= sum;
  return out;
}

/**
 * Fits the weights on N rows with labels in 0..K-1.
 * @example fitLogisticRegression(vectorizer.transform(texts), labels, 2, 3, { c: 4 })
 */
export function fitLogisticRegression(
  rows: readonly SparseRow[],
  labels: readonly number[],
  numClasses: number,
  numFeatures: number,
  options: LogisticRegressionOptions,
): LogisticRegressionWeights & { converged: boolean; iterations: number } {
  const K = numClasses;
  const F = numFeatures;
  if (rows.length !== labels.length) throw new RangeError(`fitLogisticRegression: ${rows.length} rows but ${labels.length} labels`);
  if (rows.length === 0) throw new RangeError('fitLogisticRegression: no examples to fit');
  if (!(options.c > 0 && Number.isFinite(options.c))) throw new RangeError(`fitLogisticRegression: C must be a positive number, got ${options.c}`);
  const weights = rows.map((_, i) => {
    const y = labels[i]!;
    if (!(Number.isInteger(y) && y >= 0 && y < K)) throw new RangeError(`fitLogisticRegression: label ${y} of example ${i} is outside 0..${K - 1}`);
    return options.classWeights?.[y] ?? 1;
  });
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const penalty = 1 / (options.c * totalWeight); // ½‖W‖² over C·Σs, after scaling by 1 / (C·Σs)
  const probabilities = new Float64Array(K);
  const objective = (x: Float64Array, grad: Float64Array): number => {
    const w: LogisticRegressionWeights = { coef: x.subarray(0, K * F), intercept: x.subarray(K * F), numClasses: K, numFeatures: F };
    grad.fill(0);
    let loss = 0;
    rows.forEach((row, i) => {
      rowProbabilities(w, row, probabilities);
      const s = weights[i]! / totalWeight;
      const y = labels[i]!;
      loss -= s * Math.log(Math.max(probabilities[y]!, 1e-300));
      for (let k = 0; k < K; k++) {
        const r = s * (probabilities[k]! - (k === y ? 1 : 0));
        grad[K * F + k]! += r;
        for (let j = 0; j < row.indices.length; j++) grad[k * F + row.indices[j]!]! += r * row.values[j]!;
      }
    });
    let squares = 0;
    for (let i = 0; i < K * F; i++) {
      squares += x[i]! * x[i]!;
      grad[i]! += penalty * x[i]!;
    }
    return loss + 0.5 * penalty * squares;
  };
  const x0 = new Float64Array(K * F + K);
  if (options.init !== undefined) {
    x0.set(options.init.coef, 0);
    x0.set(options.init.intercept, K * F);
  }
  const result = lbfgs(objective, x0, { gradientTolerance: options.tolerance ?? 1e-6, maxIterations: options.maxIterations ?? 1000 });
  return {
    coef: result.x.slice(0, K * F),
    intercept: result.x.slice(K * F),
    numClasses: K,
    numFeatures: F,
    converged: result.converged,
    iterations: result.iterations,
  };
}
