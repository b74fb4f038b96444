/** Distributed data-parallel training on PyTorch's c10d. */
export { DistributedError } from './distributed-error.js';
export { launchEnv, DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT } from './launch-env.js';
export type { LaunchEnv } from './launch-env.js';
export { Store } from './store.js';
export type { TcpStoreOptions, FileStoreOptions } from './store.js';
export { ProcessGroup, initProcessGroup, availableBackends, DEFAULT_TIMEOUT_MS } from './process-group.js';
export type { Backend, ReduceOp, InitProcessGroupOptions } from './process-group.js';
export { DistributedDataParallel } from './data-parallel.js';
export type { DistributedDataParallelOptions } from './data-parallel.js';
export { processGroupFromLaunch } from './from-launch.js';
export { shardBatch } from './shard.js';
