/**
 * Charts as files, rendered in Node: Vega-Lite → Vega → a headless Vega View → SVG text, and
 * SVG → PNG with sharp (librsvg). For READMEs, terminals and anything without a browser.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import type { ChartSpec } from './chart-specs.js';

export type ImageFormat = 'png' | 'svg';

export interface ChartImageOptions {
  /**
   * Which files to write per chart.
   * @default ['png', 'svg']
   */
  formats?: readonly ImageFormat[];
  /**
   * Pixels per CSS pixel of the PNG (2 suits high-density screens).
   * @default 2
   */
  scale?: number;
}

/** The chart as an SVG document, white background. */
export async function renderChartSvg(chart: ChartSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  let compiled;
  try {
    // The spec type is checked by Vega-Lite itself; a malformed one throws here with its reason.
    compiled = vegaLite.compile(chart.spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  } catch (error) {
    throw new Error(`chart ${chart.id}: Vega-Lite could not compile it: ${(error as Error).message}`);
  }
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  view.background('white');
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG text → PNG bytes. */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(Buffer.from(svg, 'utf8'), { density: 72 * scale }).png().toBuffer();
}

/**
 * Writes DIR/<chart id>.png and/or .svg for each chart.
 * @returns the files written
 */
export async function writeChartImages(charts: readonly ChartSpec[], dir: string, options: ChartImageOptions = {}): Promise<string[]> {
  const formats = options.formats ?? ['png', 'svg'];
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const chart of charts) {
    const svg = await renderChartSvg(chart);
    const base = path.join(dir, chart.id);
    if (formats.includes('svg')) {
      writeFileAtomic(`${base}.svg`, (fd) => writeAll(fd, Buffer.from(svg, 'utf8')));
      written.push(`${base}.svg`);
    }
    if (formats.includes('png')) {
      const png = await svgToPng(svg, options.scale ?? 2);
      writeFileAtomic(`${base}.png`, (fd) => writeAll(fd, png));
      written.push(`${base}.png`);
    }
  }
  return written;
}
