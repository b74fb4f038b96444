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
import { EPOCH_RESUMABLE, epochLoopSchema, epochLoopSettings, epochSteps, epochTrainingSchema } from '../train/epoch-run-settings.js';
import { type FinetuneLog, type LoopResult, runTrainer, writeRunConfig, writeTestEvaluation } from '../train/trainer.js';
import { crossEntropy } from '../nn/functional.js';
import { nanoGptAdamW } from '../train/optimizer-groups.js';
import { ConfigError } from '../train/config-error.js';
import { stateToResume } from '../train/training-state.js';
import { manualSeed, tensor } from '../tensor/creation.js';
import { getNumThreads, setNumThreads } from '../tensor/runtime.js';
import { type ImageEvaluation, evaluateImageClassifier } from './evaluate-images.js';
import { ImageDraws, type LoadedImages } from './image-draws.js';
import { type ImageData, prepareImageData } from './image-data.js';
import { buildImageClassifier, type ImageModelSpec, loadImageClassifier, saveImageClassifier } from './image-model-folder.js';
import { IMAGE_ARCHITECTURES, type ImageClassifier } from './models/image-classifier.js';
import { classListSetting } from './subsets.js';
import { mergeConfigLayers } from '../train/pretrain-config.js';
import { bool, checkSetting, choice, custom, defaultsOf, int, num, optionalChoice, optionalInt, optionalStr, type SettingsOf, str } from '../util/settings.js';
import { type Normalization, pixelsToTensor } from './normalize.js';

export const IMAGE_TRAIN_MODES = ['full', 'freeze'] as const;
export type FinetuneMode = (typeof IMAGE_TRAIN_MODES)[number];

/**
 * Every setting of an image run, declared once: type, default, allowed values and doc. The run's
 * option type (ImageRunConfig), IMAGE_RUN_DEFAULTS, resolveImageRunConfig's checks, the `--config`
 * keys and the flags and --help of `kiln pretrain|finetune --task image-classification` come from it.
 */
export const IMAGE_RUN_SCHEMA = {
  // What to start from (kiln finetune; kiln pretrain starts from a new model).
  from: optionalStr(null, 'a model or run folder (its best/) to start from, a new head when the labels differ; unset: a new model', 'a model folder', { valueName: 'DIR' }),
  mode: choice(IMAGE_TRAIN_MODES, 'full', 'full: train every weight; freeze: the head alone (the body, BatchNorm statistics included, stays as it is)'),
  // The model of a new run.
  arch: choice(IMAGE_ARCHITECTURES, 'cnn', 'the network architecture'),
  width: optionalInt(null, 'cnn: channels of the first block (the second has twice); resnet: layer1 channels (then x2, x4, x8)', { defaultText: '32 (cnn), 64 (resnet)' }),
  stem: optionalChoice(['small', 'imagenet'] as const, null, 'resnet stem: small (3x3 stride 1, no pool) or imagenet', { defaultText: 'small up to 64 px' }),
  patchSize: optionalInt(null, 'vit: patch side', { defaultText: '4 up to 32 px, else 16' }),
  hiddenSize: int(64, 'vit: width (hidden size) of the encoder'),
  layers: int(4, 'vit: encoder layers'),
  heads: int(4, 'vit: attention heads'),
  // The images.
  data: str('mnist', 'MNIST, Fashion-MNIST or a folder DIR/<class>/<image>', { valueName: 'mnist|fashion-mnist|DIR' }),
  classes: classListSetting('keep these labels only, relabelled 0..k-1 in order'),
  perClass: optionalInt(null, 'train on N seeded images per class (few-shot)', { defaultText: 'all' }),
  valFraction: num(0.1, 'share of the training images held out for validation', 'unit'),
  valSize: int(2000, 'at most N validation images (few-shot runs validate on images left over)', 0),
  imageSize: int(32, 'image folders: resize to N x N'),
  channels: custom<1 | 3>(3, 'image folders: 1 (grey) or 3 (RGB)', 'int', (value, key) => {
    if (value === 1 || value === 3) return value;
    throw new ConfigError(`${key} must be 1 or 3, got ${JSON.stringify(value)}`);
  }),
  badImages: choice(['skip', 'error'] as const, 'error', 'a file that does not decode: skip it (reported by name) or stop with an error'),
  // Training.
  ...epochTrainingSchema({ epochs: 3, batchSize: 64, lr: 1e-3, weightDecay: 1e-4, gradClip: 0, items: 'images' }),
  cropPadding: int(0, 'augment: random crop after padding by N pixels (0: off)', 0),
  flip: bool(false, 'augment: random horizontal flips'),
  seed: int(0, 'seeds the weights, order, sampling, split and augmentation', 0),
  ...epochLoopSchema({ validation: 'validation images', best: 'validation accuracy' }),
  out: str('runs/images', 'run folder: config.json, metrics.jsonl, model/ (last), best/ (best validation accuracy), state/, eval.json', { valueName: 'DIR' }),
} as const;

