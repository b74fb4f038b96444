/** The error every safetensors reader and writer throws for a bad file, index or argument. */
export class SafetensorsError extends Error {
  /** The file (or `<buffer>` for in-memory data) the problem is in. */
  readonly file: string;

  constructor(file: string, problem: string) {
    super(`safetensors ${file}: ${problem}`);
    this.name = 'SafetensorsError';
    this.file = file;
  }
}
