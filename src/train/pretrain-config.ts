/**
 * The configuration of a pretraining run, its documented defaults (nanoGPT's character-level
 * CPU recipe, "baby GPT") and the pure function that merges defaults → config file → flags.
 */
import { COMPUTE_SCHEMA } from './compute-settings.js';
import { ConfigError } from './config-error.js';
import { camelCase, checkSetting, choice, custom, defaultsOf, duration, int, kebabCase, num, optionalInt, optionalStr, parseDuration, type SettingsOf, str } from '../util/settings.js';

export { camelCase, kebabCase, parseDuration };

/** Architectures a run may name: GPT-2, Llama and the LSTM learn to predict the next token, BERT masked tokens. */
export const KNOWN_ARCHITECTURES = ['gpt', 'llama', 'bert', 'lstm'] as const;
export type ArchitectureName = (typeof KNOWN_ARCHITECTURES)[number];

/**
 * Every setting of a pretraining run, declared once: its type, default (nanoGPT's character-level
 * CPU recipe, config/train_shakespeare_char.py's CPU variant, "baby GPT"), allowed values and
 * doc. PretrainConfig, PRETRAIN_DEFAULTS, the checks of resolvePretrainConfig and `kiln
 * pretrain`'s flags and --help all come from it.
 */
export const PRETRAIN_SCHEMA = {
  arch: choice(KNOWN_ARCHITECTURES, 'gpt', 'model: gpt, llama, lstm (next-token objective) or bert (masked-LM objective)'),
  from: optionalStr(null, "continue pretraining this model folder (its weights, tokenizer and shape; its architecture must be arch), e.g. on the task's own texts; unset: random weights", 'a model folder', { valueName: 'DIR' }),
  data: custom<string[]>(['default'], "text files, folders, .jsonl/.csv files, or 'default' (Moby-Dick + State of the Union)", 'list', (value, key) => {
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s !== '')) throw new ConfigError(`${key} must be one or more paths, or 'default', got ${JSON.stringify(value)}`);
    return [...(list as string[])];
  }, { valueName: 'PATH...|default' }),
  tokenizer: str('char', "'char' (built from the text), 'gpt2' (GPT-2's BPE), 'bpe' (a byte-level BPE of vocab-size tokens trained on the data) or a tokenizer.json path", { valueName: 'char|gpt2|bpe|PATH' }),
  vocabSize: optionalInt(null, "with tokenizer bpe: the BPE vocabulary to train (unset: 4096); otherwise embedding rows, padding the tokenizer's vocabulary (unset: its size)"),
  layers: int(4, 'transformer blocks (LSTM layers for lstm)'),
  heads: int(4, 'attention heads per block; must divide dim (unused by lstm)'),
  kvHeads: optionalInt(null, 'llama: key/value heads, fewer than heads for grouped-query attention; must divide heads (unset: as many as heads)'),
  dim: int(128, 'model width (the embedding and hidden size for lstm)'),
  blockSize: int(64, 'context length T in tokens'),
  batchSize: int(12, 'sequences per micro-batch B (per process under kiln launch)'),
  gradAccumulation: int(1, 'micro-batches per optimizer step: k micro-batches of B train as one batch of kB'),
  lr: num(1e-3, 'peak learning rate, reached after warm-up'),
  minLr: num(1e-4, 'learning rate at the end of the cosine decay (lr / 10 unless given)'),
  warmup: int(100, 'linear warm-up steps (unless given, a run shorter than it warms up for a tenth of max-steps)', 0),
  weightDecay: num(0.1, 'AdamW weight decay on matrices and embeddings (≥ 2-D) only'),
  beta1: num(0.9, 'AdamW beta1', 'unit'),
  beta2: num(0.99, 'AdamW beta2', 'unit'),
  gradClip: num(1.0, 'global gradient-norm clip (0: off)'),
  ...COMPUTE_SCHEMA,
  dropout: num(0, 'dropout probability while training', 'unit'),
  maxSteps: int(2000, 'optimizer steps in the whole run (also the cosine schedule\'s length)'),
  timeLimit: duration(null, 'stop (after evaluating and saving) when this much time has passed in one invocation, e.g. 10m', { defaultText: 'unset' }),
  evalEvery: int(250, 'evaluate and checkpoint every N steps, and at the end'),
  patience: int(0, 'stop after N evaluations in a row without a lower validation loss (0: never)', 0),
  evalIters: int(20, 'batches per evaluation, on the training and the validation split'),
  logEvery: int(10, 'log the training loss every N steps'),
  valFraction: num(0.1, 'fraction of the tokens (the tail) held out for validation', 'unit'),
  seed: int(1337, 'random seed (initial weights, batches, dropout, masking)', 0),
  threads: optionalInt(null, 'CPU threads for libtorch (unset: its default)'),
  out: str('runs/pretrain', 'run folder: config.json, metrics.jsonl, model/, best/, state/', { valueName: 'DIR' }),
} as const;

/** A pretraining run's settings (see PRETRAIN_SCHEMA for each one's doc and default). */
export type PretrainConfig = SettingsOf<typeof PRETRAIN_SCHEMA>;

/** nanoGPT's character-level CPU recipe (config/train_shakespeare_char.py, CPU variant). */
export const PRETRAIN_DEFAULTS: Readonly<PretrainConfig> = defaultsOf(PRETRAIN_SCHEMA);

/** Settings given in code: any subset of PretrainConfig (timeLimit may also be a duration string). */
export type PretrainSettings = { [K in keyof PretrainConfig]?: K extends 'timeLimit' ? number | string | null : PretrainConfig[K] };

/**
 * A layer of configuration: typed settings, or parsed JSON from a config file or flags (any
 * subset of the keys, kebab-case or camelCase), checked when resolved.
 */
export type PretrainConfigInput = PretrainSettings | Readonly<Record<string, unknown>>;

export const PRETRAIN_CONFIG_KEYS = Object.keys(PRETRAIN_DEFAULTS) as (keyof PretrainConfig)[];

/** Checks one value and returns it in its canonical form (a duration string becomes seconds). */
function checkValue(key: keyof PretrainConfig, value: unknown): unknown {
  return checkSetting(PRETRAIN_SCHEMA, key, value);
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
export const RESUMABLE_OVERRIDES: readonly (keyof PretrainConfig)[] = ['timeLimit', 'threads', 'logEvery', 'evalEvery', 'gradCheckpointing', 'device', 'precision', 'out'];
