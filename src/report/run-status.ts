/** Whether a run is still training, judged from its folder alone (no process handle needed). */
import type { MetricRecord } from './metrics-lines.js';
import { isEvalRecord } from './metric-rows.js';

/**
 * - `waiting`: no metrics line yet;
 * - `finished`: an evaluation line (one with val_* or test_* keys) at the configured maxSteps
 *   (config.json `maxSteps` or `max_steps`), or that step reached and the file quiet;
 * - `running`: metrics.jsonl changed within the last `staleSeconds`;
 * - `stopped`: neither (stopped by a time limit, Ctrl-C or a crash; resumable runs continue later).
 */
export type RunStatus = 'waiting' | 'running' | 'finished' | 'stopped';

/**
 * Seconds without a new metrics line after which a run counts as stopped.
 * @default 120
 */
export const DEFAULT_STALE_SECONDS = 120;

export function configuredMaxSteps(config: Record<string, unknown> | undefined): number | undefined {
  const value = config?.['maxSteps'] ?? config?.['max_steps'];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function runStatus(
  records: readonly MetricRecord[],
  config: Record<string, unknown> | undefined,
  metricsModifiedMs: number | undefined,
  nowMs: number,
  staleSeconds = DEFAULT_STALE_SECONDS,
): RunStatus {
  const last = records.at(-1);
  if (last === undefined) return 'waiting';
  const maxSteps = configuredMaxSteps(config);
  // An eval line at maxSteps is the last thing a finished run writes.
  if (maxSteps !== undefined && last.step >= maxSteps && records.some((r) => r.step >= maxSteps && isEvalRecord(r))) return 'finished';
  if (metricsModifiedMs !== undefined && nowMs - metricsModifiedMs <= staleSeconds * 1000) return 'running';
  return maxSteps !== undefined && last.step >= maxSteps ? 'finished' : 'stopped';
}
