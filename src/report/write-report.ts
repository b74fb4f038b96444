/** writeRunReport: run folders → one HTML report (and optionally chart images). */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { writeChartImages, type ImageFormat } from './chart-images.js';
import { type ChartSpec, confusionChart, metricCharts } from './chart-specs.js';
import { metricRows } from './metric-rows.js';
import { readRuns, type RunData } from './run-data.js';
import { renderReportHtml, type ReportSection } from './report-page.js';

export interface RunReportOptions {
  /**
   * The page's heading.
   * @default 'Kiln report: <run names>'
   */
  title?: string;
  /** Also write each chart as an image into this folder (see `imageFormats`). */
  imageDir?: string;
  /** @default ['png', 'svg'] */
  imageFormats?: readonly ImageFormat[];
  /** Extra HTML blocks placed before the comparison table (e.g. a leaderboard). */
  sections?: readonly ReportSection[];
}

export interface RunReportResult {
  /** The HTML file written. */
  outFile: string;
  /** Chart images written (empty without imageDir). */
  images: string[];
  runs: RunData[];
}

/** The charts of some runs: metric charts (overlaid when several), then one confusion matrix per run that has one. */
export function reportCharts(runs: readonly RunData[]): ChartSpec[] {
  const rows = runs.flatMap((r) => metricRows(r.name, r.records));
  const confusions = runs
    .map((r, i) => (r.confusion === undefined ? undefined : confusionChart(r.name, r.confusion, runs.length === 1 ? 'confusion' : `confusion-${i + 1}`)))
    .filter((c): c is ChartSpec => c !== undefined);
  return [...metricCharts(rows, runs.map((r) => r.name)), ...confusions];
}

/**
 * Writes a self-contained HTML report of the run folders to `outFile` (atomically): loss,
 * learning rate, throughput and evaluation curves, confusion matrices, a summary or comparison
 * table and the configurations. Training commands call this at the end of a run.
 * @example
 * await writeRunReport(['runs/a', 'runs/b'], 'runs/compare.html', { imageDir: 'runs/charts' });
 */
export async function writeRunReport(runDirs: readonly string[], outFile: string, options: RunReportOptions = {}): Promise<RunReportResult> {
  // Only a report with sections of its own may have no runs.
  const runs = runDirs.length === 0 && (options.sections?.length ?? 0) > 0 ? [] : readRuns(runDirs);
  const charts = reportCharts(runs);
  const title = options.title ?? `Kiln report: ${runs.map((r) => r.name).join(', ') || 'no runs'}`;
  const html = renderReportHtml({ title, runs, charts, ...(options.sections === undefined ? {} : { sections: options.sections }) });
  mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  writeFileAtomic(outFile, (fd) => writeAll(fd, Buffer.from(html, 'utf8')));
  const images = options.imageDir === undefined ? [] : await writeChartImages(charts, options.imageDir, options.imageFormats === undefined ? {} : { formats: options.imageFormats });
  return { outFile: path.resolve(outFile), images, runs };
}
