/**
 * `npm run test:reliability`: the long campaigns. Today: the loader fuzz campaign at full size
 * (`--per-target N`, default 6,000 inputs for each of the 17 loaders: 102,000 in all). Prints one
 * row per loader and, as its last line, one JSON object with every figure.
 *
 * Run: `npm run test:reliability`, or `node dist/bench/reliability/run.js [--per-target N] [--seed N] [--target NAME]`.
 */
import { runFuzzCampaign, type TargetReport } from './campaign.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const perTarget = Number(flag('per-target') ?? 6000);
const seed = Number(flag('seed') ?? 1);
const only = flag('target');
if (!Number.isInteger(perTarget) || perTarget < 1 || !Number.isInteger(seed)) throw new Error('usage: run.js [--per-target N] [--seed N] [--target NAME]');

const row = (r: TargetReport): string =>
  [r.target.padEnd(24), String(r.inputs).padStart(7), String(r.loaded).padStart(7), String(r.refused).padStart(7), String(r.crashes.length).padStart(7), String(r.hangs.length).padStart(5),
    String(r.nonErrors.length).padStart(9), String(r.slow.length).padStart(5), r.maxRssMb.toFixed(0).padStart(8), r.seconds.toFixed(0).padStart(6)].join(' ');
process.stdout.write(`loader fuzz campaign: ${perTarget} inputs per loader, seed ${seed}\n`);
process.stdout.write(['loader'.padEnd(24), 'inputs'.padStart(7), 'loaded'.padStart(7), 'refused'.padStart(7), 'crashes'.padStart(7), 'hangs'.padStart(5), 'non-Error'.padStart(9), '>1 s'.padStart(5), 'RSS MB'.padStart(8), 'sec'.padStart(6)].join(' ') + '\n');
const reports = await runFuzzCampaign({ perTarget, seed, ...(only === undefined ? {} : { targets: [only] }), onTarget: (r) => process.stdout.write(row(r) + '\n') });
for (const r of reports) {
  for (const c of r.crashes) process.stdout.write(`CRASH ${r.target} input ${c.index} (${c.how}): ${c.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
  for (const h of r.hangs) process.stdout.write(`HANG ${r.target} input ${h}\n`);
  for (const n of r.nonErrors) process.stdout.write(`NON-ERROR ${r.target} input ${n.index}: ${n.message}\n`);
  for (const [index, ms] of r.slow) process.stdout.write(`SLOW ${r.target} input ${index}: ${ms} ms\n`);
}
const sum = (f: (r: TargetReport) => number): number => reports.reduce((s, r) => s + f(r), 0);
process.stdout.write(JSON.stringify({
  fuzz_inputs: sum((r) => r.inputs), fuzz_loaders: reports.length, fuzz_crashes: sum((r) => r.crashes.length), fuzz_hangs: sum((r) => r.hangs.length),
  fuzz_non_errors: sum((r) => r.nonErrors.length), fuzz_slow_inputs: sum((r) => r.slow.length), fuzz_max_rss_mb: Math.round(Math.max(...reports.map((r) => r.maxRssMb))), seed,
}) + '\n');
process.exitCode = sum((r) => r.crashes.length + r.hangs.length + r.nonErrors.length) === 0 ? 0 : 1;
