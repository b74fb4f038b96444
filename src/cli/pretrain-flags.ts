/** The flags of `kiln pretrain`: one per PretrainConfig key (kebab-case), plus --config, --resume, --help. */
import { type PretrainConfig, PRETRAIN_DEFAULTS, camelCase } from '../train/pretrain-config.js';
import type { FlagSpec } from './args.js';
import { type SettingFlag, settingFlags } from './setting-flags.js';

const SETTINGS: Record<keyof PretrainConfig, SettingFlag> = {
  arch: { kind: 'string', help: 'model: gpt, llama, lstm (next-token objective) or bert (masked-LM objective)', valueName: 'gpt|llama|bert|lstm' },
  from: { kind: 'string', help: 'continue pretraining this model folder (its weights, tokenizer and shape), e.g. on the task\'s own texts (unset: random weights)', valueName: 'DIR' },
  data: { kind: 'list', help: "text files, folders, .jsonl/.csv files, or 'default' (Moby-Dick + State of the Union)", valueName: 'PATH...|default' },
  tokenizer: { kind: 'string', help: "'char', 'gpt2' (GPT-2's BPE), 'bpe' (byte-level BPE trained on the data, --vocab-size tokens) or a tokenizer.json path", valueName: 'char|gpt2|bpe|PATH' },
  vocabSize: { kind: 'int', help: "with --tokenizer bpe: the BPE vocabulary to train (default 4096); otherwise embedding rows, padding the tokenizer's vocabulary (unset: its size)" },
  layers: { kind: 'int', help: 'transformer blocks (LSTM layers for lstm)' },
  heads: { kind: 'int', help: 'attention heads per block' },
  kvHeads: { kind: 'int', help: 'llama: key/value heads (grouped-query attention; unset: as many as --heads)' },
  dim: { kind: 'int', help: 'model width (embedding and hidden size for lstm)' },
  blockSize: { kind: 'int', help: 'context length in tokens' },
  batchSize: { kind: 'int', help: 'sequences per micro-batch' },
  gradAccumulation: { kind: 'int', help: 'micro-batches per optimizer step' },
  lr: { kind: 'number', help: 'peak learning rate' },
  minLr: { kind: 'number', help: 'learning rate at the end of the cosine decay (lr / 10 unless given)' },
  warmup: { kind: 'int', help: 'linear warm-up steps' },
  weightDecay: { kind: 'number', help: 'AdamW weight decay on matrices and embeddings' },
  beta1: { kind: 'number', help: 'AdamW beta1' },
  beta2: { kind: 'number', help: 'AdamW beta2' },
  gradClip: { kind: 'number', help: 'gradient-norm clip (0: off)' },
  dropout: { kind: 'number', help: 'dropout probability while training' },
  maxSteps: { kind: 'int', help: 'optimizer steps' },
  timeLimit: { kind: 'duration', help: 'stop (after evaluating and saving) when this much time has passed, e.g. 10m' },
  evalEvery: { kind: 'int', help: 'evaluate and checkpoint every N steps' },
  patience: { kind: 'int', help: 'stop after N evaluations without a lower validation loss (0: never)' },
  evalIters: { kind: 'int', help: 'batches per evaluation' },
  logEvery: { kind: 'int', help: 'log the training loss every N steps' },
  valFraction: { kind: 'number', help: 'fraction of the tokens (the tail) held out for validation' },
  seed: { kind: 'int', help: 'random seed (weights, batches, dropout)' },
  threads: { kind: 'int', help: 'CPU threads for libtorch (unset: its default)' },
  out: { kind: 'string', help: 'run folder: metrics.jsonl, model/, best/, state/', valueName: 'DIR' },
};

export const PRETRAIN_FLAGS: readonly FlagSpec[] = [
  ...settingFlags(SETTINGS, PRETRAIN_DEFAULTS, (list) => list.join(' ')),
  { name: 'config', kind: 'string', help: 'JSON file of settings with the same keys (kebab-case or camelCase); flags override it', valueName: 'FILE' },
  { name: 'resume', kind: 'boolean', help: 'continue the run in --out from its last checkpoint' },
  { name: 'no-report', kind: 'boolean', help: 'do not write OUT/report.html (loss, learning-rate and throughput charts) at the end' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

/** The config layer the settings flags make: kebab-case flag names → PretrainConfig keys. */
export function configFromFlags(flags: ReadonlyMap<string, unknown>): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const [name, value] of flags) {
    if (name === 'config' || name === 'resume' || name === 'no-report' || name === 'help') continue;
    layer[camelCase(name)] = value;
  }
  return layer;
}
