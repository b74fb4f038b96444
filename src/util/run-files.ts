/**
 * The files of a run folder that training writes and reports read: the contract between
 * src/train, src/finetune, src/vision (writers) and src/report (reader).
 */

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
