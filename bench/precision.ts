/**
 * Mixed-precision benchmark (issue 20, acceptance 1): the same model, data and seed trained in
 * fp32 and in bf16 (CPU autocast: matrix products in bfloat16, fp32 weights, gradients and
 * optimizer state), side by side in one run, at two shapes:
 *
 *  - nanoGPT's character-level CPU recipe (4 layers, width 128, context 64, batch 12) on
 *    Moby-Dick: where small matrices leave little for bf16 to win;
 *  - a GPT-2-small-shaped model (12 layers, 12 heads, width 768, context 256, GPT-2's BPE
 *    tokenizer and 50,257-token head, batch 4).
 *
 * For each shape and precision: the training loop's tokens/s (median of its log windows after
 * the first) and the validation loss after the same steps. Runs alternate fp32, bf16, bf16, fp32
 * … (`--rounds`), each in this process, so a slow phase of the machine hits both alike.
 * Targets: bf16 validation loss within 0.05 nats of fp32; bf16 ≥ 1.5× fp32 tokens/s at the
 * GPT-2-small shape.
 *
 * Prints a table, then as the last line of stdout one JSON object. Progress goes to stderr.
 * Run: `npm run bench:precision`, or `node dist/bench/precision.js [--recipe-steps N]
 * [--gpt2-steps N] [--rounds N] [--threads N]` (the issue's "few hundred steps" at the GPT-2 shape
 * take over an hour in fp32 on 2 cores; the default is 30).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultCorpus } from '../src/data/default-corpus.js';
import type { Precision } from '../src/tensor/autocast.js';
import { pretrainLanguageModel } from '../src/train/pretrain.js';
import type { PretrainConfig } from '../src/train/pretrain-config.js';
import { median } from './torch-side.js';

const LOSS_TOLERANCE = 0.05;
const SPEED_TARGET = 1.5;

const args = { recipeSteps: 500, gpt2Steps: 30, rounds: 1, threads: 2 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [flag, value] = [argv[i], Number(argv[i + 1])];
  if (!Number.isInteger(value) || value < 1) throw new Error(`bench/precision: ${flag} needs a positive integer; use --recipe-steps N --gpt2-steps N --rounds N --threads N`);
  if (flag === '--recipe-steps') args.recipeSteps = value;
  else if (flag === '--gpt2-steps') args.gpt2Steps = value;
  else if (flag === '--rounds') args.rounds = value;
  else if (flag === '--threads') args.threads = value;
  else throw new Error(`bench/precision: unknown argument ${flag}`);
}

const work = mkdtempSync(path.join(tmpdir(), 'kiln-bench-precision-'));

interface Shape {
  name: string;
  config: Partial<PretrainConfig>;
}

try {
  const text = path.join(work, 'moby-dick.txt');
  writeFileSync(text, defaultCorpus({ sources: ['moby-dick'] }), 'utf8');
  const shapes: Shape[] = [
    { name: 'nanoGPT recipe (4 x 128, T 64)', config: { maxSteps: args.recipeSteps, evalEvery: args.recipeSteps, logEvery: Math.max(1, Math.floor(args.recipeSteps / 10)) } },
    {
      name: 'GPT-2-small shape (12 x 768, T 256)',
      config: { layers: 12, heads: 12, dim: 768, blockSize: 256, batchSize: 4, tokenizer: 'gpt2', warmup: Math.min(10, args.gpt2Steps), lr: 6e-4, minLr: 6e-5, maxSteps: args.gpt2Steps, evalEvery: args.gpt2Steps, evalIters: 4, logEvery: Math.max(1, Math.floor(args.gpt2Steps / 6)) },
    },
  ];
  const rows: { shape: string; precision: Precision; tokensPerS: number[]; valLoss: number }[] = [];
  for (const shape of shapes) {
    for (let round = 0; round < args.rounds; round++) {
      const order: Precision[] = round % 2 === 0 ? ['fp32', 'bf16'] : ['bf16', 'fp32'];
      for (const precision of order) {
        process.stderr.write(`[${shape.name}] ${precision}, round ${round + 1}\n`);
        const rates: number[] = [];
        const result = await pretrainLanguageModel({
          config: { data: [text], seed: 1337, threads: args.threads, ...shape.config, precision, out: path.join(work, `${rows.length}`) },
          onLog: (log, { isEval }) => {
            if (!isEval && log.tokens_per_s > 0) rates.push(log.tokens_per_s);
          },
        });
        rows.push({ shape: shape.name, precision, tokensPerS: rates.slice(1), valLoss: result.valLoss });
        process.stderr.write(`[${shape.name}] ${precision}: ${median(rates.slice(1)).toFixed(0)} tokens/s, val loss ${result.valLoss.toFixed(4)}\n`);
      }
    }
  }
  const summary = shapes.map((shape) => {
    const of = (p: Precision) => rows.filter((r) => r.shape === shape.name && r.precision === p);
    const rate = (p: Precision) => median(of(p).flatMap((r) => r.tokensPerS));
    const loss = (p: Precision) => of(p)[0]!.valLoss;
    return { shape: shape.name, fp32: rate('fp32'), bf16: rate('bf16'), ratio: rate('bf16') / rate('fp32'), fp32Loss: loss('fp32'), bf16Loss: loss('bf16') };
  });
  console.log(`${args.threads} threads; ${args.recipeSteps} steps (recipe), ${args.gpt2Steps} steps (GPT-2 shape); ${args.rounds} round(s) each\n`);
  console.log('| shape | fp32 tokens/s | bf16 tokens/s | bf16 / fp32 | fp32 val loss | bf16 val loss | difference |');
  console.log('|---|---|---|---|---|---|---|');
  for (const s of summary) console.log(`| ${s.shape} | ${s.fp32.toFixed(0)} | ${s.bf16.toFixed(0)} | ${s.ratio.toFixed(2)} | ${s.fp32Loss.toFixed(4)} | ${s.bf16Loss.toFixed(4)} | ${(s.bf16Loss - s.fp32Loss).toFixed(4)} |`);
  const gpt2 = summary[1]!;
  const lossOk = summary.every((s) => Math.abs(s.bf16Loss - s.fp32Loss) <= LOSS_TOLERANCE);
  console.log(`\nbf16 loss within ${LOSS_TOLERANCE} of fp32: ${lossOk ? 'met' : 'MISS'}; bf16 ≥ ${SPEED_TARGET}x fp32 at the GPT-2 shape: ${gpt2.ratio >= SPEED_TARGET ? 'met' : 'MISS'} (${gpt2.ratio.toFixed(2)}x)`);
  console.log(JSON.stringify({ recipe_fp32_tokens_per_s: summary[0]!.fp32, recipe_bf16_tokens_per_s: summary[0]!.bf16, recipe_val_loss_fp32: summary[0]!.fp32Loss, recipe_val_loss_bf16: summary[0]!.bf16Loss, gpt2_fp32_tokens_per_s: gpt2.fp32, gpt2_bf16_tokens_per_s: gpt2.bf16, gpt2_ratio: gpt2.ratio, gpt2_val_loss_fp32: gpt2.fp32Loss, gpt2_val_loss_bf16: gpt2.bf16Loss, steps: { recipe: args.recipeSteps, gpt2: args.gpt2Steps } }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
