/**
 * The leaderboard of a comparison: per-candidate, per-seed results → one row per candidate with
 * the mean and standard deviation over seeds of every metric, best first by a chosen metric.
 */
import { ReportError } from './report-error.js';

/** What one fine-tuning run of one candidate with one seed measured. */
export interface CandidateResult {
  candidate: string;
  seed: number;
  /** Evaluation metrics on the test set, e.g. { accuracy: 0.93, macro_f1: 0.9 }. */
  metrics: Record<string, number>;
  parameters: number;
  trainableParameters: number;
  /** Wall-clock seconds of the run. */
  seconds: number;
  tokensPerSecond: number;
  /** The run's folder (metrics.jsonl, config.json), when it wrote one. */
  runDir?: string;
}

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator, as numpy's ddof=1); null for one seed. */
  std: number | null;
  /** The values, in seed order. */
  values: number[];
}

export interface LeaderboardRow {
  /** 1 = best. */
  rank: number;
  candidate: string;
  seeds: number[];
  metrics: Record<string, MeanStd>;
  /** Mean over seeds (the same for every seed of a candidate, normally). */
  parameters: number;
  trainableParameters: number;
  seconds: MeanStd;
  tokensPerSecond: MeanStd;
  runDirs: string[];
}

export interface Leaderboard {
  /** The metric the rows are sorted by. */
  metric: string;
  higherIsBetter: boolean;
  rows: LeaderboardRow[];
}

export interface LeaderboardOptions {
  /** The metric to rank by; every result must have it. */
  metric: string;
  /**
   * Whether larger values of `metric` are better.
   * @default false for names with loss, perplexity or error in them, true otherwise (accuracy, f1, …)
   */
  higherIsBetter?: boolean;
}

/** Lower is better for losses, perplexities and error rates; higher for everything else. */
export function higherIsBetterFor(metric: string): boolean {
  return !/loss|perplexity|error|^ppl|_ppl/i.test(metric);
}

export function meanStd(values: readonly number[]): MeanStd {
  if (values.length === 0) throw new Error('meanStd needs at least one value');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, std, values: [...values] };
}

/**
 * Groups results by candidate (in the order candidates first appear), aggregates over seeds and
 * sorts best first by `options.metric`; ties keep the candidates' order.
 */
export function buildLeaderboard(results: readonly CandidateResult[], options: LeaderboardOptions): Leaderboard {
  if (results.length === 0) throw new ReportError('no results to rank: every candidate run failed or none was run');
  const higherIsBetter = options.higherIsBetter ?? higherIsBetterFor(options.metric);
  const groups = new Map<string, CandidateResult[]>();
  for (const r of results) {
    if (!(options.metric in r.metrics)) {
      throw new ReportError(`candidate ${r.candidate} seed ${r.seed} has no metric '${options.metric}' (it has: ${Object.keys(r.metrics).join(', ') || 'none'}); rank by one of those`);
    }
    const group = groups.get(r.candidate) ?? [];
    if (group.some((g) => g.seed === r.seed)) throw new ReportError(`candidate ${r.candidate} has two results for seed ${r.seed}`);
    group.push(r);
    groups.set(r.candidate, group);
  }
  const rows: LeaderboardRow[] = [...groups].map(([candidate, group]) => {
    const sorted = [...group].sort((a, b) => a.seed - b.seed);
    const metricNames = [...new Set(sorted.flatMap((r) => Object.keys(r.metrics)))];
    const metrics: Record<string, MeanStd> = {};
    for (const name of metricNames) {
      const values = sorted.map((r) => r.metrics[name]).filter((v): v is number => typeof v === 'number');
      if (values.length > 0) metrics[name] = meanStd(values);
    }
    return {
      rank: 0,
      candidate,
      seeds: sorted.map((r) => r.seed),
      metrics,
      parameters: meanStd(sorted.map((r) => r.parameters)).mean,
      trainableParameters: meanStd(sorted.map((r) => r.trainableParameters)).mean,
      seconds: meanStd(sorted.map((r) => r.seconds)),
      tokensPerSecond: meanStd(sorted.map((r) => r.tokensPerSecond)),
      runDirs: sorted.flatMap((r) => (r.runDir === undefined ? [] : [r.runDir])),
    };
  });
  const score = (row: LeaderboardRow): number => {
    const mean = row.metrics[options.metric]!.mean;
    return Number.isNaN(mean) ? Number.NEGATIVE_INFINITY : higherIsBetter ? mean : -mean;
  };
  const order = rows.map((row, index) => ({ row, index })).sort((a, b) => score(b.row) - score(a.row) || a.index - b.index);
  return { metric: options.metric, higherIsBetter, rows: order.map(({ row }, i) => ({ ...row, rank: i + 1 })) };
}
