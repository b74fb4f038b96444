/**
 * The configuration of a fine-tuning run, its documented defaults, and the pure function that
 * merges defaults → config file → flags (keys in camelCase or kebab-case; unknown keys and bad
 * values are ConfigErrors).
 */
import { ConfigError } from '../train/config-error.js';
import type { LoopSettings, SavedRunSettings } from '../train/trainer.js';
import { isBaseline, TFIDF_BASELINE } from './tfidf/baseline-name.js';
import { defaultMinLr, kebabCase, mergeConfigLayers, parseDuration } from '../train/pretrain-config.js';

export type FinetuneTask = 'classify' | 'generate';
export type FinetuneMode = 'full' | 'freeze' | 'lora';

export interface FinetuneConfig {
  /** 'classify' (a label per text) or 'generate' (a completion per prompt). @default 'classify' */
  task: FinetuneTask;
  /**
   * A model folder (kiln pretrain's, or a Hugging Face GPT-2/Llama/BERT folder), 'scratch:ARCH'
   * (gpt|llama|bert|lstm), or 'baseline:tfidf': word and character n-gram TF-IDF + logistic
   * regression with C chosen on the validation split (classification only). @default 'scratch:gpt'
   */
  from: string;
  /** Training data: .csv/.tsv/.jsonl, a folder of label sub-folders, or 'default' (the spam task). @default 'default' */
  train: string;
  /** Validation file; null splits valFraction off the training data. @default null */
  val: string | null;
  /** Test file; null splits testFraction off the training data. @default null */
  test: string | null;
  /** Share of the training data held out for validation (stratified), when val is null. @default 0.1 */
  valFraction: number;
  /** Share of the training data held out for the test, when test is null. @default 0.2 */
  testFraction: number;
  /** Keep at most this many training examples (a stratified sample); null keeps all. @default null */
  trainSize: number | null;
  /** Text column / field. @default 'text' */
  textColumn: string;
  /** Label column / field. @default 'label' */
  labelColumn: string;
  /** Tokenizer of a scratch model: 'char' (from the training texts), 'gpt2', or a tokenizer.json or model folder. @default 'char' */
  tokenizer: string;
  /** Scratch model: blocks. @default 4 */
  layers: number;
  /** Scratch model: attention heads. @default 4 */
  heads: number;
  /** Scratch model: width. @default 128 */
  dim: number;
  /** Scratch model: context length in tokens. @default 64 */
  blockSize: number;
  /** Dropout before the classification head (and in a scratch model, as kiln pretrain uses it; Llama has none). @default 0.1 */
  dropout: number;
  /** Tokens a text is cut to; null for the model's context length. Longer than the context needs mean pooling (windows). @default null */
  maxLength: number | null;
  /** Which part of a long text is kept: 'head', 'tail' or 'head+tail'. @default 'head' */
  truncation: 'head' | 'tail' | 'head+tail';
  /** 'auto' (last token for causal models; cls for encoders whose tokenizer has [CLS], else mean), 'last', 'cls' or 'mean'. @default 'auto' */
  pooling: 'auto' | 'last' | 'cls' | 'mean';
  /** 'full' trains everything, 'freeze' only the head (and unfrozen top layers), 'lora' adapters and the head. @default 'full' */
  mode: FinetuneMode;
  /** In full mode, also freeze the embeddings and the first N blocks. @default 0 */
  freezeLayers: number;
  /** LoRA rank. @default 8 */
  loraRank: number;
  /** LoRA alpha (the update is scaled by alpha / rank). @default 16 */
  loraAlpha: number;
  /** Dropout on the LoRA input. @default 0.05 */
  loraDropout: number;
  /** Module-name patterns LoRA adapts; empty for the architecture's attention projections. @default [] */
  loraTargets: string[];
  /** Layer-wise lr decay: block i of L gets lr · decay^(L + 1 − i); 1 turns it off. @default 1 */
  layerDecay: number;
  /** 'none', 'auto' (inverse class frequency, mean 1) or one weight per label in label order. @default 'none' */
  classWeights: 'none' | 'auto' | number[];
  /** 'random' batches, or 'balanced' (each class drawn equally often). @default 'random' */
  sampler: 'random' | 'balanced';
  /** 'cross-entropy' or 'focal'. @default 'cross-entropy' */
  loss: 'cross-entropy' | 'focal';
  /** Focal loss γ. @default 2 */
  focalGamma: number;
  /** Validation metric that picks the best checkpoint: macro_f1, accuracy, loss (classify); exact_match, rouge_l, loss (generate); 'auto' is macro_f1 / exact_match. @default 'auto' */
  metric: 'auto' | 'macro_f1' | 'accuracy' | 'loss' | 'exact_match' | 'rouge_l';
  /** Stop after this many evaluations without improvement; 0 never stops early. @default 0 */
  patience: number;
  /** Generation: tokens generated per prompt at evaluation; null for the longest training completion + 8. @default null */
  maxNewTokens: number | null;
  /**
   * Peak learning rate. Unless given: 3e-4 in full mode; 3e-3 in freeze and lora modes, whose
   * few new parameters need a larger step (LoRA measured best at 10–25× full's rate). @default 3e-4
   */
  lr: number;
  /** Learning rate at the end of the cosine decay; unless given, lr / 10. @default 3e-5 */
  minLr: number;
  /** Linear warm-up steps. @default 20 */
  warmup: number;
  /** AdamW weight decay on matrices. @default 0.01 */
  weightDecay: number;
  /** Gradient-norm clip; 0 is off. @default 1 */
  gradClip: number;
  /** Examples per micro-batch. @default 16 */
  batchSize: number;
  /** Micro-batches per optimizer step: their gradients add up to one batch of gradAccumulation × batchSize. @default 1 */
  gradAccumulation: number;
  /** Optimizer steps (overridden by epochs when set). @default 300 */
  maxSteps: number;
  /** Passes over the training data; null uses maxSteps. @default null */
  epochs: number | null;
  /** Wall-clock budget in seconds (or '90s', '10m'); null for none. @default null */
  timeLimit: number | null;
  /** Evaluate on the validation set (and checkpoint) every N steps, and at the end. @default 50 */
  evalEvery: number;
  /** Log the training loss every N steps. @default 10 */
  logEvery: number;
  /** Seeds the split, the head, the batch order and dropout. @default 1337 */
  seed: number;
  /** libtorch threads; null keeps its default. @default null */
  threads: number | null;
  /** Run folder: metrics.jsonl, config.json, model/, best/ (and adapter/ in lora mode). @default 'runs/finetune' */
  out: string;
}

