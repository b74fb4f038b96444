/**
 * `npm run test:reliability`: every reliability campaign at full size, one after the other —
 * the loader fuzz campaign, the crash campaign, the full-disk campaign, the long runs, the
 * distributed faults and the bad-input catalogue (`npm test` runs a short version of each). Prints a
 * table per campaign and, as its last line, one JSON object with every figure. Exit status 1
 * when any campaign found a problem.
 *
 * Run: `npm run test:reliability`, or `node dist/bench/reliability/run.js [--only fuzz,crash,disk,long,dist,bad]
 * [--per-target N] [--crash-runs N] [--kills N] [--disk-trials N] [--steps N] [--generations N] [--fault-trials N] [--seed N]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runBadInputCatalogue } from './bad-input.js';
import { runFuzzCampaign, type TargetReport } from './campaign.js';
import { CRASH_TASKS, crashTask, type CrashReport } from './crash.js';
import { distributedFaultCampaign, FAULT_GRACE_S, FAULT_TIMEOUT_S } from './distributed.js';
import { fullDiskCampaign } from './full-disk.js';
import { longGeneration, longTraining, type LongRunReport } from './long-run.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  const value = i === -1 ? fallback : Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} takes a whole number, got ${args[i + 1]}`);
  return value;
};
const onlyAt = args.indexOf('--only');
const only = new Set(onlyAt === -1 ? ['fuzz', 'crash', 'disk', 'long', 'dist', 'bad'] : (args[onlyAt + 1] ?? '').split(','));
const seed = flag('seed', 1);
const say = (line: string): void => void process.stdout.write(line + '\n');
const figures: Record<string, number | string> = { seed };
let problems = 0;
const work = mkdtempSync(path.join(tmpdir(), 'kiln-reliability-'));
const pad = (cells: (string | number)[], widths: number[]): string => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join(' ');

try {
  if (only.has('fuzz')) {
    const perTarget = flag('per-target', 6000);
    const widths = [24, 7, 7, 7, 7, 5, 9, 5, 8, 6];
    say(`\n== loader fuzz campaign: ${perTarget} inputs per loader, seed ${seed}`);
    say(pad(['loader', 'inputs', 'loaded', 'refused', 'crashes', 'hangs', 'non-Error', '>1 s', 'RSS MB', 'sec'], widths));
    const reports = await runFuzzCampaign({ perTarget, seed, onTarget: (r) => say(pad([r.target, r.inputs, r.loaded, r.refused, r.crashes.length, r.hangs.length, r.nonErrors.length, r.slow.length, r.maxRssMb.toFixed(0), r.seconds.toFixed(0)], widths)) });
    for (const r of reports) {
      for (const c of r.crashes) say(`CRASH ${r.target} input ${c.index} (${c.how}): ${c.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      for (const h of r.hangs) say(`HANG ${r.target} input ${h}`);
      for (const n of r.nonErrors) say(`NON-ERROR ${r.target} input ${n.index}: ${n.message}`);
      for (const [index, ms] of r.slow) say(`SLOW ${r.target} input ${index}: ${ms} ms`);
    }
    const sum = (f: (r: TargetReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
    Object.assign(figures, { fuzz_inputs: sum((r) => r.inputs), fuzz_loaders: reports.length, fuzz_crashes: sum((r) => r.crashes.length), fuzz_hangs: sum((r) => r.hangs.length),
      fuzz_non_errors: sum((r) => r.nonErrors.length), fuzz_slow_inputs: sum((r) => r.slow.length), fuzz_max_rss_mb: Math.round(Math.max(...reports.map((r) => r.maxRssMb))) });
    problems += sum((r) => r.crashes.length + r.hangs.length + r.nonErrors.length);
  }

  if (only.has('crash')) {
    const runs = flag('crash-runs', 25);
    const kills = flag('kills', 3);
    const widths = [22, 5, 6, 10, 8, 6, 11, 11, 13, 10, 6];
    say(`\n== crash campaign: ${runs} runs per task, each killed ${kills} times (SIGKILL at a random moment, or mid-write) and resumed`);
    say(pad(['task', 'runs', 'kills', 'mid-write', 'resumes', 'fresh', 'failures', 'unreadable', 'weights diff', 'metrics', 'sec'], widths));
    const reports: CrashReport[] = [];
    for (const [i, task] of CRASH_TASKS.entries()) {
      const r = await crashTask(task, { runs, kills, seed: seed * 100 + i, dir: path.join(work, `crash-${i}`) });
      reports.push(r);
      say(pad([r.task, r.runs, r.kills, r.killsMidWrite, r.resumes, r.freshStarts, r.resumeFailures.length, r.unreadable.length, r.weightMismatches.length, r.metricsLost + r.metricsRepeated + r.metricsChanged, r.seconds.toFixed(0)], widths));
      for (const line of [...r.resumeFailures, ...r.unreadable, ...r.weightMismatches]) say(`  ${line}`);
      rmSync(path.join(work, `crash-${i}`), { recursive: true, force: true });
    }
    const sum = (f: (r: CrashReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
    Object.assign(figures, { crash_runs: sum((r) => r.runs), crash_kills: sum((r) => r.kills), crash_kills_mid_write: sum((r) => r.killsMidWrite), crash_resumes: sum((r) => r.resumes),
      crash_resume_failures: sum((r) => r.resumeFailures.length), crash_unreadable_files: sum((r) => r.unreadable.length), crash_weight_mismatches: sum((r) => r.weightMismatches.length),
      crash_metrics_lost: sum((r) => r.metricsLost), crash_metrics_repeated: sum((r) => r.metricsRepeated + r.metricsChanged), crash_stale_temp_files: sum((r) => r.staleTempFiles) });
    problems += sum((r) => r.resumeFailures.length + r.unreadable.length + r.weightMismatches.length + r.metricsLost + r.metricsRepeated + r.metricsChanged + r.staleTempFiles);
  }

  if (only.has('disk')) {
    const trials = flag('disk-trials', 24);
    say(`\n== full-disk campaign: ${trials} runs into a tmpfs of 15% to 200% of the run folder's size, resumed after the disk grows`);
    const widths = [8, 6, 9, 40, 9];
    say(pad(['tmpfs KB', 'result', 'resumed', 'the file being written when it filled', 'problems'], widths));
    const results = fullDiskCampaign({ trials, dir: path.join(work, 'disk'), onTrial: (t) => say(pad([t.sizeKb, t.outcome, t.resumed ? 'yes' : '-', t.file ?? '-', t.problems.length], widths)) });
    for (const t of results) for (const p of t.problems) say(`  ${t.sizeKb} KB: ${p}`);
    Object.assign(figures, { disk_trials: results.length, disk_filled: results.filter((t) => t.outcome === 'full').length, disk_resumed: results.filter((t) => t.resumed).length,
      disk_files_hit: new Set(results.flatMap((t) => (t.file === undefined ? [] : [t.file.replace(/\d+/g, 'N')]))).size, disk_problems: results.reduce((s, t) => s + t.problems.length, 0) });
    problems += figures['disk_problems'] as number;
    rmSync(path.join(work, 'disk'), { recursive: true, force: true });
  }

  if (only.has('long')) {
    const steps = flag('steps', 100_000);
    const generations = flag('generations', 10_000);
    say(`\n== long runs: resident memory over ${steps} training steps and ${generations} generations (drift = highest RSS after warm-up − RSS at the end of warm-up)`);
    const widths = [16, 8, 8, 10, 9, 9, 9];
    say(pad(['what', 'count', 'sec', 'warm MB', 'max MB', 'end MB', 'drift MB'], widths));
    const row = (r: LongRunReport): void => say(pad([r.what, r.count, r.seconds.toFixed(0), r.warmRssMb.toFixed(0), r.maxRssMb.toFixed(0), r.endRssMb.toFixed(0), r.driftMb.toFixed(1)], widths));
    const training = await longTraining({ steps, dir: path.join(work, 'long') });
    row(training);
    const generating = await longGeneration({ count: generations, dir: path.join(work, 'long') });
    row(generating);
    Object.assign(figures, { long_training_steps: steps, long_training_rss_drift_mb: Number(training.driftMb.toFixed(1)), long_generations: generations, long_generation_rss_drift_mb: Number(generating.driftMb.toFixed(1)) });
    if (training.driftMb >= 100 || generating.driftMb >= 100) problems++;
    rmSync(path.join(work, 'long'), { recursive: true, force: true });
  }

  if (only.has('dist')) {
    const trials = flag('fault-trials', 10);
    say(`\n== distributed faults: ${trials} two-rank runs under kiln launch (--timeout ${FAULT_TIMEOUT_S}s --grace ${FAULT_GRACE_S}s), rank 1 killed or hung after a checkpoint, then resumed`);
    const widths = [6, 12, 16, 9];
    say(pad(['fault', 'stopped in s', 'resumed max |Δw|', 'problems'], widths));
    const results = await distributedFaultCampaign({ trials, seed, dir: path.join(work, 'dist'), onTrial: (t) => say(pad([t.fault, t.seconds.toFixed(1), String(t.resumedDiff), t.problems.length], widths)) });
    for (const t of results) for (const p of t.problems) say(`  ${t.fault}: ${p}`);
    const worst = (fault: string): number => Math.max(...results.filter((t) => t.fault === fault).map((t) => t.seconds));
    Object.assign(figures, { dist_trials: results.length, dist_kill_stop_s_max: Number(worst('kill').toFixed(1)), dist_hang_stop_s_max: Number(worst('hang').toFixed(1)),
      dist_resumed: results.filter((t) => t.resumedDiff === 0).length, dist_problems: results.reduce((s, t) => s + t.problems.length, 0) });
    problems += figures['dist_problems'] as number;
    rmSync(path.join(work, 'dist'), { recursive: true, force: true });
  }

  if (only.has('bad')) {
    say('\n== bad-input catalogue (the README table, every row run)');
    const { rows, failures } = await runBadInputCatalogue();
    say(`${rows} commands, ${rows - failures.length} exit 2 with the README's message`);
    for (const f of failures) say(`  ${f}`);
    Object.assign(figures, { bad_input_cases: rows, bad_input_failures: failures.length });
    problems += failures.length;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
figures['problems'] = problems;
say(JSON.stringify(figures));
process.exitCode = problems === 0 ? 0 : 1;
