/**
 * One image-classification run, as `kiln pretrain|finetune --task image-classification`
 * performs it: resolve the data, build a model (fresh, or loaded from a model or run folder with
 * a new head when the labels differ), train it in the Trainer every task
 * runs in (src/train/trainer.ts: resume, data parallelism, gradient accumulation, clipping, the
 * best checkpoint, early stopping, a time limit, a clean stop on a signal), and score the best
 * checkpoint on the test images. OUT is a run folder like `kiln finetune`'s: config.json (the
 * run's settings), metrics.jsonl, model/ (the last weights), best/ (the best by validation
 * accuracy; the last without validation images), state/ (for --resume) and eval.json.
 *
 * N = images, C = channels, H = height, W = width, K = classes.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ProcessGroup } from '../distributed/process-group.js';
import { type FinetuneLog, type LoopResult, runTrainer, writeRunConfig } from '../train/trainer.js';
import { crossEntropy } from '../nn/functional.js';
import { AdamW } from '../optim/adamw.js';
import { ConfigError } from '../train/config-error.js';
import { readTrainingState } from '../train/training-state.js';
import { manualSeed, tensor } from '../tensor/creation.js';
import { getNumThreads, setNumThreads } from '../tensor/runtime.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { EVAL_FILE } from '../util/run-files.js';
import type { AugmentOptions } from './augment.js';
import { type ImageEvaluation, evaluateImageClassifier } from './evaluate-images.js';
import { ImageDraws, type LoadedImages } from './image-draws.js';
import { type ImageData, type ImageDataSettings, IMAGE_DATA_DEFAULTS, prepareImageData } from './image-data.js';
import { buildImageClassifier, type ImageModelSpec, loadImageClassifier, saveImageClassifier } from './image-model-folder.js';
import type { ImageArchitecture, ImageClassifier } from './models/image-classifier.js';
import { type Normalization, pixelsToTensor } from './normalize.js';

export type FinetuneMode = 'full' | 'freeze';

/** How an image run trains. */
export interface ImageTrainSettings {
  /** Passes over the training images (unless maxSteps is given). @default 3 */
  epochs: number;
  /** Optimizer steps; null for `epochs` passes. @default null */
  maxSteps: number | null;
  /** Images per micro-batch (per process under `kiln launch`). @default 64 */
  batchSize: number;
  /** Micro-batches per optimizer step: their gradients add up to one batch of gradAccumulation × batchSize. @default 1 */
  gradAccumulation: number;
  /** Peak learning rate (AdamW). @default 1e-3 */
  lr: number;
  /** AdamW's decoupled weight decay (not applied to biases and norm weights). @default 1e-4 */
  weightDecay: number;
  /** Steps of linear warm-up; the cosine decay then runs to 0 at the last step. @default 5% of the steps, at most 200 */
  warmupSteps: number | null;
  /** Gradient-norm clip; 0 is off. @default 0 */
  gradClip: number;
  /** Seeds the order, the augmentation, the split and a new model's weights. @default 0 */
  seed: number;
  /** 'full' trains every parameter; 'freeze' the head alone (the body, BatchNorm statistics included, stays as it is). @default 'full' */
  mode: FinetuneMode;
  /** @default no augmentation */
  augment: AugmentOptions;
  /** Log the training loss every this many steps. @default 50 */
  logEvery: number;
  /** Evaluate on the validation images (and checkpoint) every N steps; null for once an epoch. Always at the end. @default null */
  evalEvery: number | null;
  /** Stop after this many evaluations without a better validation accuracy; 0 never stops early. @default 0 */
  patience: number;
  /** Wall-clock budget in seconds; null for none. @default null */
  timeLimit: number | null;
}

export const IMAGE_TRAIN_DEFAULTS: ImageTrainSettings = {
  epochs: 3, maxSteps: null, batchSize: 64, gradAccumulation: 1, lr: 1e-3, weightDecay: 1e-4, warmupSteps: null, gradClip: 0, seed: 0, mode: 'full', augment: {},
  logEvery: 50, evalEvery: null, patience: 0, timeLimit: null,
};

/** Settings a resumed image run may change; any other difference from the saved run is refused. */
const RESUMABLE: readonly (keyof ImageRunConfig)[] = ['timeLimit', 'threads', 'logEvery', 'evalEvery', 'out'];

/** Model settings a run may give; null picks a default that suits the images. */
export interface ImageModelSettings {
  /** @default 'cnn' */
  arch: ImageArchitecture;
  /** cnn: channels of the first block (the second has twice); resnet: layer1's (then ×2, ×4, ×8). @default 32 (cnn), 64 (resnet) */
  width: number | null;
  /** resnet: 'small' (3×3 stride 1, no pool) or 'imagenet'. @default 'small' for images up to 64 px */
  stem: 'small' | 'imagenet' | null;
  /** vit. @default 4 for images up to 32 px, else 16 */
  patchSize: number | null;
  /** vit. @default 64 */
  hiddenSize: number;
  /** vit: encoder layers. @default 4 */
  layers: number;
  /** vit: attention heads. @default 4 */
  heads: number;
}

