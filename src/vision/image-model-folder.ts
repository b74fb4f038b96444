/**
 * Image classifier folders: config.json (architecture, model settings, labels, input size,
 * normalisation), model.safetensors (the state dict under torchvision / Hugging Face names)
 * and kiln.json (task 'image-classification', how the model was made). Written atomically,
 * kiln.json last.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildWithinWeights, CONFIG_FILE, folderErrors, readConfigJson, readWeights, weightBytes, writeFolder } from '../io/hf-folder.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { type ImageArchitecture, type ImageClassifier, IMAGE_ARCHITECTURES } from './models/image-classifier.js';
import { ResNet, type ResNetConfig } from './models/resnet.js';
import { SmallCnn, type SmallCnnConfig } from './models/small-cnn.js';
import { ViTForImageClassification, type ViTConfig } from './models/vit.js';
import type { Normalization } from './normalize.js';
import { KILN_FILE, resolveModelFolder } from '../util/run-files.js';

/** Where a model folder records what it holds (one name for every kind of folder). */
export { KILN_FILE };
const folderError = folderErrors('image model');

/** What builds a model: the architecture and its settings (camelCase, as the config types). */
export type ImageModelSpec =
  | { architecture: 'cnn'; settings: Partial<SmallCnnConfig> }
  | { architecture: 'resnet18' | 'resnet34'; settings: Partial<Omit<ResNetConfig, 'arch'>> }
  | { architecture: 'vit'; settings: Partial<ViTConfig> };

/** config.json of an image classifier folder. */
export interface ImageModelConfig {
  architecture: ImageArchitecture;
  /** The model's settings, camelCase, as its config type. */
  model: Record<string, unknown>;
  num_channels: number;
  /** [height, width] images are resized to. */
  image_size: [number, number];
  num_labels: number;
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  normalization: Normalization;
}

/** kiln.json of an image classifier folder (or of an embedding net: a classifier whose outputs are the embedding). */
export interface ImageKilnInfo {
  architecture: ImageArchitecture;
  task: 'image-classification' | 'embed';
  made: { by: string; config: Record<string, unknown>; date: string };
  step: number;
  val_accuracy: number | null;
  /** Accuracy on the data set's test split (same classes), when it has one. */
  test_accuracy: number | null;
}

export function buildImageClassifier(spec: ImageModelSpec): ImageClassifier {
  switch (spec.architecture) {
    case 'cnn':
      return new SmallCnn(spec.settings);
    case 'resnet18':
    case 'resnet34':
      return new ResNet({ ...spec.settings, arch: spec.architecture });
    case 'vit':
      return new ViTForImageClassification(spec.settings);
    default:
      throw new RangeError(`unknown image architecture '${String((spec as { architecture: unknown }).architecture)}'; use ${IMAGE_ARCHITECTURES.join(', ')}`);
  }
}

/** The settings that rebuild `model` (the head's current size included). */
export function specOf(model: ImageClassifier): ImageModelSpec {
  if (model instanceof SmallCnn) return { architecture: 'cnn', settings: { ...model.config, numClasses: model.numClasses } };
  if (model instanceof ResNet) {
    const { arch, ...settings } = model.config;
    return { architecture: arch, settings: { ...settings, numClasses: model.numClasses } };
  }
  if (model instanceof ViTForImageClassification) return { architecture: 'vit', settings: { ...model.config, numClasses: model.numClasses } };
  throw new TypeError(`specOf: ${model.constructor.name} is not a Kiln image classifier`);
}

export interface SaveImageModelOptions {
  classNames: readonly string[];
  channels: number;
  imageSize: [number, number];
  normalization: Normalization;
  info: ImageKilnInfo;
}

export function saveImageClassifier(model: ImageClassifier, dir: string, options: SaveImageModelOptions): void {
  if (options.classNames.length !== model.numClasses) {
    throw new RangeError(`saveImageClassifier: ${options.classNames.length} class names for a model with ${model.numClasses} outputs`);
  }
  const spec = specOf(model);
  const config: ImageModelConfig = {
    architecture: spec.architecture,
    model: spec.settings as Record<string, unknown>,
    num_channels: options.channels,
    image_size: options.imageSize,
    num_labels: model.numClasses,
    id2label: Object.fromEntries(options.classNames.map((name, i) => [String(i), name])),
    label2id: Object.fromEntries(options.classNames.map((name, i) => [name, i])),
    normalization: options.normalization,
  };
  writeFolder(dir, config as unknown as Record<string, unknown>, () => new Map(Object.entries(model.stateDict())));
  writeJsonAtomic(path.join(dir, KILN_FILE), options.info);
}

export interface LoadedImageClassifier {
  model: ImageClassifier;
  config: ImageModelConfig;
  classNames: string[];
  /** kiln.json, or null when the folder has none. */
  info: ImageKilnInfo | null;
}

function checkConfig(raw: unknown, dir: string): ImageModelConfig {
  const c = raw as Partial<ImageModelConfig>;
  const problem = (what: string): Error => folderError(dir, `${CONFIG_FILE} ${what}; is this a folder written by kiln pretrain/finetune --task image-classification?`);
  if (typeof c !== 'object' || c === null) throw problem('is not an object');
  if (!IMAGE_ARCHITECTURES.includes(c.architecture as ImageArchitecture)) throw problem(`has architecture ${JSON.stringify(c.architecture)}, not one of ${IMAGE_ARCHITECTURES.join(', ')}`);
  if (typeof c.model !== 'object' || c.model === null) throw problem('has no "model" settings');
  if (!Number.isInteger(c.num_labels) || typeof c.id2label !== 'object' || c.id2label === null) throw problem('has no num_labels / id2label');
  if (!Array.isArray(c.image_size) || c.image_size.length !== 2 || !Number.isInteger(c.num_channels)) throw problem('has no image_size [H, W] / num_channels');
  const n = c.normalization;
  if (n === undefined || !Array.isArray(n.mean) || !Array.isArray(n.std)) throw problem('has no normalization {mean, std}');
  return c as ImageModelConfig;
}

/** Loads a folder saveImageClassifier wrote (a run folder means its best/); every weight must be there with its shape. */
export function loadImageClassifier(folder: string): LoadedImageClassifier {
  const { dir } = resolveModelFolder(folder);
  const config = checkConfig(readConfigJson(dir, folderError), dir);
  const model = buildWithinWeights(dir, weightBytes(dir), folderError, () => buildImageClassifier({ architecture: config.architecture, settings: config.model } as ImageModelSpec));
  const weights = readWeights(dir, folderError);
  try {
    model.loadStateDict(weights);
  } catch (error) {
    throw folderError(dir, `weights do not fit the ${config.architecture} its config.json describes: ${(error as Error).message}`);
  }
  const classNames = Array.from({ length: config.num_labels }, (_, i) => config.id2label[String(i)] ?? String(i));
  const kilnFile = path.join(dir, KILN_FILE);
  const info = existsSync(kilnFile) ? (JSON.parse(readFileSync(kilnFile, 'utf8')) as ImageKilnInfo) : null;
  return { model, config, classNames, info };
}
