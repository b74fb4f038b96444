/**
 * Follows a metrics.jsonl that a training run is appending to: each poll returns the lines
 * completed since the last one. A last line still being written waits for its '\n'. When the
 * file is replaced or shrinks (a resumed run rewrites it without the lines after its last
 * checkpoint), the tail starts over and says so, so a viewer can drop what it had.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { type MetricRecord, parseMetricLines } from './metrics-lines.js';

export interface TailUpdate {
  /** True when the file was replaced, truncated or removed: `records` then start from its beginning. */
  reset: boolean;
  records: MetricRecord[];
  /** Malformed complete lines (skipped). */
  errors: { line: number; message: string }[];
  /** The file's modification time (ms), or undefined when it does not exist. */
  modifiedMs: number | undefined;
}

export class MetricsTail {
  readonly file: string;
  #offset = 0;
  /** Bytes after the last '\n' (kept as bytes: a UTF-8 character may be split across reads). */
  #partial: Buffer = Buffer.alloc(0);
  #inode: number | undefined;
  #lines = 0;

  constructor(file: string) {
    this.file = file;
  }

  #restart(): void {
    this.#offset = 0;
    this.#partial = Buffer.alloc(0);
    this.#lines = 0;
  }

  poll(): TailUpdate {
    let stat;
    try {
      stat = statSync(this.file);
    } catch {
      const reset = this.#inode !== undefined || this.#offset > 0;
      this.#restart();
      this.#inode = undefined;
      return { reset, records: [], errors: [], modifiedMs: undefined };
    }
    let reset = false;
    if ((this.#inode !== undefined && stat.ino !== this.#inode) || stat.size < this.#offset) {
      reset = this.#offset > 0 || this.#partial.length > 0 || this.#lines > 0;
      this.#restart();
    }
    this.#inode = stat.ino;
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return { reset, records: [], errors: [], modifiedMs: stat.mtimeMs };
    }
    let chunk: Buffer;
    try {
      const size = fstatSync(fd).size; // the open file: a rename after statSync does not matter
      if (size < this.#offset) {
        reset = true;
        this.#restart();
      }
      chunk = Buffer.alloc(size - this.#offset);
      let read = 0;
      while (read < chunk.length) {
        const n = readSync(fd, chunk, read, chunk.length - read, this.#offset + read);
        if (n === 0) break;
        read += n;
      }
      chunk = chunk.subarray(0, read);
      this.#offset += read;
    } finally {
      closeSync(fd);
    }
    const bytes = this.#partial.length === 0 ? chunk : Buffer.concat([this.#partial, chunk]);
    const end = bytes.lastIndexOf(0x0a);
    this.#partial = Buffer.from(bytes.subarray(end + 1));
    if (end === -1) return { reset, records: [], errors: [], modifiedMs: stat.mtimeMs };
    const text = bytes.subarray(0, end + 1).toString('utf8');
    const parsed = parseMetricLines(text, this.#lines + 1);
    this.#lines += text.split('\n').length - 1;
    return { reset, records: parsed.records, errors: parsed.errors, modifiedMs: stat.mtimeMs };
  }
}
