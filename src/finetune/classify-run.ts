/**
 * Classification fine-tuning: a SequenceClassifier on the starting backbone, trained on
 * labelled texts with (optionally) class weights, a balanced sampler or focal loss; the best
 * checkpoint by the validation metric is scored on the test split.
 *
 * B = batch, T = longest text in the batch, K = number of labels.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { crossEntropy, focalLoss } from '../nn/functional.js';
import { tensor } from '../tensor/creation.js';
import { balancedSampler, epochSampler, padBatch, resolveClassWeights } from './batches.js';
import { SequenceClassifier, type Pooling } from './classifier.js';
import { type ClassifierInfo, CLASSIFICATION_TASK, loadClassifierFolder, writeClassifierFolder } from './classifier-folder.js';
import { type ClassificationData, encodeTexts, loadClassificationData, type SequenceEncoding } from './classify-data.js';
import { type ClassifierEvaluation, evaluateClassifier } from './classify-eval.js';
import { type FinetuneConfig, finetuneRunSettings } from './finetune-config.js';
import { type FinetuneLog, type LoopResult, runTrainer, writeRunConfig } from '../train/trainer.js';
import { saveLoraAdapter, withLoraMerged } from './lora.js';
import { startingPoint } from './start.js';
import { finetuneOptimizer, loraSettingsFor, setUpTrainable, type TrainableSetup } from './trainable.js';
import { ConfigError } from '../train/config-error.js';
import type { ProcessGroup } from '../distributed/process-group.js';

export interface ClassifyRunHooks {
  onLog?: ((log: FinetuneLog, info: { maxSteps: number; isEval: boolean }) => void) | undefined;
  onStart?: ((info: ClassifyStartInfo) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Continue from OUT/state (a checkpoint of a stopped or killed run). */
  resume?: boolean | undefined;
  /** Train data-parallel over this process group (see LoopHooks.distributed). */
  distributed?: ProcessGroup | undefined;
}

export interface ClassifyStartInfo {
  config: Readonly<FinetuneConfig>;
  labels: string[];
  trainExamples: number;
  valExamples: number;
  testExamples: number;
  maxSteps: number;
  trainable: TrainableSetup;
}

export interface ClassifyRunResult extends LoopResult {
  labels: string[];
  trainable: TrainableSetup;
  /** The best checkpoint on the test split (null when the test split is empty). */
  test: ClassifierEvaluation | null;
  /** Class weights the loss used (null for none). */
  classWeights: number[] | null;
}

