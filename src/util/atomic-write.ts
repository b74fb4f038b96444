/**
 * Atomic file writes: a crash (or an exception while writing) never leaves a torn file behind.
 * The content goes to a temporary file in the same folder, is flushed to disk (fsync), and is
 * then renamed over the target, which POSIX makes atomic; the folder is synced too so that the
 * rename itself survives a power loss.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/** Writes all of `bytes` at the file's current position (writeSync may write less per call). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

/**
 * Creates or replaces `target` with what `write(fd)` writes. Either the old file stays
 * untouched or the new one is complete.
 */
export function writeFileAtomic(target: string, write: (fd: number) => void): void {
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o644);
  try {
    try {
      write(fd);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDirectory(dir);
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
