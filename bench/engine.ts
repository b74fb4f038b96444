/**
 * Engine benchmark: Kiln against PyTorch, both on libtorch, with the same threads and BLAS settings.
 *
 *   (a) fp32 square matmul, n = 256, 512, 1024, 2048: GFLOP/s = 2·n³ / seconds per call,
 *       best of several samples (each sample lasts at least MATMUL_SAMPLE_SECONDS).
 *   (b) per-op overhead: µs per `a.add(b)` on float32[10] tensors, OP_CALLS_PER_ROUND calls per
 *       round, median of OP_ROUNDS rounds, the time to free the results included. Kiln is
 *       measured inside scope() — how its training loop runs each step, the headline
 *       `op_overhead_us` — and with results left to the garbage collector (`op_overhead_gc_us`).
 *
 * PyTorch runs in a child process (bench/engine_torch.py under Debian's /usr/bin/python3) that
 * answers one request at a time, so the two engines never run at once and their samples
 * alternate: drift on a shared machine hits both. Prints a table, then, as the last line of
 * stdout, one JSON object with the headline numbers. Progress goes to stderr.
 *
 * Run: `npm run bench:engine`, or `npx tsc -p . && node dist/bench/engine.js`.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { packageRoot } from '../src/tensor/native.js';
import { PYTHON, checkPythonTorch, median, round } from './torch-side.js';
import { buildInfo, getNumThreads, randn, scope, type Tensor } from '../src/index.js';

const MATMUL_SIZES = [256, 512, 1024, 2048] as const;
/** Calls per matmul sample are chosen so that one sample lasts at least this long. */
const MATMUL_SAMPLE_SECONDS = 0.1;
/** Samples per size and engine: as many as fit in this many seconds, within the bounds below. */
const MATMUL_SECONDS_PER_SIZE = 2;
const MATMUL_MIN_SAMPLES = 3;
const MATMUL_MAX_SAMPLES = 15;
/**
 * Pause before each matmul sample. OpenBLAS's worker threads busy-wait for roughly 0.1 s after
 * a call before they sleep; without the pause, the engine that just ran would steal a core
 * from the one measuring next (the machine has 2).
 */
const MATMUL_SETTLE_MS = 150;
const OP_NUMEL = 10;
const OP_CALLS_PER_ROUND = 100_000;
const OP_ROUNDS = 7;
/** Targets: Kiln's matmul at least this fraction of PyTorch's; its op overhead at most PyTorch's. */
const MATMUL_RATIO_TARGET = 0.9;
const OP_RATIO_TARGET = 1.0;

// ---- helpers ----


function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}



/** Real paths of the BLAS libraries mapped into this process: the BLAS libtorch really calls. */
function loadedBlas(): string[] {
  const paths = new Set<string>();
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const file = line.split(/\s+/)[5];
    if (file !== undefined && /blas/.test(path.basename(file))) paths.add(realpathSync(file));
  }
  return [...paths].sort();
}

/** Lets queued callbacks (deferred N-API finalizers among them) run. */
function turnEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---- the PyTorch side ----

interface TorchHello {
  torch: string;
  python: string;
  threads: number;
  openblas_coretype: string | null;
  blas: string[];
}


/** engine_torch.py in --serve mode: one JSON request per line in, one JSON reply per line out. */
class TorchProcess {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #replies: AsyncIterator<string>;

  constructor(threads: number, env: NodeJS.ProcessEnv) {
    const script = path.join(packageRoot(), 'bench', 'engine_torch.py');
    this.#child = spawn(PYTHON, [script, '--serve', '--threads', String(threads)], {
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.#replies = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async request<T>(message: Record<string, string | number>): Promise<T> {
    this.#child.stdin.write(JSON.stringify(message) + '\n');
    const reply = await this.#replies.next();
    if (reply.done === true) {
      throw new Error(
        `engine_torch.py exited (code ${this.#child.exitCode}) before answering ${JSON.stringify(message)}; ` +
          'its error is printed above',
      );
    }
    const parsed = JSON.parse(reply.value) as T & { error?: string };
    if (parsed.error !== undefined) throw new Error(`engine_torch.py: ${parsed.error}`);
    return parsed;
  }

