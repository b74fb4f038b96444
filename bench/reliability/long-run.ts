/**
 * The long-run campaign: resident memory of one `kiln pretrain` process over many small training
 * steps (with its evaluations, checkpoints and metrics lines), and of one process generating
 * many times from the model it trained. RSS is read from /proc every 200 ms; the figure is its
 * drift: the highest RSS after warm-up (the first 5% of the steps or generations) minus the RSS
 * at the end of warm-up. Target: under 100 MB.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyText } from '../../test/train/tiny-text.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const GENERATE_WORKER = fileURLToPath(new URL('./generate-worker.js', import.meta.url));

export interface LongRunReport {
  what: string;
  /** Steps or generations done. */
  count: number;
  seconds: number;
  /** RSS at the end of warm-up, the highest after it, and at the end (MB). */
  warmRssMb: number;
  maxRssMb: number;
  endRssMb: number;
  driftMb: number;
  /** (progress, RSS MB) samples, for the curve. */
  samples: [number, number][];
}

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

function summarise(what: string, count: number, seconds: number, samples: [number, number][]): LongRunReport {
  const warm = samples.find(([progress]) => progress >= count * 0.05) ?? samples[0] ?? [0, 0];
  const after = samples.filter(([progress]) => progress >= warm[0]);
  const maxRssMb = Math.max(...after.map(([, rss]) => rss));
  const endRssMb = samples.at(-1)?.[1] ?? 0;
  return { what, count, seconds, warmRssMb: warm[1], maxRssMb, endRssMb, driftMb: maxRssMb - warm[1], samples };
}

/** The last step metrics.jsonl has logged (0 before the first line). */
function loggedStep(file: string): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n', text.length - 2);
  try {
    return (JSON.parse(text.slice(end + 1)) as { step: number }).step;
  } catch {
    return 0;
  }
}

/** `kiln pretrain` of a tiny GPT for `steps` steps (10 evaluations and checkpoints), into `dir`/run. */
export async function longTraining(options: { steps: number; dir: string }): Promise<LongRunReport> {
  mkdirSync(options.dir, { recursive: true });
  const text = path.join(options.dir, 'text.txt');
  writeFileSync(text, tinyText(2000));
  const out = path.join(options.dir, 'run');
  const args = ['pretrain', '--data', text, '--layers', '1', '--heads', '2', '--dim', '16', '--block-size', '16', '--batch-size', '4', '--lr', '3e-3', '--warmup', '10',
    '--max-steps', String(options.steps), '--eval-every', String(Math.max(1, Math.floor(options.steps / 10))), '--eval-iters', '2', '--log-every', String(Math.max(1, Math.floor(options.steps / 1000))),
    '--threads', '1', '--seed', '3', '--no-report', '--out', out];
  const began = performance.now();
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  const samples: [number, number][] = [];
  const timer = setInterval(() => {
    const rss = rssMb(child.pid!);
    if (rss !== null) samples.push([loggedStep(path.join(out, 'metrics.jsonl')), rss]);
  }, 200);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`the long training run failed (exit ${code}): ${stderr}`);
  return summarise('training steps', options.steps, (performance.now() - began) / 1000, samples);
}

/** `count` generations in one process from the model `longTraining` left in `dir`/run/model. */
export async function longGeneration(options: { count: number; dir: string }): Promise<LongRunReport> {
  const began = performance.now();
  const child = spawn(process.execPath, [GENERATE_WORKER, path.join(options.dir, 'run', 'model'), String(options.count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0 || !stdout.includes('\nD\n')) throw new Error(`the generation process failed (exit ${code}): ${stderr}`);
  const samples = stdout.split('\n').filter((l) => l.startsWith('G ')).map((l) => {
    const [, i, rss] = l.split(' ');
    return [Number(i), Number(rss)] as [number, number];
  });
  return summarise('generations', options.count, (performance.now() - began) / 1000, samples);
}
