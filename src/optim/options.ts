/** Option merging and checks shared by the optimizers and schedules (internal). */

/** Throws when `options` has a key that `allowed` lacks: a misspelt option is an error, not a no-op. */
export function checkKnownKeys(where: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`${where}: unknown option '${key}'; the options are ${allowed.join(', ')}`);
    }
  }
}

/** `defaults` overridden by the options that are set; unknown keys are errors. Neither input changes. */
export function mergeOptions<T extends object>(where: string, defaults: T, options: Partial<T>): T {
  checkKnownKeys(where, options, Object.keys(defaults));
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

export function checkNumber(where: string, name: string, value: unknown, range: { min?: number; max?: number; integer?: boolean; below?: number } = {}): void {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (range.integer !== true || Number.isInteger(value)) &&
    (range.min === undefined || value >= range.min) &&
    (range.max === undefined || value <= range.max) &&
    (range.below === undefined || value < range.below);
  if (!ok) {
    const want = [
      range.integer === true ? 'an integer' : 'a finite number',
      range.min !== undefined ? `>= ${range.min}` : '',
      range.max !== undefined ? `<= ${range.max}` : '',
      range.below !== undefined ? `< ${range.below}` : '',
    ].filter((s) => s !== '').join(' ');
    throw new RangeError(`${where}: ${name} must be ${want}, got ${String(value)}`);
  }
}

export function checkBoolean(where: string, name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new TypeError(`${where}: ${name} must be true or false, got ${String(value)}`);
}

/** One value per param group: a single number for all, or a list with one per group. */
export function perGroup(where: string, name: string, value: number | readonly number[], groups: number): number[] {
  if (typeof value === 'number') return new Array<number>(groups).fill(value);
  if (value.length !== groups) {
    throw new RangeError(`${where}: ${name} has ${value.length} values but the optimizer has ${groups} param groups; give one per group or a single number`);
  }
  return [...value];
}