  async matmulSeconds(n: number, calls: number): Promise<number> {
    return (await this.request<{ seconds: number }>({ op: 'matmul', n, calls })).seconds;
  }

  async addSeconds(numel: number, calls: number): Promise<number> {
    return (await this.request<{ seconds: number }>({ op: 'add', numel, calls })).seconds;
  }

  close(): void {
    this.#child.stdin.end(); // the script leaves its request loop at end of input
  }
}

// ---- the Kiln side ----

function kilnMatmulSeconds(a: Tensor, b: Tensor, calls: number): number {
  const start = process.hrtime.bigint();
  for (let k = 0; k < calls; k++) {
    // One scope per call frees the (n, n) result at once, as PyTorch's reference count does,
    // so both engines reuse the same memory instead of Kiln touching fresh pages.
    scope(() => {
      a.mm(b);
    });
  }
  return secondsSince(start);
}

/** One round of `a.add(b)`; results are left to the garbage collector, and freeing them is timed. */
async function kilnAddSeconds(a: Tensor, b: Tensor, calls: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let k = 0; k < calls; k++) a.add(b);
  // Node may run N-API finalizers from the event loop rather than inside GC; let those that
  // this round's garbage queued run inside the timed window.
  await turnEventLoop();
  await turnEventLoop();
  return secondsSince(start);
}

/**
 * The same round inside scopes of 100 ops, as Kiln's training loop runs each step: results are
 * freed when the scope ends, and tensors made inside a scope need no GC finalizer.
 */
async function kilnAddScopedSeconds(a: Tensor, b: Tensor, calls: number): Promise<number> {
  const perScope = 100;
  const start = process.hrtime.bigint();
  for (let k = 0; k < calls; k += perScope) {
    scope(() => {
      for (let i = 0; i < perScope; i++) a.add(b);
    });
  }
  await turnEventLoop();
  await turnEventLoop();
  return secondsSince(start);
}

/** The same round with each result disposed at once (only the empty handle is left to the GC). */
async function kilnAddDisposedSeconds(a: Tensor, b: Tensor, calls: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let k = 0; k < calls; k++) a.add(b).dispose();
  await turnEventLoop();
  await turnEventLoop();
  return secondsSince(start);
}

// ---- measurements ----

interface Samples {
  kiln: number[];
  torch: number[];
}

/** Alternates Kiln and PyTorch samples, swapping which goes first each time (ABBA...). */
async function alternate(
  count: number,
  kiln: () => number | Promise<number>,
  torch: () => Promise<number>,
  settleMs = 0,
): Promise<Samples> {
  const samples: Samples = { kiln: [], torch: [] };
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, settleMs));
  const runKiln = async (): Promise<void> => {
    await settle();
    samples.kiln.push(await kiln());
  };
  const runTorch = async (): Promise<void> => {
    await settle();
    samples.torch.push(await torch());
  };
  for (let s = 0; s < count; s++) {
    if (s % 2 === 0) {
      await runKiln();
      await runTorch();
    } else {
      await runTorch();
      await runKiln();
    }
  }
  return samples;
}

interface MatmulResult {
  n: number;
  samples: number;
  calls: number;
  kilnGflops: number[];
  torchGflops: number[];
}

async function measureMatmul(n: number, torch: TorchProcess): Promise<MatmulResult> {
  const a = randn([n, n]); // (n, n) float32
  const b = randn([n, n]); // (n, n) float32
  kilnMatmulSeconds(a, b, 1); // warm-up: first-touch of buffers, BLAS set-up
  await torch.matmulSeconds(n, 1);
  // Time a warm run of calls, not one call: a single call after a pause mostly measures the
  // BLAS threads waking up, which made samples at n = 256 a few milliseconds long.
  let oneCall = 0;
  for (let k = 1; ; k *= 2) {
    const warm = Math.max(kilnMatmulSeconds(a, b, k), await torch.matmulSeconds(n, k));
    if (warm >= 0.05 || k >= 1024) {
      oneCall = warm / k;
      break;
    }
  }
  const calls = Math.max(1, Math.ceil(MATMUL_SAMPLE_SECONDS / oneCall));
  const fitting = Math.floor(MATMUL_SECONDS_PER_SIZE / (calls * oneCall));
  const count = Math.min(MATMUL_MAX_SAMPLES, Math.max(MATMUL_MIN_SAMPLES, fitting));
  const seconds = await alternate(
    count,
    () => kilnMatmulSeconds(a, b, calls),
    () => torch.matmulSeconds(n, calls),
    MATMUL_SETTLE_MS,
  );
  a.dispose();
  b.dispose();
  const gflops = (s: number): number => (2 * n ** 3 * calls) / s / 1e9;
  return { n, samples: count, calls, kilnGflops: seconds.kiln.map(gflops), torchGflops: seconds.torch.map(gflops) };
}

