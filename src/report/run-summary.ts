/** One row per run for the comparison table: where each run ended and its best validation loss. */
import { type MetricRow, metricRows } from './metric-rows.js';
import type { RunData } from './run-data.js';

export interface RunSummary {
  run: string;
  status: string;
  /** Last logged step. */
  steps: number | undefined;
  /** Last training-line loss. */
  loss: number | undefined;
  /** Last and lowest val_loss. */
  valLoss: number | undefined;
  bestValLoss: number | undefined;
  /** Last value of each evaluation metric (val_accuracy, …). */
  evaluation: Record<string, number>;
  /** Median of the training lines' tokens_per_s. */
  tokensPerSecond: number | undefined;
  /** Last elapsed_s. */
  seconds: number | undefined;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function last(rows: readonly MetricRow[], metric: string): number | undefined {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.metric === metric) return rows[i]!.value;
  return undefined;
}

export function summarizeRun(run: RunData): RunSummary {
  const rows = metricRows(run.name, run.records);
  const valLosses = rows.filter((r) => r.metric === 'val_loss').map((r) => r.value);
  const evaluation: Record<string, number> = {};
  for (const r of rows) if (r.chart === 'evaluation') evaluation[r.metric] = r.value;
  const elapsed = run.records.map((r) => r['elapsed_s']).filter((e): e is number => typeof e === 'number');
  return {
    run: run.name,
    status: run.status,
    steps: run.records.at(-1)?.step,
    loss: last(rows, 'loss'),
    valLoss: last(rows, 'val_loss'),
    bestValLoss: valLosses.length === 0 ? undefined : Math.min(...valLosses),
    evaluation,
    tokensPerSecond: median(rows.filter((r) => r.metric === 'tokens_per_s').map((r) => r.value)),
    seconds: elapsed.at(-1),
  };
}
