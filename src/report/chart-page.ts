/** The frame the report and the dashboard share: a self-contained page of Vega-Lite charts. */
import type { ChartSpec } from './chart-specs.js';
import { escapeHtml, jsonForScript } from './html.js';
import { PAGE_STYLE } from './page-style.js';
import { vegaScriptTags } from './vega-bundles.js';

/** One empty element per chart, for `script` to render the chart into. */
export function chartDivs(charts: readonly ChartSpec[]): string {
  return charts.map((c) => `<div class="chart" id="chart-${escapeHtml(c.id)}"></div>`).join('\n');
}

/**
 * The page: style and the Vega bundles inline in the head, the title, `body`, then the charts'
 * specs as JSON (id kiln-charts) and `script`, which renders them.
 */
export function chartPage(title: string, body: string, charts: readonly ChartSpec[], script: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
${vegaScriptTags()}
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
<script type="application/json" id="kiln-charts">${jsonForScript(charts)}</script>
<script>${script}</script>
</body>
</html>
`;
}
