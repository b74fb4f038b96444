/**
 * The distributed-faults campaign: GPT pretraining under `kiln launch --nproc-per-node 2`, with
 * rank 1 either killed (SIGKILL) or hung (SIGSTOP) at a random moment after the first
 * checkpoint. Each time: launch must exit non-zero within the stated time (the collective
 * timeout, then the grace period before a hung rank is killed), its messages must name rank 1,
 * and `kiln launch … --resume` must finish the run with the weights of an uninterrupted
 * two-rank run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { scope } from '../../src/tensor/scope.js';
import { tinyText } from '../../test/train/tiny-text.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The collective timeout and the grace period the campaign runs with (seconds). */
export const FAULT_TIMEOUT_S = 2;
export const FAULT_GRACE_S = 2;

export interface FaultTrial {
  fault: 'kill' | 'hang';
  /** Seconds from the fault to launch's exit; the stated bound is FAULT_TIMEOUT_S + FAULT_GRACE_S (+ start-up slack). */
  seconds: number;
  /** Largest parameter difference after resuming, against the uninterrupted run. */
  resumedDiff: number;
  problems: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Launched {
  pid: number;
  exited: Promise<{ code: number | null; stderr: string; at: number }>;
}

function launch(args: readonly string[]): Launched {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8000)));
  const limit = setTimeout(() => child.kill('SIGKILL'), 180_000);
  return {
    pid: child.pid!,
    exited: new Promise((resolve) => child.on('close', (code) => {
      clearTimeout(limit);
      resolve({ code, stderr, at: performance.now() });
    })),
  };
}

/** The pid of `launchPid`'s child with RANK=`rank`, or null. */
function rankPid(launchPid: number, rank: number): number | null {
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return ''; // a thread or process that is gone
    }
  };
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${launchPid}/task`);
  } catch {
    return null;
  }
  for (const task of tasks) {
    for (const pid of read(`/proc/${launchPid}/task/${task}/children`).trim().split(/\s+/).filter((p) => p !== '')) {
      if (read(`/proc/${pid}/environ`).split('\0').includes(`RANK=${rank}`)) return Number(pid);
    }
  }
  return null;
}

async function until(what: string, done: () => boolean, limitMs = 120_000): Promise<void> {
  const began = performance.now();
  while (!done()) {
    if (performance.now() - began > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function largestDifference(a: string, b: string): number {
  return scope(() => {
    const x = loadSafetensors(a).tensors;
    const y = loadSafetensors(b).tensors;
    let worst = 0;
    for (const [name, t] of Object.entries(x)) worst = Math.max(worst, y[name] === undefined ? Infinity : t.sub(y[name]!).abs().max().item());
    return worst;
  });
}

/** `trials` faults, alternately kill and hang, each resumed; work in `dir`. */
export async function distributedFaultCampaign(options: { trials: number; dir: string; seed?: number; onTrial?: (trial: FaultTrial) => void }): Promise<FaultTrial[]> {
  mkdirSync(options.dir, { recursive: true });
  const text = path.join(options.dir, 'text.txt');
  writeFileSync(text, tinyText());
  const run = ['pretrain', '--data', text, '--layers', '1', '--heads', '2', '--dim', '16', '--block-size', '16', '--batch-size', '4', '--lr', '3e-3', '--warmup', '5',
    '--max-steps', '400', '--eval-every', '20', '--eval-iters', '2', '--log-every', '20', '--threads', '1', '--seed', '2', '--no-report'];
  const launchArgs = async (): Promise<string[]> => ['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--timeout', `${FAULT_TIMEOUT_S}s`, '--grace', `${FAULT_GRACE_S}s`, '--'];
  const whole = path.join(options.dir, 'whole');
  const reference = await launch([...(await launchArgs()), 'kiln', ...run, '--out', whole]).exited;
  if (reference.code !== 0) throw new Error(`the uninterrupted two-rank run failed: ${reference.stderr}`);
  let state = (options.seed ?? 1) >>> 0 || 1;
  const random = (): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  const trials: FaultTrial[] = [];
  for (let i = 0; i < options.trials; i++) {
    const fault = i % 2 === 0 ? 'kill' : 'hang';
    const out = path.join(options.dir, `trial-${i}`);
    rmSync(out, { recursive: true, force: true });
    const trial: FaultTrial = { fault, seconds: Number.NaN, resumedDiff: Number.NaN, problems: [] };
    const running = launch([...(await launchArgs()), 'kiln', ...run, '--out', out]);
    let finished = false;
    void running.exited.then(() => (finished = true));
    await until('the first checkpoint', () => finished || existsSync(path.join(out, 'state', 'state.json')));
    await new Promise((r) => setTimeout(r, random() * 1500));
    const victim = rankPid(running.pid, 1);
    if (finished || victim === null) {
      trial.problems.push(finished ? 'the run finished before the fault' : 'rank 1 was not found');
      trials.push(trial);
      options.onTrial?.(trial);
      continue;
    }
    const faultAt = performance.now();
    process.kill(victim, fault === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    const ended = await running.exited;
    trial.seconds = (ended.at - faultAt) / 1000;
    if (ended.code === 0) trial.problems.push('launch exited 0 after the fault');
    const named = fault === 'kill' ? /kiln launch: rank 1 was killed by SIGKILL/ : /kiln launch: rank 1 did not stop within \d+ s of SIGTERM \(hung\?\)/;
    if (!named.test(ended.stderr)) trial.problems.push(`launch's messages do not name rank 1: ${ended.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    if (!/\[rank 0\] .*rank 0 of 2: .*failed/.test(ended.stderr)) trial.problems.push(`rank 0 did not say its collective failed: ${ended.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    if (trial.seconds > FAULT_TIMEOUT_S + FAULT_GRACE_S + 8) trial.problems.push(`launch took ${trial.seconds.toFixed(1)} s to stop`);
    try {
      process.kill(victim, 'SIGKILL'); // a hung rank launch failed to reap would hold the port
    } catch {
      // gone, as it should be
    }
    const resumed = await launch([...(await launchArgs()), 'kiln', 'pretrain', '--out', out, '--resume', '--no-report']).exited;
    if (resumed.code !== 0) trial.problems.push(`--resume failed: ${resumed.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    else trial.resumedDiff = largestDifference(path.join(whole, 'model', 'model.safetensors'), path.join(out, 'model', 'model.safetensors'));
    if (!(trial.resumedDiff <= 1e-6)) trial.problems.push(`resumed weights differ from the uninterrupted run's by ${trial.resumedDiff}`);
    trials.push(trial);
    options.onTrial?.(trial);
    rmSync(out, { recursive: true, force: true });
  }
  return trials;
}