export async function finetuneClassifier(config: Readonly<FinetuneConfig>, hooks: ClassifyRunHooks = {}): Promise<ClassifyRunResult> {
  const data: ClassificationData = loadClassificationData(config);
  const { backbone, tokenizer } = startingPoint(
    config.from,
    config,
    config.tokenizer,
    config.seed,
    () => data.train.examples.map((e) => e.text),
  );
  const clsId = tokenizer.clsId ?? tokenizer.bosId;
  // Encoders pool at [CLS] when the tokenizer has one; a character vocabulary from kiln pretrain has none, so they average.
  const pooling: Pooling = config.pooling === 'auto' ? (backbone.causal ? 'last' : clsId === undefined ? 'mean' : 'cls') : config.pooling;
  const prefixId = pooling === 'cls' ? clsId : undefined;
  if (pooling === 'cls' && prefixId === undefined) {
    throw new ConfigError(`pooling 'cls' needs a [CLS] token first, but the tokenizer has no bos/cls special token; use --pooling mean`);
  }
  if (config.maxLength !== null && config.maxLength > backbone.maxLength && pooling !== 'mean') {
    throw new ConfigError(`max-length ${config.maxLength} exceeds the model's context of ${backbone.maxLength} tokens; longer texts are read in windows, which only --pooling mean combines`);
  }
  const encoding: SequenceEncoding = {
    maxLength: config.maxLength ?? backbone.maxLength,
    truncation: config.truncation,
    prefixId,
    padId: tokenizer.padId ?? tokenizer.eosId ?? 0,
  };
  const train = encodeTexts(tokenizer, data.train.examples.map((e) => e.text), encoding);
  const val = encodeTexts(tokenizer, data.val.examples.map((e) => e.text), encoding);

  const classifier = new SequenceClassifier(backbone, data.labelNames, pooling, config.dropout);
  classifier.train();
  const trainable = setUpTrainable(classifier, backbone, config, (name) => name.startsWith('score.'));
  const { optimizer, multipliers } = finetuneOptimizer(classifier, backbone, config);
  const classWeights = resolveClassWeights(config.classWeights, data.train.labels, data.labelNames);
  const sampler = config.sampler === 'balanced' ? balancedSampler(data.train.labels, config.seed) : epochSampler(train.length, config.seed);
  const maxSteps = config.epochs === null ? config.maxSteps : Math.max(1, Math.ceil((config.epochs * train.length) / (config.batchSize * config.gradAccumulation)));
  const out = config.out;
  const writer = hooks.distributed === undefined || hooks.distributed.rank === 0; // rank 0 writes, reports and tests
  mkdirSync(out, { recursive: true });
  if (writer) writeRunConfig(out, config);
  if (writer) hooks.onStart?.({ config, labels: data.labelNames, trainExamples: train.length, valExamples: val.length, testExamples: data.test.examples.length, maxSteps, trainable });

  const made = { by: 'finetune', config: { ...config } as Record<string, unknown>, date: new Date().toISOString() };
  const loraSettings = loraSettingsFor(config, backbone);
  const metricKey: keyof FinetuneLog = config.metric === 'accuracy' ? 'val_accuracy' : config.metric === 'loss' ? 'val_loss' : 'val_macro_f1';

  const loop = await runTrainer({
    ...finetuneRunSettings(config),
    out,
    metricKey,
    maxSteps,
    optimizer,
    multipliers,
    draw: (count) => sampler.next(count), // example indices
    // Cross-entropy with class weights is a weighted mean: its denominator is the labels' weight mass.
    lossWeight: (indices) => (classWeights !== null && config.loss !== 'focal' ? indices.reduce((sum, i) => sum + classWeights[data.train.labels[i]!]!, 0) : indices.length),
    tokens: (indices) => indices.reduce((sum, i) => sum + train[i]!.length, 0),
    loss: (indices) => {
      const { ids, lengths } = padBatch(indices.map((i) => train[i]!), encoding.padId); // (B, T), (B)
      const targets = tensor(indices.map((i) => data.train.labels[i]!), { dtype: 'int64' }); // (B)
      const logits = classifier.forward(ids, lengths); // (B, K)
      const weight = classWeights === null ? undefined : tensor(classWeights); // (K)
      return config.loss === 'focal'
        ? focalLoss(logits, targets, { gamma: config.focalGamma, ...(weight === undefined ? {} : { alpha: weight }) })
        : crossEntropy(logits, targets, weight === undefined ? {} : { weight });
    },
    evaluate: () => {
      const result = evaluateClassifier(classifier, val, data.val.labels, encoding.padId);
      return { val_loss: result.loss, val_accuracy: result.accuracy, val_macro_f1: result.macro_f1 };
    },
    save: (dir, step, metrics) => {
      const info: ClassifierInfo = {
        architecture: backbone.architecture,
        task: CLASSIFICATION_TASK,
        labels: data.labelNames,
        pooling,
        max_length: encoding.maxLength,
        truncation: encoding.truncation,
        prefix_id: prefixId ?? null,
        pad_id: encoding.padId,
        made,
        step,
        metrics: metrics as Record<string, number>,
      };
      withLoraMerged(backbone.module, () => writeClassifierFolder(classifier, tokenizer, dir, info));
      if (config.mode === 'lora') saveLoraAdapter(backbone.module, path.join(dir, 'adapter'), loraSettings, { base_model: config.from });
    },
    module: classifier,
    sampler,
    resume: hooks.resume,
    distributed: hooks.distributed,
    onLog: hooks.onLog,
    signal: hooks.signal,
  });

  let test: ClassifierEvaluation | null = null;
  if (writer && data.test.examples.length > 0) {
    const best = loadClassifierFolder(path.join(out, 'best'));
    const sequences = encodeTexts(best.tokenizer, data.test.examples.map((e) => e.text), encoding);
    test = evaluateClassifier(best.classifier, sequences, data.test.labels, encoding.padId);
  }
  return { ...loop, labels: data.labelNames, trainable, test, classWeights };
}
