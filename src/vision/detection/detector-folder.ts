/**
 * Detector folders: config.json (architecture 'grid-detector', its settings, labels, input size,
 * normalisation), model.safetensors and kiln.json (task 'detect', how it was made), written
 * atomically, kiln.json last — the layout of image classifier folders.
 */
import path from 'node:path';
import { buildWithinWeights, CONFIG_FILE, folderErrors, readConfigJson, readWeights, weightBytes, writeFolder } from '../../io/hf-folder.js';
import { writeJsonAtomic } from '../../util/atomic-write.js';
import { KILN_FILE, resolveModelFolder } from '../../util/run-files.js';
import type { Normalization } from '../normalize.js';
import { GridDetector, type GridDetectorConfig } from './grid-detector.js';

const folderError = folderErrors('detector');

export interface DetectorFolderConfig {
  architecture: 'grid-detector';
  model: GridDetectorConfig;
  num_channels: number;
  image_size: [number, number];
  num_labels: number;
  id2label: Record<string, string>;
  normalization: Normalization;
}

export interface LoadedDetector {
  model: GridDetector;
  config: DetectorFolderConfig;
  classNames: string[];
}

export function saveDetector(model: GridDetector, dir: string, options: { classNames: readonly string[]; imageSize: [number, number]; normalization: Normalization; info: Record<string, unknown> }): void {
  if (options.classNames.length !== model.numClasses) throw new RangeError(`saveDetector: ${options.classNames.length} class names for a detector of ${model.numClasses} classes`);
  const config: DetectorFolderConfig = {
    architecture: 'grid-detector',
    model: { ...model.config, numClasses: model.numClasses },
    num_channels: model.config.inChannels,
    image_size: options.imageSize,
    num_labels: model.numClasses,
    id2label: Object.fromEntries(options.classNames.map((name, i) => [String(i), name])),
    normalization: options.normalization,
  };
  writeFolder(dir, config as unknown as Record<string, unknown>, () => new Map(Object.entries(model.stateDict())));
  writeJsonAtomic(path.join(dir, KILN_FILE), { task: 'detect', ...options.info });
}

/** Loads a folder saveDetector wrote (a run folder means its best/). */
export function loadDetector(folder: string): LoadedDetector {
  const { dir } = resolveModelFolder(folder);
  const c = readConfigJson(dir, folderError) as Partial<DetectorFolderConfig>;
  const problem = (what: string): Error => folderError(dir, `${CONFIG_FILE} ${what}; is this a folder written by kiln pretrain/finetune --task detect?`);
  if (typeof c !== 'object' || c === null || c.architecture !== 'grid-detector') throw problem(`has architecture ${JSON.stringify(c?.architecture)}, not grid-detector`);
  const m = c.model;
  if (typeof m !== 'object' || m === null || !Array.isArray(m.channels) || !m.channels.every((w) => Number.isInteger(w) && w > 0 && w <= 4096) || m.channels.length > 8 || !(typeof m.anchor === 'number' && m.anchor > 0) || !Number.isInteger(m.inChannels) || !Number.isInteger(m.numClasses)) throw problem('has no valid "model" settings (channels, anchor, inChannels, numClasses)');
  if (!Array.isArray(c.image_size) || c.image_size.length !== 2 || typeof c.id2label !== 'object' || c.id2label === null) throw problem('has no image_size [H, W] / id2label');
  const n = c.normalization;
  if (n === undefined || !Array.isArray(n.mean) || !Array.isArray(n.std)) throw problem('has no normalization {mean, std}');
  const model = buildWithinWeights(dir, weightBytes(dir), folderError, () => new GridDetector(m));
  try {
    model.loadStateDict(readWeights(dir, folderError));
  } catch (error) {
    throw folderError(dir, `weights do not fit the grid detector its config.json describes: ${(error as Error).message}`);
  }
  const classNames = Array.from({ length: m.numClasses }, (_, i) => c.id2label![String(i)] ?? String(i));
  return { model, config: c as DetectorFolderConfig, classNames };
}
