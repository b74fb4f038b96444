/**
 * `kiln launch`: starts the processes of a data-parallel run on this node, as PyTorch's
 * torchrun does. Each child gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR
 * and MASTER_PORT; its output lines are prefixed with its rank; when one exits with an error
 * the others are stopped (SIGTERM, then SIGKILL after a grace period) and launch fails too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatFlags, parseCommandFlags, type FlagSpec } from './args.js';
import { UsageError } from './usage-error.js';

export const LAUNCH_SUMMARY = 'start the processes of a distributed (data-parallel) run';

const LAUNCH_FLAGS: FlagSpec[] = [
  { name: 'nproc-per-node', kind: 'int', help: 'processes to start on this node (one per GPU, or a few on a CPU machine)', defaultText: '1' },
  { name: 'nnodes', kind: 'int', help: 'nodes (machines) in the run; start `kiln launch` once on each', defaultText: '1' },
  { name: 'node-rank', kind: 'int', help: "this node's index in 0..nnodes-1", defaultText: '0' },
  { name: 'master-addr', kind: 'string', valueName: 'ADDRESS', help: "node 0's address, reachable from every node", defaultText: '127.0.0.1' },
  { name: 'master-port', kind: 'int', valueName: 'PORT', help: "a free TCP port on node 0 for the ranks' rendezvous", defaultText: '29500' },
  { name: 'backend', kind: 'string', valueName: 'gloo|nccl', help: 'collectives backend: gloo (CPU) or nccl (CUDA build)', defaultText: 'gloo' },
  { name: 'timeout', kind: 'duration', help: 'how long a rank waits for a silent (hung) peer before failing, e.g. 90s, 10m', defaultText: '30m' },
  { name: 'grace', kind: 'duration', help: 'after a rank fails, how long the others get to exit after SIGTERM before SIGKILL', defaultText: '5s' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function launchHelp(): string {
  return [
    'Usage: kiln launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] -- kiln pretrain [flags]',
    '',
    'Starts N processes of the command after `--` with torchrun\'s environment variables, so that',
    'they train data-parallel: --batch-size is per process, gradients are averaged over all',
    'processes, and rank 0 writes the logs and checkpoints. A command starting with `kiln` runs',
    'this Kiln; any other command runs as given.',
    '',
    'Flags:',
    formatFlags(LAUNCH_FLAGS),
  ].join('\n');
}

function seconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(duration)!;
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

function intFlag(flags: Map<string, unknown>, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = (flags.get(name) as number | undefined) ?? fallback;
  if (v < min || v > max) throw new UsageError(`kiln launch: --${name} must be in ${min}..${max}, got ${v}`);
  return v;
}

/** Copies a child's output to `out` line by line, each line prefixed. */
function prefixLines(stream: NodeJS.ReadableStream, out: NodeJS.WritableStream, prefix: string): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (pending + chunk).split(/\r\n|\n|\r/);
    pending = parts.pop()!;
    if (parts.length > 0) out.write(parts.map((l) => prefix + l + '\n').join(''));
  });
  stream.on('end', () => {
    if (pending !== '') out.write(prefix + pending + '\n');
  });
}

export async function runLaunch(argv: readonly string[]): Promise<number> {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const command = split === -1 ? [] : argv.slice(split + 1);
  const flags = parseCommandFlags(own, LAUNCH_FLAGS, 'launch', launchHelp);
  if (flags === undefined) return 0;
  if (command.length === 0) throw new UsageError('kiln launch: no command to run; put it after `--`, e.g. kiln launch --nproc-per-node 2 -- kiln pretrain --max-steps 100');
  const nproc = intFlag(flags, 'nproc-per-node', 1, 1, 1024);
  const nnodes = intFlag(flags, 'nnodes', 1, 1, 65536);
  const nodeRank = intFlag(flags, 'node-rank', 0, 0, nnodes - 1);
  const masterPort = intFlag(flags, 'master-port', 29500, 1, 65535);
  const masterAddr = (flags.get('master-addr') as string | undefined) ?? '127.0.0.1';
  const backend = (flags.get('backend') as string | undefined) ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new UsageError(`kiln launch: --backend must be gloo or nccl, got '${backend}'`);
  const graceMs = seconds((flags.get('grace') as string | undefined) ?? '5s') * 1000;
  const timeout = flags.get('timeout') as string | undefined;

  const [program, ...args] =
    command[0] === 'kiln' ? [process.execPath, fileURLToPath(new URL('./main.js', import.meta.url)), ...command.slice(1)] : command;
  const worldSize = nnodes * nproc;
  const children: ChildProcess[] = [];
  let failure: { rank: number; code: number; message: string } | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const stopOthers = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    killTimer ??= setTimeout(() => {
      for (const [rank, c] of children.entries()) {
        if (c.exitCode === null && c.signalCode === null) {
          process.stderr.write(`kiln launch: rank ${nodeRank * nproc + rank} did not stop within ${graceMs / 1000} s of SIGTERM (hung?); killing it\n`);
          c.kill('SIGKILL');
        }
      }
    }, graceMs);
  };
  const forward = (signal: NodeJS.Signals) => (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  };
  // Ctrl-C in a terminal already reaches every child (they share launch's process group): launch
  // only stays alive to relay their output. A SIGTERM (from a scheduler) is passed on.
  const onInt = (): void => {};
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  const exits = Array.from({ length: nproc }, (_, local) => {
    const rank = nodeRank * nproc + local;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RANK: String(rank),
      WORLD_SIZE: String(worldSize),
      LOCAL_RANK: String(local),
      LOCAL_WORLD_SIZE: String(nproc),
      GROUP_RANK: String(nodeRank),
      MASTER_ADDR: masterAddr,
      MASTER_PORT: String(masterPort),
      KILN_DIST_BACKEND: backend,
      ...(timeout === undefined ? {} : { KILN_DIST_TIMEOUT: String(seconds(timeout)) }),
    };
    const child = spawn(program!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const prefix = `[rank ${rank}] `;
    prefixLines(child.stdout!, process.stdout, prefix);
    prefixLines(child.stderr!, process.stderr, prefix);
    return new Promise<void>((resolve) => {
      child.on('error', (error) => {
        failure ??= { rank, code: 1, message: `kiln launch: cannot start rank ${rank} (${program}): ${error.message}` };
        stopOthers();
        resolve();
      });
      child.on('exit', (code, signal) => {
        if ((code !== 0 || signal !== null) && failure === undefined) {
          const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
          failure = { rank, code: code !== null && code > 0 && code < 256 ? code : 1, message: `kiln launch: rank ${rank} ${how}; stopping the other ranks` };
          process.stderr.write(failure.message + '\n');
          stopOthers();
        }
        resolve();
      });
    });
  });
  try {
    await Promise.all(exits);
  } finally {
    if (killTimer !== undefined) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  if (failure !== undefined) {
    process.stderr.write(`kiln launch: the run failed (first failure: rank ${failure.rank})\n`);
    return failure.code;
  }
  return 0;
}
