/** The report a training command writes at the end of its run: OUT/report.html, unless --no-report. */
import path from 'node:path';

export async function reportRun(flags: ReadonlyMap<string, unknown>, out: string, say: (line: string) => void): Promise<void> {
  if (flags.get('no-report') === true) return;
  const { writeRunReport } = await import('../report/write-report.js');
  const { outFile } = await writeRunReport([out], path.join(out, 'report.html'));
  say(`report: ${outFile}`);
}
