/**
 * Text readers: plain-text files, folders of them, JSONL and CSV/TSV text columns. Every reader
 * returns documents (one string each); `readText` and `readTextSources` join documents with a
 * separator so that a language model sees one long text.
 *
 * Files must be UTF-8 (a leading byte-order mark is dropped); text is otherwise kept verbatim,
 * line endings included. A file with a NUL byte or invalid UTF-8 is refused as binary.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { TextDataError } from './text-data-error.js';

/**
 * What goes between two documents (files of a folder, JSONL records, CSV rows, sources): a
 * blank line, so paragraphs never run into each other.
 */
export const DOCUMENT_SEPARATOR = '\n\n';

/** File extensions a folder read picks up (case-insensitive). */
export const TEXT_FILE_EXTENSIONS: readonly string[] = ['.txt', '.md'];

export interface TextReadOptions {
  /**
   * The JSONL field or CSV/TSV header column that holds the text.
   * @default 'text'
   */
  textColumn?: string;
  /**
   * Joins documents into one text.
   * @default DOCUMENT_SEPARATOR ('\n\n')
   */
  separator?: string;
}

export interface CsvOptions {
  /** @default ',' (a '.tsv' file read through `readCsvTexts` defaults to a tab) */
  delimiter?: string;
  /** The file name used in error messages. @default '<csv>' */
  file?: string;
}

function systemReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'no such file or folder';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a folder, not a file';
    default: return error instanceof Error ? error.message : String(error);
  }
}

/** Reads `file` as UTF-8 text, refusing binary data with an error that names the file. */
export function readTextFile(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new TextDataError(file, `cannot read: ${systemReason(error)}`);
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new TextDataError(file, `looks binary (a NUL byte at offset ${nul}); text files must be UTF-8 text`);
  }
  try {
    // ignoreBOM: false (the default) drops a leading byte-order mark.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TextDataError(file, 'is not valid UTF-8; convert it (e.g. `iconv -t utf-8`) or pass a different file');
  }
}

/** Every .txt/.md file under `folder`, recursively, sorted by relative path (code-point order). */
export function listTextFiles(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      throw new TextDataError(dir, `cannot list folder: ${systemReason(error)}`);
    }
    for (const name of names) {
      // Hidden entries (.git, editor swap files) are never part of a corpus.
      if (name.startsWith('.')) continue;
      const full = path.join(dir, name);
      const stats = statSync(full, { throwIfNoEntry: false });
      if (stats === undefined) continue; // a dangling symlink
      if (stats.isDirectory()) walk(full);
      else if (stats.isFile() && TEXT_FILE_EXTENSIONS.includes(path.extname(name).toLowerCase())) found.push(full);
    }
  };
  walk(folder);
  // Plain code-point order of the relative paths, so the order never depends on the locale.
  const relative = found.map((f) => path.relative(folder, f).split(path.sep).join('/'));
  const order = relative.map((_, i) => i).sort((a, b) => (relative[a]! < relative[b]! ? -1 : relative[a]! > relative[b]! ? 1 : 0));
  return order.map((i) => found[i]!);
}

/** The .txt/.md files of `folder` (recursively, sorted by relative path), one document each. */
export function readTextFolder(folder: string): string[] {
  const files = listTextFiles(folder);
  if (files.length === 0) {
    throw new TextDataError(folder, `has no ${TEXT_FILE_EXTENSIONS.join(' or ')} files (hidden files are skipped)`);
  }
  return files.map(readTextFile);
}

/**
 * The `textColumn` field of every record of a JSONL file (one JSON object per line; blank lines
 * are skipped).
 */
export function readJsonlTexts(file: string, options: Pick<TextReadOptions, 'textColumn'> = {}): string[] {
  const column = options.textColumn ?? 'text';
  const lines = readTextFile(file).split('\n');
  const texts: string[] = [];
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new TextDataError(file, `not valid JSON (${(error as Error).message})`, i + 1);
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new TextDataError(file, `expected a JSON object per line, got ${Array.isArray(record) ? 'an array' : JSON.stringify(record)}`, i + 1);
    }
    const value = (record as Record<string, unknown>)[column];
    if (value === undefined) {
      const keys = Object.keys(record);
      throw new TextDataError(
        file,
        `no "${column}" field (fields: ${keys.length > 0 ? keys.join(', ') : 'none'}); choose the text field with textColumn`,
        i + 1,
      );
    }
    if (typeof value !== 'string') {
      throw new TextDataError(file, `field "${column}" is ${value === null ? 'null' : typeof value}, expected a string`, i + 1);
    }
    texts.push(value);
  }
  return texts;
}

