/**
 * runComparison: every candidate × every seed through an injected `runOne` (fine-tuning and
 * evaluating on the same data with the same budget), then a leaderboard: OUT/results.jsonl (one
 * line per finished run, written as they finish), OUT/leaderboard.json and OUT/leaderboard.html.
 *
 * Runs go one after another, so their seconds and tokens/s are comparable.
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import type { CompareCandidate } from './compare-candidates.js';
import { type CandidateResult, type Leaderboard, buildLeaderboard } from './leaderboard.js';
import { leaderboardHtml } from './leaderboard-format.js';
import { ReportError } from './report-error.js';
import { METRICS_FILE } from './run-data.js';
import { writeRunReport } from './write-report.js';

/** What `runOne` reports for one candidate and seed. */
export interface CandidateRun {
  /** Test-set metrics; must include the ranking metric. */
  metrics: Record<string, number>;
  parameters: number;
  trainableParameters: number;
  seconds: number;
  tokensPerSecond: number;
}

/**
 * Fine-tunes and evaluates `candidate` with `seed`, writing its run folder (metrics.jsonl,
 * config.json, …) into `outDir`, which exists and is empty.
 */
export type RunOne = (candidate: CompareCandidate, seed: number, outDir: string) => Promise<CandidateRun>;

export interface ComparisonOptions {
  candidates: readonly CompareCandidate[];
  /** Seeds every candidate runs with, e.g. [0, 1, 2]. */
  seeds: readonly number[];
  runOne: RunOne;
  /** OUT: run folders go to OUT/<candidate>/seed-<seed>. */
  outDir: string;
  /** Ranking metric (see LeaderboardOptions). */
  metric: string;
  /** @default by the metric's name (see higherIsBetterFor) */
  higherIsBetter?: boolean;
  /** Called after each run, e.g. for progress lines. */
  onResult?: (result: CandidateResult, done: number, total: number) => void;
  /** Called before each run. */
  onStart?: (candidate: CompareCandidate, seed: number, index: number, total: number) => void;
}

export interface ComparisonResult {
  leaderboard: Leaderboard;
  results: CandidateResult[];
  /** OUT/leaderboard.json, OUT/leaderboard.html, OUT/results.jsonl */
  files: { json: string; html: string; results: string };
}

function checkRun(run: CandidateRun, where: string): void {
  const numbers: [string, unknown][] = [
    ['parameters', run.parameters],
    ['trainableParameters', run.trainableParameters],
    ['seconds', run.seconds],
    ['tokensPerSecond', run.tokensPerSecond],
    ...Object.entries(run.metrics).map(([k, v]): [string, unknown] => [`metrics.${k}`, v]),
  ];
  for (const [name, value] of numbers) {
    if (typeof value !== 'number' || Number.isNaN(value)) throw new ReportError(`${where}: the runner returned ${name} = ${JSON.stringify(value)}, not a number`);
  }
}

/** Writes OUT/leaderboard.json and OUT/leaderboard.html (the leaderboard above the report of every run folder with metrics). */
export async function writeLeaderboard(board: Leaderboard, results: readonly CandidateResult[], outDir: string): Promise<{ json: string; html: string }> {
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, 'leaderboard.json');
  writeFileAtomic(json, (fd) => writeAll(fd, Buffer.from(JSON.stringify({ ...board, results }, null, 2) + '\n', 'utf8')));
  const html = path.join(outDir, 'leaderboard.html');
  const runDirs = results.flatMap((r) => (r.runDir !== undefined && existsSync(path.join(r.runDir, METRICS_FILE)) ? [r.runDir] : []));
  await writeRunReport(runDirs, html, { title: `Kiln comparison: ${board.rows.map((r) => r.candidate).join(', ')}`, sections: [{ title: 'Leaderboard', html: leaderboardHtml(board) }] });
  return { json, html };
}

export async function runComparison(options: ComparisonOptions): Promise<ComparisonResult> {
  const { candidates, seeds, runOne, outDir } = options;
  if (candidates.length === 0) throw new ReportError('no candidates to compare');
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length || !seeds.every(Number.isInteger)) {
    throw new ReportError(`seeds must be distinct integers, at least one; got ${JSON.stringify(seeds)}`);
  }
  mkdirSync(outDir, { recursive: true });
  const resultsFile = path.join(outDir, 'results.jsonl');
  writeFileAtomic(resultsFile, () => {}); // this comparison's results only
  const results: CandidateResult[] = [];
  const total = candidates.length * seeds.length;
  for (const candidate of candidates) {
    for (const seed of seeds) {
      const runDir = path.join(outDir, candidate.name, `seed-${seed}`);
      mkdirSync(runDir, { recursive: true });
      options.onStart?.(candidate, seed, results.length, total);
      let run: CandidateRun;
      try {
        run = await runOne(candidate, seed, runDir);
      } catch (error) {
        const done = results.length === 0 ? '' : `; the ${results.length} finished runs are in ${resultsFile}`;
        throw new Error(`candidate ${candidate.name} (${candidate.source}) with seed ${seed} failed: ${(error as Error).message}${done}`, { cause: error });
      }
      checkRun(run, `candidate ${candidate.name} seed ${seed}`);
      const result: CandidateResult = { candidate: candidate.name, seed, ...run, metrics: { ...run.metrics }, runDir };
      results.push(result);
      appendFileSync(resultsFile, JSON.stringify(result) + '\n');
      options.onResult?.(result, results.length, total);
    }
  }
  const leaderboard = buildLeaderboard(results, { metric: options.metric, ...(options.higherIsBetter === undefined ? {} : { higherIsBetter: options.higherIsBetter }) });
  const files = await writeLeaderboard(leaderboard, results, outDir);
  return { leaderboard, results, files: { ...files, results: resultsFile } };
}
