/**
 * Pretraining benchmark (issue 4, acceptance 1): nanoGPT's character-level CPU recipe — 4 layers,
 * 4 heads, dim 128, block 64, batch 12, 2000 steps, lr 1e-3 cosine to 1e-4 after 100 warm-up
 * steps, AdamW (β2 0.99, weight decay 0.1), clip 1.0, no dropout, 90/10 split — on Moby Dick
 * (~1.2 MB of CC0 English, the default corpus's first part), run by Kiln's pretrainCausalLM and by
 * a from-scratch PyTorch model of the same architecture (bench/pretrain_torch.py under Debian's
 * /usr/bin/python3), one after the other, with the same threads and environment.
 *
 * Targets: |Kiln val loss − PyTorch val loss| ≤ 0.03, and Kiln's training tokens/s ≥ PyTorch's.
 * Validation loss is measured once, after the last step, by both on the same evalIters · B
 * sequential windows of the validation tail.
 *
 * Throughput: on this shared machine whole processes land in fast and slow phases, so one run
 * of each says little. After the two full runs the bench alternates short timed windows —
 * Kiln, PyTorch, then PyTorch, Kiln, … (`--windows` of each, `--window-steps` steps apiece,
 * fresh runs of the same recipe, each in a fresh process) — and compares the medians of the
 * windows' training-loop tokens/s, so that a slow phase hits both sides alike.
 *
 * Prints a table, then, as the last line of stdout, one JSON object:
 *   {"kiln_tokens_per_s":…, "torch_tokens_per_s":…, "kiln_val_loss":…, "torch_val_loss":…}
 * (with --precision best: torch_fp32_… and torch_bf16_… instead of torch_…).
 * Progress goes to stderr.
 *
 * Run: `npm run bench:pretrain`, or `node dist/bench/pretrain.js [--steps N] [--windows N]
 * [--window-steps N] [--precision fp32|bf16|best]` (e.g. --steps 100 --windows 2 --window-steps 50
 * for a quick check; the targets are for the full 2000 steps). `--precision bf16` runs both sides
 * under bf16 autocast (Kiln's `--precision bf16`, PyTorch's `torch.autocast('cpu')`).
 * `--precision best` runs three sides in one run — Kiln in bf16, PyTorch in fp32 eager and in bf16
 * autocast — with the speed issue's targets: Kiln ≥ 1.5× PyTorch fp32 eager at a validation loss
 * within 0.03 of it, and ahead of PyTorch bf16. `--shape gemm`
 * trains the GEMM-bound shape of the speed issue instead (12 layers, 12 heads, width 768, context
 * 256, batch 4; the recipe's character vocabulary), e.g. `--shape gemm --steps 20 --windows 3
 * --window-steps 10`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/tensor/native.js';
import { PYTHON, checkPythonTorch, median, round, runChild } from './torch-side.js';
import { buildInfo, defaultCorpus, getNumThreads, pretrainLanguageModel } from '../src/index.js';
import { PRETRAIN_DEFAULTS } from '../src/train/pretrain-config.js';
import type { Precision } from '../src/tensor/autocast.js';

const VAL_LOSS_TOLERANCE = 0.03;
const THROUGHPUT_RATIO_TARGET = 1.0;
/** The speed issue's targets for `--precision best`: ≥ 1.5× PyTorch fp32 eager, ahead of PyTorch bf16 autocast. */
const BEST_RATIO_TARGET_FP32 = 1.5;
const BEST_RATIO_TARGET_BF16 = 1.0;

interface TorchResult {
  torch: string;
  threads: number;
  openblas_coretype: string | null;
  steps: number;
  train_seconds: number;
  tokens_per_s: number;
  val_loss: number;
  final_train_loss: number;
  vocab_size: number;
  train_tokens: number;
  val_tokens: number;
}

interface KilnResult {
  tokensPerSecond: number;
  trainSeconds: number;
  valLoss: number;
  finalTrainLoss: number;
  vocabSize: number;
  trainTokens: number;
  valTokens: number;
}

