// Issue 10, acceptance 2: examples/README.md lists every example with a command that works as
// written. The long examples' commands are checked for their entry points (their functions run
// in the other tests with small sizes); hf-folder's is run as written and must print what the
// README says it prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixtures } from '../models/reference.js';

const root = path.resolve(fixtures, '..', '..');
const readme = readFileSync(path.join(root, 'examples', 'README.md'), 'utf8');
const COMMAND = /npm run build:ts && node dist\/examples\/([\w-]+)\.js/g;

test('examples/README.md gives every example a command, and every command names an example with an entry point', () => {
  const sources = readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
  const commanded = [...new Set([...readme.matchAll(COMMAND)].map((m) => m[1]!))].sort();
  assert.deepEqual(commanded, sources);
  for (const name of commanded) {
    const source = readFileSync(path.join(root, 'examples', `${name}.ts`), 'utf8');
    assert.match(source, /if \(import\.meta\.url === pathToFileURL\(process\.argv\[1\] \?\? ''\)\.href\)/, `${name}.ts runs when started with node`);
    assert.match(source, new RegExp(`node dist/examples/${name}\\.js`), `${name}.ts's comment names its command`);
    assert.ok(existsSync(path.join(root, 'dist', 'examples', `${name}.js`)), `dist/examples/${name}.js is built`);
  }
});

test('node dist/examples/hf-folder.js prints what examples/README.md shows', () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'kiln-example-readme-'));
  try {
    const run = spawnSync(process.execPath, [path.join(root, 'dist', 'examples', 'hf-folder.js')], { cwd, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    const shown = /node dist\/examples\/hf-folder\.js\n```\n\nprints\n\n```\n([\s\S]*?)```/.exec(readme);
    assert.ok(shown !== null, 'the README shows hf-folder\'s output');
    const expected = shown[1]!.trimEnd().split('\n');
    const printed = run.stdout.trimEnd().split('\n');
    assert.equal(printed.length, expected.length, run.stdout);
    // The first line starts with the folder's absolute path, which the README elides as '…'.
    assert.ok(printed[0]!.endsWith(expected[0]!.replace(/^…/, '')), printed[0]);
    assert.deepEqual(printed.slice(1), expected.slice(1));
    assert.ok(existsSync(path.join(cwd, 'runs', 'example-hf-folder', 'model.safetensors')));
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