interface OpResult {
  /** Inside scopes (the training loop's way). */
  kilnScopedUs: number[];
  /** Left to the garbage collector. */
  kilnUs: number[];
  kilnDisposedUs: number[];
  torchUs: number[];
}

async function measureOpOverhead(torch: TorchProcess): Promise<OpResult> {
  const a = randn([OP_NUMEL]);
  const b = randn([OP_NUMEL]);
  const perCallUs = (s: number): number => (s / OP_CALLS_PER_ROUND) * 1e6;
  // Warm-up: JIT compilation in V8, allocator and dispatcher caches on both sides.
  await kilnAddSeconds(a, b, OP_CALLS_PER_ROUND);
  await kilnAddScopedSeconds(a, b, OP_CALLS_PER_ROUND);
  await kilnAddDisposedSeconds(a, b, OP_CALLS_PER_ROUND);
  await torch.addSeconds(OP_NUMEL, OP_CALLS_PER_ROUND);
  const scoped = await alternate(
    OP_ROUNDS,
    () => kilnAddScopedSeconds(a, b, OP_CALLS_PER_ROUND),
    () => torch.addSeconds(OP_NUMEL, OP_CALLS_PER_ROUND),
  );
  const gcFreed = await alternate(
    OP_ROUNDS,
    () => kilnAddSeconds(a, b, OP_CALLS_PER_ROUND),
    () => torch.addSeconds(OP_NUMEL, OP_CALLS_PER_ROUND),
  );
  const disposed: number[] = [];
  for (let r = 0; r < OP_ROUNDS; r++) disposed.push(await kilnAddDisposedSeconds(a, b, OP_CALLS_PER_ROUND));
  a.dispose();
  b.dispose();
  return {
    kilnScopedUs: scoped.kiln.map(perCallUs),
    kilnUs: gcFreed.kiln.map(perCallUs),
    kilnDisposedUs: disposed.map(perCallUs),
    torchUs: [...scoped.torch, ...gcFreed.torch].map(perCallUs),
  };
}

// ---- report ----

function verdict(ok: boolean): string {
  return ok ? 'ok' : 'MISS';
}

