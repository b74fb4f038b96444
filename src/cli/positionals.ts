import { UsageError } from './usage-error.js';

/**
 * Commands that take folders before their flags (`kiln report RUN_DIR… --out FILE`): the
 * arguments up to the first --flag are positional, the rest go to parseFlags.
 */
export function splitPositionals(argv: readonly string[]): { positionals: string[]; flags: string[] } {
  const first = argv.findIndex((a) => a.startsWith('--'));
  return first === -1 ? { positionals: [...argv], flags: [] } : { positionals: argv.slice(0, first), flags: argv.slice(first) };
}

/**
 * Commands whose first word names a format (`kiln import llama2c …`, `kiln export onnx …`): the
 * format and the rest, or the exit code after printing the help (none given: 2; --help: 0).
 * An unknown format is a UsageError listing the formats and the usage.
 */
export function takeFormat(argv: readonly string[], command: string, formats: readonly string[], help: () => string, usage: string): { format: string; rest: string[] } | number {
  const [format, ...rest] = argv;
  if (format === undefined || format === '--help' || format === '-h') {
    process.stdout.write(help() + '\n');
    return format === undefined ? 2 : 0;
  }
  if (!formats.includes(format)) throw new UsageError(`kiln ${command}: unknown format '${format}'; the formats are ${formats.join(', ')} (${usage})`);
  return { format, rest };
}
