/**
 * Gradient checkpointing benchmark (issue 20, acceptance 3): the peak memory and step time of a
 * training step (forward, backward) with and without checkpointing the transformer blocks, each
 * in a fresh process (peak RSS is per process), alternating off, on, on, off … (`--rounds`).
 *
 * Shapes: GPT-2 small (12 layers, 12 heads, width 768, context 256, 50,257-token head, batch 4)
 * and a deep narrow GPT (24 layers, width 128, context 512, batch 8), where activations, not
 * weights, fill the memory. Reported: the peak resident memory the step added over the
 * process's memory before it, and the median step time of `--steps` steps after one warm-up.
 *
 * Prints a table, then as the last line of stdout one JSON object. Run: `npm run
 * bench:checkpointing`, or `node dist/bench/checkpointing.js [--steps N] [--rounds N]
 * [--precision fp32|bf16] [--threads N]`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GPT } from '../src/models/gpt.js';
import { setGradientCheckpointing } from '../src/nn/gradient-checkpointing.js';
import { autocast, type Precision } from '../src/tensor/autocast.js';
import { manualSeed, randint } from '../src/tensor/creation.js';
import { setNumThreads } from '../src/tensor/runtime.js';
import { scope } from '../src/tensor/scope.js';
import { median } from './torch-side.js';

interface Shape {
  name: string;
  layers: number;
  heads: number;
  width: number;
  context: number;
  vocab: number;
  batch: number;
}
const SHAPES: Shape[] = [
  { name: 'GPT-2 small (12×768, T 256, B 4)', layers: 12, heads: 12, width: 768, context: 256, vocab: 50257, batch: 4 },
  { name: 'deep narrow (24×128, T 512, B 8)', layers: 24, heads: 4, width: 128, context: 512, vocab: 256, batch: 8 },
];

const args = { steps: 3, rounds: 1, threads: 2, precision: 'fp32' as Precision };
const argv = process.argv.slice(2);
const child = argv[0] === '--child';
if (!child) {
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--precision' && (value === 'fp32' || value === 'bf16')) args.precision = value;
    else if ((flag === '--steps' || flag === '--rounds' || flag === '--threads') && Number.isInteger(Number(value)) && Number(value) >= 1) args[flag.slice(2) as 'steps' | 'rounds' | 'threads'] = Number(value);
    else throw new Error(`bench/checkpointing: unknown ${flag} ${value}; use --steps N --rounds N --threads N --precision fp32|bf16`);
  }
}

interface Measure {
  peakMiB: number;
  stepS: number;
}

/** In the child: steps of forward and backward on one shape, then the peak growth and the median step time. */
function measure(shape: Shape, checkpointed: boolean, steps: number, precision: Precision): Measure {
  manualSeed(1);
  const model = new GPT({ vocabSize: shape.vocab, blockSize: shape.context, nLayer: shape.layers, nHead: shape.heads, nEmbd: shape.width });
  setGradientCheckpointing(model, checkpointed);
  const ids = randint(0, shape.vocab, [shape.batch, shape.context]);
  const before = process.memoryUsage().rss;
  const times: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const start = performance.now();
    scope(() => {
      model.zeroGrad();
      autocast(precision, () => model.loss(ids, ids)).backward();
    });
    if (i > 0) times.push((performance.now() - start) / 1000);
  }
  return { peakMiB: (process.resourceUsage().maxRSS * 1024 - before) / 2 ** 20, stepS: median(times) };
}

if (child) {
  const [, index, mode, steps, precision, threads] = argv;
  setNumThreads(Number(threads));
  console.log(JSON.stringify(measure(SHAPES[Number(index)]!, mode === 'on', Number(steps), precision as Precision)));
} else {
  const self = fileURLToPath(import.meta.url);
  const results = new Map<string, Measure[]>();
  for (const [index, shape] of SHAPES.entries()) {
    for (let round = 0; round < args.rounds; round++) {
      for (const mode of round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
        const run = spawnSync(process.execPath, [self, '--child', String(index), mode, String(args.steps), args.precision, String(args.threads)], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(`bench/checkpointing: ${shape.name} ${mode} failed: ${run.stderr}`);
        const m = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Measure;
        process.stderr.write(`${shape.name} checkpointing ${mode}: peak +${m.peakMiB.toFixed(0)} MiB, step ${m.stepS.toFixed(2)} s\n`);
        results.set(`${index}/${mode}`, [...(results.get(`${index}/${mode}`) ?? []), m]);
      }
    }
  }
  const summary: Record<string, number> = {};
  console.log(`\nGradient checkpointing, ${args.precision}, ${args.threads} threads, median of ${args.rounds} round(s) of ${args.steps} steps`);
  console.log('shape                              peak off  peak on  memory on/off  step off  step on  time on/off');
  for (const [index, shape] of SHAPES.entries()) {
    const pick = (mode: string, key: keyof Measure): number => median(results.get(`${index}/${mode}`)!.map((m) => m[key]));
    const [peakOff, peakOn, stepOff, stepOn] = [pick('off', 'peakMiB'), pick('on', 'peakMiB'), pick('off', 'stepS'), pick('on', 'stepS')];
    console.log(`${shape.name.padEnd(33)}  ${`${peakOff.toFixed(0)} MiB`.padStart(8)}  ${`${peakOn.toFixed(0)} MiB`.padStart(7)}  ${(peakOn / peakOff).toFixed(2).padStart(13)}  ${`${stepOff.toFixed(2)} s`.padStart(8)}  ${`${stepOn.toFixed(2)} s`.padStart(7)}  ${(stepOn / stepOff).toFixed(2).padStart(11)}`);
    const key = index === 0 ? 'gpt2_small' : 'deep_narrow';
    Object.assign(summary, { [`${key}_peak_off_mib`]: peakOff, [`${key}_peak_on_mib`]: peakOn, [`${key}_step_off_s`]: stepOff, [`${key}_step_on_s`]: stepOn });
  }
  console.log(JSON.stringify(summary));
}
