/**
 * trainImageClassifier: the training loop of `kiln pretrain|finetune --task image-classification`
 * as a library call. Batches come from an ImageSource with prefetch (decoding overlaps the
 * step), are augmented and normalised, and train the model with AdamW on a cosine schedule
 * (linear warm-up); one memory scope per step. Logs go to metrics.jsonl and `onLog`; the
 * validation set is evaluated at the end of every epoch.
 *
 * Modes: 'full' trains every parameter; 'freeze' trains the head alone and keeps the rest of
 * the network (BatchNorm statistics included) as it is.
 */
import { appendFileSync } from 'node:fs';
import { crossEntropy } from '../nn/functional.js';
import { AdamW } from '../optim/adamw.js';
import { CosineLR } from '../optim/schedules/cosine.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import type { AugmentOptions } from './augment.js';
import { evaluateImageClassifier } from './evaluate-images.js';
import { ImageBatches } from './image-batches.js';
import type { ImageSource } from './image-source.js';
import type { ImageClassifier } from './models/image-classifier.js';
import { type Normalization, pixelsToTensor } from './normalize.js';

export type FinetuneMode = 'full' | 'freeze';

export interface ImageTrainSettings {
  /** Passes over the training images. @default 1 */
  epochs: number;
  /** @default 64 */
  batchSize: number;
  /** Peak learning rate (AdamW). @default 1e-3 */
  lr: number;
  /** AdamW's decoupled weight decay (not applied to biases and norm weights). @default 1e-4 */
  weightDecay: number;
  /** Steps of linear warm-up; the cosine decay then runs to 0 at the last step. @default 5% of the steps, at most 200 */
  warmupSteps: number | null;
  /** Seeds the order, the augmentation and nothing else (the model is built before). @default 0 */
  seed: number;
  /** @default 'full' */
  mode: FinetuneMode;
  /** @default no augmentation */
  augment: AugmentOptions;
  /** Log the training loss every this many steps. @default 50 */
  logEvery: number;
}

export const IMAGE_TRAIN_DEFAULTS: ImageTrainSettings = {
  epochs: 1, batchSize: 64, lr: 1e-3, weightDecay: 1e-4, warmupSteps: null, seed: 0, mode: 'full', augment: {}, logEvery: 50,
};

/** One line of metrics.jsonl. */
export interface ImageTrainLog {
  step: number;
  /** Mean training loss since the previous line (nats). */
  loss: number;
  /** On end-of-epoch lines, when there is a validation set. */
  val_loss?: number;
  val_accuracy?: number;
  lr: number;
  elapsed_s: number;
}

export interface TrainImageOptions {
  model: ImageClassifier;
  train: ImageSource;
  val?: ImageSource | null;
  normalization: Normalization;
  settings?: Partial<ImageTrainSettings>;
  /** metrics.jsonl to append to. @default none */
  metricsFile?: string;
  onLog?: (log: ImageTrainLog, info: { totalSteps: number; isEval: boolean }) => void;
}

export interface ImageTrainResult {
  steps: number;
  /** Validation accuracy after the last epoch, or null without a validation set. */
  valAccuracy: number | null;
  seconds: number;
}

/** Sets train mode on the head and, unless `freeze`, the rest; a frozen body stays in eval mode. */
function setModes(model: ImageClassifier, mode: FinetuneMode): void {
  model.train();
  if (mode === 'full') return;
  for (const [name, module] of model.namedModules()) {
    if (name !== '' && name !== model.headName && !name.startsWith(model.headName + '.')) module.training = false;
  }
}

