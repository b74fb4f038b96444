/**
 * Generation fine-tuning: a causal LM trained on prompt → completion pairs with the loss on the
 * completion tokens only; checkpoints are causal-LM folders `kiln generate` serves, the best
 * chosen by validation exact match (or ROUGE-L, or loss).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { languageModelArchitecture, type CausalLM } from '../train/architectures.js';
import { ConfigError } from '../train/config-error.js';
import { loadLanguageModel, writeModelFolder } from '../train/model-folder.js';
import type { ModelVocabulary } from '../train/model-vocabulary.js';
import { epochSampler } from './batches.js';
import { type FinetuneConfig, finetuneRunSettings } from './finetune-config.js';
import { encodePair, evaluateGeneration, type GenerationEvaluation, pairBatch, type PromptCompletion, readPromptCompletions } from './generation.js';
import { type FinetuneLog, type LoopResult, runTrainer, writeRunConfig } from '../train/trainer.js';
import { saveLoraAdapter, withLoraMerged } from './lora.js';
import { stratifiedSplit } from './split.js';
import { startingPoint } from './start.js';
import { finetuneOptimizer, loraSettingsFor, setUpTrainable, type TrainableSetup } from './trainable.js';
import type { ProcessGroup } from '../distributed/process-group.js';

export interface GenerateRunHooks {
  onLog?: ((log: FinetuneLog, info: { maxSteps: number; isEval: boolean }) => void) | undefined;
  onStart?: ((info: { config: Readonly<FinetuneConfig>; trainExamples: number; valExamples: number; testExamples: number; maxSteps: number; trainable: TrainableSetup }) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Continue from OUT/state (a checkpoint of a stopped or killed run). */
  resume?: boolean | undefined;
  /** Train data-parallel over this process group (see LoopHooks.distributed). */
  distributed?: ProcessGroup | undefined;
}

export interface GenerateRunResult extends LoopResult {
  trainable: TrainableSetup;
  /** The best checkpoint on the test split (null when it is empty). */
  test: GenerationEvaluation | null;
}

function splitPairs(config: Readonly<FinetuneConfig>): { train: PromptCompletion[]; val: PromptCompletion[]; test: PromptCompletion[] } {
  const all = readPromptCompletions(config.train);
  const fractions: Record<string, number> = {};
  if (config.val === null) fractions['val'] = config.valFraction;
  if (config.test === null) fractions['test'] = config.testFraction;
  const parts = stratifiedSplit(all.map(() => 0), fractions, config.seed) as Record<string, number[]>;
  const pick = (indices: number[]): PromptCompletion[] => indices.map((i) => all[i]!);
  let train = pick(parts['train']!);
  if (config.trainSize !== null) train = train.slice(0, config.trainSize);
  const split = {
    train,
    val: config.val === null ? pick(parts['val']!) : readPromptCompletions(config.val),
    test: config.test === null ? pick(parts['test']!) : readPromptCompletions(config.test),
  };
  if (split.train.length === 0 || split.val.length === 0) throw new ConfigError(`${config.train} leaves an empty training or validation split; add examples or change val-fraction/test-fraction`);
  return split;
}

export async function finetuneGenerator(config: Readonly<FinetuneConfig>, hooks: GenerateRunHooks = {}): Promise<GenerateRunResult> {
  if (config.mode === 'freeze') throw new ConfigError("mode 'freeze' trains only a classification head; for --task generate use full (with --freeze-layers N) or lora");
  const data = splitPairs(config);
  const { backbone, tokenizer } = startingPoint(config.from, config, config.tokenizer, config.seed, () => data.train.flatMap((p) => [p.prompt, p.completion]));
  const architecture = backbone.architecture;
  if (!backbone.causal || architecture === 'sentence-encoder') throw new ConfigError(`--task generate needs a causal language model; ${config.from} is an encoder (${architecture}), which reads text but does not write it`);
  languageModelArchitecture(architecture); // fails now, not at the first save, for an architecture without a folder writer
  const model = backbone.module as CausalLM;
  // Embedding rows beyond the tokenizer's ids (padding) are recorded so generation never picks them.
  const vocabulary: ModelVocabulary = { size: backbone.vocabSize, tokenizerSize: tokenizer.vocabSize, maskTokenId: null, padTokenId: null };
  const maxLength = Math.min(config.maxLength ?? backbone.maxLength, backbone.maxLength);
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const train = data.train.map((p) => encodePair(tokenizer, p, maxLength));
  const maxNewTokens = config.maxNewTokens ?? Math.max(...train.map((p) => p.targets.filter((t) => t !== -100).length)) + 8;
  const evalOptions = { maxLength, maxNewTokens, padId };

  model.train();
  const trainable = setUpTrainable(model, backbone, config, () => false);
  const { optimizer, multipliers } = finetuneOptimizer(model, backbone, config);
  const sampler = epochSampler(train.length, config.seed);
  const maxSteps = config.epochs === null ? config.maxSteps : Math.max(1, Math.ceil((config.epochs * train.length) / (config.batchSize * config.gradAccumulation)));
  const writer = hooks.distributed === undefined || hooks.distributed.rank === 0; // rank 0 writes, reports and tests
  mkdirSync(config.out, { recursive: true });
  if (writer) writeRunConfig(config.out, config);
  if (writer) hooks.onStart?.({ config, trainExamples: train.length, valExamples: data.val.length, testExamples: data.test.length, maxSteps, trainable });
  const made = { by: 'finetune', config: { ...config } as Record<string, unknown>, date: new Date().toISOString() };
  const loraSettings = loraSettingsFor(config, backbone);
  const metricKey: keyof FinetuneLog = config.metric === 'rouge_l' ? 'val_rouge_l' : config.metric === 'loss' ? 'val_loss' : 'val_exact_match';

  const loop = await runTrainer({
    ...finetuneRunSettings(config),
    out: config.out,
    metricKey,
    maxSteps,
    optimizer,
    multipliers,
    draw: (count) => sampler.next(count).map((i) => train[i]!),
    // The loss is a mean over completion tokens: they are the examples' weight.
    lossWeight: (pairs) => pairs.reduce((sum, p) => sum + p.targets.filter((t) => t !== -100).length, 0),
    tokens: (pairs) => pairs.reduce((sum, p) => sum + p.inputs.length, 0),
    loss: (pairs) => {
      const { x, y } = pairBatch(pairs, padId); // (B, T), (B, T)
      return model.loss(x, y);
    },
    evaluate: () => {
      const result = evaluateGeneration(model, tokenizer, data.val, evalOptions);
      return { val_loss: result.loss, val_exact_match: result.exact_match, val_rouge_l: result.rouge_l };
    },
    save: (dir, step, metrics) => {
      withLoraMerged(model, () =>
        writeModelFolder(model, tokenizer, dir, { architecture, task: 'causal-lm', made, step, val_loss: metrics.val_loss ?? null }, vocabulary),
      );
      if (config.mode === 'lora') saveLoraAdapter(model, path.join(dir, 'adapter'), loraSettings, { base_model: config.from });
    },
    module: model,
    sampler,
    resume: hooks.resume,
    distributed: hooks.distributed,
    onLog: hooks.onLog,
    signal: hooks.signal,
  });

  let test: GenerationEvaluation | null = null;
  if (writer && data.test.length > 0) {
    const best = loadLanguageModel(path.join(config.out, 'best'));
    test = evaluateGeneration(best.model as CausalLM, best.tokenizer, data.test, evalOptions);
  }
  return { ...loop, trainable, test };
}