export const IMAGE_MODEL_DEFAULTS: ImageModelSettings = { arch: 'cnn', width: null, stem: null, patchSize: null, hiddenSize: 64, layers: 4, heads: 4 };

export interface ImageRunConfig extends ImageDataSettings, ImageTrainSettings, ImageModelSettings {
  /** A model folder (or a run folder: its best/) to start from, or null to start from scratch. */
  from: string | null;
  /** The run folder: config.json, metrics.jsonl, model/, best/, state/, eval.json. */
  out: string;
  /** libtorch intra-op threads. @default libtorch's choice */
  threads: number | null;
}

/** Every setting of an image run with its default, the library's and `kiln … --task image-classification`'s alike. */
export const IMAGE_RUN_DEFAULTS: Readonly<Omit<ImageRunConfig, 'out'>> = Object.freeze({
  ...IMAGE_DATA_DEFAULTS,
  ...IMAGE_TRAIN_DEFAULTS,
  ...IMAGE_MODEL_DEFAULTS,
  from: null,
  threads: null,
});

export interface ImageRunResult extends LoopResult {
  out: string;
  /** Optimizer steps taken (= step). */
  steps: number;
  /** The best checkpoint's validation accuracy (null without validation images). */
  valAccuracy: number | null;
  /** The best checkpoint on the data set's test images (null without them). */
  test: ImageEvaluation | null;
  testAccuracy: number | null;
  /** The head was replaced because the labels changed (fine-tuning from a folder). */
  newHead: boolean;
  parameters: number;
  trainImages: number;
  /** OUT/model (the last weights) and OUT/best (the best by validation accuracy). */
  modelDir: string;
  bestDir: string;
}

/** One line of an image run's metrics.jsonl: step, loss, lr, images_per_s, elapsed_s, and val_loss / val_accuracy on evaluation lines. */
export type ImageTrainLog = FinetuneLog;

export interface ImageRunCallbacks {
  onStart?: (info: { config: Readonly<ImageRunConfig>; data: ImageData; parameters: number; trainable: number; newHead: boolean; maxSteps: number; resumedAt: number | null }) => void;
  onLog?: (log: ImageTrainLog, info: { totalSteps: number; isEval: boolean }) => void;
  /** Continue from OUT/state (a checkpoint of a stopped or killed run); the saved settings apply, and the given ones may change only timeLimit, threads, logEvery, evalEvery. */
  resume?: boolean | undefined;
  /** Stops the run after the current step (evaluated and saved), as Ctrl-C does. */
  signal?: AbortSignal | undefined;
  /** Train data-parallel over this process group (`kiln launch`): each process trains on its share of every batch; rank 0 evaluates and writes. */
  distributed?: ProcessGroup | undefined;
}

/** The model `settings` describe for these images. */
export function modelSpecFor(settings: ImageModelSettings, channels: number, imageSize: [number, number], numClasses: number): ImageModelSpec {
  const [H, W] = imageSize;
  switch (settings.arch) {
    case 'cnn': {
      const w = settings.width ?? 32;
      return { architecture: 'cnn', settings: { inChannels: channels, numClasses, imageSize, channels: [w, 2 * w] } };
    }
    case 'resnet18':
    case 'resnet34': {
      const w = settings.width ?? 64;
      return { architecture: settings.arch, settings: { inChannels: channels, numClasses, widths: [w, 2 * w, 4 * w, 8 * w], stem: settings.stem ?? (Math.max(H, W) <= 64 ? 'small' : 'imagenet') } };
    }
    case 'vit': {
      if (H !== W) throw new ConfigError(`vit needs square images, got ${H}x${W}; pass --image-size`);
      const patchSize = settings.patchSize ?? (H <= 32 ? 4 : 16);
      if (H % patchSize !== 0) throw new ConfigError(`vit: image size ${H} is not a multiple of --patch-size ${patchSize}`);
      const C = settings.hiddenSize;
      if (C % settings.heads !== 0) throw new ConfigError(`vit: --hidden-size ${C} is not divisible by --heads ${settings.heads}`);
      return {
        architecture: 'vit',
        settings: { inChannels: channels, numClasses, imageSize: H, patchSize, hiddenSize: C, numHiddenLayers: settings.layers, numAttentionHeads: settings.heads, intermediateSize: 4 * C },
      };
    }
    default:
      throw new ConfigError(`unknown --arch '${String(settings.arch)}'; use cnn, resnet18, resnet34 or vit`);
  }
}

