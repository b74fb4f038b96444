/** A run folder or results file the report cannot use: missing, unreadable or malformed. */
export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportError';
  }
}
