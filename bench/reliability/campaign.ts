/**
 * The loader fuzz campaign: every target of FUZZ_TARGETS fed `perTarget` mutated inputs, each
 * target in a worker process (fuzz-worker.ts) so that a crash is seen as what it is: the worker
 * dies by a signal and the parent records the input it was on, then starts a new worker after
 * it. A worker silent for `hangMs` is killed and its input recorded as a hang. Inputs are pure
 * functions of (seed, target, index): `mutatedInput(seeds, json, seed, index)` reproduces one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUZZ_TARGETS } from './fuzz-targets.js';

const WORKER = fileURLToPath(new URL('./fuzz-worker.js', import.meta.url));

export interface TargetReport {
  target: string;
  inputs: number;
  loaded: number;
  refused: number;
  /** Inputs whose worker died by a signal or exited without its report. */
  crashes: { index: number; how: string; stderr: string }[];
  hangs: number[];
  /** Throws that were not Errors. */
  nonErrors: { index: number; message: string }[];
  /** Inputs that took over a second: [index, ms]. */
  slow: [number, number][];
  maxRssMb: number;
  seconds: number;
}

interface WorkerRun {
  /** The input the worker was on when it stopped (or end when it finished). */
  last: number;
  /** Inputs loaded and refused before `last`, as the worker last said. */
  counts: [number, number];
  /** The worker reached its first input (a worker that dies before it failed to set up, not on an input). */
  started: boolean;
  report: { loaded: number; refused: number; maxRssKb: number } | null;
  how: string;
  stderr: string;
}

function runWorker(target: number, start: number, end: number, seed: number, dir: string, hangMs: number, into: TargetReport): Promise<WorkerRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WORKER, String(target), String(start), String(end), String(seed), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let last = start;
    let counts: [number, number] = [0, 0];
    let started = false;
    let report: WorkerRun['report'] = null;
    let pending = '';
    let stderr = '';
    let hung = false;
    let timer = setTimeout(() => ((hung = true), child.kill('SIGKILL')), hangMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => ((hung = true), child.kill('SIGKILL')), hangMs);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [kind, a, ...rest] = line.split(' ');
        if (kind === 'S') {
          started = true;
          last = Number(a);
          counts = [Number(rest[0]), Number(rest[1])];
        }
        else if (kind === 'N') into.nonErrors.push({ index: Number(a), message: rest.join(' ') });
        else if (kind === 'W') into.slow.push([Number(a), Number(rest[0])]);
        else if (kind === 'R') report = JSON.parse([a, ...rest].join(' ')) as WorkerRun['report'];
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ last: report === null ? last : end, counts, started, report, how: hung ? 'hang' : signal !== null ? signal : `exit ${code}`, stderr });
    });
  });
}

/** Runs the campaign over every target (or those named); see the module comment. */
export async function runFuzzCampaign(options: { perTarget: number; seed: number; hangMs?: number; targets?: readonly string[]; onTarget?: (report: TargetReport) => void }): Promise<TargetReport[]> {
  const reports: TargetReport[] = [];
  const work = mkdtempSync(path.join(tmpdir(), 'kiln-fuzz-'));
  try {
    for (const [index, target] of FUZZ_TARGETS.entries()) {
      if (options.targets !== undefined && !options.targets.includes(target.name)) continue;
      const report: TargetReport = { target: target.name, inputs: options.perTarget, loaded: 0, refused: 0, crashes: [], hangs: [], nonErrors: [], slow: [], maxRssMb: 0, seconds: 0 };
      const started = performance.now();
      const dir = path.join(work, String(index));
      let start = 0;
      while (start < options.perTarget) {
        const run = await runWorker(index, start, options.perTarget, options.seed, dir, options.hangMs ?? 30_000, report);
        if (run.report !== null) {
          report.loaded += run.report.loaded;
          report.refused += run.report.refused;
          report.maxRssMb = Math.max(report.maxRssMb, run.report.maxRssKb / 1024);
          break;
        }
        if (!run.started) throw new Error(`fuzz target ${target.name}: the worker failed before its first input (${run.how}): ${run.stderr.trim().split('\n').slice(-4).join(' | ')}`);
        report.loaded += run.counts[0];
        report.refused += run.counts[1];
        if (run.how === 'hang') report.hangs.push(run.last);
        else report.crashes.push({ index: run.last, how: run.how, stderr: run.stderr });
        start = run.last + 1; // a new worker after the input that stopped this one
      }
      report.seconds = (performance.now() - started) / 1000;
      reports.push(report);
      options.onTarget?.(report);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return reports;
}
