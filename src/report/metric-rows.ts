/**
 * metrics.jsonl records → the long-format rows every chart reads: one row per (run, step,
 * metric) with a numeric value. Which chart a metric goes to depends only on its name, so
 * fine-tuning metrics (val_accuracy, val_macro_f1, …) need no code here.
 */
import type { MetricRecord } from './metrics-lines.js';

export interface MetricRow {
  run: string;
  step: number;
  /** Seconds of training when the line was written, when the run logs elapsed_s. */
  elapsed_s?: number;
  metric: string;
  value: number;
  /** The chart that shows it (see chartGroup). */
  chart: ChartGroup;
}

/** The chart a metric belongs to. */
export type ChartGroup = 'loss' | 'lr' | 'throughput' | 'evaluation';

/** Keys that describe the line rather than measure the model. */
const NOT_METRICS = new Set(['step', 'elapsed_s', 'epoch', 'confusion_matrix']);

/** An evaluation line: it carries validation (or test) metrics. */
export function isEvalRecord(record: MetricRecord): boolean {
  return Object.keys(record).some((k) => k.startsWith('val_') || k.startsWith('test_'));
}

export function chartGroup(metric: string): ChartGroup {
  if (metric === 'loss' || metric === 'val_loss' || metric === 'train_loss' || metric === 'test_loss') return 'loss';
  if (metric === 'lr' || metric.startsWith('lr_')) return 'lr';
  if (metric.endsWith('_per_s')) return 'throughput';
  return 'evaluation';
}

/**
 * The rows of one record. On evaluation lines, `loss` (the training split measured by the
 * evaluation) becomes `train_loss`, and lr and throughput are left out: they repeat the last
 * training line's values.
 */
export function recordRows(run: string, record: MetricRecord): MetricRow[] {
  const isEval = isEvalRecord(record);
  const elapsed = record['elapsed_s'];
  const rows: MetricRow[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (NOT_METRICS.has(key) || typeof value !== 'number' || !Number.isFinite(value)) continue;
    let metric = key;
    if (isEval) {
      if (key === 'loss') metric = 'train_loss';
      else if (chartGroup(key) === 'lr' || chartGroup(key) === 'throughput') continue;
    }
    const row: MetricRow = { run, step: record.step, metric, value, chart: chartGroup(metric) };
    if (typeof elapsed === 'number') row.elapsed_s = elapsed;
    rows.push(row);
  }
  return rows;
}

export function metricRows(run: string, records: readonly MetricRecord[]): MetricRow[] {
  return records.flatMap((r) => recordRows(run, r));
}
