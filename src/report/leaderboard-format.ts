/** The leaderboard as a terminal table and as an HTML section. */
import { formatNumber, htmlTable } from './html.js';
import type { Leaderboard, MeanStd } from './leaderboard.js';

/** "0.9123 ± 0.0042" (4 significant digits; no ± for one seed). */
export function formatMeanStd(value: MeanStd | undefined): string {
  if (value === undefined) return '–';
  return value.std === null ? formatNumber(value.mean) : `${formatNumber(value.mean)} ± ${formatNumber(value.std)}`;
}

/** 1234567 → "1.23M". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** Header and cells shared by both formats: rank metric first, then the other metrics alphabetically. */
function cells(board: Leaderboard): { header: string[]; rows: string[][] } {
  const others = [...new Set(board.rows.flatMap((r) => Object.keys(r.metrics)))].filter((m) => m !== board.metric).sort();
  const seeds = board.rows.some((r) => r.seeds.length > 1) ? ` (mean ± std over seeds)` : '';
  const header = ['#', 'candidate', `${board.metric} ${board.higherIsBetter ? '↑' : '↓'}${seeds}`, ...others, 'seeds', 'parameters', 'trainable', 'seconds', 'tokens/s'];
  const rows = board.rows.map((r) => [
    String(r.rank),
    r.candidate,
    formatMeanStd(r.metrics[board.metric]),
    ...others.map((m) => formatMeanStd(r.metrics[m])),
    String(r.seeds.length),
    formatCount(r.parameters),
    formatCount(r.trainableParameters),
    formatMeanStd(r.seconds),
    formatMeanStd(r.tokensPerSecond),
  ]);
  return { header, rows };
}

/** A plain-text table, columns padded, best candidate first. */
export function formatLeaderboardTable(board: Leaderboard): string {
  const { header, rows } = cells(board);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (row: readonly string[]): string => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function leaderboardHtml(board: Leaderboard): string {
  const { header, rows } = cells(board);
  return `<p class="note">Ranked by ${board.metric} (${board.higherIsBetter ? 'higher' : 'lower'} is better); ± is the sample standard deviation over seeds.</p>\n${htmlTable(header, rows)}`;
}
