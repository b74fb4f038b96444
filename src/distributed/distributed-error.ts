/** A failure of distributed training: a rank that died, hung or could not be reached. */
export class DistributedError extends Error {
  override readonly name = 'DistributedError';
}
