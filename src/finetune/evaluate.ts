/**
 * evaluateModel and predict: what `kiln evaluate` and `kiln predict` do, on any folder
 * `finetune` wrote. A classifier folder is scored on labelled texts; a causal-LM folder
 * (generation fine-tuning, or pretraining) on prompt → completion pairs.
 */
import { ConfigError } from '../train/config-error.js';
import type { CausalLM } from '../train/architectures.js';
import { resolveModelFolder, loadLanguageModel } from '../train/model-folder.js';
import { contextLength, describeFolder } from './backbone.js';
import { CLASSIFICATION_TASK, type LoadedClassifier, loadClassifierFolder } from './classifier-folder.js';
import { encodeTexts } from './classify-data.js';
import { classify, evaluateClassifier, scoreProbabilities } from './classify-eval.js';
import { evaluateGeneration, readPromptCompletions } from './generation.js';
import { labelIds, readLabelledExamples } from './labelled-data.js';
import type { ClassScores } from './metrics.js';
import { loadTfidfFolder, TFIDF_ARCHITECTURE } from './tfidf/tfidf-folder.js';

export interface ClassificationReport {
  task: 'classify';
  labels: string[];
  count: number;
  accuracy: number;
  macro_f1: number;
  loss: number;
  per_class: ClassScores[];
  /** confusion[true][predicted] */
  confusion: number[][];
}

export interface GenerationReport {
  task: 'generate';
  count: number;
  loss: number;
  perplexity: number;
  exact_match: number;
  rouge_l: number;
}

export interface EvaluateOptions {
  /** Text column of a CSV/TSV/JSONL file. @default 'text' */
  textColumn?: string;
  /** Label column. @default 'label' */
  labelColumn?: string;
  /** Generation: tokens generated per prompt. @default 64 */
  maxNewTokens?: number;
}

function encodingOf(loaded: LoadedClassifier): Parameters<typeof encodeTexts>[2] {
  const { info } = loaded;
  return { maxLength: info.max_length, truncation: info.truncation, prefixId: info.prefix_id ?? undefined, padId: info.pad_id };
}

/**
 * Scores the model in `modelDir` on `dataFile` (labelled texts for a classifier, a
 * {"prompt","completion"} JSONL file for a causal LM).
 * @example evaluateModel('runs/spam/best', 'test.csv').macro_f1
 */
export function evaluateModel(folder: string, dataFile: string, options: EvaluateOptions = {}): ClassificationReport | GenerationReport {
  const modelDir = resolveModelFolder(folder).dir; // a run folder means its best/
  const { task, architecture } = describeFolder(modelDir);
  if (task === CLASSIFICATION_TASK) {
    const examples = readLabelledExamples(dataFile, { ...(options.textColumn === undefined ? {} : { textColumn: options.textColumn }), ...(options.labelColumn === undefined ? {} : { labelColumn: options.labelColumn }) });
    if (architecture === TFIDF_ARCHITECTURE) {
      const { model } = loadTfidfFolder(modelDir);
      const labels = labelIds(examples, model.labels, dataFile);
      const result = scoreProbabilities(model.probabilities(examples.map((e) => e.text)), labels, model.labels);
      return { task: 'classify', labels: [...model.labels], count: result.count, accuracy: result.accuracy, macro_f1: result.macro_f1, loss: result.loss, per_class: result.perClass, confusion: result.confusion };
    }
    const loaded = loadClassifierFolder(modelDir);
    const labels = labelIds(examples, loaded.info.labels, dataFile);
    const encoding = encodingOf(loaded);
    const result = evaluateClassifier(loaded.classifier, encodeTexts(loaded.tokenizer, examples.map((e) => e.text), encoding), labels, encoding.padId);
    return { task: 'classify', labels: loaded.info.labels, count: result.count, accuracy: result.accuracy, macro_f1: result.macro_f1, loss: result.loss, per_class: result.perClass, confusion: result.confusion };
  }
  if (task === 'causal-lm' || task === null) {
    const loaded = loadLanguageModel(modelDir);
    const pairs = readPromptCompletions(dataFile);
    const blockSize = contextLength(loaded.model);
    const result = evaluateGeneration(loaded.model as CausalLM, loaded.tokenizer, pairs, { maxLength: blockSize, maxNewTokens: options.maxNewTokens ?? 64, padId: loaded.tokenizer.padId ?? loaded.tokenizer.eosId ?? 0 });
    return { task: 'generate', count: result.count, loss: result.loss, perplexity: result.perplexity, exact_match: result.exact_match, rouge_l: result.rouge_l };
  }
  throw new ConfigError(`${modelDir} is a ${task} model folder, which kiln evaluate cannot score; pass a folder kiln finetune wrote`);
}

export interface Prediction {
  label: string;
  /** Probability of each label. */
  probabilities: Record<string, number>;
}

/**
 * The most likely label and every label's probability, for each text.
 * @example predict('runs/spam/best', ['Win a FREE cruise!'])[0].label // 'spam'
 */
export function predict(folder: string | LoadedClassifier, texts: readonly string[]): Prediction[] {
  const modelDir = typeof folder === 'string' ? resolveModelFolder(folder).dir : folder; // a run folder means its best/
  if (typeof modelDir === 'string' && describeFolder(modelDir).architecture === TFIDF_ARCHITECTURE) {
    const { model } = loadTfidfFolder(modelDir);
    return model.probabilities(texts).map((p) => labelled(p, model.labels));
  }
  const loaded = typeof modelDir === 'string' ? loadClassifierFolder(modelDir) : modelDir;
  const encoding = encodingOf(loaded);
  const { probabilities } = classify(loaded.classifier, encodeTexts(loaded.tokenizer, texts, encoding), encoding.padId);
  return probabilities.map((p) => labelled(p, loaded.info.labels));
}

/** The most likely label (the first on a tie, as argmax) and every label's probability. */
function labelled(probabilities: readonly number[], labels: readonly string[]): Prediction {
  return {
    label: labels[probabilities.indexOf(Math.max(...probabilities))]!,
    probabilities: Object.fromEntries(labels.map((l, k) => [l, probabilities[k]!])),
  };
}
