/**
 * Detection benchmark (issue 24, acceptance 2), on the CPU, through the library call `kiln
 * pretrain|finetune --task detect` makes (runDetection), on the built-in digit canvases (64 × 64,
 * one or two MNIST digits of 16–32 pixels and up to four unlabelled digit fragments each):
 *
 *  - pretrain the grid detector (0.12 M parameters) on digits 0-4: 8,000 canvases, 2,500 steps;
 *  - for each seed, 50 labelled canvases of digits 5-9 (the seed draws them), trained for the same
 *    steps twice: from the pretrained detector (new class head; the box head and the body kept)
 *    and from scratch (the same architecture and settings);
 *  - score both on the same 500 held-out canvases of 5-9 made from MNIST's test digits: mAP@0.5
 *    (COCO's AP50) and COCO's mAP@[.5:.95].
 *
 * Target: pretrained ≥ scratch + 10 points of mAP@0.5, averaged over the seeds.
 * Prints a table, then as the last line of stdout one JSON object. Progress goes to stderr.
 *
 * Run: `npm run bench:detect`, or `node dist/bench/detect.js [--seeds 1,2,3,4,5] [--pretrain-steps N]
 * [--steps N] [--threads N]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DetectRunConfig, type DetectRunResult, runDetection } from '../src/vision/detection/detect-run.js';

const TARGET_GAP = 0.1;

interface Args {
  seeds: number[];
  pretrainSteps: number;
  steps: number;
  threads: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: [1, 2, 3, 4, 5], pretrainSteps: 2500, steps: 400, threads: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--seeds' && value !== undefined && /^\d+(,\d+)*$/.test(value)) args.seeds = value.split(',').map(Number);
    else if (flag === '--pretrain-steps' && value !== undefined && /^\d+$/.test(value)) args.pretrainSteps = Number(value);
    else if (flag === '--steps' && value !== undefined && /^\d+$/.test(value)) args.steps = Number(value);
    else if (flag === '--threads' && value !== undefined && /^\d+$/.test(value)) args.threads = Number(value);
    else throw new Error(`bench/detect: unknown or malformed argument ${flag} ${value ?? ''}; use --seeds 1,2,3 --pretrain-steps N --steps N --threads N`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const work = mkdtempSync(path.join(tmpdir(), 'kiln-bench-detect-'));

async function run(name: string, config: Partial<DetectRunConfig>): Promise<DetectRunResult> {
  process.stderr.write(`[${name}] starting\n`);
  const result = await runDetection({ threads: args.threads, valImages: 0, ...config, out: path.join(work, name) });
  process.stderr.write(`[${name}] test mAP@0.5 ${(100 * result.test!.map50).toFixed(1)}, mAP ${(100 * result.test!.map).toFixed(1)} in ${result.seconds.toFixed(0)}s\n`);
  return result;
}

try {
  const started = performance.now();
  const pretrained = await run('pretrain-0-4', { classes: [0, 1, 2, 3, 4], maxSteps: args.pretrainSteps, evalEvery: args.pretrainSteps, seed: 0 });
  const rows = [];
  for (const seed of args.seeds) {
    const common = { classes: [5, 6, 7, 8, 9], trainImages: 50, maxSteps: args.steps, evalEvery: args.steps, seed };
    const tuned = await run(`finetune-${seed}`, { ...common, from: path.join(work, 'pretrain-0-4') });
    const scratch = await run(`scratch-${seed}`, common);
    rows.push({ seed, pretrained: tuned.test!, scratch: scratch.test!, seconds: [tuned.seconds, scratch.seconds] });
  }
  const mean = (values: number[]): number => values.reduce((s, v) => s + v, 0) / values.length;
  const pre50 = mean(rows.map((r) => r.pretrained.map50));
  const scr50 = mean(rows.map((r) => r.scratch.map50));
  const pre = mean(rows.map((r) => r.pretrained.map));
  const scr = mean(rows.map((r) => r.scratch.map));
  const pct = (x: number): string => (100 * x).toFixed(1);
  console.log(`Pretrained on digits 0-4 (8,000 canvases, ${args.pretrainSteps} steps, ${pretrained.seconds.toFixed(0)} s): test mAP@0.5 ${pct(pretrained.test!.map50)} on 0-4.`);
  console.log(`Digits 5-9, 50 labelled canvases, ${args.steps} steps; 500 held-out canvases:\n`);
  console.log('| seed | pretrained mAP@0.5 | scratch mAP@0.5 | gap | pretrained mAP | scratch mAP |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.seed} | ${pct(r.pretrained.map50)} | ${pct(r.scratch.map50)} | ${(100 * (r.pretrained.map50 - r.scratch.map50)).toFixed(1)} | ${pct(r.pretrained.map)} | ${pct(r.scratch.map)} |`);
  console.log(`| mean | ${pct(pre50)} | ${pct(scr50)} | ${(100 * (pre50 - scr50)).toFixed(1)} | ${pct(pre)} | ${pct(scr)} |`);
  const met = pre50 - scr50 >= TARGET_GAP;
  console.log(`\npretrained − scratch, mAP@0.5: ${(100 * (pre50 - scr50)).toFixed(1)} points (target ≥ ${100 * TARGET_GAP}): ${met ? 'met' : 'MISS'}; ${((performance.now() - started) / 60000).toFixed(1)} min in all`);
  console.log(JSON.stringify({ pretrained_map50: pre50, scratch_map50: scr50, gap_map50: pre50 - scr50, pretrained_map: pre, scratch_map: scr, seeds: args.seeds, per_seed_gap_map50: rows.map((r) => r.pretrained.map50 - r.scratch.map50), pretrain_0_4_map50: pretrained.test!.map50, target_met: met }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