/** A parsed CSV record and the 1-based line it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * Parses CSV per RFC 4180: fields separated by `delimiter`, records by LF or CRLF; a field in
 * double quotes may hold delimiters, newlines and doubled quotes (`""` → `"`). A quote inside an
 * unquoted field is kept literally; text after a closing quote, or a quote never closed, is an
 * error. Blank lines are skipped.
 */
export function parseCsv(text: string, options: CsvOptions = {}): CsvRecord[] {
  const delimiter = options.delimiter ?? ',';
  const file = options.file ?? '<csv>';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new TextDataError(file, `delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`);
  }
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let quoted = false; // whether the current record has a quoted field ("" is a record, a blank line is not)
  const endRecord = (): void => {
    fields.push(field);
    if (quoted || !(fields.length === 1 && fields[0] === '')) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    quoted = false;
  };
  let fieldStart = true;
  while (i < n) {
    const c = text[i]!;
    if (fieldStart && c === '"') {
      // A quoted field: read to the closing quote.
      const openLine = line;
      quoted = true;
      i++;
      for (;;) {
        if (i >= n) throw new TextDataError(file, 'a quoted field is never closed (a missing ")', openLine);
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      const after = text[i];
      if (after !== undefined && after !== delimiter && after !== '\n' && !(after === '\r' && text[i + 1] === '\n')) {
        throw new TextDataError(file, `unexpected ${JSON.stringify(after)} after a closing quote; quotes inside a quoted field are written ""`, line);
      }
      fieldStart = false;
      continue;
    }
    if (c === delimiter) {
      fields.push(field);
      field = '';
      fieldStart = true;
      i++;
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      endRecord();
      i += c === '\r' ? 2 : 1;
      line++;
      recordLine = line;
      fieldStart = true;
    } else {
      field += c;
      fieldStart = false;
      i++;
    }
  }
  if (!fieldStart || field !== '' || fields.length > 0) endRecord();
  return records;
}

/**
 * The `textColumn` column of a CSV/TSV file with a header row, one document per row. The
 * delimiter is a tab for '.tsv' files and a comma otherwise unless `delimiter` says so.
 */
export function readCsvTexts(file: string, options: Pick<TextReadOptions, 'textColumn'> & { delimiter?: string } = {}): string[] {
  const column = options.textColumn ?? 'text';
  const delimiter = options.delimiter ?? (path.extname(file).toLowerCase() === '.tsv' ? '\t' : ',');
  const records = parseCsv(readTextFile(file), { delimiter, file });
  const header = records[0];
  if (header === undefined) throw new TextDataError(file, 'is empty; expected a header row naming the columns');
  const index = header.fields.indexOf(column);
  if (index === -1) {
    throw new TextDataError(file, `no "${column}" column in the header (columns: ${header.fields.join(', ')}); choose one with textColumn`, header.line);
  }
  return records.slice(1).map((record) => {
    if (record.fields.length !== header.fields.length) {
      throw new TextDataError(file, `row has ${record.fields.length} fields but the header has ${header.fields.length}`, record.line);
    }
    return record.fields[index]!;
  });
}

/**
 * The documents of one source, chosen by what it is: a folder (its .txt/.md files), a '.jsonl'
 * or '.ndjson' file (records), a '.csv' or '.tsv' file (rows), anything else a plain-text file.
 */
export function readTextDocuments(source: string, options: Pick<TextReadOptions, 'textColumn'> = {}): string[] {
  const stats = statSync(source, { throwIfNoEntry: false });
  if (stats === undefined) throw new TextDataError(source, 'cannot read: no such file or folder');
  if (stats.isDirectory()) return readTextFolder(source);
  switch (path.extname(source).toLowerCase()) {
    case '.jsonl':
    case '.ndjson':
      return readJsonlTexts(source, options);
    case '.csv':
    case '.tsv':
      return readCsvTexts(source, options);
    default:
      return [readTextFile(source)];
  }
}

/** One source (see `readTextDocuments`) as a single text, documents joined by `separator`. */
export function readText(source: string, options: TextReadOptions = {}): string {
  return readTextDocuments(source, options).join(options.separator ?? DOCUMENT_SEPARATOR);
}

/** Several sources, in the order given, as one text: every document joined by `separator`. */
export function readTextSources(sources: readonly string[], options: TextReadOptions = {}): string {
  if (sources.length === 0) throw new Error('readTextSources: no sources given; pass at least one file or folder');
  return sources.flatMap((source) => readTextDocuments(source, options)).join(options.separator ?? DOCUMENT_SEPARATOR);
}
