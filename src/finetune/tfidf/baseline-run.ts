/**
 * `kiln finetune --from baseline:tfidf`: the classical baseline every leaderboard shows beside
 * the networks. Word 1–2-gram and character 2–5-gram TF-IDF features fitted on the training
 * split, a multinomial logistic regression for each C of a grid, the C with the best validation
 * metric kept (ties: the lower validation loss), scored on the test split. Writes the same run
 * folder as a network's fine-tuning: metrics.jsonl (one evaluation line per C), config.json,
 * model/ and best/ (the chosen C), eval.json (by the caller).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { METRICS_FILE } from '../../util/run-files.js';
import { resolveClassWeights } from '../batches.js';
import { loadClassificationData } from '../classify-data.js';
import type { ClassifyRunHooks, ClassifyRunResult } from '../classify-run.js';
import { type ClassifierEvaluation, scoreProbabilities } from '../classify-eval.js';
import type { FinetuneConfig } from '../finetune-config.js';
import { type FinetuneLog, writeRunConfig } from '../../train/trainer.js';
import { fitLogisticRegression, type LogisticRegressionWeights, rowProbabilities } from './logistic-regression.js';
import { TFIDF_ARCHITECTURE, TfidfClassifier, type TfidfInfo, writeTfidfFolder } from './tfidf-folder.js';
import { DEFAULT_ANALYZERS, type SparseRow, TfidfVectorizer } from './vectorizer.js';

/** The C values tried, weakest regularisation last (each fit starts from the previous one's weights). */
export const C_GRID: readonly number[] = Object.freeze([0.1, 0.3, 1, 3, 10, 30, 100]);

function metricOf(evaluation: ClassifierEvaluation, metric: FinetuneConfig['metric']): number {
  if (metric === 'loss') return -evaluation.loss;
  return metric === 'accuracy' ? evaluation.accuracy : evaluation.macro_f1;
}

/** Runs the baseline for a resolved config (resolveFinetuneConfig has checked that `from` is baseline:tfidf and the task classify). */
export async function finetuneTfidfBaseline(config: Readonly<FinetuneConfig>, hooks: ClassifyRunHooks = {}): Promise<ClassifyRunResult> {
  const start = performance.now();
  const elapsed = (): number => (performance.now() - start) / 1000;
  const data = loadClassificationData(config);
  const K = data.labelNames.length;
  const classWeights = resolveClassWeights(config.classWeights, data.train.labels, data.labelNames);
  const vectorizer = TfidfVectorizer.fit(data.train.examples.map((e) => e.text), DEFAULT_ANALYZERS);
  const F = vectorizer.numFeatures;
  const trainRows = vectorizer.transform(data.train.examples.map((e) => e.text));
  const valRows = vectorizer.transform(data.val.examples.map((e) => e.text));
  const parameters = K * F + K;
  const trainable = { loraLayers: [], trainableParameters: parameters, totalParameters: parameters, trainableFraction: 1 };
  mkdirSync(config.out, { recursive: true });
  writeRunConfig(config.out, config);
  hooks.onStart?.({ config, labels: data.labelNames, trainExamples: trainRows.length, valExamples: valRows.length, testExamples: data.test.examples.length, maxSteps: C_GRID.length, trainable });

  const metricsFile = path.join(config.out, METRICS_FILE);
  writeFileAtomic(metricsFile, () => {});
  let best: { step: number; c: number; weights: LogisticRegressionWeights; log: FinetuneLog; score: number } | null = null;
  let previous: LogisticRegressionWeights | undefined;
  let last: FinetuneLog | undefined;
  let step = 0;
  for (const c of C_GRID) {
    if (hooks.signal?.aborted === true && best !== null) break;
    step++;
    const weights = fitLogisticRegression(trainRows, data.train.labels, K, F, { c, classWeights, ...(previous === undefined ? {} : { init: previous }) });
    previous = weights;
    const probabilities = (rows: readonly SparseRow[]): number[][] => rows.map((row) => Array.from(rowProbabilities(weights, row)));
    const val = scoreProbabilities(probabilities(valRows), data.val.labels, data.labelNames);
    const train = scoreProbabilities(probabilities(trainRows), data.train.labels, data.labelNames);
    const log: FinetuneLog = { step, loss: train.loss, lr: 0, tokens_per_s: 0, elapsed_s: elapsed(), val_loss: val.loss, val_accuracy: val.accuracy, val_macro_f1: val.macro_f1, c };
    last = log;
    appendFileSync(metricsFile, JSON.stringify(log) + '\n');
    hooks.onLog?.(log, { maxSteps: C_GRID.length, isEval: true });
    const score = metricOf(val, config.metric);
    if (best === null || score > best.score || (score === best.score && val.loss < best.log.val_loss!)) best = { step, c, weights, log, score };
  }
  const chosen = best!;
  const model = new TfidfClassifier(vectorizer, chosen.weights, data.labelNames);
  const info: TfidfInfo = {
    architecture: TFIDF_ARCHITECTURE,
    task: 'sequence-classification',
    labels: data.labelNames,
    c: chosen.c,
    analyzers: DEFAULT_ANALYZERS.map((a) => ({ ...a, ngramRange: [...a.ngramRange] as [number, number] })),
    made: { by: 'finetune', config: { ...config } as Record<string, unknown>, date: new Date().toISOString() },
    metrics: { val_loss: chosen.log.val_loss!, val_accuracy: chosen.log.val_accuracy!, val_macro_f1: chosen.log.val_macro_f1! },
  };
  for (const dir of ['model', 'best']) writeTfidfFolder(model, path.join(config.out, dir), info);
  const seconds = elapsed();
  const test = data.test.examples.length === 0 ? null : scoreProbabilities(model.probabilities(data.test.examples.map((e) => e.text)), data.test.labels, data.labelNames);
  return {
    step,
    stoppedBy: step < C_GRID.length ? 'signal' : 'maxSteps',
    bestStep: chosen.step,
    best: chosen.log,
    last: last ?? {},
    seconds,
    labels: data.labelNames,
    trainable,
    test,
    classWeights,
  };
}
