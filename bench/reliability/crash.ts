/**
 * The crash campaign: runs of every task (GPT pretraining, classification and generation
 * fine-tuning, image classification) killed with SIGKILL again and again, each time resumed
 * (`--resume` once a checkpoint exists, the same command again before), until one finishes. A
 * kill comes either at a random moment of the run (during a step, an evaluation, start-up or a
 * checkpoint) or as soon as a file write is seen under way (a temporary file of an atomic write
 * in the run folder). After every kill the run folder is read back: state/state.json and the
 * files it names, model/ and best/ must load. At the end the weights (every safetensors file of
 * model/ and best/) must equal an uninterrupted run's byte for byte (CPU fp32 is deterministic)
 * and metrics.jsonl must hold the same lines, none lost or repeated (timings aside).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { scope } from '../../src/tensor/scope.js';
import { readTrainingState } from '../../src/train/training-state.js';
import { tinyText } from '../../test/train/tiny-text.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CrashTask {
  name: string;
  /** Writes the task's data into `dir`; returns the command's arguments without --out. */
  setup(dir: string): string[];
}

const TINY_GPT = ['--layers', '2', '--heads', '2', '--dim', '32', '--block-size', '16', '--batch-size', '8', '--lr', '1e-2', '--min-lr', '1e-3', '--warmup', '5', '--eval-iters', '2', '--log-every', '1', '--threads', '1', '--seed', '5'];

export const CRASH_TASKS: readonly CrashTask[] = [
  {
    name: 'pretrain (GPT)',
    setup(dir) {
      const text = path.join(dir, 'text.txt');
      writeFileSync(text, tinyText());
      return ['pretrain', '--data', text, ...TINY_GPT, '--dropout', '0.1', '--grad-accumulation', '2', '--max-steps', '120', '--eval-every', '10', '--no-report'];
    },
  },
  {
    name: 'finetune classify',
    setup(dir) {
      const data = path.join(dir, 'labels.csv');
      writeFileSync(data, ['text,label', ...Array.from({ length: 80 }, (_, i) => (i % 3 === 0 ? `calm grey sea ${i},calm` : `a storm ${i} hits the ship,storm`))].join('\n') + '\n');
      return ['finetune', '--train', data, '--layers', '1', '--heads', '2', '--dim', '16', '--block-size', '16', '--dropout', '0.1', '--class-weights', 'auto', '--batch-size', '4',
        '--max-steps', '120', '--eval-every', '10', '--log-every', '5', '--threads', '1', '--no-report'];
    },
  },
  {
    name: 'finetune generate',
    setup(dir) {
      const pairs = path.join(dir, 'pairs.jsonl');
      writeFileSync(pairs, Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `add ${i % 7} and ${i % 5}: `, completion: `${(i % 7) + (i % 5)}` })).join('\n') + '\n');
      return ['finetune', '--task', 'generate', '--train', pairs, '--layers', '1', '--heads', '2', '--dim', '16', '--block-size', '24', '--dropout', '0.1', '--batch-size', '4',
        '--max-steps', '40', '--eval-every', '10', '--log-every', '5', '--max-new-tokens', '3', '--threads', '1', '--no-report'];
    },
  },
  {
    name: 'image classification',
    setup() {
      return ['pretrain', '--task', 'image-classification', '--data', 'mnist', '--classes', '0-2', '--per-class', '20', '--val-size', '30', '--width', '4', '--batch-size', '8',
        '--max-steps', '120', '--eval-every', '10', '--log-every', '5', '--crop-padding', '2', '--flip', '--threads', '1', '--seed', '4', '--no-report'];
    },
  },
];

export interface CrashReport {
  task: string;
  runs: number;
  kills: number;
  /** Kills that left a temporary file behind: the process died in the middle of writing a file. */
  killsMidWrite: number;
  /** Restarts with --resume, and those that failed (exited non-zero on their own). */
  resumes: number;
  resumeFailures: string[];
  /** Restarts without --resume (killed before the first checkpoint). */
  freshStarts: number;
  /** Files of the run folder that did not load after a kill (must be none). */
  unreadable: string[];
  /** Runs whose final weights differ from the uninterrupted run's (must be none). */
  weightMismatches: string[];
  /** Metrics lines lost or repeated against the uninterrupted run, over all runs. */
  metricsLost: number;
  metricsRepeated: number;
  metricsChanged: number;
  /** Temporary files left in the run folder after it finished. */
  staleTempFiles: number;
  seconds: number;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  killed: boolean;
}

