// Process-wide settings applied when the addon loads: threads and the OpenBLAS core type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { getNumThreads, setNumThreads } from '../../src/index.js';

const index = new URL('../../src/index.js', import.meta.url).href;

/** Loads Kiln in a fresh process with `env` and prints what the script prints. */
function inChild(env: Record<string, string | undefined>, script: string): { status: number | null; out: string; err: string } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as k from ${JSON.stringify(index)};\n${script}`], {
    env: childEnv,
    encoding: 'utf8',
  });
  return { status: run.status, out: run.stdout.trim(), err: run.stderr };
}

test('KILN_NUM_THREADS sets the thread count; the default is one per core', () => {
  assert.equal(inChild({ KILN_NUM_THREADS: '1' }, 'console.log(k.getNumThreads())').out, '1');
  assert.equal(inChild({ KILN_NUM_THREADS: undefined }, 'console.log(k.getNumThreads())').out, String(availableParallelism()));
  const bad = inChild({ KILN_NUM_THREADS: 'two' }, 'console.log(k.getNumThreads())');
  assert.notEqual(bad.status, 0);
  assert.match(bad.err, /KILN_NUM_THREADS must be a positive integer, got 'two'/);
});

test('setNumThreads changes the count and rejects nonsense', () => {
  const before = getNumThreads();
  setNumThreads(1);
  assert.equal(getNumThreads(), 1);
  setNumThreads(before);
  assert.throws(() => setNumThreads(0), /thread count must be at least 1/);
});

test('OPENBLAS_CORETYPE is set to SkylakeX on AVX-512 CPUs unless the user set it', () => {
  const avx512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const unset = inChild({ OPENBLAS_CORETYPE: undefined }, 'console.log(process.env.OPENBLAS_CORETYPE ?? "unset")').out;
  assert.equal(unset, avx512 ? 'SkylakeX' : 'unset');
  const chosen = inChild({ OPENBLAS_CORETYPE: 'Haswell' }, 'console.log(process.env.OPENBLAS_CORETYPE)').out;
  assert.equal(chosen, 'Haswell');
});