interface BenchArgs {
  /** Steps of the two full runs (val loss). */
  steps: number;
  /** Timed throughput windows per side. */
  windows: number;
  /** Steps per throughput window. */
  windowSteps: number;
  /**
   * Both sides' precision: fp32, or bf16 autocast (Kiln's --precision bf16, PyTorch's
   * torch.autocast); or 'best': Kiln in bf16 against PyTorch in fp32 eager and in bf16 autocast,
   * three sides in one run.
   */
  precision: Precision | 'best';
  /** The model: nanoGPT's recipe, or the GEMM-bound shape (12 layers, 12 heads, width 768, context 256, batch 4). */
  shape: ShapeName;
}

type ShapeName = 'recipe' | 'gemm';
type Shape = Pick<typeof PRETRAIN_DEFAULTS, 'layers' | 'heads' | 'dim' | 'blockSize' | 'batchSize'>;
const SHAPES: Record<ShapeName, Shape> = {
  recipe: PRETRAIN_DEFAULTS,
  gemm: { layers: 12, heads: 12, dim: 768, blockSize: 256, batchSize: 4 },
};
const shapeOf = (name: ShapeName): Shape => {
  const { layers, heads, dim, blockSize, batchSize } = SHAPES[name];
  return { layers, heads, dim, blockSize, batchSize };
};

const USAGE = 'usage: node dist/bench/pretrain.js [--steps N] [--windows N] [--window-steps N] [--precision fp32|bf16|best] [--shape recipe|gemm]';

function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { steps: PRETRAIN_DEFAULTS.maxSteps, windows: 9, windowSteps: 200, precision: 'fp32', shape: 'recipe' };
  const keys: Record<string, 'steps' | 'windows' | 'windowSteps'> = { '--steps': 'steps', '--windows': 'windows', '--window-steps': 'windowSteps' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--precision') {
      const value = inline ?? argv[++i];
      if (value !== 'fp32' && value !== 'bf16' && value !== 'best') throw new Error(`--precision must be fp32, bf16 or best, got ${JSON.stringify(value)}`);
      args.precision = value;
      continue;
    }
    if (flag === '--shape') {
      const value = inline ?? argv[++i];
      if (value !== 'recipe' && value !== 'gemm') throw new Error(`--shape must be recipe or gemm, got ${JSON.stringify(value)}`);
      args.shape = value;
      continue;
    }
    const key = keys[flag];
    if (key === undefined) throw new Error(`unknown argument '${arg}'; ${USAGE}`);
    const value = inline ?? argv[++i];
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
    args[key] = n;
  }
  return args;
}




async function runKiln(textFile: string, outDir: string, steps: number, threads: number, precision: Precision, shape: ShapeName): Promise<KilnResult> {
  const config = resolveRecipe(steps);
  let trainSeconds = Number.NaN;
  let finalTrainLoss = Number.NaN;
  let info = { vocabSize: 0, trainTokens: 0, valTokens: 0 };
  const result = await pretrainLanguageModel({
    config: {
      data: [textFile],
      tokenizer: 'char',
      maxSteps: steps,
      warmup: config.warmup,
      // One evaluation, after the last step; its time is outside the training clock below.
      evalEvery: steps,
      evalIters: config.evalIters,
      threads,
      precision,
      ...shapeOf(shape),
      out: outDir,
    },
    onStart: (s) => {
      info = { vocabSize: s.vocabSize, trainTokens: s.trainTokens, valTokens: s.valTokens };
    },
    onLog: (log, { isEval }) => {
      if (isEval) return;
      // elapsed_s of a training log: seconds of the training loop so far, before any evaluation.
      trainSeconds = log.elapsed_s;
      finalTrainLoss = log.loss;
      if (log.step % 100 === 0 && steps >= 500) process.stderr.write(`[bench:pretrain] kiln step ${log.step}/${steps} loss ${log.loss.toFixed(4)}\n`);
    },
  });
  if (result.step !== steps) throw new Error(`Kiln's run stopped at step ${result.step} of ${steps} (${result.stoppedBy})`);
  const tokens = steps * SHAPES[shape].batchSize * SHAPES[shape].blockSize;
  return { tokensPerSecond: tokens / trainSeconds, trainSeconds, valLoss: result.valLoss, finalTrainLoss, ...info };
}

