/**
 * The environment variables `kiln launch` (and PyTorch's torchrun, and the schedulers that
 * imitate it) give each process: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
 */
import { DistributedError } from './distributed-error.js';

export interface LaunchEnv {
  /** This process's rank in 0..worldSize-1. */
  rank: number;
  /** Processes in the whole run, over all nodes. */
  worldSize: number;
  /** This process's index on its node (picks its GPU). */
  localRank: number;
  /** Where rank 0's store listens. */
  masterAddr: string;
  masterPort: number;
}

/** @default masterAddr '127.0.0.1', as torchrun */
export const DEFAULT_MASTER_ADDR = '127.0.0.1';
/** @default masterPort 29500, as torchrun */
export const DEFAULT_MASTER_PORT = 29500;

function intVar(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new DistributedError(`${name}=${raw} is not valid: it must be an integer of at least ${min}`);
  }
  return n;
}

/**
 * The launch variables of `env`, or null when WORLD_SIZE is unset (a plain, single-process
 * run). Missing RANK with WORLD_SIZE set is an error; LOCAL_RANK defaults to RANK.
 */
export function launchEnv(env: NodeJS.ProcessEnv = process.env): LaunchEnv | null {
  const worldSize = intVar(env, 'WORLD_SIZE', 1);
  if (worldSize === undefined) return null;
  const rank = intVar(env, 'RANK', 0);
  if (rank === undefined) throw new DistributedError(`WORLD_SIZE=${worldSize} is set but RANK is not; start the processes with 'kiln launch', or set RANK for each`);
  if (rank >= worldSize) throw new DistributedError(`RANK=${rank} is outside 0..WORLD_SIZE-1 (WORLD_SIZE=${worldSize})`);
  const masterPort = intVar(env, 'MASTER_PORT', 1) ?? DEFAULT_MASTER_PORT;
  if (masterPort > 65535) throw new DistributedError(`MASTER_PORT=${masterPort} is not a TCP port (1..65535)`);
  return {
    rank,
    worldSize,
    localRank: intVar(env, 'LOCAL_RANK', 0) ?? rank,
    masterAddr: env['MASTER_ADDR'] || DEFAULT_MASTER_ADDR,
    masterPort,
  };
}
