/**
 * Sharding batches over ranks: each rank takes its contiguous slice of a global batch, so that
 * worldSize ranks with batch B see exactly the rows one process with batch worldSize·B would —
 * the data-parallel run then equals the single-process one. Draw the global batch with the
 * same seed on every rank (a DataLoader with batchSize worldSize·B, randomWindows, ...).
 */
import { Tensor } from '../tensor/tensor.js';

/**
 * Rank `rank`'s rows [rank·b, (rank+1)·b) of `batch`, where b = rows / worldSize: for a Tensor
 * (rows = first dim), or arrays and plain objects of them (each tensor sharded the same way).
 * The results are views of the batch's tensors. Other values pass through unchanged.
 * @example
 * for (const batch of new DataLoader(ds, { batchSize: 2 * B * world, shuffle: true, dropLast: true })) {
 *   const { x, y } = shardBatch(batch, group.rank, group.worldSize); // B rows each
 * }
 */
export function shardBatch<T>(batch: T, rank: number, worldSize: number): T {
  if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new RangeError(`shardBatch: rank must be in 0..worldSize-1, got rank ${rank} of ${worldSize}`);
  }
  const shard = (value: unknown, where: string): unknown => {
    if (value instanceof Tensor) {
      const rows = value.shape[0];
      if (rows === undefined) throw new RangeError(`shardBatch: ${where} is a 0-d tensor; a batch needs a first (row) dim`);
      if (rows % worldSize !== 0) {
        throw new RangeError(`shardBatch: ${where} has ${rows} rows, not a multiple of the world size ${worldSize}; draw batches of worldSize·B rows (a DataLoader with dropLast: true)`);
      }
      const per = rows / worldSize;
      return value.narrow(0, rank * per, per);
    }
    if (Array.isArray(value)) return value.map((v, i) => shard(v, `${where}[${i}]`));
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shard(v, `${where}.${k}`)]));
    }
    return value;
  };
  return shard(batch, 'the batch') as T;
}
