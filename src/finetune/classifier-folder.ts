/**
 * The model folder a classification fine-tuning run writes: the backbone in its own format
 * (config.json with id2label/label2id/num_labels added, model.safetensors), the head in
 * classifier.safetensors (`score.weight`, `score.bias`), tokenizer.json, and kiln.json (task
 * 'sequence-classification', labels, pooling, how texts are cut).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { loadTokenizer, saveTokenizer } from '../tokenizers/load.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { ConfigError } from '../train/config-error.js';
import { KILN_FILE } from '../train/model-folder.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { type BackboneArchitecture, backboneFromFolder, describeFolder } from './backbone.js';
import { type Pooling, SequenceClassifier } from './classifier.js';
import type { Truncation } from './encode.js';

export const HEAD_FILE = 'classifier.safetensors';
export const CLASSIFICATION_TASK = 'sequence-classification';

/** kiln.json of a classifier folder. */
export interface ClassifierInfo {
  architecture: BackboneArchitecture;
  task: typeof CLASSIFICATION_TASK;
  labels: string[];
  pooling: Pooling;
  /** Tokens a text is cut to (the [CLS] prefix included), and which part is kept. */
  max_length: number;
  truncation: Truncation;
  /** Token id put before every text (an encoder's [CLS]); null for none. */
  prefix_id: number | null;
  /** Token id that fills the rows of a batch after each text. */
  pad_id: number;
  made: { by: string; config: Record<string, unknown>; date: string };
  step: number;
  /** Validation metrics of these weights, when measured. */
  metrics: Record<string, number> | null;
}


/** Writes the folder; a model with LoRA adapters must be merged (see withLoraMerged) first. */
export function writeClassifierFolder(classifier: SequenceClassifier, tokenizer: Tokenizer, dir: string, info: ClassifierInfo): void {
  classifier.backbone.save(dir);
  const configFile = path.join(dir, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  config['id2label'] = Object.fromEntries(info.labels.map((l, i) => [String(i), l]));
  config['label2id'] = Object.fromEntries(info.labels.map((l, i) => [l, i]));
  config['num_labels'] = info.labels.length;
  writeJsonAtomic(configFile, config);
  saveSafetensors(path.join(dir, HEAD_FILE), { 'score.weight': classifier.score.weight, 'score.bias': classifier.score.bias! });
  saveTokenizer(tokenizer, path.join(dir, 'tokenizer.json'));
  writeJsonAtomic(path.join(dir, KILN_FILE), info);
}

export interface LoadedClassifier {
  classifier: SequenceClassifier;
  tokenizer: Tokenizer;
  info: ClassifierInfo;
}

/** Reads a folder writeClassifierFolder wrote; another kind of folder is a ConfigError that says what it is. */
export function loadClassifierFolder(dir: string): LoadedClassifier {
  const { task, architecture } = describeFolder(dir);
  if (task !== CLASSIFICATION_TASK || !existsSync(path.join(dir, HEAD_FILE))) {
    throw new ConfigError(`${dir} is ${task === null ? 'not a Kiln fine-tuned classifier' : `a ${task} model folder, not a classifier`}; pass a folder kiln finetune --task classify wrote (OUT/best)`);
  }
  const info = JSON.parse(readFileSync(path.join(dir, KILN_FILE), 'utf8')) as ClassifierInfo;
  const backbone = backboneFromFolder(dir, architecture);
  const classifier = new SequenceClassifier(backbone, info.labels, info.pooling);
  noGrad(() =>
    scope(() => {
      const { tensors } = loadSafetensors(path.join(dir, HEAD_FILE));
      classifier.score.weight.copy_(tensors['score.weight']!);
      classifier.score.bias!.copy_(tensors['score.bias']!);
    }),
  );
  classifier.eval();
  return { classifier, tokenizer: loadTokenizer(dir), info };
}
