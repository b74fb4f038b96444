/**
 * pretrainLanguageModel: the whole pretraining run a `kiln pretrain` invocation performs, as a
 * library call. Text → tokenizer → cached token file → train/val split → model (GPT, Llama,
 * LSTM: causal LM; BERT: masked LM) → AdamW with cosine schedule → a loop of steps, each inside
 * its own memory scope → evaluations, metrics.jsonl, model folders (OUT/model, OUT/best) and a
 * resumable training state (OUT/state).
 *
 * B = batch size, T = block size.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { randomWindows } from '../data/lm-batches.js';
import { DistributedDataParallel } from '../distributed/data-parallel.js';
import type { ProcessGroup } from '../distributed/process-group.js';
import { splitTokens } from '../data/token-file.js';
import { clipGradNorm_ } from '../optim/clip.js';
import { CosineLR } from '../optim/schedules/cosine.js';
import { manualSeed } from '../tensor/creation.js';
import { getNumThreads, setNumThreads } from '../tensor/runtime.js';
import { scope } from '../tensor/scope.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { METRICS_FILE, RUN_CONFIG_FILE } from '../util/run-files.js';
import { type LanguageModel, languageModelArchitecture, modelContextLength } from './architectures.js';
import { ConfigError } from './config-error.js';
import { evaluateLoss } from './evaluate.js';
import { truncateMetrics } from './metrics-file.js';
import { nanoGptAdamW } from './optimizer-groups.js';
import { prepareLmData } from './lm-data.js';
import { loadLanguageModel, resolveModelFolder, writeModelFolder, type KilnModelInfo } from './model-folder.js';
import { type ModelVocabulary, modelVocabulary } from './model-vocabulary.js';
import { causalObjective, maskedObjective } from './objectives.js';
import {
  type PretrainConfig,
  type PretrainConfigInput,
  PRETRAIN_CONFIG_KEYS,
  PRETRAIN_DEFAULTS,
  RESUMABLE_OVERRIDES,
  kebabCase,
  pretrainOutDir,
  resolvePretrainConfig,
} from './pretrain-config.js';
import { loadOptimizerState, readTrainingState, restoreRng, saveTrainingState } from './training-state.js';

/** One line of metrics.jsonl: a training log (loss) or an evaluation (val_loss, train_loss). */
export interface PretrainLog {
  step: number;
  /**
   * Mean training loss of this step's micro-batches (nats per scored token: every next token for
   * a causal LM, the masked ones for BERT); on an eval line, the eval's train-split loss.
   */
  loss: number;
  /** Validation loss, on eval lines only. */
  val_loss?: number;
  /** The learning rate this step used. */
  lr: number;
  /** Training tokens per second since the previous log line (on eval lines: the last one measured). */
  tokens_per_s: number;
  /** Seconds of training so far, over every invocation of the run. */
  elapsed_s: number;
}

export interface PretrainOptions {
  /** Settings over the defaults, applied in order (e.g. a config file's, then flags). See PretrainConfig. */
  config?: PretrainConfigInput | PretrainConfigInput[];
  /**
   * Continue from OUT/state: the saved settings are the base, the given ones may only change
   * timeLimit, threads, logEvery, evalEvery. Starts afresh when there is no state.
   * @default false
   */
  resume?: boolean;
  /** Called for every metrics line, as it is written. */
  onLog?: (log: PretrainLog, info: { maxSteps: number; isEval: boolean }) => void;
  /** Called once before the first step. */
  onStart?: (info: { config: Readonly<PretrainConfig>; vocabSize: number; trainTokens: number; valTokens: number; startStep: number; parameters: number }) => void;
  /** Stops the run after the current step; it evaluates and saves before returning. */
  signal?: AbortSignal;
  /**
   * Train data-parallel over this process group (see initProcessGroup): batchSize is per rank,
   * rank r trains on rows [r·B, (r+1)·B) of the batch one process would draw with batch
   * worldSize·B, gradients are averaged over the ranks, and only rank 0 evaluates and writes.
   */
  distributed?: ProcessGroup;
}

