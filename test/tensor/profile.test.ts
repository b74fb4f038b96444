// profile(): libtorch's profiler around a function, one row per op. The op counts of a small
// program are checked against those PyTorch's own profiler records for the same program
// (test/fixtures/profile.json, written by profile_reference.py); the times against each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/tensor/native.js';
import { manualSeed, randn } from '../../src/tensor/creation.js';
import { linear } from '../../src/nn/functional.js';
import { profile } from '../../src/tensor/profile.js';
import { setVectorLevel } from '../../src/tensor/fused.js';

const fixture = JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'profile.json'), 'utf8')) as {
  repeats: number;
  counts: Record<string, number>;
};

test('profile: the ops and backward nodes of linear → ReLU → sum, counted as PyTorch\'s profiler counts them', () => {
  manualSeed(0);
  const x = randn([8, 16]).requiresGrad_(true);
  const w = randn([32, 16]).requiresGrad_(true);
  const b = randn([32]).requiresGrad_(true);
  const report = profile(() => {
    for (let i = 0; i < fixture.repeats; i++) linear(x, w, b).relu().sum().backward();
  });
  const calls = (name: string): number => report.rows.find((r) => r.name === name)?.calls ?? 0;
  for (const [name, count] of Object.entries(fixture.counts)) assert.equal(calls(name), count, name);
  for (const r of report.rows) {
    assert.ok(r.calls > 0 && r.selfMs >= 0 && r.selfMs <= r.totalMs + 1e-9, `${r.name}: ${JSON.stringify(r)}`);
  }
  // nesting: aten::linear's total holds aten::addmm's; rows come largest self time first
  const row = (name: string) => report.rows.find((r) => r.name === name)!;
  assert.ok(row('aten::linear').totalMs >= row('aten::addmm').totalMs);
  assert.ok(report.rows.every((r, i) => i === 0 || report.rows[i - 1]!.selfMs >= r.selfMs));
  const inOps = report.rows.reduce((sum, r) => sum + r.selfMs, 0);
  assert.ok(inOps > 0 && inOps <= report.wallMs, `${inOps} ms in ops, ${report.wallMs} ms wall clock`);
  const table = report.table(3).split('\n');
  assert.match(table[0]!, /^op\s+calls\s+self ms\s+self %\s+total ms$/);
  assert.equal(table.length, 5);
  assert.match(table[4]!, new RegExp(`^${report.rows.length - 3} more ops; [0-9.]+ ms in ops of [0-9.]+ ms wall clock`));
});

test('profile: Kiln\'s fused kernels are rows of their own; a throw inside stops the profile and passes through; profiles do not nest', () => {
  const x = randn([64, 512]);
  const report = profile(() => {
    x.gelu('tanh');
    x.gelu('tanh');
  });
  const gelu = report.rows.find((r) => r.name === 'kiln::gelu_tanh');
  if (setVectorLevel() >= 1) assert.equal(gelu?.calls, 2, 'the fused GELU marks itself');
  else assert.equal(report.rows.find((r) => r.name === 'aten::gelu')?.calls, 2, 'without AVX2: ATen\'s GELU');
  assert.throws(() => profile(() => { throw new RangeError('inside'); }), /inside/);
  assert.throws(() => profile(() => profile(() => {})), /profile: a profile is already running; profiles do not nest/);
  // and the profiler is off again: a new profile starts
  assert.ok(profile(() => x.relu()).rows.some((r) => r.name === 'aten::relu'));
});