/** The peak learning rate of each mode when none is given. */
export const DEFAULT_LR: Readonly<Record<FinetuneMode, number>> = Object.freeze({ full: 3e-4, freeze: 3e-3, lora: 3e-3 });

export const FINETUNE_DEFAULTS: Readonly<FinetuneConfig> = Object.freeze({
  task: 'classify',
  from: 'scratch:gpt',
  train: 'default',
  val: null,
  test: null,
  valFraction: 0.1,
  testFraction: 0.2,
  trainSize: null,
  textColumn: 'text',
  labelColumn: 'label',
  tokenizer: 'char',
  layers: 4,
  heads: 4,
  dim: 128,
  blockSize: 64,
  dropout: 0.1,
  maxLength: null,
  truncation: 'head',
  pooling: 'auto',
  mode: 'full',
  freezeLayers: 0,
  loraRank: 8,
  loraAlpha: 16,
  loraDropout: 0.05,
  loraTargets: [],
  layerDecay: 1,
  classWeights: 'none',
  sampler: 'random',
  loss: 'cross-entropy',
  focalGamma: 2,
  metric: 'auto',
  patience: 0,
  maxNewTokens: null,
  lr: DEFAULT_LR.full,
  minLr: defaultMinLr(DEFAULT_LR.full),
  warmup: 20,
  weightDecay: 0.01,
  gradClip: 1,
  batchSize: 16,
  gradAccumulation: 1,
  maxSteps: 300,
  epochs: null,
  timeLimit: null,
  evalEvery: 50,
  logEvery: 10,
  seed: 1337,
  threads: null,
  out: 'runs/finetune',
} satisfies FinetuneConfig) as Readonly<FinetuneConfig>;

export const FINETUNE_CONFIG_KEYS = Object.keys(FINETUNE_DEFAULTS) as (keyof FinetuneConfig)[];


/** Settings given in code or parsed from a file or flags: any subset of the keys. */
export type FinetuneConfigInput = Partial<Record<keyof FinetuneConfig, unknown>> | Record<string, unknown>;

const CHOICES: Partial<Record<keyof FinetuneConfig, readonly string[]>> = {
  task: ['classify', 'generate'],
  truncation: ['head', 'tail', 'head+tail'],
  pooling: ['auto', 'last', 'cls', 'mean'],
  mode: ['full', 'freeze', 'lora'],
  sampler: ['random', 'balanced'],
  loss: ['cross-entropy', 'focal'],
  metric: ['auto', 'macro_f1', 'accuracy', 'loss', 'exact_match', 'rouge_l'],
};

function fail(key: string, want: string, value: unknown): never {
  throw new ConfigError(`${kebabCase(key)} must be ${want}, got ${JSON.stringify(value)}`);
}

