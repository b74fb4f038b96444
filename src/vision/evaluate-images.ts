/**
 * Accuracy, mean cross-entropy and the confusion matrix of an image classifier on an
 * ImageSource, in eval mode and without gradients; the model's mode is restored afterwards.
 *
 * N = images, K = classes.
 */
import { crossEntropy } from '../nn/functional.js';
import { noGrad } from '../tensor/autograd.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import { ImageBatches } from './image-batches.js';
import type { ImageSource } from './image-source.js';
import type { ImageClassifier } from './models/image-classifier.js';
import { type Normalization, pixelsToTensor } from './normalize.js';

export interface ImageEvaluation {
  /** Fraction of images whose arg-max class is the label, in [0, 1]. */
  accuracy: number;
  /** Mean cross-entropy (nats). */
  loss: number;
  /** confusion[label][predicted]: image counts. */
  confusion: number[][];
  /** (N) predicted class of each image, in source order. */
  predictions: Int32Array;
  count: number;
}

/** Evaluates `model` on every image of `source`. */
export async function evaluateImageClassifier(
  model: ImageClassifier,
  source: ImageSource,
  normalization: Normalization,
  options: { batchSize?: number } = {},
): Promise<ImageEvaluation> {
  const K = model.numClasses;
  if (source.classNames.length > K) throw new RangeError(`evaluate: the data has ${source.classNames.length} classes, the model only ${K} outputs`);
  const wasTraining = model.training;
  model.eval();
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const predictions = new Int32Array(source.length);
  let lossSum = 0;
  let correct = 0;
  try {
    for await (const batch of new ImageBatches(source, { batchSize: options.batchSize ?? 256 })) {
      const { predicted, loss } = scope(() =>
        noGrad(() => {
          const logits = model.forward(pixelsToTensor(batch.pixels, batch.shape, normalization)); // (N, K)
          const labels = tensor(batch.labels).long(); // (N)
          const sum = crossEntropy(logits, labels, { reduction: 'sum' }).item();
          return { predicted: logits.argmax(1).toArray() as number[], loss: sum };
        }),
      );
      lossSum += loss;
      predicted.forEach((p, i) => {
        const label = batch.labels[i]!;
        predictions[batch.indices[i]!] = p;
        confusion[label]![p]!++;
        if (p === label) correct++;
      });
    }
  } finally {
    model.train(wasTraining);
  }
  const count = source.length;
  return { accuracy: count === 0 ? Number.NaN : correct / count, loss: count === 0 ? Number.NaN : lossSum / count, confusion, predictions, count };
}
