/**
 * The live dashboard: a node:http server on loopback that serves the page, streams metrics as
 * server-sent events while the runs' metrics.jsonl files grow, and serves files inside the run
 * folders (and nothing outside them).
 *
 * Routes: `/` the page; `/events` the event stream; `/api/runs` the runs and their status as
 * JSON; `/runs/<index>/<path>` a file inside run <index>'s folder (e.g. /runs/0/config.json).
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { renderDashboardHtml } from './dashboard-page.js';
import type { MetricRecord } from './metrics-lines.js';
import { MetricsTail } from './metrics-tail.js';
import { metricRows, type MetricRow } from './metric-rows.js';
import { ReportError } from './report-error.js';
import { METRICS_FILE, RUN_CONFIG_FILE, runNames } from './run-data.js';
import { resolveRunFile } from './run-file-path.js';
import { DEFAULT_STALE_SECONDS, type RunStatus, runStatus } from './run-status.js';

export interface DashboardOptions {
  /** Run folders to show (they may not have a metrics.jsonl yet). */
  runDirs: readonly string[];
  /**
   * TCP port; 0 picks a free one (see Dashboard.url).
   * @default 0
   */
  port?: number;
  /**
   * Address to listen on. Anything but loopback makes the runs visible to the network.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * How often the metrics files are checked for new lines, in milliseconds.
   * @default 250
   */
  pollMs?: number;
  /**
   * Seconds without new lines after which a run counts as stopped.
   * @default 120
   */
  staleSeconds?: number;
}

export interface Dashboard {
  /** e.g. http://127.0.0.1:41234/ */
  url: string;
  port: number;
  /** Stops polling, ends the event streams and closes the server. */
  close(): Promise<void>;
}

/** What the run list shows. */
export interface RunListing {
  index: number;
  name: string;
  dir: string;
  status: RunStatus;
  steps: number | undefined;
}

interface RunState {
  name: string;
  dir: string;
  tail: MetricsTail;
  records: MetricRecord[];
  config: Record<string, unknown> | undefined;
  modifiedMs: number | undefined;
  status: RunStatus;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

function readConfig(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, RUN_CONFIG_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // mid-write or malformed: try again at the next poll
  }
}

function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.');
}

/**
 * Starts the dashboard server.
 * @example
 * const dashboard = await startDashboard({ runDirs: ['runs/a'], port: 0 });
 * console.log(dashboard.url); // … later: await dashboard.close();
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  if (options.runDirs.length === 0) throw new ReportError('no run folders given; pass the --out folders of one or more training runs');
  for (const dir of options.runDirs) {
    if (!existsSync(dir)) throw new ReportError(`run folder ${dir} does not exist; give the --out folder of a training run (it may be empty while the run starts)`);
  }
  const host = options.host ?? '127.0.0.1';
  const pollMs = options.pollMs ?? 250;
  const staleSeconds = options.staleSeconds ?? DEFAULT_STALE_SECONDS;
  const names = runNames(options.runDirs);
  const runs: RunState[] = options.runDirs.map((d, i) => ({
    name: names[i]!,
    dir: path.resolve(d),
    tail: new MetricsTail(path.join(d, METRICS_FILE)),
    records: [],
    config: undefined,
    modifiedMs: undefined,
    status: 'waiting',
  }));
  const title = `Kiln dashboard: ${names.join(', ')}`;
  const page = renderDashboardHtml(title, names);
  const clients = new Set<http.ServerResponse>();

  const listing = (): RunListing[] => runs.map((r, index) => ({ index, name: r.name, dir: r.dir, status: r.status, steps: r.records.at(-1)?.step }));
  const send = (client: http.ServerResponse, event: string, data: unknown): void => {
    client.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const broadcast = (event: string, data: unknown): void => {
    for (const client of clients) send(client, event, data);
  };
  const rowsOf = (run: RunState, records: readonly MetricRecord[]): MetricRow[] => metricRows(run.name, records);

  const poll = (): void => {
    let listChanged = false;
    for (const run of runs) {
      const update = run.tail.poll();
      run.modifiedMs = update.modifiedMs;
      run.config ??= readConfig(run.dir);
      if (update.reset) {
        run.records = [...update.records];
        run.config = readConfig(run.dir);
        broadcast('reset', { run: run.name, rows: rowsOf(run, run.records) });
        listChanged = true;
      } else if (update.records.length > 0) {
        run.records.push(...update.records);
        broadcast('append', { run: run.name, rows: rowsOf(run, update.records) });
        listChanged = true;
      }
      for (const e of update.errors) broadcast('warning', { message: `${run.tail.file} line ${e.line} ${e.message}; skipped` });
      const status = runStatus(run.records, run.config, run.modifiedMs, Date.now(), staleSeconds);
      if (status !== run.status) {
        run.status = status;
        listChanged = true;
      }
    }
    if (listChanged) broadcast('runs', listing());
  };
  poll();
  const timer = setInterval(poll, pollMs);
  // A comment line now and then keeps proxies and browsers from dropping an idle stream.
  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n');
  }, 15_000);

  const server = http.createServer((request, response) => {
    const refuse = (status: number, message: string): void => {
      response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(message + '\n');
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'only GET is served');
    // A page on another site must not read the runs by pointing a DNS name at 127.0.0.1.
    const hostHeader = (request.headers.host ?? '').replace(/:\d+$/, '');
    if (isLoopback(host) && !isLoopback(hostHeader)) return refuse(403, `Host '${hostHeader}' is not this machine's loopback address`);
    const rawPath = (request.url ?? '/').split('?')[0]!;
    if (rawPath === '/' || rawPath === '/index.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void response.end(page);
    }
    if (rawPath === '/api/runs') {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      return void response.end(JSON.stringify(listing()));
    }
    if (rawPath === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      clients.add(response);
      request.on('close', () => clients.delete(response));
      send(response, 'runs', listing());
      for (const run of runs) send(response, 'reset', { run: run.name, rows: rowsOf(run, run.records) });
      return;
    }
    const match = /^\/runs\/(\d+)\/(.+)$/.exec(rawPath);
    if (match !== null) {
      const run = runs[Number(match[1])];
      if (run === undefined) return refuse(404, `no run ${match[1]}; runs are numbered 0 to ${runs.length - 1}`);
      const resolved = resolveRunFile(run.dir, match[2]!);
      if (!resolved.ok) return refuse(resolved.status, resolved.reason);
      response.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(resolved.file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      if (request.method === 'HEAD') return void response.end();
      createReadStream(resolved.file).on('error', () => response.destroy()).pipe(response);
      return;
    }
    if (rawPath.startsWith('/runs/')) return refuse(403, 'only files inside the given run folders are served, as /runs/<index>/<file>');
    refuse(404, 'not found; the dashboard is at /');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      clearInterval(timer);
      clearInterval(heartbeat);
      const hint = error.code === 'EADDRINUSE' ? '; choose another --port, or 0 for any free one' : '';
      reject(new ReportError(`cannot listen on ${host}:${options.port ?? 0}: ${error.message}${hint}`));
    });
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        clearInterval(heartbeat);
        for (const client of clients) client.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
