/** metrics.jsonl: one JSON object per line, appended as a run logs. */
import { existsSync, readFileSync } from 'node:fs';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';

/**
 * Keeps the lines of `file` whose step is at most `step`, atomically: what a killed run logged
 * after its last checkpoint is logged again when it resumes, so it must not appear twice.
 * A torn last line (the kill came mid-write) is dropped too.
 */
export function truncateMetrics(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        return (JSON.parse(line) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  const text = kept.map((l) => l + '\n').join('');
  writeFileAtomic(file, (fd) => writeAll(fd, Buffer.from(text, 'utf8')));
}