function checkValue(key: keyof FinetuneConfig, value: unknown): unknown {
  const choices = CHOICES[key];
  if (choices !== undefined) {
    if (typeof value !== 'string' || !choices.includes(value)) fail(key, `one of ${choices.join(', ')}`, value);
    return value;
  }
  switch (key) {
    case 'from':
    case 'train':
    case 'textColumn':
    case 'labelColumn':
    case 'tokenizer':
    case 'out':
      if (typeof value !== 'string' || value === '') fail(key, 'a non-empty string', value);
      return value;
    case 'val':
    case 'test':
      if (value !== null && (typeof value !== 'string' || value === '')) fail(key, 'a file path', value);
      return value;
    case 'valFraction':
    case 'testFraction':
    case 'dropout':
    case 'loraDropout':
      if (typeof value !== 'number' || !(value >= 0 && value < 1)) fail(key, 'a number in [0, 1)', value);
      return value;
    case 'trainSize':
    case 'maxLength':
    case 'maxNewTokens':
    case 'threads':
      if (value === null) return null;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(key, 'a positive integer', value);
      return value;
    case 'layers':
    case 'heads':
    case 'dim':
    case 'blockSize':
    case 'loraRank':
    case 'batchSize':
    case 'gradAccumulation':
    case 'maxSteps':
    case 'evalEvery':
    case 'logEvery':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(key, 'a positive integer', value);
      return value;
    case 'freezeLayers':
    case 'warmup':
    case 'seed':
    case 'patience':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(key, 'a non-negative integer', value);
      return value;
    case 'loraAlpha':
    case 'focalGamma':
    case 'lr':
    case 'minLr':
    case 'weightDecay':
    case 'gradClip':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(key, 'a finite number ≥ 0', value);
      return value;
    case 'layerDecay':
      if (typeof value !== 'number' || !(value > 0 && value <= 1)) fail(key, 'a number in (0, 1]', value);
      return value;
    case 'epochs':
      if (value === null) return null;
      if (typeof value !== 'number' || !(value > 0)) fail(key, 'a positive number', value);
      return value;
    case 'timeLimit':
      return value === null ? null : parseDuration(value, 'time-limit');
    case 'loraTargets': {
      const list = typeof value === 'string' ? value.split(',') : value;
      if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s !== '')) fail(key, 'module-name patterns such as c_attn,c_proj', value);
      return (list as string[]).map((s) => s.trim());
    }
    case 'classWeights': {
      if (value === 'none' || value === 'auto') return value;
      const list = typeof value === 'string' ? value.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s))) : value;
      if (!Array.isArray(list) || list.length === 0 || !list.every((w) => typeof w === 'number' && Number.isFinite(w) && w > 0)) {
        fail(key, "'auto', 'none' or positive weights in label order such as 1,10", value);
      }
      return list as number[];
    }
    default:
      throw new ConfigError(`unknown setting '${String(key)}'`);
  }
}

/**
 * The defaults overridden by each layer in turn: a new, frozen, checked config. Pure.
 * @example resolveFinetuneConfig({ from: 'runs/pretrain/best', trainSize: 200 }, { mode: 'lora' })
 */
export function resolveFinetuneConfig(...layers: FinetuneConfigInput[]): Readonly<FinetuneConfig> {
  const config: FinetuneConfig = { ...FINETUNE_DEFAULTS, loraTargets: [] };
  const given = mergeConfigLayers(config, layers, FINETUNE_CONFIG_KEYS, checkValue);
  if (!given.has('lr')) config.lr = DEFAULT_LR[config.mode];
  if (!given.has('minLr')) config.minLr = defaultMinLr(config.lr);
  if (config.minLr > config.lr) throw new ConfigError(`min-lr (${config.minLr}) must not exceed lr (${config.lr})`);
  if (config.val === null && config.test === null && config.valFraction + config.testFraction >= 1) {
    throw new ConfigError(`val-fraction + test-fraction (${config.valFraction} + ${config.testFraction}) must leave training data; lower them`);
  }
  if (isBaseline(config.from) && config.from !== TFIDF_BASELINE) throw new ConfigError(`from ${config.from}: the only classical baseline is ${TFIDF_BASELINE}`);
  if (isBaseline(config.from) && config.task !== 'classify') throw new ConfigError(`from ${config.from} classifies texts; it cannot do --task ${config.task}`);
  const generateMetrics = ['auto', 'exact_match', 'rouge_l', 'loss'];
  const classifyMetrics = ['auto', 'macro_f1', 'accuracy', 'loss'];
  if (!(config.task === 'generate' ? generateMetrics : classifyMetrics).includes(config.metric)) {
    throw new ConfigError(`metric ${config.metric} does not apply to --task ${config.task}; choose ${(config.task === 'generate' ? generateMetrics : classifyMetrics).join(', ')}`);
  }
  return Object.freeze(config);
}

/** Settings a resumed fine-tuning run may change; any other difference from the saved run is refused. */
const RESUMABLE: readonly (keyof FinetuneConfig)[] = ['timeLimit', 'threads', 'logEvery', 'evalEvery', 'out'];

/** A fine-tuning run's settings, as the Trainer reads and saves them. */
export function finetuneRunSettings(config: Readonly<FinetuneConfig>): { settings: LoopSettings; run: SavedRunSettings } {
  return { settings: config, run: { config: config as unknown as Record<string, unknown>, defaults: FINETUNE_DEFAULTS as unknown as Record<string, unknown>, resumable: RESUMABLE } };
}
