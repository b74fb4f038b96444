/**
 * pretrainLanguageModel: the whole pretraining run a `kiln pretrain` invocation performs, as a
 * library call. Text → tokenizer → cached token file → train/val split → model (GPT, Llama,
 * LSTM: causal LM; BERT: masked LM) → the Trainer (src/train/trainer.ts: AdamW with a cosine
 * schedule, one memory scope per step, evaluations, metrics.jsonl, model folders OUT/model and
 * OUT/best, a resumable training state in OUT/state). This file is the task: random windows of
 * the token stream, the objective's loss, the loss of both splits as the evaluation.
 *
 * B = batch size, T = block size.
 */
import path from 'node:path';
import { randomWindows, type TokenIds, windowBatch } from '../data/lm-batches.js';
import type { ProcessGroup } from '../distributed/process-group.js';
import { splitTokens } from '../data/token-file.js';
import { manualSeed } from '../tensor/creation.js';
import { getNumThreads, setNumThreads } from '../tensor/runtime.js';
import { type LanguageModel, languageModelArchitecture, modelContextLength } from './architectures.js';
import { ConfigError } from './config-error.js';
import { evaluateLoss } from './evaluate.js';
import { nanoGptAdamW } from './optimizer-groups.js';
import { prepareLmData } from './lm-data.js';
import { loadLanguageModel, resolveModelFolder, writeModelFolder, type KilnModelInfo } from './model-folder.js';
import { type ModelVocabulary, modelVocabulary } from './model-vocabulary.js';
import { causalObjective, maskedObjective, type WindowKey } from './objectives.js';
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
import { stateToResume } from './training-state.js';
import { runTrainer, writeRunConfig } from './trainer.js';

/** A training window: where it starts in the training tokens, and which batch and row (over every rank) it is; the masked objective seeds its masking by them. */
interface Window extends WindowKey {
  start: number;
}

/** The T input ids of the window at `start` (a view when the tokens are a typed array). */
function windowIds(tokens: TokenIds, start: number, blockSize: number): ArrayLike<number> {
  return ArrayBuffer.isView(tokens) ? (tokens as unknown as Uint32Array).subarray(start, start + blockSize) : Array.prototype.slice.call(tokens, start, start + blockSize) as number[];
}

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
   * timeLimit, threads, logEvery, evalEvery. Without a saved state it is a ConfigError (nothing to resume).
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
  const saved = options.resume === true ? stateToResume(stateDir) : null;
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
    // A resumed run rebuilds the model as the run began (a fresh one, or --from's), then the trainer loads the checkpoint's weights into it.
    const model = start?.model ?? architecture.build(config, vocabulary);
    const objective = architecture.objective === 'masked' ? maskedObjective(vocabulary, config.seed) : causalObjective;
    model.train();
    const world = group?.worldSize ?? 1;
    const optimizer = nanoGptAdamW(model, config);
    // One batch of k × world × B windows a step (k micro-batches of world × B; rank r trains on rows [r·B, (r+1)·B) of each), so
    // accumulating k micro-batches of B, or W ranks of B, draws exactly the windows one batch of kWB would.
    const sampler = randomWindows(train, { blockSize: config.blockSize, batchSize: config.batchSize * world * config.gradAccumulation, seed: config.seed });
    let pending: Window[] = []; // the current step's windows not yet drawn

    if (writer) writeRunConfig(out, config);
    if (writer) options.onStart?.({ config, vocabSize, trainTokens: train.length, valTokens: val.length, startStep: saved?.step ?? 0, parameters: model.numParameters() });

    const made = (): KilnModelInfo['made'] => ({ by: 'pretrainLanguageModel', config: { ...config }, date: new Date().toISOString() });
    const loop = await runTrainer<Window>({
      settings: config,
      run: { config: config as unknown as Record<string, unknown>, defaults: PRETRAIN_DEFAULTS as unknown as Record<string, unknown>, resumable: RESUMABLE_OVERRIDES },
      out,
      metricKey: 'val_loss',
      maxSteps: config.maxSteps,
      optimizer,
      multipliers: optimizer.paramGroups.map(() => 1),
      module: model,
      sampler,
      draw: (count) => {
        if (pending.length === 0) {
          const batch = sampler.step;
          pending = sampler.nextStarts().map((start, row) => ({ start, batch, row }));
        }
        return pending.splice(0, count);
      },
      // The objective's mean is over the positions it scores (all for a causal LM, the masked ones for BERT): each part of a batch weighs by its count.
      lossWeight: (windows) => objective.scored(windows.map((w) => windowIds(train, w.start, config.blockSize)), windows),
      tokens: (windows) => windows.length * config.blockSize,
      loss: (windows) => {
        const { x, y } = windowBatch(train, windows.map((w) => w.start), config.blockSize, undefined); // (B, T), (B, T)
        return objective.trainLoss(model, x, y, windows);
      },
      // An evaluation line's loss is the training split's, estimated as the validation loss is.
      evaluate: () => ({ loss: evaluateLoss(model, train, config, objective), val_loss: evaluateLoss(model, val, config, objective) }),
      save: (dir, step, metrics) => {
        const info: KilnModelInfo = { architecture: config.arch, task: architecture.task, made: made(), step, val_loss: metrics.val_loss ?? Number.NaN };
        writeModelFolder(model, tokenizer, dir, info, vocabulary);
      },
      resume: options.resume,
      distributed: group,
      signal: options.signal,
      onLog: options.onLog === undefined ? undefined : (log, info) => options.onLog!(log as PretrainLog, info),
    });
    return {
      config,
      step: loop.step,
      valLoss: loop.last.val_loss ?? Number.NaN,
      bestValLoss: loop.best.val_loss ?? Number.NaN,
      modelDir: path.join(out, 'model'),
      bestDir: path.join(out, 'best'),
      stateDir,
      stoppedBy: loop.stoppedBy,
    };
  } finally {
    if (config.threads !== null) setNumThreads(previousThreads);
  }
}

/** The former name, from when every architecture was a causal LM. */
export const pretrainCausalLM = pretrainLanguageModel;
