/** The error every text reader throws: it names the file and, where it helps, the line. */
export class TextDataError extends Error {
  override readonly name = 'TextDataError';

  /**
   * @param file the file (or folder) being read
   * @param line the 1-based line the problem is on, when there is one
   */
  constructor(
    readonly file: string,
    message: string,
    readonly line?: number,
  ) {
    super(`${line === undefined ? file : `${file}:${line}`}: ${message}`);
  }
}
