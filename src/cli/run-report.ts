/** The report a training command writes at the end of its run: OUT/report.html, unless --no-report. */
import path from 'node:path';
import { REPORT_FILE } from '../util/run-files.js';

export async function reportRun(flags: ReadonlyMap<string, unknown>, out: string, say: (line: string) => void): Promise<void> {
  if (flags.get('no-report') === true) return;
  const { writeRunReport } = await import('../report/write-report.js');
  const { outFile } = await writeRunReport([out], path.join(out, REPORT_FILE));
  say(`report: ${outFile}`);
}
