/**
 * Where a GPT training step's time goes, op by op (issue 21's profiles): Kiln's `profile()`
 * (libtorch's profiler) around `--steps` training steps of the pretraining benchmark's model —
 * forward and loss (under bf16 autocast with `--precision bf16`), backward, the gradient norm
 * and the fused AdamW step with the clip coefficient, as the Trainer runs them — after two
 * warm-up steps. Prints the ops, the largest self time first, per step.
 *
 * Run: `npm run bench:profile`, or `node dist/bench/profile.js [--shape recipe|gemm]
 * [--precision fp32|bf16] [--steps N] [--top N]` (default: the GEMM-bound shape — 12 layers,
 * 12 heads, width 768, context 256, batch 4, the recipe's 83 characters — in bf16, 2 steps, 30 ops).
 */
import {
  AdamW,
  GPT,
  autocast,
  clipCoefficient,
  getNumThreads,
  manualSeed,
  profile,
  randint,
  scope,
  setVectorLevel,
} from '../src/index.js';
import type { Precision } from '../src/tensor/autocast.js';
import { profileTable } from '../src/tensor/profile.js';

const SHAPES = {
  recipe: { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64, batchSize: 12 },
  gemm: { nLayer: 12, nHead: 12, nEmbd: 768, blockSize: 256, batchSize: 4 },
} as const;
const USAGE = 'usage: node dist/bench/profile.js [--shape recipe|gemm] [--precision fp32|bf16] [--steps N] [--top N]';

function parseArgs(argv: string[]): { shape: keyof typeof SHAPES; precision: Precision; steps: number; top: number } {
  const args = { shape: 'gemm' as keyof typeof SHAPES, precision: 'bf16' as Precision, steps: 2, top: 30 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--shape' && (value === 'recipe' || value === 'gemm')) args.shape = value;
    else if (flag === '--precision' && (value === 'fp32' || value === 'bf16')) args.precision = value;
    else if ((flag === '--steps' || flag === '--top') && value !== undefined && /^[1-9][0-9]*$/.test(value)) args[flag === '--steps' ? 'steps' : 'top'] = Number(value);
    else throw new Error(`${USAGE} (got ${flag} ${value})`);
  }
  return args;
}

function main(): void {
  const { shape, precision, steps, top } = parseArgs(process.argv.slice(2));
  const { batchSize, ...config } = SHAPES[shape];
  manualSeed(0);
  const vocabSize = 83;
  const model = new GPT({ vocabSize, ...config, dropout: 0 });
  const optimizer = new AdamW([{ params: model.parameters() }], { lr: 1e-4, weightDecay: 0.1, betas: [0.9, 0.99], fused: true });
  const ids = randint(0, vocabSize, [batchSize, config.blockSize]);
  const targets = randint(0, vocabSize, [batchSize, config.blockSize]);
  const step = (): void =>
    scope(() => {
      optimizer.zeroGrad();
      const loss = autocast(precision, () => model.loss(ids, targets));
      loss.item();
      loss.backward();
      optimizer.stepScaled(clipCoefficient(model.parameters(), 1.0).coefficient);
    });
  step();
  step();
  const report = profile(() => {
    for (let i = 0; i < steps; i++) step();
  });
  console.log(`[bench:profile] ${shape} shape (${config.nLayer} layers, width ${config.nEmbd}, context ${config.blockSize}, batch ${batchSize}), ${precision}, ` +
    `${getNumThreads()} threads, vector level ${setVectorLevel()}; ${steps} profiled steps, ${(report.wallMs / steps).toFixed(0)} ms a step (profiled)`);
  const perStep = report.rows.map((r) => ({ name: r.name, calls: r.calls / steps, selfMs: r.selfMs / steps, totalMs: r.totalMs / steps }));
  console.log('per step:');
  console.log(profileTable(perStep, report.wallMs / steps, top));
}

main();
