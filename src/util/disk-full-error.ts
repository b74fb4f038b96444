/** A write that ran out of space (ENOSPC, EDQUOT): names the file, the space it needed and what is free. */
export class DiskFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiskFullError';
  }
}