function printReport(hello: TorchHello, threads: number, matmul: MatmulResult[], op: OpResult): void {
  const kilnBlas = loadedBlas();
  const coretype = process.env['OPENBLAS_CORETYPE'];
  console.log(`Kiln (libtorch ${buildInfo().torchVersion}, Node ${process.version}) vs PyTorch ${hello.torch} (${hello.python})`);
  console.log(`intra-op threads: ${threads} both; OPENBLAS_CORETYPE: ${coretype ?? '(unset)'} both`);
  console.log(`BLAS loaded: Kiln ${kilnBlas.join(', ') || '(none found)'}; PyTorch ${hello.blas.join(', ') || '(none found)'}`);
  if (!kilnBlas.some((file) => file.includes('openblas'))) {
    // Debian's libtorch takes whichever libblas.so.3 the alternatives system points at.
    console.log("note: this BLAS is not OpenBLAS; Debian's reference libblas3 is single-threaded and unoptimised (install libopenblas0)");
  }
  console.log('');
  console.log('fp32 matmul (n, n) @ (n, n), GFLOP/s = 2n^3 / s: best sample (median in brackets)');
  console.log(`${'n'.padStart(6)}  ${'Kiln'.padEnd(18)}${'PyTorch'.padEnd(18)}Kiln/PyTorch (target >= ${MATMUL_RATIO_TARGET})`);
  for (const r of matmul) {
    const kiln = Math.max(...r.kilnGflops);
    const torch = Math.max(...r.torchGflops);
    const cell = (best: number, all: number[]): string => `${best.toFixed(1)} (${median(all).toFixed(1)})`.padEnd(18);
    const ratio = kiln / torch;
    console.log(
      `${String(r.n).padStart(6)}  ${cell(kiln, r.kilnGflops)}${cell(torch, r.torchGflops)}` +
        `${ratio.toFixed(3)}  ${verdict(ratio >= MATMUL_RATIO_TARGET)}   [${r.samples} samples x ${r.calls} calls]`,
    );
  }
  console.log('');
  console.log(
    `per-op overhead: a.add(b) on float32[${OP_NUMEL}], ${OP_CALLS_PER_ROUND} calls per round, ` +
      `median of ${OP_ROUNDS} rounds (range in brackets), µs per call`,
  );
  const kiln = median(op.kilnUs);
  const torch = median(op.torchUs);
  const range = (all: number[]): string => `[${Math.min(...all).toFixed(2)}-${Math.max(...all).toFixed(2)}]`;
  console.log(`${''.padEnd(32)}${'Kiln'.padEnd(18)}${'PyTorch'.padEnd(18)}Kiln/PyTorch (target <= ${OP_RATIO_TARGET})`);
  const scoped = median(op.kilnScopedUs);
  console.log(
    `${'inside scope() (training steps)'.padEnd(32)}${`${scoped.toFixed(2)} ${range(op.kilnScopedUs)}`.padEnd(18)}` +
      `${`${torch.toFixed(2)} ${range(op.torchUs)}`.padEnd(18)}${(scoped / torch).toFixed(3)}  ${verdict(scoped / torch <= OP_RATIO_TARGET)}`,
  );
  console.log(
    `${'results freed by the GC'.padEnd(32)}${`${kiln.toFixed(2)} ${range(op.kilnUs)}`.padEnd(18)}` +
      `${`${torch.toFixed(2)} ${range(op.torchUs)}`.padEnd(18)}${(kiln / torch).toFixed(3)}  ${verdict(kiln / torch <= OP_RATIO_TARGET)}`,
  );
  const disposed = median(op.kilnDisposedUs);
  console.log(
    `${'(for reference: dispose() each)'.padEnd(32)}${`${disposed.toFixed(2)} ${range(op.kilnDisposedUs)}`.padEnd(18)}` +
      `${'-'.padEnd(18)}${(disposed / torch).toFixed(3)}`,
  );
  console.log('');
}

async function main(): Promise<void> {
  // Importing Kiln loaded the addon, which set OPENBLAS_CORETYPE (on AVX-512 CPUs) and the
  // thread count; the child inherits this very environment and is told the same thread count.
  const threads = getNumThreads();
  const env: NodeJS.ProcessEnv = { ...process.env };
  checkPythonTorch(env, 'bench:engine');
  const torch = new TorchProcess(threads, env);
  try {
    const hello = await torch.request<TorchHello>({ op: 'hello' });
    if (hello.threads !== threads || hello.openblas_coretype !== (process.env['OPENBLAS_CORETYPE'] ?? null)) {
      throw new Error(
        `PyTorch runs with threads=${hello.threads}, OPENBLAS_CORETYPE=${hello.openblas_coretype} but Kiln with ` +
          `threads=${threads}, OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE']}; the comparison would not be fair`,
      );
    }
    const matmul: MatmulResult[] = [];
    for (const n of MATMUL_SIZES) {
      process.stderr.write(`[bench:engine] matmul ${n}x${n} ...\n`);
      matmul.push(await measureMatmul(n, torch));
    }
    process.stderr.write(`[bench:engine] per-op overhead ...\n`);
    const op = await measureOpOverhead(torch);
    printReport(hello, threads, matmul, op);
    const best = (values: number[]): number => round(Math.max(...values), 2);
    const summary = {
      matmul_gflops: Object.fromEntries(matmul.map((r) => [String(r.n), best(r.kilnGflops)])),
      torch_matmul_gflops: Object.fromEntries(matmul.map((r) => [String(r.n), best(r.torchGflops)])),
      op_overhead_us: round(median(op.kilnScopedUs), 3),
      torch_op_overhead_us: round(median(op.torchUs), 3),
      op_overhead_gc_us: round(median(op.kilnUs), 3),
    };
    console.log(JSON.stringify(summary));
  } finally {
    torch.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:engine: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
