/**
 * Fused-kernel benchmark (issue 21): each of Kiln's fused CPU kernels against its ATen reference
 * (the composition it replaces), forward + backward, float32 and bf16, at the shapes the
 * training benchmarks run — the nanoGPT recipe (B 12, T 64, width 128, 4 heads) and the GEMM-bound
 * GPT-2 shape (B 4, T 256, width 768, 12 heads) — and, for attention, a long context (T 1024)
 * and two unmasked (not causal) shapes, a small ViT's and BERT-base's at 128 tokens; for
 * cross-entropy the recipe's 83 characters and GPT-2's 50,257 tokens.
 * Where a fused kernel hands a shape to its reference (bf16 attention with 64-wide heads without
 * a mask, or causal at 256 to 512 positions: measured faster composed), both columns time the
 * reference.
 *
 * One process; the fused and reference runs alternate (`--rounds` rounds of `--reps` calls each,
 * after a warm-up), and the table reports the medians per call and their ratio. Kernel timings
 * are in-process and microseconds long: run on an idle machine.
 *
 * Run: `npm run bench:kernels`, or `node dist/bench/kernels.js [--rounds N] [--reps N] [--threads N]`.
 * Prints a table, then as the last line of stdout one JSON object: {"<kernel> <shape> <dtype>":
 * {"fused_us":…, "reference_us":…, "speedup":…}}.
 */
import { randn, randint, manualSeed } from '../src/tensor/creation.js';
import { autocast } from '../src/tensor/autocast.js';
import { setFusedKernels, setVectorLevel } from '../src/tensor/fused.js';
import { setNumThreads } from '../src/tensor/runtime.js';
import { scope } from '../src/tensor/scope.js';
import { crossEntropy, scaledDotProductAttention } from '../src/nn/functional.js';
import type { DType } from '../src/tensor/dtype.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { median } from './torch-side.js';

const args = { rounds: 5, reps: 20, threads: 2 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i]!.replace(/^--/, '') as keyof typeof args;
  const value = Number(argv[i + 1]);
  if (!(key in args) || !Number.isInteger(value) || value < 1) {
    console.error(`usage: node dist/bench/kernels.js [--rounds N] [--reps N] [--threads N] (got ${argv[i]} ${argv[i + 1]})`);
    process.exit(2);
  }
  args[key] = value;
}
setNumThreads(args.threads);

interface Case {
  name: string;
  dtype: DType;
  /** One forward + backward; the tensors it makes are freed by the caller's scope. */
  run: () => void;
}

function geluCase(rows: number, width: number, dtype: DType): Case {
  manualSeed(1);
  const x = randn([rows, width]).mul(2).to(dtype).requiresGrad_(true);
  const g = randn([rows, width]).to(dtype);
  return {
    name: `gelu tanh (${rows}×${width})`,
    dtype,
    run: () => {
      x.gelu('tanh').backward(g);
      x.grad = null;
    },
  };
}

function attentionCase(batch: number, heads: number, length: number, headDim: number, dtype: DType, causal = true): Case {
  manualSeed(2);
  const width = heads * headDim;
  const qkv = randn([batch, length, 3 * width]).to(dtype).requiresGrad_(true);
  const g = randn([batch, length, width]).to(dtype);
  return {
    name: `${causal ? 'causal' : 'full'} attention (B ${batch}, H ${heads}, T ${length}, E ${headDim})`,
    dtype,
    run: () => {
      // as GPT's block calls it: heads split from the packed projection, merged back after
      const [q, k, v] = qkv.split(width, -1).map((t) => t.view(batch, length, heads, headDim).transpose(1, 2)) as [Tensor, Tensor, Tensor];
      const y = scaledDotProductAttention(q, k, v, { isCausal: causal }).transpose(1, 2).reshape(batch, length, width);
      y.backward(g);
      qkv.grad = null;
    },
  };
}

function crossEntropyCase(rows: number, classes: number, dtype: DType): Case {
  manualSeed(3);
  const logits = randn([rows, classes]).mul(3).to(dtype).requiresGrad_(true);
  const target = randint(0, classes, [rows]);
  return {
    name: `cross-entropy (${rows} × ${classes} classes)`,
    dtype,
    run: () => {
      // bf16 logits as the Trainer gives them: under autocast
      autocast(dtype === 'bfloat16' ? 'bf16' : 'fp32', () => crossEntropy(logits, target)).backward();
      logits.grad = null;
    },
  };
}

const cases: Case[] = [];
for (const dtype of ['float32', 'bfloat16'] as DType[]) {
  cases.push(geluCase(12 * 64, 512, dtype), geluCase(4 * 256, 3072, dtype));
  cases.push(attentionCase(12, 4, 64, 32, dtype), attentionCase(4, 12, 256, 64, dtype), attentionCase(2, 8, 1024, 64, dtype));
  // without a mask, as a ViT (65 patches + class token) or BERT reads (no padding)
  cases.push(attentionCase(16, 4, 65, 32, dtype, false), attentionCase(4, 12, 128, 64, dtype, false));
  // the recipe's characters, GPT-2's BPE vocabulary
  cases.push(crossEntropyCase(12 * 64, 83, dtype), crossEntropyCase(512, 50257, dtype));
}

function timePerCall(run: () => void): number {
  const start = performance.now();
  for (let i = 0; i < args.reps; i++) scope(run);
  return ((performance.now() - start) / args.reps) * 1000;
}

const results: Record<string, { fused_us: number; reference_us: number; speedup: number }> = {};
console.error(`[bench:kernels] ${args.threads} threads, vector level ${setVectorLevel()}, ${args.rounds} rounds × ${args.reps} calls`);
console.log('kernel (forward + backward)'.padEnd(52) + 'dtype'.padEnd(10) + 'fused µs'.padStart(10) + 'ATen µs'.padStart(10) + 'speed-up'.padStart(10));
for (const c of cases) {
  const fused: number[] = [];
  const reference: number[] = [];
  scope(c.run); // warm-up, both ways
  setFusedKernels(false);
  scope(c.run);
  setFusedKernels(true);
  for (let round = 0; round < args.rounds; round++) {
    const order = round % 2 === 0 ? [true, false] : [false, true];
    for (const on of order) {
      setFusedKernels(on);
      (on ? fused : reference).push(timePerCall(c.run));
    }
  }
  setFusedKernels(true);
  const f = median(fused);
  const r = median(reference);
  results[`${c.name} ${c.dtype}`] = { fused_us: Math.round(f), reference_us: Math.round(r), speedup: Math.round((r / f) * 100) / 100 };
  console.log(c.name.padEnd(52) + c.dtype.padEnd(10) + f.toFixed(0).padStart(10) + r.toFixed(0).padStart(10) + `${(r / f).toFixed(2)}×`.padStart(10));
}
console.log(JSON.stringify(results));
