/** The labelled splits of a classification run: read, labelled, split, sampled and encoded. */
import { ConfigError } from '../train/config-error.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { type Truncation, encodeForClassification } from './encode.js';
import type { FinetuneConfig } from './finetune-config.js';
import { type LabelledExample, labelIds, labelSet, readLabelledExamples } from './labelled-data.js';
import { stratifiedSplit, stratifiedSubsample } from './split.js';

export interface LabelledSplit {
  examples: LabelledExample[];
  labels: number[];
}

export interface ClassificationData {
  /** The label names, in class-id order (from the training data). */
  labelNames: string[];
  train: LabelledSplit;
  val: LabelledSplit;
  test: LabelledSplit;
}

function pick(examples: readonly LabelledExample[], labels: readonly number[], indices: readonly number[]): LabelledSplit {
  return { examples: indices.map((i) => examples[i]!), labels: indices.map((i) => labels[i]!) };
}

/** Reads the training data (and val/test files), splits what is not given, and keeps trainSize training examples. */
export function loadClassificationData(
  config: Pick<FinetuneConfig, 'train' | 'val' | 'test' | 'valFraction' | 'testFraction' | 'trainSize' | 'textColumn' | 'labelColumn' | 'seed'>,
): ClassificationData {
  const options = { textColumn: config.textColumn, labelColumn: config.labelColumn };
  const all = readLabelledExamples(config.train, options);
  const labelNames = labelSet(all);
  if (labelNames.length < 2) throw new ConfigError(`${config.train} has a single label (${JSON.stringify(labelNames[0])}); classification needs at least two`);
  const ids = labelIds(all, labelNames, config.train);
  const fractions: Record<string, number> = {};
  if (config.val === null) fractions['val'] = config.valFraction;
  if (config.test === null) fractions['test'] = config.testFraction;
  const parts = stratifiedSplit(ids, fractions, config.seed) as Record<string, number[]>;
  const fromFile = (file: string): LabelledSplit => {
    const examples = readLabelledExamples(file, options);
    return { examples, labels: labelIds(examples, labelNames, file) };
  };
  let trainIndices = parts['train']!;
  if (config.trainSize !== null) trainIndices = stratifiedSubsample(trainIndices, ids, config.trainSize, config.seed + 1);
  const data = {
    labelNames,
    train: pick(all, ids, trainIndices),
    val: config.val === null ? pick(all, ids, parts['val']!) : fromFile(config.val),
    test: config.test === null ? pick(all, ids, parts['test']!) : fromFile(config.test),
  };
  if (data.train.examples.length === 0) throw new ConfigError(`no training examples are left after the split of ${config.train}; lower val-fraction/test-fraction or add data`);
  if (data.val.examples.length === 0) throw new ConfigError(`the validation split of ${config.train} is empty; raise val-fraction or pass --val FILE`);
  return data;
}

/**
 * A text's character span that surely holds the tokens truncation keeps (a token spans at
 * least one character, and rarely more than 16): encoding a long e-mail whole only to drop most
 * of it would dominate the run's set-up time.
 */
function roughCut(text: string, maxLength: number, truncation: Truncation): string {
  const room = maxLength * 16;
  if (text.length <= room) return text;
  if (truncation === 'head') return text.slice(0, room);
  if (truncation === 'tail') return text.slice(text.length - room);
  return text.slice(0, room / 2) + text.slice(text.length - room / 2);
}

export interface SequenceEncoding {
  maxLength: number;
  truncation: Truncation;
  prefixId: number | undefined;
  padId: number;
}

export function encodeTexts(tokenizer: Tokenizer, texts: readonly string[], encoding: SequenceEncoding): number[][] {
  return texts.map((text) =>
    encodeForClassification(tokenizer, roughCut(text, encoding.maxLength, encoding.truncation), {
      maxLength: encoding.maxLength,
      truncation: encoding.truncation,
      prefixId: encoding.prefixId,
      fallbackId: encoding.padId,
    }),
  );
}
