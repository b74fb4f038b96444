/**
 * A small typed command-line parser: `--flag value`, `--flag=value`, boolean `--flag`, and list
 * flags that take every value up to the next `--flag`. Unknown flags and malformed values are
 * UsageErrors that name the closest valid flag.
 */
import { closest } from './closest.js';
import { UsageError } from './usage-error.js';

export type FlagKind = 'int' | 'number' | 'string' | 'list' | 'boolean' | 'duration';

export interface FlagSpec {
  /** kebab-case, without the dashes. */
  name: string;
  kind: FlagKind;
  /** One line for --help. */
  help: string;
  /** The default as --help shows it. */
  defaultText?: string;
  /** Shown in --help instead of the kind, e.g. 'char|gpt2|PATH'. */
  valueName?: string;
}

export type FlagValue = number | string | string[] | boolean;

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

function parseValue(spec: FlagSpec, raw: string, command: string): FlagValue {
  const bad = (want: string): UsageError => new UsageError(`kiln ${command}: --${spec.name} expects ${want}, got '${raw}'`);
  switch (spec.kind) {
    case 'int':
      if (!/^[-+]?\d+$/.test(raw)) throw bad('an integer');
      return Number(raw);
    case 'number':
      if (!NUMBER.test(raw)) throw bad('a number');
      return Number(raw);
    case 'duration':
      if (!/^\d+(\.\d+)?(s|m|h)?$/.test(raw)) throw bad('a duration such as 90s, 10m or 1h');
      return raw;
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw bad('true or false');
    default:
      return raw;
  }
}

/**
 * A command's flags, or undefined when --help was given, after writing `help()` to `output`
 * (the command then returns 0).
 */
export function parseCommandFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  command: string,
  help: () => string,
  output: { write(text: string): unknown } = process.stdout,
): Map<string, FlagValue> | undefined {
  const flags = parseFlags(argv, specs, command);
  if (flags.get('help') !== true) return flags;
  output.write(help() + '\n');
  return undefined;
}

/**
 * Parses `argv` (the arguments after the command name) against `specs`.
 * @returns the flags given, by name; absent flags are absent
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], command: string): Map<string, FlagValue> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const names = specs.map((s) => `--${s.name}`);
  const result = new Map<string, FlagValue>();
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      throw new UsageError(`kiln ${command}: unexpected argument '${arg}'; every setting is a --flag (see kiln ${command} --help)`);
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (spec === undefined) {
      const suggestion = closest(`--${name}`, names);
      throw new UsageError(`kiln ${command}: unknown flag --${name}${suggestion === undefined ? '' : `; did you mean ${suggestion}?`} (see kiln ${command} --help)`);
    }
    if (result.has(name)) throw new UsageError(`kiln ${command}: --${name} is given twice`);
    i++;
    if (spec.kind === 'boolean' && eq === -1) {
      result.set(name, true);
      continue;
    }
    if (spec.kind === 'list') {
      const values = eq === -1 ? [] : [arg.slice(eq + 1)];
      while (eq === -1 && i < argv.length && !argv[i]!.startsWith('--')) values.push(argv[i++]!);
      if (values.length === 0 || values.some((v) => v === '')) throw new UsageError(`kiln ${command}: --${name} needs at least one value`);
      result.set(name, values);
      continue;
    }
    let raw: string;
    if (eq !== -1) {
      raw = arg.slice(eq + 1);
    } else {
      if (i >= argv.length || (argv[i]!.startsWith('--') && !NUMBER.test(argv[i]!))) throw new UsageError(`kiln ${command}: --${name} needs a value`);
      raw = argv[i++]!;
    }
    result.set(name, parseValue(spec, raw, command));
  }
  return result;
}

/** The flag table for --help: name, value, default, description. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const value = s.kind === 'boolean' ? '' : ` ${s.valueName ?? (s.kind === 'list' ? 'PATH...' : s.kind === 'int' ? 'N' : s.kind === 'number' ? 'X' : s.kind === 'duration' ? 'DURATION' : 'TEXT')}`;
    return [`  --${s.name}${value}`, s.help + (s.defaultText === undefined ? '' : ` (default: ${s.defaultText})`)] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => left.padEnd(width) + right).join('\n');
}