/** The recipe: Kiln's defaults, with a warm-up that fits a short quick run. */
function resolveRecipe(steps: number): { warmup: number; evalIters: number } {
  return { warmup: Math.min(PRETRAIN_DEFAULTS.warmup, steps), evalIters: PRETRAIN_DEFAULTS.evalIters };
}

function runTorch(textFile: string, steps: number, threads: number, precision: Precision, shape: ShapeName, env: NodeJS.ProcessEnv): Promise<TorchResult> {
  const d = { ...PRETRAIN_DEFAULTS, ...SHAPES[shape] };
  const { warmup, evalIters } = resolveRecipe(steps);
  const script = path.join(packageRoot(), 'bench', 'pretrain_torch.py');
  const args = [
    script, textFile,
    '--threads', String(threads),
    '--steps', String(steps),
    '--eval-iters', String(evalIters),
    '--layers', String(d.layers),
    '--heads', String(d.heads),
    '--dim', String(d.dim),
    '--block-size', String(d.blockSize),
    '--batch-size', String(d.batchSize),
    '--lr', String(d.lr),
    '--min-lr', String(d.minLr),
    '--warmup', String(warmup),
    '--weight-decay', String(d.weightDecay),
    '--beta1', String(d.beta1),
    '--beta2', String(d.beta2),
    '--grad-clip', String(d.gradClip),
    '--val-fraction', String(d.valFraction),
    '--seed', String(d.seed),
    '--precision', precision,
  ];
  return runChild<TorchResult>(PYTHON, args, env, 'pretrain_torch.py');
}

/**
 * A Kiln window in a fresh Node process, as each PyTorch window is a fresh Python process: the
 * bench's own process has run the full recipe and holds its heap, threads and allocator state.
 */
function runKilnProcess(textFile: string, outDir: string, steps: number, threads: number, precision: Precision, shape: ShapeName, env: NodeJS.ProcessEnv): Promise<KilnResult> {
  const args = [fileURLToPath(import.meta.url), KILN_WINDOW, textFile, outDir, String(steps), String(threads), precision, shape];
  return runChild<KilnResult>(process.execPath, args, env, 'the Kiln window');
}


function verdict(ok: boolean): string {
  return ok ? 'ok' : 'MISS';
}

/** One side of the comparison: who trains, in which precision. */
interface Side {
  name: string;
  kiln: boolean;
  precision: Precision;
}

interface SideResult {
  valLoss: number;
  finalTrainLoss: number;
  trainSeconds: number;
  tokensPerSecond: number;
}

/** The sides to compare: both at one precision, or Kiln's best (bf16) against PyTorch's fp32 eager and bf16 autocast. */
function sidesFor(precision: Precision | 'best'): Side[] {
  if (precision === 'best') {
    return [
      { name: 'Kiln bf16', kiln: true, precision: 'bf16' },
      { name: 'PyTorch fp32', kiln: false, precision: 'fp32' },
      { name: 'PyTorch bf16', kiln: false, precision: 'bf16' },
    ];
  }
  return [
    { name: 'Kiln', kiln: true, precision },
    { name: 'PyTorch', kiln: false, precision },
  ];
}