/** Starts `kiln args`; `kill(child)` decides when (if ever) to SIGKILL it. */
function runKiln(args: readonly string[], kill: (child: ReturnType<typeof spawn>, stop: () => void) => void, limitMs = 300_000): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    kill(child, () => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, stderr, killed });
    });
  });
}

/** Every file under `dir` (relative paths). */
export function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path.join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out;
}

const isTemp = (file: string): boolean => /(^|\/)\.[^/]+\.tmp$/.test(file);

/** Files of `out` that a reader would open and cannot: state.json and what it names, model/ and best/. */
export function unreadableFiles(out: string): string[] {
  const bad: string[] = [];
  const check = (file: string, read: () => void): void => {
    try {
      read();
    } catch (error) {
      bad.push(`${path.relative(out, file)}: ${(error as Error).message}`);
    }
  };
  const loadFolder = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (isTemp(name) || statSync(file).isDirectory()) continue;
      if (name.endsWith('.safetensors')) check(file, () => scope(() => void loadSafetensors(file)));
      else if (name.endsWith('.json')) check(file, () => JSON.parse(readFileSync(file, 'utf8')));
    }
  };
  const stateDir = path.join(out, 'state');
  if (existsSync(path.join(stateDir, 'state.json'))) {
    check(path.join(stateDir, 'state.json'), () => {
      const state = readTrainingState<unknown, unknown>(stateDir)!;
      scope(() => void loadSafetensors(path.join(stateDir, state.optimizerFile)));
      if (!existsSync(path.join(stateDir, state.modelDir))) throw new Error(`names ${state.modelDir}, which is missing`);
      loadFolder(path.join(stateDir, state.modelDir));
    });
  }
  for (const folder of ['model', 'best']) if (existsSync(path.join(out, folder, 'kiln.json'))) loadFolder(path.join(out, folder));
  if (existsSync(path.join(out, 'metrics.jsonl'))) {
    const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
    // A torn last line can only be the one being appended when the process died; the resume drops it.
    for (const line of lines.slice(0, -1)) check(path.join(out, 'metrics.jsonl'), () => JSON.parse(line));
  }
  return bad;
}

/** metrics.jsonl's lines without their timings. */
function metricLines(out: string): string[] {
  return readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => {
    const entry = JSON.parse(l) as Record<string, unknown>;
    for (const key of Object.keys(entry)) if (key === 'elapsed_s' || key.endsWith('_per_s')) delete entry[key];
    return JSON.stringify(entry);
  });
}

