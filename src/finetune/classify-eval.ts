/** Running a classifier over encoded texts without gradients: probabilities, predictions, loss. */
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { SequenceClassifier } from './classifier.js';
import { padBatch } from './batches.js';
import { type ClassificationMetrics, classificationMetrics } from './metrics.js';

export interface ClassifierOutputs {
  /** probabilities[i][k]: softmax of example i's logits. */
  probabilities: number[][];
  /** argmax class per example. */
  predictions: number[];
}

/**
 * Probabilities for each sequence, in eval mode (training mode is restored), batch by batch.
 * Sequences are sorted by length first so that batches carry little padding.
 */
export function classify(classifier: SequenceClassifier, sequences: readonly (readonly number[])[], padId: number, batchSize = 32): ClassifierOutputs {
  const order = sequences.map((s, i) => [s.length, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  const probabilities = new Array<number[]>(sequences.length);
  const wasTraining = classifier.training;
  classifier.eval();
  try {
    noGrad(() => {
      for (let start = 0; start < order.length; start += batchSize) {
        const indices = order.slice(start, start + batchSize);
        const rows = scope(() => {
          const { ids, lengths } = padBatch(indices.map((i) => sequences[i]!), padId);
          return classifier.forward(ids, lengths).softmax(1).toArray() as number[][]; // (B, K)
        });
        indices.forEach((i, r) => (probabilities[i] = rows[r]!));
      }
    });
  } finally {
    classifier.train(wasTraining);
  }
  return { probabilities, predictions: probabilities.map((p) => p.indexOf(Math.max(...p))) };
}

export interface ClassifierEvaluation extends ClassificationMetrics {
  /** Mean cross-entropy (nats) of the true labels. */
  loss: number;
  predictions: number[];
}

/** Metrics and mean loss of a classifier on labelled sequences. */
export function evaluateClassifier(
  classifier: SequenceClassifier,
  sequences: readonly (readonly number[])[],
  labels: readonly number[],
  padId: number,
  batchSize = 32,
): ClassifierEvaluation {
  return scoreProbabilities(classify(classifier, sequences, padId, batchSize).probabilities, labels, classifier.labels);
}

/**
 * Scores any model's class probabilities against true labels: the metrics, the argmax
 * predictions and the mean cross-entropy (probabilities floored at 1e-12).
 */
export function scoreProbabilities(probabilities: readonly (readonly number[])[], labels: readonly number[], labelNames: readonly string[]): ClassifierEvaluation {
  const predictions = probabilities.map((p) => p.indexOf(Math.max(...p)));
  const loss = labels.length === 0 ? Number.NaN : -labels.reduce((sum, y, i) => sum + Math.log(Math.min(1, Math.max(probabilities[i]![y]!, 1e-12))), 0) / labels.length;
  return { ...classificationMetrics(labels, predictions, labelNames), loss, predictions };
}
