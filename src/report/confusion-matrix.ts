/**
 * The confusion matrix format a classification run may leave for the report:
 *
 * ```json
 * { "labels": ["ham", "spam"], "matrix": [[950, 12], [30, 208]] }
 * ```
 *
 * `matrix[i][j]` counts the examples whose true label is `labels[i]` and whose predicted label
 * is `labels[j]` (rows: truth, columns: prediction, as scikit-learn's confusion_matrix).
 * `labels` may be omitted; the classes are then named "0", "1", …
 *
 * The report looks for it, in this order, under the key `confusion_matrix` of
 * RUN_DIR/eval.json, then of the last metrics.jsonl line that has the key.
 */

export interface ConfusionMatrix {
  labels: string[];
  /** (numClasses, numClasses) counts; rows are the true class, columns the predicted one. */
  matrix: number[][];
}

/**
 * Checks a parsed `confusion_matrix` value and fills in default labels.
 * @throws Error saying what is wrong, prefixed by `where` (e.g. the file name)
 */
export function parseConfusionMatrix(value: unknown, where: string): ConfusionMatrix {
  const fail = (why: string): Error =>
    new Error(`${where}: confusion_matrix ${why}; expected {"labels": ["a", "b"], "matrix": [[n_aa, n_ab], [n_ba, n_bb]]} with rows = true class, columns = predicted class`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail('is not an object');
  const { labels, matrix } = value as { labels?: unknown; matrix?: unknown };
  if (!Array.isArray(matrix) || matrix.length === 0) throw fail('has no "matrix" array of rows');
  const n = matrix.length;
  for (const [i, row] of matrix.entries()) {
    if (!Array.isArray(row) || row.length !== n) throw fail(`row ${i} is not an array of ${n} counts (the matrix must be square)`);
    if (!row.every((c) => typeof c === 'number' && Number.isFinite(c) && c >= 0)) throw fail(`row ${i} holds a value that is not a non-negative number`);
  }
  let names: string[];
  if (labels === undefined) {
    names = Array.from({ length: n }, (_, i) => String(i));
  } else {
    if (!Array.isArray(labels) || labels.length !== n) throw fail(`"labels" must be an array of ${n} names, one per row`);
    names = labels.map((l) => String(l));
  }
  return { labels: names, matrix: matrix as number[][] };
}

/** One cell per (true, predicted) pair: the long format the heat map charts. */
export function confusionCells(cm: ConfusionMatrix, run: string): { run: string; truth: string; predicted: string; count: number; order: number }[] {
  const cells = [];
  for (let i = 0; i < cm.labels.length; i++) {
    for (let j = 0; j < cm.labels.length; j++) {
      cells.push({ run, truth: cm.labels[i]!, predicted: cm.labels[j]!, count: cm.matrix[i]![j]!, order: i * cm.labels.length + j });
    }
  }
  return cells;
}
