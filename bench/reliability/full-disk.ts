/**
 * The full-disk campaign: a training run writes into a small tmpfs that fills up before it
 * finishes. Sizes sweep from a fraction of the run folder's final size to more than all of it,
 * so the space runs out at different writes (a checkpoint's weights, its optimizer state, the
 * best model, metrics.jsonl). Each time: the run must stop with a DiskFullError that names the
 * file and the space, with no stack trace; every file a reader opens (the last checkpoint, model/,
 * best/) must still load; and once the tmpfs is made larger, `--resume` must finish the run with
 * the uninterrupted run's weights, byte for byte.
 *
 * The tmpfs is mounted in a private mount namespace (`unshare -m` as root, else `unshare -rm` in
 * a user namespace), so nothing on the machine is touched.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRASH_TASKS, filesUnder, unreadableFiles, weightFiles } from './crash.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Inside the namespace: mount, run until the disk is full, copy the folder out, grow the disk, resume, copy out. */
const SCRIPT = `
set -u
mnt=$1; host=$2; size=$3; node=$4; main=$5; command=$6; shift 6
mkdir -p "$mnt"
mount -t tmpfs -o size=$size tmpfs "$mnt" || exit 90
"$node" "$main" "$@" --out "$mnt/run" >"$host/first.out" 2>"$host/first.err"; echo $? >"$host/first.rc"
cp -a "$mnt/run" "$host/after-full"
mount -o remount,size=256m "$mnt" || exit 91
"$node" "$main" $command --out "$mnt/run" --resume --no-report >"$host/resume.out" 2>"$host/resume.err"; echo $? >"$host/resume.rc"
cp -a "$mnt/run" "$host/final"
`;

/** The unshare arguments that give a private mount namespace here, or null when none works. */
export function mountNamespace(): string[] | null {
  for (const flags of [['-m'], ['-rm']]) {
    const probe = spawnSync('unshare', [...flags, 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d" && umount "$d" && rmdir "$d"'], { encoding: 'utf8' });
    if (probe.status === 0) return flags;
  }
  return null;
}

export interface FullDiskTrial {
  sizeKb: number;
  /** 'fit': the run finished; 'full': it stopped on a full disk. */
  outcome: 'fit' | 'full';
  /** A checkpoint was saved before the disk filled, and --resume finished the run once it had space. */
  resumed: boolean;
  /** The file the error names, relative to the run folder. */
  file?: string;
  message?: string;
  /** What is wrong (empty when the trial passed). */
  problems: string[];
}

/**
 * `trials` runs of the GPT pretraining task of the crash campaign, tmpfs sizes spread from 15%
 * to 200% of the uninterrupted run folder's size. Work happens in `dir`.
 */
export function fullDiskCampaign(options: { trials: number; dir: string; onTrial?: (trial: FullDiskTrial) => void }): FullDiskTrial[] {
  const unshare = mountNamespace();
  if (unshare === null) throw new Error('the full-disk campaign needs a private mount namespace for its tmpfs: run it as root, or where `unshare -rm` may mount');
  const task = CRASH_TASKS[0]!;
  mkdirSync(options.dir, { recursive: true });
  const args = task.setup(options.dir);
  const whole = path.join(options.dir, 'whole');
  const reference = spawnSync(process.execPath, [MAIN, ...args, '--out', whole], { encoding: 'utf8' });
  if (reference.status !== 0) throw new Error(`the uninterrupted run failed: ${reference.stderr}`);
  const wholeBytes = filesUnder(whole).reduce((sum, f) => sum + readFileSync(path.join(whole, f)).length, 0);
  const trials: FullDiskTrial[] = [];
  for (let i = 0; i < options.trials; i++) {
    const fraction = 0.15 + (1.85 * i) / Math.max(1, options.trials - 1);
    const sizeKb = Math.max(8, Math.round((wholeBytes * fraction) / 1024));
    const host = path.join(options.dir, `trial-${i}`);
    rmSync(host, { recursive: true, force: true });
    mkdirSync(host);
    const mnt = path.join(options.dir, `mnt-${i}`);
    const ran = spawnSync('unshare', [...unshare, 'bash', '-c', SCRIPT, 'bash', mnt, host, `${sizeKb}k`, process.execPath, MAIN, args[0]!, ...args], { encoding: 'utf8' });
    const trial: FullDiskTrial = { sizeKb, outcome: 'fit', resumed: false, problems: [] };
    const read = (name: string): string => (existsSync(path.join(host, name)) ? readFileSync(path.join(host, name), 'utf8').trim() : '');
    if (ran.status !== 0) trial.problems.push(`the namespace script failed (${ran.status}): ${ran.stderr.trim()}`);
    const firstRc = Number(read('first.rc'));
    if (firstRc !== 0) {
      trial.outcome = 'full';
      const err = read('first.err');
      trial.message = err;
      const named = /no space left on the device to write (\S+): it needs (?:more than the )?[\d.]+ [KMG]?B(?: written)?, [\d.]+ [KMG]?B free in /.exec(err);
      if (named === null) trial.problems.push(`exit ${firstRc} without the disk-full message: ${err.split('\n').slice(-2).join(' | ')}`);
      else trial.file = path.relative(path.join(mnt, 'run'), named[1]!);
      if (/\n\s+at /.test(err)) trial.problems.push('a stack trace was printed');
      if (firstRc !== 1) trial.problems.push(`exit ${firstRc}, not 1`);
      trial.problems.push(...unreadableFiles(path.join(host, 'after-full')).map((f) => `after the disk filled: ${f}`));
      const hadCheckpoint = existsSync(path.join(host, 'after-full', 'state', 'state.json'));
      const resumeRc = Number(read('resume.rc'));
      if (hadCheckpoint && resumeRc !== 0) trial.problems.push(`--resume after freeing space: exit ${resumeRc}: ${read('resume.err')}`);
      if (!hadCheckpoint && resumeRc !== 2) trial.problems.push(`--resume without a checkpoint: exit ${resumeRc}, not 2`);
      if (hadCheckpoint && resumeRc === 0) {
        trial.resumed = true;
        for (const f of weightFiles(whole)) {
          const got = path.join(host, 'final', f);
          if (!existsSync(got) || !readFileSync(got).equals(readFileSync(path.join(whole, f)))) trial.problems.push(`${f} differs from the uninterrupted run's`);
        }
      }
    }
    trials.push(trial);
    options.onTrial?.(trial);
    rmSync(host, { recursive: true, force: true });
  }
  return trials;
}