/** Trains `model` in place; see the module comment. */
export async function trainImageClassifier(options: TrainImageOptions): Promise<ImageTrainResult> {
  const s: ImageTrainSettings = { ...IMAGE_TRAIN_DEFAULTS, ...options.settings };
  const { model, train, normalization } = options;
  if (train.length === 0) throw new RangeError('trainImageClassifier: no training images');
  if (train.classNames.length > model.numClasses) {
    throw new RangeError(`trainImageClassifier: the data has ${train.classNames.length} classes, the model's head only ${model.numClasses}`);
  }
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw new RangeError(`trainImageClassifier: epochs must be a positive integer, got ${s.epochs}`);
  if (s.mode === 'freeze') {
    model.freeze();
    model.unfreeze(model.headName);
  } else {
    model.requiresGrad_(true);
  }
  // No weight decay on biases and BatchNorm/LayerNorm weights (1-D parameters), as is usual.
  const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);
  const decay = trainable.filter(([, p]) => p.ndim >= 2).map(([, p]) => p);
  const noDecay = trainable.filter(([, p]) => p.ndim < 2).map(([, p]) => p);
  const optimizer = new AdamW(
    [
      { params: decay, weightDecay: s.weightDecay },
      { params: noDecay, weightDecay: 0 },
    ],
    { lr: s.lr },
  );
  // A small data set keeps its last partial batch: a few-shot run must see every image.
  const batches = new ImageBatches(train, { batchSize: s.batchSize, shuffle: true, seed: s.seed, augment: s.augment, dropLast: train.length >= 4 * s.batchSize });
  const totalSteps = batches.length * s.epochs;
  const warmupSteps = s.warmupSteps ?? Math.min(200, Math.floor(totalSteps * 0.05));
  const scheduler = new CosineLR(optimizer, { warmupSteps, totalSteps });
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const log = (entry: ImageTrainLog, isEval: boolean): void => {
    if (options.metricsFile !== undefined) appendFileSync(options.metricsFile, JSON.stringify(entry) + '\n');
    options.onLog?.(entry, { totalSteps, isEval });
  };

  let step = 0;
  let lossSum = 0;
  let lossCount = 0;
  /** The mean loss of the last regular line: an epoch that ends right after one repeats it. */
  let lastLoss = Number.NaN;
  let valAccuracy: number | null = null;
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    setModes(model, s.mode);
    for await (const batch of batches) {
      const lr = scheduler.lastLr[0]!;
      // One step per scope: the batch, activations and gradient temporaries are freed at its end.
      const loss = scope(() => {
        optimizer.zeroGrad();
        const x = pixelsToTensor(batch.pixels, batch.shape, normalization); // (B, C, H, W)
        const y = tensor(batch.labels).long(); // (B)
        const lossTensor = crossEntropy(model.forward(x), y);
        lossTensor.backward();
        optimizer.step();
        return lossTensor.item();
      });
      if (!Number.isFinite(loss)) throw new Error(`trainImageClassifier: the loss became ${loss} at step ${step + 1}; lower --lr`);
      scheduler.step();
      step++;
      lossSum += loss;
      lossCount++;
      if (step % s.logEvery === 0) {
        lastLoss = lossSum / lossCount;
        log({ step, loss: lastLoss, lr, elapsed_s: elapsed() }, false);
        lossSum = 0;
        lossCount = 0;
      }
    }
    if (options.val != null && options.val.length > 0) {
      const evaluation = await evaluateImageClassifier(model, options.val, normalization, { batchSize: Math.max(s.batchSize, 256) });
      valAccuracy = evaluation.accuracy;
      const trainLoss = lossCount > 0 ? lossSum / lossCount : lastLoss;
      log({ step, loss: trainLoss, val_loss: evaluation.loss, val_accuracy: evaluation.accuracy, lr: scheduler.lastLr[0]!, elapsed_s: elapsed() }, true);
    } else if (lossCount > 0) {
      log({ step, loss: lossSum / lossCount, lr: scheduler.lastLr[0]!, elapsed_s: elapsed() }, false);
    }
    lossSum = 0;
    lossCount = 0;
  }
  model.requiresGrad_(true);
  model.eval();
  return { steps: step, valAccuracy, seconds: elapsed() };
}
