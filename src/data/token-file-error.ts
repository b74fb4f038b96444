/** A token file that cannot be read: wrong magic, truncated, corrupt ids or another vocabulary. */
export class TokenFileError extends Error {
  override readonly name = 'TokenFileError';

  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}
