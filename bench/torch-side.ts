/**
 * What every benchmark against PyTorch shares: Debian's python3 with python3-torch, the check
 * that it imports, child processes that print their result as one JSON line, and medians.
 */
import { spawn, spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Fails with what to install when /usr/bin/python3 cannot import torch; `script` is the npm script (its set-up step installs it). */
export function checkPythonTorch(env: NodeJS.ProcessEnv, script: string): void {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', env });
  const install =
    "This benchmark compares Kiln with Debian's PyTorch: install python3-torch " +
    `(sudo apt-get install python3-torch; 'npm run ${script}' does it in its set-up step).`;
  if (probe.error !== undefined) throw new Error(`cannot run ${PYTHON} (${probe.error.message}). ${install}`);
  if (probe.status !== 0) {
    const lastLine = probe.stderr.trim().split('\n').pop() ?? `exit status ${probe.status}`;
    throw new Error(`${PYTHON} cannot import torch (${lastLine}). ${install}`);
  }
}

/** Runs a child that prints its result as the last line of stdout (stderr passes through). */
export function runChild<T>(command: string, args: string[], env: NodeJS.ProcessEnv, name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${name} exited with code ${code}; its error is printed above`));
        return;
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${name} printed no JSON result; its output was:\n${stdout}`));
      }
    });
  });
}
