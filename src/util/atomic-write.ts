/**
 * Atomic file writes: a crash (or an exception while writing) never leaves a torn file behind.
 * The content goes to a temporary file in the same folder, is flushed to disk (fsync), and is
 * then renamed over the target, which POSIX makes atomic; the folder is synced too so that the
 * rename itself survives a power loss.
 */
import { appendFileSync, closeSync, fstatSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DiskFullError } from './disk-full-error.js';

/** Writes all of `bytes` at the file's current position (writeSync may write less per call). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

/** `bytes` in B, KB, MB or GB (powers of 1024), three significant digits. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toPrecision(3))} ${units[unit]}`;
}

/** Bytes free to this user on the file system of `dir`, or undefined when it cannot say. */
function freeBytes(dir: string): number | undefined {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

/**
 * `error` as a DiskFullError naming `target`, the bytes it `needs` (or at least `written`) and
 * the space free, when it is ENOSPC or EDQUOT; otherwise `error` itself.
 */
export function diskFullError(error: unknown, target: string, sizes: { needs?: number | undefined; written?: number }): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return error;
  const dir = path.dirname(path.resolve(target));
  const free = freeBytes(dir);
  const needs = sizes.needs !== undefined ? formatBytes(sizes.needs) : `more than the ${formatBytes(sizes.written ?? 0)} written`;
  return new DiskFullError(`no space left on the device to write ${target}: it needs ${needs}${free === undefined ? '' : `, ${formatBytes(free)} free in ${dir}`}. ` +
    'The files written before are intact; free some space and run again (a training run continues with --resume)');
}

/**
 * Creates or replaces `target` with what `write(fd)` writes (`size` bytes, when the caller knows,
 * for the message should the disk be full). Either the old file stays untouched or the new one is
 * complete; a full disk is a DiskFullError.
 */
export function writeFileAtomic(target: string, write: (fd: number) => void, size?: number): void {
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  let written = 0;
  try {
    fd = openSync(temp, 'wx', 0o644);
    try {
      write(fd);
      fsyncSync(fd);
    } finally {
      try {
        written = fstatSync(fd).size;
      } catch {
        // the size only improves the message
      }
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    if (fd !== undefined) rmSync(temp, { force: true });
    throw diskFullError(error, target, { needs: size, written });
  }
  syncDirectory(dir);
}

/** Appends `text` to `file`; a full disk is a DiskFullError (a torn last line may remain: readers drop it). */
export function appendText(file: string, text: string): void {
  try {
    appendFileSync(file, text);
  } catch (error) {
    throw diskFullError(error, file, { needs: Buffer.byteLength(text) });
  }
}

/** The temporary files writeFileAtomic names: `.NAME.PID.HEX.tmp`. */
const TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes, under `dir` and its subfolders, the temporary files of atomic writes whose process
 * is gone (a process killed mid-write leaves its temporary file; the target is untouched).
 * Returns how many it deleted.
 */
export function removeStaleTemporaryFiles(dir: string): number {
  let removed = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) removed += removeStaleTemporaryFiles(file);
    else {
      const match = TEMPORARY.exec(entry.name);
      if (match !== null && Number(match[1]) !== process.pid && !processAlive(Number(match[1]))) {
        rmSync(file, { force: true });
        removed++;
      }
    }
  }
  return removed;
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms and file systems cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `value` as JSON (2-space indented, or compact for large files) with a final newline, atomically. */
export function writeJsonAtomic(target: string, value: unknown, options: { compact?: boolean } = {}): void {
  const text = (options.compact === true ? JSON.stringify(value) : JSON.stringify(value, null, 2)) + '\n';
  writeFileAtomic(target, (fd) => writeAll(fd, Buffer.from(text, 'utf8')));
}
