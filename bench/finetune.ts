/**
 * Fine-tuning benchmark (issue 5, acceptance 1 and 2): what pretraining buys on a small
 * labelled task, and what LoRA costs.
 *
 * 1. Pretrain a small character-level GPT (4 layers, 4 heads, dim 128, block 64) on the
 *    default corpus with `pretrainCausalLM`, under a time limit (default 9.5 minutes; the target
 *    allows 10 on 2 cores).
 * 2. Fine-tune on the default spam task with 200 labelled training e-mails (a stratified
 *    sample), choosing the best checkpoint on a held-out validation split and scoring it on a
 *    held-out test split: from the pretrained model (full, freeze, LoRA) and from scratch (the
 *    same architecture and tokenizer, randomly initialised, the same steps and settings), each
 *    with three seeds; the table and the JSON report the means.
 *
 * Targets: pretrained macro-F1 ≥ scratch + 5 points; LoRA within 2 points of full.
 * Prints a table, then, as the last line of stdout, one JSON object:
 *   {"pretrained_macro_f1":…, "scratch_macro_f1":…, "lora_macro_f1":…, "full_macro_f1":…, "lora_trainable_fraction":…}
 * Progress goes to stderr.
 *
 * About 55 minutes on 2 cores (each fine-tuning run reads eight windows per e-mail: ~4 minutes).
 * Run: `npm run bench:finetune`, or `node dist/bench/finetune.js [--pretrain-time 9.5m]
 * [--pretrained DIR] [--steps N] [--threads N] [--out DIR]` (--pretrained reuses a model folder instead of pretraining).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseFlags } from '../src/cli/args.js';
import { finetune, type FinetuneResult } from '../src/finetune/finetune.js';
import type { FinetuneConfigInput } from '../src/finetune/finetune-config.js';
import { getNumThreads, pretrainCausalLM } from '../src/index.js';
import { parseDuration } from '../src/train/pretrain-config.js';

const flags = parseFlags(
  process.argv.slice(2),
  [
    { name: 'pretrain-time', kind: 'duration', help: 'pretraining time limit' },
    { name: 'pretrained', kind: 'string', help: 'reuse this pretrained model folder' },
    { name: 'steps', kind: 'int', help: 'fine-tuning steps per run' },
    { name: 'out', kind: 'string', help: 'bench run folder' },
    { name: 'threads', kind: 'int', help: "libtorch threads (unset: libtorch's default; 1 is faster on a machine other jobs keep busy)" },
  ],
  'bench:finetune',
);
const out = (flags.get('out') as string | undefined) ?? path.join('runs', `bench-finetune-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const pretrainSeconds = parseDuration((flags.get('pretrain-time') as string | undefined) ?? '9.5m', 'pretrain-time');
const steps = (flags.get('steps') as number | undefined) ?? 300;
mkdirSync(out, { recursive: true });
const say = (text: string): void => void process.stderr.write(text + '\n');

const threads = (flags.get('threads') as number | undefined) ?? null;
const SHAPE = { layers: 4, heads: 4, dim: 128, blockSize: 64 };

async function pretrained(): Promise<string> {
  const given = flags.get('pretrained') as string | undefined;
  if (given !== undefined) return given;
  say(`pretraining a ${SHAPE.layers}-layer char GPT on the default corpus for ${pretrainSeconds}s…`);
  const result = await pretrainCausalLM({
    config: { ...SHAPE, data: ['default'], tokenizer: 'char', batchSize: 16, lr: 1e-3, minLr: 1e-4, warmup: 100, maxSteps: 9000, threads, timeLimit: pretrainSeconds, evalEvery: 500, evalIters: 10, dropout: 0, out: path.join(out, 'pretrain') },
    onLog: (log, info) => info.isEval && say(`  pretrain step ${log.step}: val_loss ${log.val_loss?.toFixed(4)} (${log.elapsed_s.toFixed(0)}s)`),
  });
  say(`  pretrained ${result.step} steps (${result.stoppedBy}), val_loss ${result.valLoss.toFixed(4)}`);
  return result.bestDir;
}

const base = await pretrained();
const common: FinetuneConfigInput = {
  task: 'classify',
  train: 'default',
  trainSize: 200,
  valFraction: 0.05,
  testFraction: 0.1,
  maxSteps: steps,
  evalEvery: 25,
  batchSize: 16,
  warmup: 20,
  dropout: 0.1,
  // A character model's last position mostly predicts the next character: the mean over the
  // text summarises it better. 64 characters (the model's context) say little about an e-mail:
  // the classifier reads 512, in eight 64-character windows, and pools over all of them. Spam
  // shows at both ends of an e-mail (subject, unsubscribe footer), so the 512 are the first 256
  // and the last 256. (Pretrained − scratch on one checkpoint, in macro-F1 points: +0.8 at 64
  // characters, seeds 1337/1/2; +6.0 at 256, the same seeds, one of them +2.5; +6.5 at 512,
  // seeds 1 and 2.)
  pooling: 'mean',
  truncation: 'head+tail',
  maxLength: 512,
  seed: 1337,
  threads,
};

interface Run {
  result: FinetuneResult;
  seconds: number;
  accuracy: number;
  macroF1: number;
}

async function run(name: string, settings: FinetuneConfigInput): Promise<Run> {
  say(`fine-tuning: ${name}…`);
  const start = performance.now();
  const result = await finetune({
    config: [common, settings, { out: path.join(out, name) }],
    onLog: (log, info) => info.isEval && say(`  step ${log.step}/${info.maxSteps}: val_macro_f1 ${log.val_macro_f1?.toFixed(4)} val_loss ${log.val_loss?.toFixed(4)}`),
  });
  const seconds = (performance.now() - start) / 1000;
  const test = result.test as { macro_f1: number; accuracy: number };
  say(`  ${name}: test macro-F1 ${test.macro_f1.toFixed(4)}, accuracy ${test.accuracy.toFixed(4)} (${seconds.toFixed(0)}s)`);
  return { result, seconds, accuracy: test.accuracy, macroF1: test.macro_f1 };
}

// Full fine-tuning of both starting points shares one recipe; the adapters and the lone head
// have far fewer parameters to move and take a larger learning rate, as is usual for LoRA
// (LoRA at 2e-3 trailed full by 1.2 points over three seeds on the demo's checkpoint, at 5e-3 by 0.1).
const MODES: { name: string; settings: FinetuneConfigInput }[] = [
  { name: 'pretrained-full', settings: { from: base, mode: 'full', lr: 2e-4, minLr: 2e-5 } },
  { name: 'scratch-full', settings: { from: 'scratch:gpt', ...SHAPE, tokenizer: path.join(base, 'tokenizer.json'), mode: 'full', lr: 2e-4, minLr: 2e-5 } },
  { name: 'pretrained-freeze', settings: { from: base, mode: 'freeze', lr: 3e-3, minLr: 3e-4 } },
  { name: 'pretrained-lora', settings: { from: base, mode: 'lora', loraRank: 8, loraAlpha: 16, lr: 5e-3, minLr: 5e-4 } },
];
// One fine-tuning run's macro-F1 moves by 3-8 points with the seed (which e-mails train, the
// order, the new head), more than the differences measured here, so every mode runs with each
// seed and the table reports means.
const SEEDS = [1337, 1, 2];
const runs = new Map<string, Run[]>(MODES.map((m) => [m.name, []]));
for (const seed of SEEDS) {
  for (const mode of MODES) runs.get(mode.name)!.push(await run(`${mode.name}-seed${seed}`, { ...mode.settings, seed }));
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const stat = (name: string, pick: (r: Run) => number): number => mean(runs.get(name)!.map(pick));
const f1 = (name: string): number => stat(name, (r) => r.macroF1);
const testCount = (runs.get('pretrained-full')![0]!.result.test as { count: number }).count;
console.log(
  `\nSpam vs ham, 200 training e-mails, ${testCount} test e-mails; ${steps} steps per run, ${threads ?? getNumThreads()} threads; ` +
    `means over seeds ${SEEDS.join(', ')}`,
);
console.log('run                 trainable  accuracy  macro-F1  seconds  macro-F1 per seed');
for (const { name } of MODES) {
  const first = runs.get(name)![0]!;
  console.log(
    `${name.padEnd(18)}  ${(100 * first.result.trainable.trainableFraction).toFixed(2).padStart(8)}%  ${(100 * stat(name, (r) => r.accuracy)).toFixed(1).padStart(8)}  ` +
      `${(100 * f1(name)).toFixed(1).padStart(8)}  ${stat(name, (r) => r.seconds).toFixed(0).padStart(7)}  ${runs.get(name)!.map((r) => (100 * r.macroF1).toFixed(1)).join(' ')}`,
  );
}
const gain = 100 * (f1('pretrained-full') - f1('scratch-full'));
const loraGap = 100 * (f1('pretrained-full') - f1('pretrained-lora'));
console.log(`pretrained − scratch: ${gain.toFixed(1)} macro-F1 points (target ≥ 5): ${gain >= 5 ? 'met' : 'missed'}`);
console.log(`full − LoRA: ${loraGap.toFixed(1)} points (target ≤ 2): ${loraGap <= 2 ? 'met' : 'missed'}`);
console.log(
  JSON.stringify({
    pretrained_macro_f1: f1('pretrained-full'),
    scratch_macro_f1: f1('scratch-full'),
    lora_macro_f1: f1('pretrained-lora'),
    full_macro_f1: f1('pretrained-full'),
    lora_trainable_fraction: runs.get('pretrained-lora')![0]!.result.trainable.trainableFraction,
  }),
);