/** Lines of `got` missing from `want` (lost), extra copies (repeated), and different lines at the same step (changed). */
function compareMetrics(want: string[], got: string[]): { lost: number; repeated: number; changed: number } {
  const count = (lines: string[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
    return m;
  };
  const w = count(want);
  const g = count(got);
  let lost = 0;
  let repeated = 0;
  for (const [line, n] of w) lost += Math.max(0, n - (g.get(line) ?? 0));
  for (const [line, n] of g) repeated += Math.max(0, n - (w.get(line) ?? 0));
  const changed = Math.min(lost, repeated);
  return { lost: lost - changed, repeated: repeated - changed, changed };
}

export function weightFiles(out: string): string[] {
  return ['model', 'best'].flatMap((folder) => filesUnder(path.join(out, folder)).filter((f) => f.endsWith('.safetensors')).map((f) => path.join(folder, f)));
}

/** A seeded generator in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/**
 * Waits `afterMs`, then kills as soon as a new temporary file appears under `out` (polled every
 * millisecond), or at `fallbackMs`.
 */
function killOnWrite(out: string, afterMs: number, fallbackMs: number): (child: ReturnType<typeof spawn>, stop: () => void) => void {
  return (child, stop) => {
    const began = performance.now();
    const before = new Set(filesUnder(out).filter(isTemp));
    const timer = setInterval(() => {
      const now = performance.now() - began;
      if ((now > afterMs && filesUnder(out).some((f) => isTemp(f) && !before.has(f))) || now > fallbackMs) {
        clearInterval(timer);
        stop();
      }
    }, 1);
    child.on('close', () => clearInterval(timer));
  };
}

function killAfter(ms: number): (child: ReturnType<typeof spawn>, stop: () => void) => void {
  return (child, stop) => {
    const timer = setTimeout(stop, ms);
    child.on('close', () => clearTimeout(timer));
  };
}

/**
 * `runs` runs of `task`, each killed `kills` times (alternately at a random moment and mid-write),
 * against one uninterrupted run. Work happens in `dir`.
 */
export async function crashTask(task: CrashTask, options: { runs: number; kills: number; seed: number; dir: string; onRun?: (line: string) => void }): Promise<CrashReport> {
  const began = performance.now();
  const report: CrashReport = { task: task.name, runs: options.runs, kills: 0, killsMidWrite: 0, resumes: 0, resumeFailures: [], freshStarts: 0, unreadable: [], weightMismatches: [],
    metricsLost: 0, metricsRepeated: 0, metricsChanged: 0, staleTempFiles: 0, seconds: 0 };
  mkdirSync(options.dir, { recursive: true });
  const args = task.setup(options.dir);
  const whole = path.join(options.dir, 'whole');
  const next = random(options.seed);
  const t0 = performance.now();
  let trainingFromMs = 0; // when the first metrics line appeared: start-up before it is a small part of the kills
  const reference = await runKiln([...args, '--out', whole], (child) => {
    const timer = setInterval(() => {
      const file = path.join(whole, 'metrics.jsonl');
      if (existsSync(file) && statSync(file).size > 0) {
        trainingFromMs = performance.now() - t0;
        clearInterval(timer);
      }
    }, 5);
    child.on('close', () => clearInterval(timer));
  });
  if (reference.code !== 0) throw new Error(`${task.name}: the uninterrupted run failed: ${reference.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const wholeMs = performance.now() - t0;
  const killAt = (): number => trainingFromMs * 0.5 + next() * (wholeMs - trainingFromMs * 0.5);
  const wantWeights = new Map(weightFiles(whole).map((f) => [f, readFileSync(path.join(whole, f))]));
  const wantMetrics = metricLines(whole);
  const resumeArgs = [args[0]!, ...(args.includes('--task') ? ['--task', args[args.indexOf('--task') + 1]!] : []), '--no-report'];
  for (let run = 0; run < options.runs; run++) {
    const out = path.join(options.dir, `run-${run}`);
    rmSync(out, { recursive: true, force: true });
    let kills = 0;
    for (let attempt = 0; ; attempt++) {
      const resuming = existsSync(path.join(out, 'state', 'state.json'));
      const command = resuming ? [...resumeArgs, '--out', out, '--resume'] : [...args, '--out', out];
      if (attempt > 0) {
        if (resuming) report.resumes++;
        else report.freshStarts++;
      }
      const midWrite = kills % 2 === 1;
      const temps = new Set(filesUnder(out).filter(isTemp));
      const killer = kills >= options.kills ? (): void => {} : midWrite ? killOnWrite(out, killAt(), wholeMs * 2) : killAfter(killAt());
      const exit = await runKiln(command, killer);
      if (exit.killed) {
        kills++;
        report.kills++;
        if (filesUnder(out).some((f) => isTemp(f) && !temps.has(f))) report.killsMidWrite++;
        report.unreadable.push(...unreadableFiles(out).map((f) => `run ${run} after kill ${kills}: ${f}`));
        continue;
      }
      if (exit.code !== 0) {
        report.resumeFailures.push(`run ${run} attempt ${attempt} (${resuming ? 'resume' : 'fresh'}): exit ${exit.code ?? exit.signal}: ${exit.stderr.trim().split('\n').slice(-2).join(' | ')}`);
        break;
      }
      break; // finished (perhaps before a kill came)
    }
    const finalFiles = weightFiles(out);
    const mismatched = [...wantWeights].filter(([f, bytes]) => !existsSync(path.join(out, f)) || !readFileSync(path.join(out, f)).equals(bytes)).map(([f]) => f);
    if (mismatched.length > 0 || finalFiles.length !== wantWeights.size) report.weightMismatches.push(`run ${run}: ${mismatched.join(', ') || 'different files'}`);
    const m = compareMetrics(wantMetrics, existsSync(path.join(out, 'metrics.jsonl')) ? metricLines(out) : []);
    report.metricsLost += m.lost;
    report.metricsRepeated += m.repeated;
    report.metricsChanged += m.changed;
    report.staleTempFiles += filesUnder(out).filter(isTemp).length;
    options.onRun?.(`${task.name} run ${run}: ${kills} kills, ${mismatched.length === 0 ? 'same weights' : 'WEIGHTS DIFFER'}, metrics lost ${m.lost} repeated ${m.repeated} changed ${m.changed}`);
    rmSync(out, { recursive: true, force: true });
  }
  report.seconds = (performance.now() - began) / 1000;
  return report;
}
