/**
 * One image-classification training run, as `kiln pretrain|finetune --task image-classification`
 * performs it: resolve the data, build a model (fresh, or loaded from a folder with a new head
 * when the labels differ), train, evaluate on validation and test images, and write OUT as a
 * model folder (config.json, model.safetensors, kiln.json) plus OUT/metrics.jsonl.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../train/config-error.js';
import { manualSeed } from '../tensor/creation.js';
import { getNumThreads, setNumThreads } from '../tensor/runtime.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { METRICS_FILE } from '../util/run-files.js';
import { evaluateImageClassifier } from './evaluate-images.js';
import { type ImageData, type ImageDataSettings, IMAGE_DATA_DEFAULTS, prepareImageData } from './image-data.js';
import { buildImageClassifier, type ImageModelSpec, loadImageClassifier, saveImageClassifier } from './image-model-folder.js';
import type { ImageArchitecture, ImageClassifier } from './models/image-classifier.js';
import type { Normalization } from './normalize.js';
import { IMAGE_TRAIN_DEFAULTS, type ImageTrainLog, type ImageTrainSettings, trainImageClassifier } from './train-image-classifier.js';

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
  /** A model folder to start from, or null to start from scratch. */
  from: string | null;
  /** The run folder (the model folder it writes). */
  out: string;
  /** libtorch intra-op threads. @default libtorch's choice */
  threads: number | null;
}

/** Every setting of an image run with its default, the library's and `kiln … --task image-classification`'s alike (3 epochs: one pass rarely suffices). */
export const IMAGE_RUN_DEFAULTS: Readonly<Omit<ImageRunConfig, 'out'>> = Object.freeze({
  ...IMAGE_DATA_DEFAULTS,
  ...IMAGE_TRAIN_DEFAULTS,
  epochs: 3,
  ...IMAGE_MODEL_DEFAULTS,
  from: null,
  threads: null,
});

export interface ImageRunResult {
  out: string;
  steps: number;
  valAccuracy: number | null;
  testAccuracy: number | null;
  seconds: number;
  /** The head was replaced because the labels changed (fine-tuning from a folder). */
  newHead: boolean;
  parameters: number;
  trainImages: number;
}

export interface ImageRunCallbacks {
  onStart?: (info: { config: Readonly<ImageRunConfig>; data: ImageData; parameters: number; trainable: number; newHead: boolean }) => void;
  onLog?: (log: ImageTrainLog, info: { totalSteps: number; isEval: boolean }) => void;
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
  return { ...IMAGE_RUN_DEFAULTS, ...given } as ImageRunConfig;
}

/** Trains and saves; see the module comment. */
export async function runImageClassification(input: Partial<ImageRunConfig> & { out: string }, callbacks: ImageRunCallbacks = {}): Promise<ImageRunResult> {
  const config = resolveImageRunConfig(input);
  const previousThreads = getNumThreads();
  if (config.threads !== null) setNumThreads(config.threads);
  try {
    let model: ImageClassifier;
    let normalization: Normalization | null = null;
    let data: ImageData;
    let newHead = false;
    manualSeed(config.seed);
    if (config.from !== null) {
      const loaded = loadImageClassifier(config.from);
      const [H, W] = loaded.config.image_size;
      if (H !== W && !['mnist', 'fashion-mnist'].includes(config.data)) throw new ConfigError(`${config.from} was trained on ${H}x${W} images; image folders are resized to squares`);
      data = await prepareImageData({ ...config, imageSize: H, channels: loaded.config.num_channels as 1 | 3 });
      if (data.channels !== loaded.config.num_channels || data.imageSize[0] !== H || data.imageSize[1] !== W) {
        throw new ConfigError(`${config.from} reads ${loaded.config.num_channels}x${H}x${W} images, the data has ${data.channels}x${data.imageSize.join('x')}`);
      }
      model = loaded.model;
      normalization = loaded.config.normalization;
      if (data.classNames.join('\n') !== loaded.classNames.join('\n')) {
        model.resetHead(data.classNames.length);
        newHead = true;
      }
    } else {
      data = await prepareImageData(config);
      model = buildImageClassifier(modelSpecFor(config, data.channels, data.imageSize, data.classNames.length));
    }
    normalization ??= data.normalization;
    if (config.mode === 'freeze' && config.from === null) throw new ConfigError('--mode freeze trains the head of a pretrained model; give --from DIR, or use --mode full');

    mkdirSync(config.out, { recursive: true });
    const metricsFile = path.join(config.out, METRICS_FILE);
    writeFileAtomic(metricsFile, () => {});
    const trainable = config.mode === 'freeze' ? model.namedParameters().filter(([n]) => n === model.headName || n.startsWith(model.headName + '.')).reduce((a, [, p]) => a + p.numel(), 0) : model.numParameters();
    callbacks.onStart?.({ config, data, parameters: model.numParameters(), trainable, newHead });
    const result = await trainImageClassifier({
      model,
      train: data.train,
      val: data.val,
      normalization,
      settings: config,
      metricsFile,
      ...(callbacks.onLog === undefined ? {} : { onLog: callbacks.onLog }),
    });
    const testAccuracy = data.test === null ? null : (await evaluateImageClassifier(model, data.test, normalization)).accuracy;
    const { out: _out, ...made } = config;
    saveImageClassifier(model, config.out, {
      classNames: data.classNames,
      channels: data.channels,
      imageSize: data.imageSize,
      normalization,
      info: {
        architecture: model.architecture,
        task: 'image-classification',
        made: { by: config.from === null ? 'kiln pretrain' : 'kiln finetune', config: { ...made }, date: new Date().toISOString() },
        step: result.steps,
        val_accuracy: result.valAccuracy,
        test_accuracy: testAccuracy,
      },
    });
    return {
      out: config.out,
      steps: result.steps,
      valAccuracy: result.valAccuracy,
      testAccuracy,
      seconds: result.seconds,
      newHead,
      parameters: model.numParameters(),
      trainImages: data.train.length,
    };
  } finally {
    if (config.threads !== null) setNumThreads(previousThreads);
  }
}
