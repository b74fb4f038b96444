/** A run configuration that cannot be used: an unknown key or a value out of range. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
