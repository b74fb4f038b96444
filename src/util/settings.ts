/**
 * Settings declared once: each setting's type, default, allowed values and one-line doc in a
 * schema, from which come the option type (SettingsOf), the defaults (defaultsOf), the check of
 * a value from code, a `--config` file or a flag (checkSetting), and the command's flags and
 * their --help text (src/cli/setting-flags.ts). Pretraining, fine-tuning and image runs each
 * have one schema.
 */
import type { FlagKind } from '../cli/args.js';
import { ConfigError } from '../train/config-error.js';

export interface Setting<T> {
  readonly default: T;
  /** One line: what the setting does (the --help text and the option's doc). */
  readonly doc: string;
  /** How the command line gives it. */
  readonly flag: FlagKind;
  /** --help's name for the value, e.g. 'char|gpt2|PATH'. */
  readonly valueName?: string;
  /** --help's default, when the value alone says too little (e.g. '5% of the steps'). */
  readonly defaultText?: string;
  /** The value in its canonical form, or a ConfigError that names the setting (kebab-case) and what it must be. */
  check(value: unknown, key: string): T;
}

export type Schema = Readonly<Record<string, Setting<unknown>>>;

/** The option type a schema declares: each key with its setting's value type. */
export type SettingsOf<S extends Schema> = { -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

interface Extra {
  valueName?: string;
  defaultText?: string;
}

/** 'blockSize' → 'block-size'. */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** 'block-size' → 'blockSize'. */
export function camelCase(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function fail(key: string, want: string, value: unknown): never {
  throw new ConfigError(`${kebabCase(key)} must be ${want}, got ${JSON.stringify(value)}`);
}

function make<T>(def: T, doc: string, flag: FlagKind, extra: Extra, check: (value: unknown, key: string) => T): Setting<T> {
  return { default: def, doc, flag, ...(extra.valueName === undefined ? {} : { valueName: extra.valueName }), ...(extra.defaultText === undefined ? {} : { defaultText: extra.defaultText }), check };
}

const isInteger = (value: unknown, min: number): value is number => typeof value === 'number' && Number.isInteger(value) && value >= min;

/** An integer ≥ min (1: "a positive integer", 0: "a non-negative integer"). */
export function int(def: number, doc: string, min: 0 | 1 = 1, extra: Extra = {}): Setting<number> {
  return make(def, doc, 'int', extra, (value, key) => (isInteger(value, min) ? value : fail(key, min === 1 ? 'a positive integer' : 'a non-negative integer', value)));
}

/** An integer ≥ min, or null (its default meaning is in the doc). */
export function optionalInt(def: number | null, doc: string, extra: Extra = {}, min: 0 | 1 = 1): Setting<number | null> {
  return make(def, doc, 'int', extra, (value, key) => (value === null || isInteger(value, min) ? value : fail(key, min === 1 ? 'a positive integer' : 'a non-negative integer', value)));
}

/** The ranges a number setting may have, with how an error says them. */
export const RANGES = {
  nonNegative: { ok: (v: number) => v >= 0, want: 'a finite number ≥ 0' },
  positive: { ok: (v: number) => v > 0, want: 'a positive number' },
  /** [0, 1): probabilities, fractions held out. */
  unit: { ok: (v: number) => v >= 0 && v < 1, want: 'a number in [0, 1)' },
  /** (0, 1]: decays. */
  decay: { ok: (v: number) => v > 0 && v <= 1, want: 'a number in (0, 1]' },
} as const;
type Range = keyof typeof RANGES;

const inRange = (value: unknown, range: Range): value is number => typeof value === 'number' && Number.isFinite(value) && RANGES[range].ok(value);

export function num(def: number, doc: string, range: Range = 'nonNegative', extra: Extra = {}): Setting<number> {
  return make(def, doc, 'number', extra, (value, key) => (inRange(value, range) ? value : fail(key, RANGES[range].want, value)));
}

export function optionalNum(def: number | null, doc: string, range: Range, extra: Extra = {}): Setting<number | null> {
  return make(def, doc, 'number', extra, (value, key) => (value === null || inRange(value, range) ? value : fail(key, RANGES[range].want, value)));
}

/** A non-empty string. */
export function str(def: string, doc: string, extra: Extra = {}): Setting<string> {
  return make(def, doc, 'string', extra, (value, key) => (typeof value === 'string' && value !== '' ? value : fail(key, 'a non-empty string', value)));
}

/** A non-empty string, or null; `want` says what the string is (e.g. 'a file path'). */
export function optionalStr(def: string | null, doc: string, want: string, extra: Extra = {}): Setting<string | null> {
  return make(def, doc, 'string', extra, (value, key) => (value === null || (typeof value === 'string' && value !== '') ? value : fail(key, want, value)));
}

/** One of `choices`. */
export function choice<C extends string>(choices: readonly C[], def: C, doc: string, extra: Extra = {}): Setting<C> {
  return make(def, doc, 'string', { valueName: choices.join('|'), ...extra }, (value, key) =>
    typeof value === 'string' && (choices as readonly string[]).includes(value) ? (value as C) : fail(key, `one of ${choices.join(', ')}`, value),
  );
}

/** One of `choices`, or null (its default meaning is in the doc). */
export function optionalChoice<C extends string>(choices: readonly C[], def: C | null, doc: string, extra: Extra = {}): Setting<C | null> {
  return make(def, doc, 'string', { valueName: choices.join('|'), ...extra }, (value, key) =>
    value === null || (typeof value === 'string' && (choices as readonly string[]).includes(value)) ? (value as C | null) : fail(key, `one of ${choices.join(', ')}`, value),
  );
}

/** true or false. */
export function bool(def: boolean, doc: string, extra: Extra = {}): Setting<boolean> {
  return make(def, doc, 'boolean', extra, (value, key) => (typeof value === 'boolean' ? value : fail(key, 'true or false', value)));
}

/** A wall-clock budget in seconds: a positive number, or a string such as '90', '90s', '10m', '1.5h'; null for none. */
export function duration(def: number | null, doc: string, extra: Extra = {}): Setting<number | null> {
  return make(def, doc, 'duration', { valueName: 'DURATION', ...extra }, (value, key) => (value === null ? null : parseDuration(value, kebabCase(key))));
}

/** Any other setting: its own check and flag kind. */
export function custom<T>(def: T, doc: string, flag: FlagKind, check: (value: unknown, key: string) => T, extra: Extra = {}): Setting<T> {
  return make(def, doc, flag, extra, check);
}

/** Seconds from a number or a string like '90', '90s', '10m', '1.5h'. */
export function parseDuration(value: unknown, where = 'timeLimit'): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(value);
    if (match !== null) {
      const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
      if (seconds > 0) return seconds;
    }
  }
  throw new ConfigError(`${where} must be a positive duration such as 90s, 10m or 1h, got ${JSON.stringify(value)}`);
}

/** The schema's defaults, as a new frozen object (lists copied). */
export function defaultsOf<S extends Schema>(schema: S): Readonly<SettingsOf<S>> {
  return Object.freeze(Object.fromEntries(Object.entries(schema).map(([key, s]) => [key, Array.isArray(s.default) ? [...(s.default as unknown[])] : s.default]))) as Readonly<SettingsOf<S>>;
}

/** Checks `value` for setting `key` of `schema` (camelCase); an unknown key is a ConfigError. */
export function checkSetting<S extends Schema>(schema: S, key: string, value: unknown): unknown {
  const setting = Object.hasOwn(schema, key) ? schema[key] : undefined;
  if (setting === undefined) throw new ConfigError(`unknown setting '${kebabCase(key)}'`);
  return setting.check(value, key);
}
