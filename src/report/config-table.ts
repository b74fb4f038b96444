/** The runs' configurations side by side, with the settings that differ marked. */
import { escapeHtml, htmlTable } from './html.js';
import type { RunData } from './run-data.js';

function show(value: unknown): string {
  if (value === undefined) return '–';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** An HTML table: a row per setting, a column per run; rows whose values differ get class "differs". */
export function configTableHtml(runs: readonly RunData[]): string {
  const withConfig = runs.filter((r) => r.config !== undefined);
  if (withConfig.length === 0) return '<p>No run has a config.json.</p>';
  const keys = [...new Set(withConfig.flatMap((r) => Object.keys(r.config!)))];
  const rows = keys.map((k) => [k, ...withConfig.map((r) => show(r.config![k]))]);
  const classes = rows.map((row) => (withConfig.length > 1 && new Set(row.slice(1)).size > 1 ? 'differs' : ''));
  const note = withConfig.length > 1 ? '<p class="note">Highlighted: settings that differ between runs.</p>' : '';
  return note + htmlTable(['setting', ...withConfig.map((r) => r.name)], rows, classes) + (withConfig.length < runs.length ? `<p class="note">No config.json: ${escapeHtml(runs.filter((r) => r.config === undefined).map((r) => r.name).join(', '))}</p>` : '');
}
