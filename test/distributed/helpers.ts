/** Process helpers for the distributed tests: a free port, the CLI's path, running a child. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

// dist/test/distributed/helpers.js -> dist/src/cli/main.js
export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A TCP port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from start to exit. */
  ms: number;
}

export interface Running {
  child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<Finished>;
}

/** Starts `program args` with extra environment variables; `limitMs` kills it (SIGKILL) if it runs longer. */
export function start(program: string, args: readonly string[], env: Record<string, string> = {}, limitMs = 60_000): Running {
  const began = performance.now();
  const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const exited = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err, ms: performance.now() - began });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs the kiln CLI to completion. */
export function kiln(args: readonly string[], env: Record<string, string> = {}, limitMs = 60_000): Promise<Finished> {
  return start(process.execPath, [MAIN, ...args], env, limitMs).exited;
}

/** Resolves once `poll()` is true (checked every 20 ms); rejects after `limitMs`. */
export async function waitUntil(what: string, poll: () => boolean, limitMs = 30_000): Promise<void> {
  const began = performance.now();
  while (!poll()) {
    if (performance.now() - began > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
