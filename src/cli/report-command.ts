/** `kiln report RUN_DIR… --out report.html [--png DIR]`: run folders → an HTML report (and chart images). */
import { formatFlags, parseCommandFlags, type FlagSpec } from './args.js';
import { splitPositionals } from './positionals.js';
import { UsageError } from './usage-error.js';

export const REPORT_SUMMARY = 'write an HTML report (and PNG/SVG charts) of training runs';

export const REPORT_FLAGS: readonly FlagSpec[] = [
  { name: 'runs', kind: 'list', help: 'run folders (instead of, or besides, the folders before the flags)', valueName: 'DIR...' },
  { name: 'out', kind: 'string', help: 'the HTML file to write', valueName: 'FILE', defaultText: 'RUN_DIR/report.html for one run, report.html for several' },
  { name: 'png', kind: 'string', help: 'also write each chart as PNG and SVG into this folder', valueName: 'DIR' },
  { name: 'title', kind: 'string', help: "the report's heading" },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function reportHelp(): string {
  return [
    'Usage: kiln report RUN_DIR... [--out FILE] [--png DIR] [--title TEXT]',
    '',
    "Writes one self-contained HTML file (charts work offline) from runs' metrics.jsonl and config.json:",
    'loss, learning rate, throughput and evaluation curves, confusion matrices (RUN_DIR/eval.json),',
    'a summary table and the configuration; several runs are overlaid and compared.',
    '',
    'Flags:',
    formatFlags(REPORT_FLAGS),
  ].join('\n');
}

export async function runReport(argv: readonly string[]): Promise<number> {
  const { positionals, flags: flagArgs } = splitPositionals(argv);
  const flags = parseCommandFlags(flagArgs, REPORT_FLAGS, 'report', reportHelp);
  if (flags === undefined) return 0;
  const runDirs = [...positionals, ...((flags.get('runs') as string[] | undefined) ?? [])];
  if (runDirs.length === 0) throw new UsageError('kiln report: give at least one run folder, e.g. kiln report runs/baby-gpt --out report.html');
  const path = await import('node:path');
  const out = (flags.get('out') as string | undefined) ?? (runDirs.length === 1 ? path.join(runDirs[0]!, 'report.html') : 'report.html');
  const png = flags.get('png') as string | undefined;
  const title = flags.get('title') as string | undefined;
  const { writeRunReport } = await import('../report/write-report.js');
  const result = await writeRunReport(runDirs, out, { ...(png === undefined ? {} : { imageDir: png }), ...(title === undefined ? {} : { title }) });
  process.stdout.write(`wrote ${result.outFile} (${result.runs.length} run${result.runs.length === 1 ? '' : 's'})\n`);
  if (result.images.length > 0) process.stdout.write(`wrote ${result.images.length} chart images to ${path.resolve(png!)}\n`);
  return 0;
}
