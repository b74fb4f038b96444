/**
 * Labelled text for classification: CSV/TSV/JSONL files with a text and a label column, a
 * folder whose sub-folders are the labels, or the built-in spam task. Labels may be strings or
 * integers; they are kept as strings (an integer 1 is the label "1").
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { TextDataError } from '../data/text-data-error.js';
import { listTextFiles, parseCsv, readTextFile } from '../data/text-readers.js';
import { spamAssassinExamples } from './spam-assassin.js';

export interface LabelledExample {
  text: string;
  label: string;
}

export interface LabelledReadOptions {
  /** The column (CSV/TSV header, JSONL field) holding the text. @default 'text' */
  textColumn?: string;
  /** The column holding the label. @default 'label' */
  labelColumn?: string;
}

/** The special source naming the built-in spam-vs-ham task. */
export const DEFAULT_TASK = 'default';

function labelOf(value: unknown, file: string, column: string, line: number): string {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  throw new TextDataError(file, `label field "${column}" is ${value === null ? 'null' : JSON.stringify(value)}; labels must be non-empty strings or integers`, line);
}

function readJsonlLabelled(file: string, textColumn: string, labelColumn: string): LabelledExample[] {
  const out: LabelledExample[] = [];
  for (const [i, raw] of readTextFile(file).split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new TextDataError(file, `not valid JSON (${(error as Error).message})`, i + 1);
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new TextDataError(file, 'expected a JSON object per line', i + 1);
    const fields = record as Record<string, unknown>;
    for (const column of [textColumn, labelColumn]) {
      if (!(column in fields)) {
        throw new TextDataError(file, `no "${column}" field (fields: ${Object.keys(fields).join(', ') || 'none'}); choose it with --${column === textColumn ? 'text' : 'label'}-column`, i + 1);
      }
    }
    const text = fields[textColumn];
    if (typeof text !== 'string') throw new TextDataError(file, `field "${textColumn}" is ${text === null ? 'null' : typeof text}, expected a string`, i + 1);
    out.push({ text, label: labelOf(fields[labelColumn], file, labelColumn, i + 1) });
  }
  return out;
}

function readCsvLabelled(file: string, textColumn: string, labelColumn: string): LabelledExample[] {
  const delimiter = path.extname(file).toLowerCase() === '.tsv' ? '\t' : ',';
  const records = parseCsv(readTextFile(file), { delimiter, file });
  const header = records[0];
  if (header === undefined) throw new TextDataError(file, 'is empty; expected a header row naming the columns, then one row per example');
  const index = (column: string, flag: string): number => {
    const i = header.fields.indexOf(column);
    if (i === -1) throw new TextDataError(file, `no "${column}" column in the header (columns: ${header.fields.join(', ')}); choose one with --${flag}`, header.line);
    return i;
  };
  const textIndex = index(textColumn, 'text-column');
  const labelIndex = index(labelColumn, 'label-column');
  return records.slice(1).map((record) => {
    if (record.fields.length !== header.fields.length) {
      throw new TextDataError(file, `row has ${record.fields.length} fields but the header has ${header.fields.length}`, record.line);
    }
    return { text: record.fields[textIndex]!, label: labelOf(record.fields[labelIndex], file, labelColumn, record.line) };
  });
}

/** Every .txt/.md file under each sub-folder of `folder`, labelled with the sub-folder's name. */
function readLabelFolders(folder: string): LabelledExample[] {
  const labels = readdirSync(folder)
    .filter((name) => !name.startsWith('.') && statSync(path.join(folder, name)).isDirectory())
    .sort();
  if (labels.length === 0) throw new TextDataError(folder, 'has no sub-folders; a labelled folder holds one sub-folder per label (e.g. spam/, ham/) with text files in each');
  return labels.flatMap((label) => listTextFiles(path.join(folder, label)).map((file) => ({ text: readTextFile(file), label })));
}

/**
 * The examples of one source: 'default' (the spam task), a folder of label sub-folders, a
 * .jsonl/.ndjson file or a .csv/.tsv file. An empty source is an error.
 */
export function readLabelledExamples(source: string, options: LabelledReadOptions = {}): LabelledExample[] {
  const textColumn = options.textColumn ?? 'text';
  const labelColumn = options.labelColumn ?? 'label';
  let examples: LabelledExample[];
  if (source === DEFAULT_TASK) {
    examples = spamAssassinExamples();
  } else {
    const stats = statSync(source, { throwIfNoEntry: false });
    if (stats === undefined) throw new TextDataError(source, 'cannot read: no such file or folder');
    if (stats.isDirectory()) {
      examples = readLabelFolders(source);
    } else {
      const ext = path.extname(source).toLowerCase();
      if (ext === '.jsonl' || ext === '.ndjson') examples = readJsonlLabelled(source, textColumn, labelColumn);
      else if (ext === '.csv' || ext === '.tsv') examples = readCsvLabelled(source, textColumn, labelColumn);
      else throw new TextDataError(source, `is not a labelled data file; use .csv, .tsv, .jsonl or a folder of label sub-folders`);
    }
  }
  if (examples.length === 0) throw new TextDataError(source, 'has no examples; it needs at least one labelled text');
  return examples;
}

/** The sorted distinct labels; integer-looking labels sort numerically. */
export function labelSet(examples: readonly LabelledExample[]): string[] {
  const labels = [...new Set(examples.map((e) => e.label))];
  const numeric = labels.every((l) => /^-?\d+$/.test(l));
  return numeric ? labels.sort((a, b) => Number(a) - Number(b)) : labels.sort();
}

/** Label ids of `examples` under `labels`; a label outside them is an error naming it. */
export function labelIds(examples: readonly LabelledExample[], labels: readonly string[], source: string): number[] {
  const index = new Map(labels.map((l, i) => [l, i]));
  return examples.map((e, i) => {
    const id = index.get(e.label);
    if (id === undefined) {
      throw new TextDataError(source, `unknown label ${JSON.stringify(e.label)} (example ${i + 1}); the model knows ${labels.map((l) => JSON.stringify(l)).join(', ')}`);
    }
    return id;
  });
}