export function resolveImageRunConfig(input: Partial<ImageRunConfig> & { out: string }): ImageRunConfig {
  const known = [...Object.keys(IMAGE_RUN_DEFAULTS), 'out'];
  const unknown = Object.keys(input).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new ConfigError(`image run: unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; the settings are ${known.join(', ')}`);
  }
  const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const config = { ...IMAGE_RUN_DEFAULTS, ...given } as ImageRunConfig;
  const whole = (key: keyof ImageRunConfig, min: number, nullable = false): void => {
    const value = config[key];
    if (nullable && value === null) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new ConfigError(`image run: ${key} must be an integer of at least ${min}${nullable ? ' (or null)' : ''}, got ${JSON.stringify(value)}`);
  };
  whole('epochs', 1);
  whole('maxSteps', 1, true);
  whole('batchSize', 1);
  whole('gradAccumulation', 1);
  whole('logEvery', 1);
  whole('evalEvery', 1, true);
  whole('patience', 0);
  whole('warmupSteps', 0, true);
  if (!(config.gradClip >= 0)) throw new ConfigError(`image run: gradClip must be 0 (off) or positive, got ${config.gradClip}`);
  if (config.timeLimit !== null && !(config.timeLimit > 0)) throw new ConfigError(`image run: timeLimit must be a positive number of seconds (or null), got ${config.timeLimit}`);
  return config;
}

/** Sets train mode on the head and, unless `freeze`, the rest; a frozen body stays in eval mode. */
function setModes(model: ImageClassifier, mode: FinetuneMode): void {
  model.train();
  if (mode === 'full') return;
  for (const [name, module] of model.namedModules()) {
    if (name !== '' && name !== model.headName && !name.startsWith(model.headName + '.')) module.training = false;
  }
}

/** The model to train: loaded from `config.from` (a new head when the labels differ) or built fresh, with the data it reads. */
async function startingPoint(config: ImageRunConfig): Promise<{ model: ImageClassifier; data: ImageData; normalization: Normalization; newHead: boolean }> {
  if (config.from === null) {
    const data = await prepareImageData(config);
    const model = buildImageClassifier(modelSpecFor(config, data.channels, data.imageSize, data.classNames.length));
    return { model, data, normalization: data.normalization, newHead: false };
  }
  const loaded = loadImageClassifier(config.from);
  const [H, W] = loaded.config.image_size;
  if (H !== W && !['mnist', 'fashion-mnist'].includes(config.data)) throw new ConfigError(`${config.from} was trained on ${H}x${W} images; image folders are resized to squares`);
  const data = await prepareImageData({ ...config, imageSize: H, channels: loaded.config.num_channels as 1 | 3 });
  if (data.channels !== loaded.config.num_channels || data.imageSize[0] !== H || data.imageSize[1] !== W) {
    throw new ConfigError(`${config.from} reads ${loaded.config.num_channels}x${H}x${W} images, the data has ${data.channels}x${data.imageSize.join('x')}`);
  }
  const newHead = data.classNames.join('\n') !== loaded.classNames.join('\n');
  if (newHead) loaded.model.resetHead(data.classNames.length);
  return { model: loaded.model, data, normalization: loaded.config.normalization, newHead };
}

/**
 * Trains and saves; see the module comment.
 * @example
 * const result = await runImageClassification({ data: 'fashion-mnist', classes: [0, 1, 2, 3, 4], epochs: 2, out: 'runs/fashion04' });
 * console.log(result.testAccuracy, result.bestDir);
 */
