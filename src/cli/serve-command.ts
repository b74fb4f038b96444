/** `kiln serve RUN_DIR… [--port N] [--host H]`: a live dashboard of training runs until Ctrl-C. */
import { formatFlags, parseCommandFlags, type FlagSpec } from './args.js';
import { splitPositionals } from './positionals.js';
import { UsageError } from './usage-error.js';

export const SERVE_SUMMARY = 'serve a live dashboard of training runs on a local web page';

export const DEFAULT_SERVE_PORT = 6070;

export const SERVE_FLAGS: readonly FlagSpec[] = [
  { name: 'runs', kind: 'list', help: 'run folders (instead of, or besides, the folders before the flags)', valueName: 'DIR...' },
  { name: 'port', kind: 'int', help: 'TCP port (0: any free port, printed)', defaultText: String(DEFAULT_SERVE_PORT) },
  { name: 'host', kind: 'string', help: 'address to listen on; other than loopback, anyone on the network can see the runs', defaultText: '127.0.0.1' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function serveHelp(): string {
  return [
    'Usage: kiln serve RUN_DIR... [--port N] [--host ADDRESS]',
    '',
    'Serves a page listing the runs (waiting, running, finished, stopped) whose charts update',
    'as their metrics.jsonl grows. Start it before or during training. Ctrl-C stops it.',
    '',
    'Flags:',
    formatFlags(SERVE_FLAGS),
  ].join('\n');
}

/**
 * Runs the server until `signal` aborts (the CLI: until SIGINT or SIGTERM).
 * @param onListening called with the page's URL once the server listens
 */
export async function runServe(argv: readonly string[], signal?: AbortSignal, onListening?: (url: string) => void): Promise<number> {
  const { positionals, flags: flagArgs } = splitPositionals(argv);
  const flags = parseCommandFlags(flagArgs, SERVE_FLAGS, 'serve', serveHelp);
  if (flags === undefined) return 0;
  const runDirs = [...positionals, ...((flags.get('runs') as string[] | undefined) ?? [])];
  if (runDirs.length === 0) throw new UsageError('kiln serve: give at least one run folder, e.g. kiln serve runs/baby-gpt');
  const port = (flags.get('port') as number | undefined) ?? DEFAULT_SERVE_PORT;
  if (port < 0 || port > 65535) throw new UsageError(`kiln serve: --port must be between 0 and 65535, got ${port}`);
  const host = (flags.get('host') as string | undefined) ?? '127.0.0.1';
  const { startDashboard } = await import('../report/dashboard-server.js');
  const dashboard = await startDashboard({ runDirs, port, host });
  process.stdout.write(`Kiln dashboard: ${dashboard.url} (Ctrl-C to stop)\n`);
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) process.stdout.write(`warning: listening on ${host}: the runs are visible to the network\n`);
  onListening?.(dashboard.url);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    if (signal?.aborted === true) return stop();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    signal?.addEventListener('abort', stop);
  });
  await dashboard.close();
  process.stdout.write('dashboard stopped\n');
  return 0;
}