export interface PretrainResult {
  config: Readonly<PretrainConfig>;
  /** Steps completed. */
  step: number;
  /** Last validation loss. */
  valLoss: number;
  bestValLoss: number;
  /** Folders written. */
  modelDir: string;
  bestDir: string;
  stateDir: string;
  /** Why the loop ended. */
  stoppedBy: 'maxSteps' | 'timeLimit' | 'signal' | 'earlyStopping';
}


/**
 * The model and vocabulary `config.from` holds, for continued pretraining; a folder of another
 * architecture, or a context shorter than blockSize, is a ConfigError.
 */
function startingModel(config: Readonly<PretrainConfig>): { model: LanguageModel; vocabulary: ModelVocabulary } {
  const from = config.from!;
  const loaded = loadLanguageModel(from);
  if (loaded.architecture !== config.arch) throw new ConfigError(`from ${from} holds a ${loaded.architecture} model; pass --arch ${loaded.architecture} to continue pretraining it`);
  const context = modelContextLength(loaded.model);
  if (context !== null && config.blockSize > context) throw new ConfigError(`block-size ${config.blockSize} exceeds the ${context}-token context of the model in ${from}; use --block-size ${context} or less`);
  return { model: loaded.model, vocabulary: loaded.vocabulary };
}

/** The resolved config for this invocation: fresh, or the saved one with the permitted changes. */
function resolveConfig(layers: PretrainConfigInput[], saved: PretrainConfig | undefined): Readonly<PretrainConfig> {
  if (saved === undefined) return resolvePretrainConfig(...layers);
  // A state saved before a setting existed ran with its default.
  const before: PretrainConfig = { ...PRETRAIN_DEFAULTS, ...saved };
  const resumed = resolvePretrainConfig(before, ...layers);
  const changed = PRETRAIN_CONFIG_KEYS.filter((k) => !RESUMABLE_OVERRIDES.includes(k) && JSON.stringify(resumed[k]) !== JSON.stringify(before[k]));
  if (changed.length > 0) {
    const what = changed.map((k) => `${kebabCase(k)} (saved ${JSON.stringify(before[k])}, given ${JSON.stringify(resumed[k])})`).join(', ');
    throw new ConfigError(`cannot resume with different ${what}; a resumed run may only change ${RESUMABLE_OVERRIDES.map(kebabCase).join(', ')}. Drop those settings, or use a new --out folder`);
  }
  return resumed;
}

/**
 * Pretrains a language model of config.arch; see the module comment. Returns when maxSteps are
 * done, the time limit is spent, or `signal` aborts; each of these ends with an evaluation and a save.
 * @example
 * await pretrainLanguageModel({ config: { arch: 'llama', data: ['book.txt'], maxSteps: 500, out: 'runs/book' }, onLog: console.log });
 */