export async function runImageClassification(input: Partial<ImageRunConfig> & { out: string }, callbacks: ImageRunCallbacks = {}): Promise<ImageRunResult> {
  // A resumed run starts from its saved settings; the ones given may change only what resuming allows (the loop checks).
  const saved = callbacks.resume === true ? readTrainingState<Partial<ImageRunConfig>, unknown>(path.join(input.out, 'state')) : null;
  const config = resolveImageRunConfig(saved === null ? input : { ...(saved.config as Partial<ImageRunConfig>), ...input });
  const previousThreads = getNumThreads();
  if (config.threads !== null) setNumThreads(config.threads);
  try {
    manualSeed(config.seed);
    const { model, data, normalization, newHead } = await startingPoint(config);
    if (config.mode === 'freeze' && config.from === null) throw new ConfigError('--mode freeze trains the head of a pretrained model; give --from DIR, or use --mode full');
    const train = data.train;
    if (train.length === 0) throw new ConfigError('image run: no training images');
    const group = callbacks.distributed;
    const world = group?.worldSize ?? 1;
    const rank = group?.rank ?? 0;
    const writer = rank === 0;
    const B = config.batchSize;
    const perStep = B * config.gradAccumulation * world;
    const stepsPerEpoch = Math.max(1, Math.ceil(train.length / perStep));
    const maxSteps = config.maxSteps ?? stepsPerEpoch * config.epochs;

    if (config.mode === 'freeze') {
      model.freeze();
      model.unfreeze(model.headName);
    } else {
      model.requiresGrad_(true);
    }
    // No weight decay on biases and BatchNorm/LayerNorm weights (1-D parameters), as is usual.
    const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);
    const optimizer = new AdamW(
      [
        { params: trainable.filter(([, p]) => p.ndim >= 2).map(([, p]) => p), weightDecay: config.weightDecay },
        { params: trainable.filter(([, p]) => p.ndim < 2).map(([, p]) => p), weightDecay: 0 },
      ],
      { lr: config.lr },
    );
    const draws = new ImageDraws(train, { seed: config.seed, augment: config.augment, share: (global) => global.slice(rank * B, (rank + 1) * B) });
    const out = config.out;
    mkdirSync(out, { recursive: true });
    if (writer) writeRunConfig(out, config);
    const trainableCount = trainable.reduce((sum, [, p]) => sum + p.numel(), 0);
    if (writer) callbacks.onStart?.({ config, data, parameters: model.numParameters(), trainable: trainableCount, newHead, maxSteps, resumedAt: saved?.step ?? null });

    const { out: _out, ...made } = config;
    const info = (step: number, metrics: Partial<FinetuneLog>) => ({
      architecture: model.architecture,
      task: 'image-classification' as const,
      made: { by: config.from === null ? 'kiln pretrain' : 'kiln finetune', config: { ...made }, date: new Date().toISOString() },
      step,
      val_accuracy: metrics.val_accuracy ?? null,
      test_accuracy: null,
    });
    setModes(model, config.mode);
    const loop = await runTrainer<number, LoadedImages>({
      settings: {
        warmup: config.warmupSteps ?? Math.min(200, Math.floor(maxSteps * 0.05)),
        minLr: 0,
        gradClip: config.gradClip,
        batchSize: B,
        gradAccumulation: config.gradAccumulation,
        logEvery: config.logEvery,
        evalEvery: config.evalEvery ?? stepsPerEpoch,
        patience: config.patience,
        timeLimit: config.timeLimit,
        seed: config.seed,
      },
      run: { config: config as unknown as Record<string, unknown>, defaults: IMAGE_RUN_DEFAULTS as unknown as Record<string, unknown>, resumable: RESUMABLE },
      out,
      metricKey: 'val_accuracy',
      maxSteps,
      optimizer,
      multipliers: [1, 1],
      module: model,
      sampler: draws,
      draw: (count) => draws.next(count), // image indices
      load: (indices) => draws.load(indices),
      rateKey: 'images_per_s',
      lossWeight: (indices) => indices.length,
      tokens: (indices) => indices.length,
      loss: (batch) => {
        const x = pixelsToTensor(batch.pixels, batch.shape, normalization); // (N, C, H, W)
        const y = tensor(batch.labels).long(); // (N)
        return crossEntropy(model.forward(x), y); // logits (N, K)
      },
      evaluate: async () => {
        if (data.val === null || data.val.length === 0) return { val_loss: Number.NaN };
        const evaluation = await evaluateImageClassifier(model, data.val, normalization, { batchSize: Math.max(B, 256) });
        return { val_loss: evaluation.loss, val_accuracy: evaluation.accuracy };
      },
      save: (dir, step, metrics) =>
        saveImageClassifier(model, dir, { classNames: data.classNames, channels: data.channels, imageSize: data.imageSize, normalization, info: info(step, metrics) }),
      resume: callbacks.resume,
      distributed: group,
      signal: callbacks.signal,
      onLog: callbacks.onLog === undefined ? undefined : (log, { maxSteps: totalSteps, isEval }) => callbacks.onLog!(log, { totalSteps, isEval }),
    });
    model.requiresGrad_(true);
    model.eval();

    const bestDir = path.join(out, 'best');
    let test: ImageEvaluation | null = null;
    if (writer && data.test !== null && data.test.length > 0) {
      const best = loadImageClassifier(bestDir);
      test = await evaluateImageClassifier(best.model, data.test, normalization);
      const json = { split: 'test', accuracy: test.accuracy, loss: test.loss, count: test.count, confusion_matrix: { labels: data.classNames, matrix: test.confusion } };
      writeFileAtomic(path.join(out, EVAL_FILE), (fd) => writeAll(fd, Buffer.from(JSON.stringify(json, null, 2) + '\n', 'utf8')));
    }
    return {
      ...loop,
      out,
      steps: loop.step,
      valAccuracy: loop.best.val_accuracy ?? null,
      test,
      testAccuracy: test?.accuracy ?? null,
      newHead,
      parameters: model.numParameters(),
      trainImages: train.length,
      modelDir: path.join(out, 'model'),
      bestDir,
    };
  } finally {
    if (config.threads !== null) setNumThreads(previousThreads);
  }
}

