/**
 * Where a piece of work spends its time, op by op: libtorch's profiler (its CPU mode) around a
 * function, folded into one row per op as torch.profiler's `key_averages()` table is. The rows
 * are the dispatcher's ops (`aten::mm`, `aten::to`, …), autograd's backward nodes
 * (`autograd::engine::evaluate_function: MmBackward0`, …) and Kiln's fused kernels (`kiln::…`).
 *
 *   const report = profile(() => step());
 *   console.log(report.table(20));
 */
import { native as N } from './native.js';

export interface ProfileRow {
  name: string;
  calls: number;
  /** Milliseconds from entering the op to leaving it, over every call. */
  totalMs: number;
  /** totalMs less the ops called inside it: the time the op itself took. */
  selfMs: number;
}

export interface Profile {
  /** One row per op, the largest self time first. */
  rows: ProfileRow[];
  /** Milliseconds the profiled function took, wall clock (profiling included). */
  wallMs: number;
  /** The rows as an aligned text table, the largest `limit` (all by default). */
  table(limit?: number): string;
}

/**
 * Runs `fn` (synchronous) under libtorch's profiler and returns the time of each op it ran.
 * Profiling adds a few microseconds per op, and on a busy or shared machine it can slow the
 * memory-bound ops far more (a GPT step on this project's 2-core VM: 5% slower profiled at one
 * hour, 70% at another): compare the rows within a profile, and time without it. Profiles do not
 * nest.
 */
export function profile(fn: () => void): Profile {
  N['profilerStart']!();
  const start = performance.now();
  let raw: [string, number, number, number][];
  try {
    fn();
  } finally {
    raw = N['profilerStop']!() as [string, number, number, number][];
  }
  const wallMs = performance.now() - start;
  const rows = raw
    .map(([name, calls, totalUs, selfUs]) => ({ name, calls, totalMs: totalUs / 1000, selfMs: selfUs / 1000 }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { rows, wallMs, table: (limit) => profileTable(rows, wallMs, limit) };
}

/** Rows as profile()'s `table` prints them, self % of `wallMs`. */
export function profileTable(rows: ProfileRow[], wallMs: number, limit = rows.length): string {
  const inOps = rows.reduce((sum, r) => sum + r.selfMs, 0);
  const shown = rows.slice(0, limit);
  const width = Math.max(2, ...shown.map((r) => r.name.length));
  const num = (v: number, digits = 1): string => v.toFixed(digits).padStart(10);
  const lines = [`${'op'.padEnd(width)}${'calls'.padStart(8)}${'self ms'.padStart(10)}${'self %'.padStart(10)}${'total ms'.padStart(10)}`];
  for (const r of shown) {
    lines.push(`${r.name.padEnd(width)}${String(r.calls).padStart(8)}${num(r.selfMs)}${num((100 * r.selfMs) / wallMs)}${num(r.totalMs)}`);
  }
  lines.push(`${rows.length - shown.length} more ops; ${inOps.toFixed(1)} ms in ops of ${wallMs.toFixed(1)} ms wall clock (self % of the wall clock)`);
  return lines.join('\n');
}
