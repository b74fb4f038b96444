/** Reading a run folder: RUN_DIR/metrics.jsonl, RUN_DIR/config.json and an optional confusion matrix. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type ConfusionMatrix, parseConfusionMatrix } from './confusion-matrix.js';
import { type MetricRecord, parseMetricLines, splitCompleteLines } from './metrics-lines.js';
import { ReportError } from './report-error.js';
import { type RunStatus, runStatus } from './run-status.js';

import { EVAL_FILE, METRICS_FILE, RUN_CONFIG_FILE } from '../util/run-files.js';

export { EVAL_FILE, METRICS_FILE, RUN_CONFIG_FILE } from '../util/run-files.js';

export interface RunData {
  /** Short unique name for legends and tables (the folder's name, or more of its path when two runs share it). */
  name: string;
  /** The folder, resolved. */
  dir: string;
  /** config.json, when the run has one. */
  config: Record<string, unknown> | undefined;
  records: MetricRecord[];
  confusion: ConfusionMatrix | undefined;
  status: RunStatus;
}

function readJsonObject(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ReportError(`${file} is not valid JSON (${(error as Error).message}); fix or remove it`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ReportError(`${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

/** The confusion matrix of eval.json, else of the last metrics line that has one. */
export function findConfusionMatrix(dir: string, records: readonly MetricRecord[]): ConfusionMatrix | undefined {
  const evalFile = path.join(dir, EVAL_FILE);
  const evaluation = readJsonObject(evalFile);
  try {
    if (evaluation?.['confusion_matrix'] !== undefined) return parseConfusionMatrix(evaluation['confusion_matrix'], evalFile);
    for (let i = records.length - 1; i >= 0; i--) {
      const value = records[i]!['confusion_matrix'];
      if (value !== undefined) return parseConfusionMatrix(value, `${path.join(dir, METRICS_FILE)} (step ${records[i]!.step})`);
    }
  } catch (error) {
    throw new ReportError((error as Error).message);
  }
  return undefined;
}

/**
 * Reads one run folder. A last line without its '\n' (a writer mid-append) is ignored; any other
 * malformed line is a ReportError naming file and line.
 */
export function readRun(dir: string, name = path.basename(path.resolve(dir)), nowMs = Date.now()): RunData {
  const resolved = path.resolve(dir);
  if (!existsSync(resolved) || !statSync(resolved).isDirectory()) throw new ReportError(`run folder ${dir} does not exist; give the --out folder of a training run`);
  const metricsFile = path.join(resolved, METRICS_FILE);
  if (!existsSync(metricsFile)) throw new ReportError(`${dir} has no ${METRICS_FILE}; is it the --out folder of a training run?`);
  const { complete } = splitCompleteLines(readFileSync(metricsFile, 'utf8'));
  const { records, errors } = parseMetricLines(complete);
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new ReportError(`${metricsFile} line ${first.line} ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more bad lines)` : ''}; each line must be a JSON object with a numeric "step"`);
  }
  const config = readJsonObject(path.join(resolved, RUN_CONFIG_FILE));
  const confusion = findConfusionMatrix(resolved, records);
  const status = runStatus(records, config, statSync(metricsFile).mtimeMs, nowMs);
  return { name, dir: resolved, config, records, confusion, status };
}

/**
 * Names for several runs: folder names, or the last two path parts (and so on) where those
 * collide, e.g. `a/run` and `b/run` become "a/run" and "b/run".
 */
export function runNames(dirs: readonly string[]): string[] {
  const parts = dirs.map((d) => path.resolve(d).split(path.sep).filter((p) => p !== ''));
  for (let depth = 1; ; depth++) {
    const names = parts.map((p) => p.slice(-depth).join('/'));
    if (new Set(names).size === names.length || depth >= Math.max(...parts.map((p) => p.length))) {
      return names.map((n, i) => (names.indexOf(n) === i ? n : `${n} (${i + 1})`));
    }
  }
}

/** Reads several run folders with unique names. */
export function readRuns(dirs: readonly string[], nowMs = Date.now()): RunData[] {
  if (dirs.length === 0) throw new ReportError('no run folders given; pass one or more --out folders of training runs');
  const names = runNames(dirs);
  return dirs.map((d, i) => readRun(d, names[i]!, nowMs));
}