async function main(): Promise<void> {
  const { steps, windows, windowSteps, precision, shape } = parseArgs(process.argv.slice(2));
  // Importing Kiln loaded the addon, which set OPENBLAS_CORETYPE (on AVX-512 CPUs) and the
  // thread count; the child inherits this very environment and is told the same thread count.
  const threads = getNumThreads();
  const env: NodeJS.ProcessEnv = { ...process.env };
  checkPythonTorch(env, 'bench:pretrain');
  const sides = sidesFor(precision);

  const work = mkdtempSync(path.join(tmpdir(), 'kiln-bench-pretrain-'));
  try {
    const textFile = path.join(work, 'moby-dick.txt');
    writeFileSync(textFile, defaultCorpus({ sources: ['moby-dick'] }), 'utf8');

    let data = { vocabSize: 0, trainTokens: 0, valTokens: 0 };
    let torchVersion = '';
    const full: SideResult[] = [];
    for (const side of sides) {
      process.stderr.write(`[bench:pretrain] ${side.name}: ${steps} steps, ${threads} threads ...\n`);
      if (side.kiln) {
        const kiln = await runKiln(textFile, path.join(work, 'run'), steps, threads, side.precision, shape);
        data = { vocabSize: kiln.vocabSize, trainTokens: kiln.trainTokens, valTokens: kiln.valTokens };
        full.push(kiln);
        continue;
      }
      const torch = await runTorch(textFile, steps, threads, side.precision, shape, env);
      torchVersion = torch.torch;
      if (torch.threads !== threads || torch.openblas_coretype !== (process.env['OPENBLAS_CORETYPE'] ?? null)) {
        throw new Error(
          `PyTorch ran with threads=${torch.threads}, OPENBLAS_CORETYPE=${torch.openblas_coretype} but Kiln with ` +
            `threads=${threads}, OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE']}; the comparison would not be fair`,
        );
      }
      if (torch.vocab_size !== data.vocabSize || torch.train_tokens !== data.trainTokens || torch.val_tokens !== data.valTokens) {
        throw new Error(
          `the runs saw different data: Kiln vocab ${data.vocabSize}, ${data.trainTokens}/${data.valTokens} train/val tokens; ` +
            `PyTorch vocab ${torch.vocab_size}, ${torch.train_tokens}/${torch.val_tokens}`,
        );
      }
      full.push({ valLoss: torch.val_loss, finalTrainLoss: torch.final_train_loss, trainSeconds: torch.train_seconds, tokensPerSecond: torch.tokens_per_s });
    }

    // Alternating windows; the order rotates each round so that no side always runs first.
    const perWindow: number[][] = sides.map(() => []);
    for (let round = 0; round < windows; round++) {
      process.stderr.write(`[bench:pretrain] throughput window ${round + 1}/${windows}: ${windowSteps} steps each ...\n`);
      const order = sides.map((_, i) => i);
      for (let r = 0; r < round; r++) order.push(order.shift()!);
      if (sides.length === 2 && round % 2 === 1) order.reverse();
      for (const i of order) {
        const side = sides[i]!;
        perWindow[i]!.push(
          side.kiln
            ? (await runKilnProcess(textFile, path.join(work, 'window'), windowSteps, threads, side.precision, shape, env)).tokensPerSecond
            : (await runTorch(textFile, windowSteps, threads, side.precision, shape, env)).tokens_per_s,
        );
      }
    }
    const medians = perWindow.map(median);

    const d = { ...PRETRAIN_DEFAULTS, ...SHAPES[shape] };
    const column = (text: string): string => text.padEnd(16);
    const precisions = precision === 'best' ? "Kiln's best (bf16) against PyTorch fp32 eager and bf16 autocast" : `${precision} both`;
    console.log(`Kiln (libtorch ${buildInfo().torchVersion}, Node ${process.version}) vs PyTorch ${torchVersion} (${PYTHON})`);
    console.log(`intra-op threads: ${threads} all; OPENBLAS_CORETYPE: ${process.env['OPENBLAS_CORETYPE'] ?? '(unset)'} all; precision: ${precisions} (Kiln's AdamW fused, PyTorch's eager)`);
    console.log(
      `recipe: char-level, ${d.layers} layers, ${d.heads} heads, dim ${d.dim}, block ${d.blockSize}, batch ${d.batchSize}, ` +
        `${steps} steps, lr ${d.lr} cosine to ${d.minLr}, warm-up ${Math.min(d.warmup, steps)}, AdamW b2 ${d.beta2} wd ${d.weightDecay}, clip ${d.gradClip}`,
    );
    console.log(`data: Moby Dick, vocab ${data.vocabSize}, ${data.trainTokens} train / ${data.valTokens} val tokens; val loss over ${d.evalIters}x${d.batchSize} windows`);
    console.log('');
    console.log(''.padEnd(22) + sides.map((side) => column(side.name)).join(''));
    const row = (label: string, values: string[]): void => console.log(label.padEnd(22) + values.map(column).join(''));
    row('val loss', full.map((r) => r.valLoss.toFixed(4)));
    row('last train loss', full.map((r) => r.finalTrainLoss.toFixed(4)));
    row('training seconds', full.map((r) => r.trainSeconds.toFixed(1)));
    row('tokens/s, full run', full.map((r) => r.tokensPerSecond.toFixed(0)));
    row(`tokens/s, median`, medians.map((m) => m.toFixed(0)));
    const list = (values: number[]): string => values.map((v) => v.toFixed(0)).join(' ');
    console.log(`tokens/s per window (${windows} alternating windows of ${windowSteps} steps): ${sides.map((side, i) => `${side.name} ${list(perWindow[i]!)}`).join('; ')}`);
    console.log('');
    // Kiln (side 0) against each PyTorch side: the verdicts.
    const targets = precision === 'best' ? [BEST_RATIO_TARGET_FP32, BEST_RATIO_TARGET_BF16] : [THROUGHPUT_RATIO_TARGET];
    const json: Record<string, unknown> = { kiln_tokens_per_s: round(medians[0]!, 1), kiln_val_loss: round(full[0]!.valLoss, 4), precision, shape };
    sides.slice(1).forEach((side, k) => {
      const i = k + 1;
      const delta = full[0]!.valLoss - full[i]!.valLoss;
      const ratio = medians[0]! / medians[i]!;
      const target = targets[k]!;
      const strictly = precision === 'best' && side.precision === 'bf16';
      const pairRatios = perWindow[0]!.map((kiln, w) => kiln / perWindow[i]![w]!);
      console.log(
        `${sides[0]!.name} vs ${side.name}: val loss delta ${delta >= 0 ? '+' : ''}${delta.toFixed(4)} (target |delta| <= ${VAL_LOSS_TOLERANCE}) ${verdict(Math.abs(delta) <= VAL_LOSS_TOLERANCE)}; ` +
          `tokens/s ratio ${ratio.toFixed(3)} (target ${strictly ? '>' : '>='} ${target}) ${verdict(strictly ? ratio > target : ratio >= target)}; ` +
          `per round ${pairRatios.map((r) => r.toFixed(2)).join(' ')} (median ${median(pairRatios).toFixed(3)}, not the verdict)`,
      );
      const key = sides.length === 2 ? 'torch' : `torch_${side.precision}`;
      json[`${key}_tokens_per_s`] = round(medians[i]!, 1);
      json[`${key}_val_loss`] = round(full[i]!.valLoss, 4);
    });
    if (steps !== d.maxSteps) console.log(`note: a quick run of ${steps} steps; the targets are for the full ${d.maxSteps}`);
    console.log('');
    console.log(JSON.stringify(json));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The hidden first argument that makes this file run one Kiln window and print its result. */
const KILN_WINDOW = '--kiln-window';

async function kilnWindow(argv: string[]): Promise<void> {
  const [textFile, outDir, steps, threads, precision, shape] = argv;
  console.log(JSON.stringify(await runKiln(textFile!, outDir!, Number(steps), Number(threads), precision === 'bf16' ? 'bf16' : 'fp32', shape === 'gemm' ? 'gemm' : 'recipe')));
}

(process.argv[2] === KILN_WINDOW ? kilnWindow(process.argv.slice(3)) : main()).catch((error: unknown) => {
  process.stderr.write(`bench:pretrain: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