/** An image run's settings (see IMAGE_RUN_SCHEMA for each one's doc and default). */
export type ImageRunConfig = SettingsOf<typeof IMAGE_RUN_SCHEMA>;

/** The settings that describe a new model; null picks a default that suits the images. */
export type ImageModelSettings = Pick<ImageRunConfig, 'arch' | 'width' | 'stem' | 'patchSize' | 'hiddenSize' | 'layers' | 'heads'>;

/** Every setting of an image run with its default, the library's and `kiln … --task image-classification`'s alike. */
export const IMAGE_RUN_DEFAULTS: Readonly<ImageRunConfig> = defaultsOf(IMAGE_RUN_SCHEMA);

const IMAGE_RUN_KEYS = Object.keys(IMAGE_RUN_SCHEMA) as (keyof ImageRunConfig)[];

/** Settings a resumed image run may change; any other difference from the saved run is refused. */
const RESUMABLE: readonly (keyof ImageRunConfig)[] = EPOCH_RESUMABLE;

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

/**
 * The defaults overridden by each layer in turn (settings from code, a `--config` file, flags;
 * keys in camelCase or kebab-case): a new, frozen, checked config. Unknown keys and bad values
 * are ConfigErrors that name them.
 */
export function resolveImageRunConfig(...layers: (Partial<ImageRunConfig> | Readonly<Record<string, unknown>>)[]): Readonly<ImageRunConfig> {
  const config: ImageRunConfig = { ...IMAGE_RUN_DEFAULTS };
  mergeConfigLayers(config, layers, IMAGE_RUN_KEYS, (key, value) => checkSetting(IMAGE_RUN_SCHEMA, key as string, value));
  return Object.freeze(config);
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
async function startingPoint(config: Readonly<ImageRunConfig>): Promise<{ model: ImageClassifier; data: ImageData; normalization: Normalization; newHead: boolean }> {
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
  const saved = callbacks.resume === true ? stateToResume<Partial<ImageRunConfig>, unknown>(path.join(input.out, 'state')) : null;
  const config = resolveImageRunConfig(...(saved === null ? [] : [saved.config as Record<string, unknown>]), input);
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
    const { stepsPerEpoch, maxSteps } = epochSteps(train.length, config, world);

    if (config.mode === 'freeze') {
      model.freeze();
      model.unfreeze(model.headName);
    } else {
      model.requiresGrad_(true);
    }
    // No weight decay on biases and BatchNorm/LayerNorm weights (1-D parameters); AdamW's default betas.
    const optimizer = nanoGptAdamW(model, { lr: config.lr, weightDecay: config.weightDecay, beta1: 0.9, beta2: 0.999 });
    const draws = new ImageDraws(train, { seed: config.seed, augment: { cropPadding: config.cropPadding, flip: config.flip }, share: (global) => global.slice(rank * B, (rank + 1) * B) });
    const out = config.out;
    mkdirSync(out, { recursive: true });
    if (writer) writeRunConfig(out, config);
    const trainableCount = model.parameters().filter((p) => p.requiresGrad).reduce((sum, p) => sum + p.numel(), 0);
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
      settings: epochLoopSettings(config, maxSteps, stepsPerEpoch),
      run: { config: config as unknown as Record<string, unknown>, defaults: IMAGE_RUN_DEFAULTS as unknown as Record<string, unknown>, resumable: RESUMABLE },
      out,
      metricKey: 'val_accuracy',
      maxSteps,
      optimizer,
      multipliers: optimizer.paramGroups.map(() => 1),
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
      writeTestEvaluation(out, test, data.classNames);
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

