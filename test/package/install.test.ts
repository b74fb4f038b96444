/**
 * Kiln as a package: `npm pack`, then `npm install` of the tarball into a fresh project, as a
 * user would. The addon is built by the package's install script (npm 11 runs it once the
 * project approves it; before that, importing Kiln says how to build it); then a script that
 * imports Kiln fine-tunes a tiny model, and `npx kiln --help` and `npx kiln export onnx` work.
 * Slow (about three minutes: the install and a clean native build).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function run(command: string, args: string[], cwd: string): { status: number | null; out: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }, timeout: 600_000 });
  return { status: result.status, out: `${result.stdout}\n${result.stderr}` };
}

test('npm pack → npm install in a fresh project → import { finetune } from "kiln" and npx kiln work', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-package-'));
  const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
  assert.equal(pack.status, 0, pack.out);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball !== undefined, 'npm pack wrote a tarball');

  const project = path.join(dir, 'app');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'kiln-user-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tarball)], project);
  assert.equal(install.status, 0, install.out);
  const addon = path.join(project, 'node_modules', 'kiln', 'native', 'build', 'Release', 'kiln.node');
  if (!existsSync(addon)) {
    // npm 11 held the install script back; importing Kiln must say how to build the addon.
    const early = run(process.execPath, ['--input-type=module', '-e', "await import('kiln')"], project);
    assert.notEqual(early.status, 0);
    assert.match(early.out, /native addon is not built.*scripts\/build-addon\.cjs/s);
    const approve = run('npm', ['install-scripts', 'approve', 'kiln'], project);
    assert.equal(approve.status, 0, approve.out);
    const rebuild = run('npm', ['rebuild', 'kiln'], project);
    assert.equal(rebuild.status, 0, rebuild.out);
  }
  assert.ok(existsSync(addon), 'the install script built the addon');

  writeFileSync(
    path.join(project, 'tiny.js'),
    [
      "import { finetune, predict } from 'kiln';",
      "import { writeFileSync } from 'node:fs';",
      "const rows = ['text,label'];",
      "for (let i = 0; i < 60; i++) rows.push(i % 2 ? `storm hits the ship ${i},storm` : `the sea is calm ${i},calm`);",
      "writeFileSync('data.csv', rows.join('\\n') + '\\n');",
      "const result = await finetune({ config: { train: 'data.csv', layers: 1, heads: 2, dim: 16, blockSize: 16, maxSteps: 10, evalEvery: 10, threads: 1, out: 'run' } });",
      "console.log(JSON.stringify({ step: result.step, labels: Object.keys(predict('run/best', ['the sea is calm'])[0].probabilities) }));",
    ].join('\n'),
  );
  const tiny = run(process.execPath, ['tiny.js'], project);
  assert.equal(tiny.status, 0, tiny.out);
  assert.match(tiny.out, /\{"step":10,"labels":\["calm","storm"\]\}/);

  const help = run('npx', ['kiln', '--help'], project);
  assert.equal(help.status, 0, help.out);
  assert.match(help.out, /Usage: kiln <command>/);
  const exported = run('npx', ['kiln', 'export', 'onnx', '--model', 'run/best', '--out', 'web-model'], project);
  assert.equal(exported.status, 0, exported.out);
  assert.ok(existsSync(path.join(project, 'web-model', 'onnx', 'model.onnx')));
});
