/**
 * Commands that take folders before their flags (`kiln report RUN_DIR… --out FILE`): the
 * arguments up to the first --flag are positional, the rest go to parseFlags.
 */
export function splitPositionals(argv: readonly string[]): { positionals: string[]; flags: string[] } {
  const first = argv.findIndex((a) => a.startsWith('--'));
  return first === -1 ? { positionals: [...argv], flags: [] } : { positionals: argv.slice(0, first), flags: argv.slice(first) };
}
