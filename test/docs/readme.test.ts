/**
 * The README stays true: its quick start is the two npm scripts the set-up runs before, and
 * every `kiln …` command line it shows parses as written — each is run with `--help` appended,
 * which makes the command check every flag and value (an unknown flag or a bad value exits 2)
 * and then print its help instead of training.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { words } from './shell-words.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The contents of the README's ```sh blocks. */
function shellBlocks(text: string): string[] {
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Every `kiln …` command in the README's shell blocks, continuations joined. */
function kilnCommands(): string[][] {
  const commands: string[][] = [];
  for (const block of shellBlocks(README)) {
    for (const line of block.replace(/\\\n\s*/g, ' ').split('\n')) {
      const argv = words(line.trim());
      if (argv[0] === 'kiln' && !argv.includes('…')) commands.push(argv.slice(1));
    }
  }
  return commands;
}

test("the README's quick start is npm run demo and npm test, each set up first", () => {
  const quickStart = README.slice(README.indexOf('## Quick start'));
  const block = shellBlocks(quickStart)[0]!;
  assert.deepEqual(block.split('\n').filter((l) => l.trim() !== '').map((l) => words(l).join(' ')), ['npm run demo', 'npm test']);
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts['demo'], 'node dist/src/cli/main.js demo');
  assert.match(scripts['predemo']!, /scripts\/setup\.sh/);
  assert.match(scripts['pretest']!, /scripts\/setup\.sh/);
  assert.match(scripts['test']!, /^node --test/);
  assert.match(README, /npm run demo -- --quick/);
});

test('every kiln command line in the README parses as written', () => {
  const commands = kilnCommands();
  assert.ok(commands.length >= 20, `found ${commands.length} kiln commands`);
  const seen = new Set<string>();
  for (const argv of commands) {
    // `kiln launch … -- kiln pretrain …`: launch's own flags end at `--`.
    const end = argv.indexOf('--');
    const withHelp = end === -1 ? [...argv, '--help'] : [...argv.slice(0, end), '--help', ...argv.slice(end)];
    const run = spawnSync(process.execPath, [CLI, ...withHelp], { encoding: 'utf8', cwd: ROOT });
    assert.equal(run.status, 0, `kiln ${argv.join(' ')}\n${run.stderr}`);
    assert.match(run.stdout, /^Usage: kiln /, `kiln ${argv.join(' ')} printed its help`);
    seen.add(argv[0]!);
  }
  for (const command of ['demo', 'pretrain', 'finetune', 'evaluate', 'predict', 'generate', 'compare', 'report', 'serve', 'import', 'launch']) {
    if (command !== 'demo') assert.ok(seen.has(command), `the README shows kiln ${command}`);
  }
});
