/**
 * The files of a run folder that training writes and reports read: the contract between
 * src/train, src/finetune, src/vision (writers) and src/report (reader).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

/** One JSON object per line: every training log and evaluation. */
export const METRICS_FILE = 'metrics.jsonl';
/** The run's resolved settings. */
export const RUN_CONFIG_FILE = 'config.json';
/** The best checkpoint's test evaluation (metrics, confusion matrix). */
export const EVAL_FILE = 'eval.json';
/** The HTML report a training command writes at the end. */
export const REPORT_FILE = 'report.html';
/** A model folder's record of what it holds: architecture, task, labels, how it was made. */
export const KILN_FILE = 'kiln.json';

/**
 * The model folder `dir` names: `dir` itself when it holds a model (kiln.json; a Hugging Face
 * folder has no best/), or, for a run folder (`kiln pretrain/finetune --out DIR` wrote it), its
 * best checkpoint `dir/best`. `run` says which, so a command can tell the user.
 */
export function resolveModelFolder(dir: string): { dir: string; run: boolean } {
  // A run folder's own config.json holds the run's settings, not a model: kiln.json decides, then best/.
  if (existsSync(path.join(dir, KILN_FILE))) return { dir, run: false };
  const best = path.join(dir, 'best');
  if (existsSync(path.join(best, KILN_FILE)) || existsSync(path.join(best, 'config.json'))) return { dir: best, run: true };
  return { dir, run: false };
}
