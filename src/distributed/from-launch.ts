/**
 * The process group of a process started by `kiln launch` (or torchrun, or a scheduler that
 * sets the same variables), for commands that train data-parallel when launched that way.
 */
import { DistributedError } from './distributed-error.js';
import { launchEnv } from './launch-env.js';
import { type Backend, type ProcessGroup, initProcessGroup } from './process-group.js';

/**
 * Joins the run's process group when WORLD_SIZE is set (backend from KILN_DIST_BACKEND,
 * default 'gloo'); undefined for a plain single-process run.
 */
export async function processGroupFromLaunch(env: NodeJS.ProcessEnv = process.env): Promise<ProcessGroup | undefined> {
  const launch = launchEnv(env);
  if (launch === null) return undefined;
  const backend = env['KILN_DIST_BACKEND'] || 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new DistributedError(`KILN_DIST_BACKEND=${backend} is not a backend; use gloo or nccl`);
  return initProcessGroup({ ...launch, backend: backend as Backend });
}
