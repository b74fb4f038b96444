/**
 * The README's bad-input catalogue, run as written: every row of the table under "Bad input:
 * what Kiln says" is a command that must exit with status 2 and print the row's message — one or
 * two lines on stderr, no stack trace. `$D` in a row is a folder filled with the bad files the
 * rows name. Used by `npm test` (test/cli/bad-input.test.ts) and `npm run test:reliability`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { words } from '../../test/docs/shell-words.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // dist/bench/reliability -> the repository
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** The bad files the catalogue's rows read. */
function prepare(dir: string): void {
  const files: Record<string, string | Buffer> = {
    'empty.csv': '',
    'nolabel.csv': 'text\nhello\n',
    'onelabel.csv': 'text,label\nhi,a\n',
    'bad.jsonl': '{"text":"a","label":"x"}\n{"text": \n',
    'tiny.txt': 'the sea and the ship. ',
    'notjson.json': '{',
    'array.json': '[1,2]',
    'unknown.json': '{"max-stepz": 5}',
    'trunc.safetensors': 'abc',
    'corrupt.png': 'not a png',
    'ckpt.bin': Buffer.from([0, 1]),
    'pairs.jsonl': '{"prompt":"a","completion":"b"}\n'.repeat(40),
    'model.json': 'plain text',
    'gpt2bad/config.json': '{"model_type":"gpt2","n_embd":"wide"}',
    'gpt2bad/model.safetensors': 'xxxx',
    'torn/state/state.json': '{',
  };
  mkdirSync(path.join(dir, 'emptydir'), { recursive: true });
  mkdirSync(path.join(dir, 'gpt2bad'), { recursive: true });
  mkdirSync(path.join(dir, 'torn', 'state'), { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
}

/** The catalogue's rows: [command after `kiln`, message]. */
export function catalogue(): [string, string][] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Bad input: what Kiln says'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('|---')));
  return [...table.matchAll(/^\| `kiln (.+?)` \| (.+) \|$/gm)].map((m) => [m[1]!, m[2]!.replace(/\\\|/g, '|')]);
}

function run(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** Runs every row (two at a time); returns the rows and what went wrong (empty when all pass). */
export async function runBadInputCatalogue(): Promise<{ rows: number; failures: string[] }> {
  const rows = catalogue();
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bad-input-'));
  const failures: string[] = [];
  try {
    prepare(dir);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < rows.length) {
        const [command, message] = rows[next++]!;
        const args = words(command).map((w) => w.replaceAll('$D', dir));
        const { code, stderr } = await run(args, dir);
        const said = stderr.replaceAll(dir, '$D').trim();
        const lines = said.split('\n').filter((l) => l.trim() !== '');
        if (code !== 2) failures.push(`kiln ${command}: exit ${code}, said ${said}`);
        else if (!said.includes(message.endsWith(' …') ? message.slice(0, -2) : message)) failures.push(`kiln ${command}: said ${JSON.stringify(said)}, the README shows ${JSON.stringify(message)}`);
        else if (lines.length > 2 || /\n\s+at /.test(said)) failures.push(`kiln ${command}: not a short error: ${said}`);
      }
    };
    await Promise.all([worker(), worker()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows: rows.length, failures };
}