export async function pretrainLanguageModel(options: PretrainOptions = {}): Promise<PretrainResult> {
  const layers = options.config === undefined ? [] : Array.isArray(options.config) ? options.config : [options.config];
  // `out` decides where a saved state lives, so resolve it before the rest.
  const out = pretrainOutDir(...layers);
  const stateDir = path.join(out, 'state');
  const saved = options.resume === true ? readTrainingState(stateDir) : null;
  const config = resolveConfig(layers, saved?.config);
  const architecture = languageModelArchitecture(config.arch);

  const previousThreads = getNumThreads();
  if (config.threads !== null) setNumThreads(config.threads);
  try {
    const group = options.distributed;
    const writer = group === undefined || group.rank === 0;
    // Rank 0 makes the token cache first; the others then read it instead of racing to write it.
    if (!writer) await group!.barrier();
    // Continued pretraining reads the text with the folder's own tokenizer and keeps its vocabulary.
    const start = config.from === null ? null : startingModel(config);
    const tokenizerSpec = config.from === null ? config.tokenizer : path.join(resolveModelFolder(config.from).dir, 'tokenizer.json');
    const { tokenizer, tokens } = prepareLmData(config.data, tokenizerSpec, out, { vocabSize: config.vocabSize });
    if (writer && group !== undefined) await group.barrier();
    // With --tokenizer bpe, vocab-size is the BPE vocabulary to train; the embedding takes it plus any reserved ids.
    const vocabulary = start?.vocabulary ?? modelVocabulary(tokenizer, architecture.objective, config.tokenizer === 'bpe' ? null : config.vocabSize);
    const vocabSize = vocabulary.size;
    const { train, val } = splitTokens(tokens, config.valFraction);
    for (const [name, part] of [['training', train], ['validation', val]] as const) {
      if (part.length < config.blockSize + 1) {
        throw new ConfigError(`the ${name} split has ${part.length} tokens, fewer than block-size + 1 = ${config.blockSize + 1}; use more text, a smaller block-size or another val-fraction`);
      }
    }

    manualSeed(config.seed);
    const model = saved !== null ? architecture.load(path.join(stateDir, saved.modelDir)) : start?.model ?? architecture.build(config, vocabulary);
    const objective = architecture.objective === 'masked' ? maskedObjective(vocabulary, config.seed) : causalObjective;
    model.train();
    const ddp = group === undefined ? undefined : new DistributedDataParallel(model, group);
    const optimizer = nanoGptAdamW(model, config);
    const scheduler = new CosineLR(optimizer, { warmupSteps: config.warmup, totalSteps: config.maxSteps, minLr: config.minLr });
    const sampler = randomWindows(train, { blockSize: config.blockSize, batchSize: config.batchSize * (ddp?.worldSize ?? 1), seed: config.seed, ...(saved === null ? {} : { state: saved.sampler }) });
    let step = 0;
    let elapsedBefore = 0;
    let bestValLoss = Number.POSITIVE_INFINITY;
    let sinceImprovement = 0; // evaluations in a row without a lower validation loss
    const metricsFile = path.join(out, METRICS_FILE);
    if (saved !== null) {
      scope(() => optimizer.loadStateDict(loadOptimizerState(stateDir, saved)));
      scheduler.loadStateDict(saved.scheduler);
      restoreRng(saved);
      step = saved.step;
      elapsedBefore = saved.elapsedS;
      bestValLoss = saved.bestValLoss ?? Number.POSITIVE_INFINITY;
      sinceImprovement = (saved.loop?.['sinceImprovement'] as number | undefined) ?? 0;
      if (writer) truncateMetrics(metricsFile, step);
    } else if (writer) {
      writeFileAtomic(metricsFile, () => {}); // a fresh run starts a fresh log
    }
    await ddp?.broadcastParameters();
    ddp?.seedRank(config.seed + step);
    if (writer) writeFileAtomic(path.join(out, RUN_CONFIG_FILE), (fd) => writeAll(fd, Buffer.from(JSON.stringify(config, null, 2) + '\n', 'utf8')));
    if (writer) options.onStart?.({ config, vocabSize, trainTokens: train.length, valTokens: val.length, startStep: step, parameters: model.numParameters() });

    const tokensPerStep = config.batchSize * config.blockSize * config.gradAccumulation * (ddp?.worldSize ?? 1); // over all ranks
    const startTime = performance.now();
    const elapsed = (): number => elapsedBefore + (performance.now() - startTime) / 1000;
    let windowStart = performance.now();
    let windowTokens = 0;
    let lastLr = scheduler.lastLr[0]!;
    let lastTokensPerSecond = 0;
    let valLoss = Number.NaN;

    const log = (entry: PretrainLog, isEval: boolean): void => {
      if (!writer) return;
      appendFileSync(metricsFile, JSON.stringify(entry) + '\n');
      options.onLog?.(entry, { maxSteps: config.maxSteps, isEval });
    };
    const made = (): KilnModelInfo['made'] => ({ by: 'pretrainLanguageModel', config: { ...config }, date: new Date().toISOString() });
    const checkpoint = (): void => {
      if (!writer) return;
      const trainLoss = evaluateLoss(model, train, config, objective);
      valLoss = evaluateLoss(model, val, config, objective);
      log({ step, loss: trainLoss, val_loss: valLoss, lr: lastLr, tokens_per_s: lastTokensPerSecond, elapsed_s: elapsed() }, true);
      const info: KilnModelInfo = { architecture: config.arch, task: architecture.task, made: made(), step, val_loss: valLoss };
      writeModelFolder(model, tokenizer, path.join(out, 'model'), info, vocabulary);
      if (valLoss < bestValLoss) {
        bestValLoss = valLoss;
        sinceImprovement = 0;
        writeModelFolder(model, tokenizer, path.join(out, 'best'), info, vocabulary);
      } else {
        sinceImprovement++;
      }
      scope(() =>
        saveTrainingState({
          dir: stateDir,
          step,
          elapsedS: elapsed(),
          bestValLoss,
          scheduler: scheduler.stateDict(),
          sampler: sampler.state(),
          config,
          optimizer: optimizer.stateDict(),
          saveModel: (dir) => architecture.save(model, dir, vocabulary),
          loop: { sinceImprovement },
        }),
      );
      windowStart = performance.now(); // evaluation time is not training throughput
    };

    let stoppedBy: PretrainResult['stoppedBy'] = 'maxSteps';
    // A resumed run's state is a checkpoint of its step already.
    let checkpointedAt = saved === null ? -1 : step;
    while (step < config.maxSteps) {
      const aborted = options.signal?.aborted === true;
      const timeUp = config.timeLimit !== null && (performance.now() - startTime) / 1000 >= config.timeLimit;
      // Ranks stop together: one rank's signal or clock stops them all.
      if (ddp !== undefined ? await ddp.any(aborted || timeUp) : aborted || timeUp) {
        stoppedBy = timeUp && !aborted ? 'timeLimit' : 'signal'; // neither here: another rank's signal
        break;
      }
      lastLr = scheduler.lastLr[0]!;
      // One step per scope: activations, gradients' temporaries and batches are freed at its end;
      // parameters and optimizer state live outside it.
      let loss = scope(() => {
        optimizer.zeroGrad();
        let sum = 0;
        for (let micro = 0; micro < config.gradAccumulation; micro++) {
          const batchIndex = sampler.step; // seeds the masked objective's masking of this batch
          const { x, y } = ddp === undefined ? sampler.next() : ddp.shard(sampler.next()); // (B, T), (B, T)
          if (micro === config.gradAccumulation - 1) ddp?.armGradientSync(); // this backward completes the step's gradients
          const microLoss = objective.trainLoss(model, x, y, batchIndex);
          microLoss.div(config.gradAccumulation).backward();
          sum += microLoss.item();
        }
        return sum / config.gradAccumulation;
      });
      if (ddp !== undefined) {
        await ddp.syncGradients();
        loss = await ddp.average(loss);
      }
      scope(() => {
        if (config.gradClip > 0) clipGradNorm_(model.parameters(), config.gradClip);
        optimizer.step();
      });
      scheduler.step();
      step++;
      windowTokens += tokensPerStep;
      if (step % config.logEvery === 0 || step === config.maxSteps) {
        const now = performance.now();
        lastTokensPerSecond = windowTokens / ((now - windowStart) / 1000);
        log({ step, loss, lr: lastLr, tokens_per_s: lastTokensPerSecond, elapsed_s: elapsed() }, false);
        windowStart = now;
        windowTokens = 0;
      }
      if (step % config.evalEvery === 0 || step === config.maxSteps) {
        checkpoint();
        checkpointedAt = step;
        // Rank 0 evaluated; the ranks stop together.
        const patienceSpent = writer && config.patience > 0 && sinceImprovement >= config.patience;
        if (ddp !== undefined ? await ddp.any(patienceSpent) : patienceSpent) {
          stoppedBy = 'earlyStopping';
          break;
        }
      }
      // Let timers, signals and I/O callbacks run between steps (a progress bar, SIGINT).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (checkpointedAt !== step) checkpoint();
    return {
      config,
      step,
      valLoss,
      bestValLoss,
      modelDir: path.join(out, 'model'),
      bestDir: path.join(out, 'best'),
      stateDir,
      stoppedBy,
    };
  } finally {
    if (config.threads !== null) setNumThreads(previousThreads);
  }
}

/** The former name, from when every architecture was a causal LM. */
export const pretrainCausalLM = pretrainLanguageModel;
