/**
 * The self-contained HTML report: Vega, Vega-Lite and vega-embed inline, the chart specs (data
 * included) as JSON, tables as plain HTML. Opens from a file without a network.
 */
import { chartDivs, chartPage } from './chart-page.js';
import type { ChartSpec } from './chart-specs.js';
import { configTableHtml } from './config-table.js';
import { escapeHtml, formatNumber, htmlTable } from './html.js';
import type { RunData } from './run-data.js';
import { summarizeRun } from './run-summary.js';

/** A block of HTML placed after the summary, e.g. a leaderboard. */
export interface ReportSection {
  title: string;
  html: string;
}

/**
 * Embeds every chart with the SVG renderer; `window.kilnViews[id]` is each chart's Vega view and
 * `document.body.dataset.ready` becomes "true" (or "error") when all have rendered.
 */
const EMBED_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('kiln-charts').textContent);
  window.kilnViews = {};
  Promise.all(charts.map(function (c) {
    return vegaEmbed('#chart-' + c.id, c.spec, { renderer: 'svg', actions: false }).then(function (result) { window.kilnViews[c.id] = result.view; });
  })).then(function () { document.body.dataset.ready = 'true'; }, function (error) {
    var p = document.createElement('p'); p.className = 'error'; p.textContent = 'A chart failed to render: ' + error;
    document.body.prepend(p); document.body.dataset.ready = 'error';
  });
})();
`;

export function summaryTableHtml(runs: readonly RunData[]): string {
  const summaries = runs.map(summarizeRun);
  const evalKeys = [...new Set(summaries.flatMap((s) => Object.keys(s.evaluation)))];
  const header = ['run', 'status', 'steps', 'train loss', 'val loss', 'best val loss', ...evalKeys, 'tokens/s (median)', 'seconds'];
  const rows = summaries.map((s) => [
    s.run,
    s.status,
    formatNumber(s.steps),
    formatNumber(s.loss),
    formatNumber(s.valLoss),
    formatNumber(s.bestValLoss),
    ...evalKeys.map((k) => formatNumber(s.evaluation[k])),
    formatNumber(s.tokensPerSecond),
    s.seconds === undefined ? '–' : s.seconds.toFixed(1),
  ]);
  return htmlTable(header, rows);
}

function runSections(runs: readonly RunData[], charts: readonly ChartSpec[]): string {
  return `<h2>${runs.length > 1 ? 'Comparison' : 'Summary'}</h2>
${summaryTableHtml(runs)}
<h2>Charts</h2>
${charts.length === 0 ? '<p>No metrics logged yet.</p>' : chartDivs(charts)}
<h2>Configuration</h2>
${configTableHtml(runs)}`;
}

/** The whole page. With no runs it holds only the sections (e.g. a leaderboard whose runs left no metrics). */
export function renderReportHtml(options: { title: string; runs: readonly RunData[]; charts: readonly ChartSpec[]; sections?: readonly ReportSection[] }): string {
  const { title, runs, charts } = options;
  const sections = (options.sections ?? []).map((s) => `<h2>${escapeHtml(s.title)}</h2>\n${s.html}`).join('\n');
  const runList = runs.map((r) => `<li><code>${escapeHtml(r.name)}</code>: ${escapeHtml(r.dir)}</li>`).join('\n');
  const body = `<p class="note">Written by Kiln on ${escapeHtml(new Date().toISOString())}.</p>
${runs.length === 0 ? '' : `<ul>\n${runList}\n</ul>`}
${sections}
${runs.length === 0 ? '' : runSections(runs, charts)}`;
  return chartPage(title, body, charts, EMBED_SCRIPT);
}
