/**
 * The TF-IDF + logistic regression classifier and its model folder: kiln.json (architecture
 * 'tfidf', task 'sequence-classification', labels, C, analyzers), vocabulary.json (each
 * analyzer's n-grams in feature order) and model.safetensors (`idf.<analyzer>` (F_a),
 * `coef` (K, F), `intercept` (K), float64). `kiln predict` and `kiln evaluate` serve it like
 * any fine-tuned classifier.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSafetensors, saveSafetensors } from '../../io/safetensors.js';
import { tensor } from '../../tensor/creation.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ConfigError } from '../../train/config-error.js';
import { KILN_FILE } from '../../train/model-folder.js';
import { writeJsonAtomic } from '../../util/atomic-write.js';
import { type LogisticRegressionWeights, rowProbabilities } from './logistic-regression.js';
import { type AnalyzerSettings, type FittedAnalyzer, TfidfVectorizer } from './vectorizer.js';

export const TFIDF_ARCHITECTURE = 'tfidf';
export const VOCABULARY_FILE = 'vocabulary.json';
const WEIGHTS_FILE = 'model.safetensors';

/** kiln.json of a TF-IDF baseline folder. */
export interface TfidfInfo {
  architecture: typeof TFIDF_ARCHITECTURE;
  task: 'sequence-classification';
  labels: string[];
  /** scikit-learn's C (inverse L2 strength), as chosen on the validation split. */
  c: number;
  analyzers: AnalyzerSettings[];
  made: { by: string; config: Record<string, unknown>; date: string };
  /** Validation metrics of these weights, when measured. */
  metrics: Record<string, number> | null;
}

/** A fitted vectorizer and the logistic regression on its features. */
export class TfidfClassifier {
  constructor(
    readonly vectorizer: TfidfVectorizer,
    readonly weights: LogisticRegressionWeights,
    readonly labels: readonly string[],
  ) {
    if (weights.numFeatures !== vectorizer.numFeatures) throw new RangeError(`TfidfClassifier: the weights cover ${weights.numFeatures} features, the vectorizer ${vectorizer.numFeatures}`);
    if (weights.numClasses !== labels.length) throw new RangeError(`TfidfClassifier: the weights have ${weights.numClasses} classes, but ${labels.length} labels were given`);
  }

  /** probabilities[i][k] of label k for text i. */
  probabilities(texts: readonly string[]): number[][] {
    return this.vectorizer.transform(texts).map((row) => Array.from(rowProbabilities(this.weights, row)));
  }
}


/** Writes the folder (kiln.json last, so a folder with kiln.json is complete). */
export function writeTfidfFolder(model: TfidfClassifier, dir: string, info: TfidfInfo): void {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, VOCABULARY_FILE), Object.fromEntries(model.vectorizer.analyzers.map((a) => [a.settings.analyzer, a.vocabulary])), { compact: true });
  const { coef, intercept, numClasses: K, numFeatures: F } = model.weights;
  scope(() => {
    const tensors = Object.fromEntries([
      ...model.vectorizer.analyzers.map((a) => [`idf.${a.settings.analyzer}`, tensor(a.idf)] as const),
      ['coef', tensor(coef, { shape: [K, F] })] as const,
      ['intercept', tensor(intercept)] as const,
    ]);
    saveSafetensors(path.join(dir, WEIGHTS_FILE), tensors, { metadata: { format: 'pt' } });
  });
  writeJsonAtomic(path.join(dir, KILN_FILE), info);
}

function float64(t: Tensor | undefined, name: string, dir: string): Float64Array {
  if (t === undefined) throw new ConfigError(`${dir}/${WEIGHTS_FILE} lacks the tensor '${name}'; the TF-IDF folder is incomplete`);
  return Float64Array.from(t.to('float64').toTypedArray() as Float64Array);
}

/** Reads a folder writeTfidfFolder wrote; a missing or inconsistent part is a ConfigError naming it. */
export function loadTfidfFolder(dir: string): { model: TfidfClassifier; info: TfidfInfo } {
  const infoFile = path.join(dir, KILN_FILE);
  if (!existsSync(infoFile)) throw new ConfigError(`${dir} has no ${KILN_FILE}; it is not a TF-IDF baseline folder`);
  const info = JSON.parse(readFileSync(infoFile, 'utf8')) as TfidfInfo;
  if (info.architecture !== TFIDF_ARCHITECTURE) throw new ConfigError(`${dir} holds a '${String(info.architecture)}' model, not a TF-IDF baseline`);
  for (const file of [VOCABULARY_FILE, WEIGHTS_FILE]) {
    if (!existsSync(path.join(dir, file))) throw new ConfigError(`${dir} lacks ${file}; the TF-IDF folder is incomplete (re-run kiln finetune --from baseline:tfidf)`);
  }
  const vocabularies = JSON.parse(readFileSync(path.join(dir, VOCABULARY_FILE), 'utf8')) as Record<string, unknown>;
  const model = scope(() => {
    const { tensors } = loadSafetensors(path.join(dir, WEIGHTS_FILE));
    const analyzers: FittedAnalyzer[] = info.analyzers.map((settings) => {
      const vocabulary = vocabularies[settings.analyzer];
      if (!Array.isArray(vocabulary) || !vocabulary.every((t) => typeof t === 'string')) throw new ConfigError(`${dir}/${VOCABULARY_FILE} has no list of strings for the ${settings.analyzer} analyzer`);
      return { settings, vocabulary: vocabulary as string[], idf: float64(tensors[`idf.${settings.analyzer}`], `idf.${settings.analyzer}`, dir) };
    });
    let vectorizer: TfidfVectorizer;
    try {
      vectorizer = new TfidfVectorizer(analyzers);
    } catch (error) {
      throw new ConfigError(`${dir}: ${(error as Error).message}`);
    }
    const K = info.labels.length;
    const F = vectorizer.numFeatures;
    const coef = tensors['coef'];
    if (coef === undefined || coef.shape.length !== 2 || coef.shape[0] !== K || coef.shape[1] !== F) {
      throw new ConfigError(`${dir}/${WEIGHTS_FILE}: coef should be (${K}, ${F}) for ${K} labels and ${F} features, got ${coef === undefined ? 'nothing' : `(${coef.shape.join(', ')})`}`);
    }
    const intercept = float64(tensors['intercept'], 'intercept', dir);
    if (intercept.length !== K) throw new ConfigError(`${dir}/${WEIGHTS_FILE}: intercept has ${intercept.length} values for ${K} labels`);
    const weights: LogisticRegressionWeights = { coef: float64(coef, 'coef', dir), intercept, numClasses: K, numFeatures: F };
    return new TfidfClassifier(vectorizer, weights, info.labels);
  });
  return { model, info };
}
