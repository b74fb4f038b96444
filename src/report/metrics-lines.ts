/**
 * Parsing metrics.jsonl: one JSON object per line with a numeric `step`; every other key is a
 * metric (numbers are charted, other values such as a confusion matrix are kept as they are).
 */

/** One line of metrics.jsonl, e.g. `{"step": 10, "loss": 2.3, "val_loss": 2.4, "lr": 1e-3}`. */
export type MetricRecord = { step: number } & Record<string, unknown>;

export interface ParsedMetrics {
  records: MetricRecord[];
  /** Complete lines that are not a JSON object with a numeric step: 1-based line number and why. */
  errors: { line: number; message: string }[];
}

/**
 * Parses complete lines (each ended by '\n'). Blank lines are skipped. `firstLine` numbers the
 * lines for error messages when the text is a later piece of a file.
 */
export function parseMetricLines(text: string, firstLine = 1): ParsedMetrics {
  const records: MetricRecord[] = [];
  const errors: ParsedMetrics['errors'] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      errors.push({ line: firstLine + i, message: `not JSON (${(error as Error).message})` });
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      errors.push({ line: firstLine + i, message: 'not a JSON object' });
      continue;
    }
    const step = (value as Record<string, unknown>)['step'];
    if (typeof step !== 'number' || !Number.isFinite(step)) {
      errors.push({ line: firstLine + i, message: `has no numeric "step" (got ${JSON.stringify(step)})` });
      continue;
    }
    records.push(value as MetricRecord);
  }
  return { records, errors };
}

/**
 * Splits file content into its complete lines and the unfinished tail a writer is still
 * appending (everything after the last '\n'), which is not parsed yet.
 */
export function splitCompleteLines(text: string): { complete: string; partial: string } {
  const end = text.lastIndexOf('\n');
  return end === -1 ? { complete: '', partial: text } : { complete: text.slice(0, end + 1), partial: text.slice(end + 1) };
}
