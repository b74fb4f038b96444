import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { tinyText } from '../train/tiny-text.js';
import { freePort, kiln } from './helpers.js';

// 1 layer, dim 32, block 16: small enough that three runs of 50 steps take a few seconds.
// lr 1e-3: the two runs differ only by float32 rounding (a 2B-row mean versus the average of
// two B-row means), and Adam amplifies that drift with the step size — measured here, the
// largest parameter difference after 50 steps was 3.1e-6 at lr 1e-3 but 5e-4 at lr 1e-2
// (3.6e-6 already after 5 steps).
const TINY = ['--layers', '1', '--heads', '2', '--dim', '32', '--block-size', '16', '--lr', '1e-3', '--min-lr', '1e-4', '--warmup', '5', '--eval-iters', '2', '--threads', '1', '--seed', '7'];

function scratch(): { dir: string; text: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-ddp-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, tinyText(300));
  return { dir, text };
}

function metricLines(out: string): Record<string, number>[] {
  return readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, number>);
}

test('acceptance 1: two ranks with batch B end with the parameters of one process with batch 2B (50 steps, to 1e-5)', async (t) => {
  const { dir, text } = scratch();
  try {
    const base = ['pretrain', '--data', text, ...TINY, '--log-every', '10'];
    const run = [...base, '--max-steps', '50', '--eval-every', '50'];
    const single = await kiln([...run, '--batch-size', '8', '--out', path.join(dir, 'single')]);
    assert.equal(single.code, 0, single.stderr);
    const port = await freePort();
    const ddp = await kiln(['launch', '--nproc-per-node', '2', '--master-port', String(port), '--', 'kiln', ...run, '--batch-size', '4', '--out', path.join(dir, 'ddp')]);
    assert.equal(ddp.code, 0, ddp.stderr);
    assert.match(ddp.stdout, /\[rank 0\] done at step 50/);
    assert.doesNotMatch(ddp.stdout, /\[rank 1\] (step|done)/, 'only rank 0 reports');

    const a = loadSafetensors(path.join(dir, 'single', 'model', 'model.safetensors')).tensors;
    const b = loadSafetensors(path.join(dir, 'ddp', 'model', 'model.safetensors')).tensors;
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
    let worst = 0;
    for (const [name, t] of Object.entries(a)) worst = Math.max(worst, t.sub(b[name]!).abs().max().item());
    assert.ok(worst < 1e-5, `largest parameter difference ${worst}`);
    t.diagnostic(`largest parameter difference, 2 ranks × B=4 vs 1 process × B=8: ${worst}`);

    // Interrupted by a time limit (the ranks agree on the step to stop at) and resumed: the same parameters again.
    const first = await kiln(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'kiln', ...run, '--batch-size', '4', '--time-limit', '0.1s', '--out', path.join(dir, 'resumed')]);
    assert.equal(first.code, 0, first.stderr);
    const stoppedAt = Number(/done at step (\d+)/.exec(first.stdout)?.[1]);
    assert.ok(stoppedAt < 50, `the time limit stopped the run at step ${stoppedAt}`);
    const second = await kiln(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'kiln', ...run, '--batch-size', '4', '--time-limit', '1h', '--resume', '--out', path.join(dir, 'resumed')]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`resuming at step ${stoppedAt}`));
    const c = loadSafetensors(path.join(dir, 'resumed', 'model', 'model.safetensors')).tensors;
    let worstResumed = 0;
    for (const [name, t] of Object.entries(a)) worstResumed = Math.max(worstResumed, t.sub(c[name]!).abs().max().item());
    t.diagnostic(`stopped at step ${stoppedAt} and resumed: largest difference ${worstResumed}`);
    assert.ok(worstResumed < 1e-5, `largest parameter difference after stopping at step ${stoppedAt} and resuming: ${worstResumed}`);
    // Rank 0 alone wrote the log: one line per log step and eval, with the mean loss over both ranks.
    const s = metricLines(path.join(dir, 'single'));
    assert.ok(s[4]!['loss']! < s[0]!['loss']!, 'the runs compared did learn'); // steps 50 and 10
    const d = metricLines(path.join(dir, 'ddp'));
    assert.deepEqual(d.map((l) => l['step']), s.map((l) => l['step']));
    for (const [i, line] of s.entries()) {
      if (line['val_loss'] === undefined) assert.ok(Math.abs(line['loss']! - d[i]!['loss']!) < 1e-4, `loss at step ${line['step']}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('masked-LM pretraining under kiln launch: two ranks with batch B end with the parameters of one process with batch 2B (BERT, 20 steps, to 1e-5)', async (t) => {
  const { dir, text } = scratch();
  try {
    const run = ['pretrain', '--arch', 'bert', '--data', text, ...TINY, '--dropout', '0', '--max-steps', '20', '--eval-every', '10', '--log-every', '10'];
    const single = await kiln([...run, '--batch-size', '8', '--out', path.join(dir, 'single')]);
    assert.equal(single.code, 0, single.stderr);
    const ddp = await kiln(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'kiln', ...run, '--batch-size', '4', '--out', path.join(dir, 'ddp')]);
    assert.equal(ddp.code, 0, ddp.stderr);
    const a = loadSafetensors(path.join(dir, 'single', 'state', 'model-20', 'weights.safetensors')).tensors;
    const b = loadSafetensors(path.join(dir, 'ddp', 'state', 'model-20', 'weights.safetensors')).tensors;
    let worst = 0;
    for (const [name, tensor] of Object.entries(a)) worst = Math.max(worst, tensor.sub(b[name]!).abs().max().item());
    t.diagnostic(`bert: largest parameter difference, 2 ranks × B=4 vs 1 process × B=8: ${worst}`);
    assert.ok(worst < 1e-5, `largest parameter difference ${worst}`);
    // (val_loss is estimated on eval-iters × B windows, so B = 4 and B = 8 estimate it on different windows.)
    assert.deepEqual(metricLines(path.join(dir, 'ddp')).map((l) => l['step']), metricLines(path.join(dir, 'single')).map((l) => l['step']));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln launch: a rank that fails stops the others and launch exits with its code', async () => {
  const script = "if (process.env.RANK === '1') { console.error('rank one fails'); process.exit(3); } setTimeout(() => {}, 60000);";
  const run = await kiln(['launch', '--nproc-per-node', '3', '--master-port', String(await freePort()), '--', process.execPath, '-e', script]);
  assert.equal(run.code, 3);
  assert.match(run.stderr, /\[rank 1\] rank one fails/);
  assert.match(run.stderr, /kiln launch: rank 1 exited with code 3; stopping the other ranks/);
  assert.ok(run.ms < 20_000, `launch took ${run.ms} ms`);
  const env = await kiln(['launch', '--nproc-per-node', '2', '--nnodes', '2', '--node-rank', '1', '--master-addr', '10.9.8.7', '--master-port', '4321', '--', process.execPath, '-e',
    "console.log([process.env.RANK, process.env.WORLD_SIZE, process.env.LOCAL_RANK, process.env.MASTER_ADDR, process.env.MASTER_PORT].join(' '))"]);
  assert.equal(env.code, 0, env.stderr);
  assert.match(env.stdout, /\[rank 2\] 2 4 0 10\.9\.8\.7 4321/);
  assert.match(env.stdout, /\[rank 3\] 3 4 1 10\.9\.8\.7 4321/);
  const usage = await kiln(['launch', '--nproc-per-node', '2']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /no command to run; put it after `--`/);
});

test('image classification under kiln launch: two ranks with batch B end with the parameters of one process with batch 2B (ViT, to 1e-5)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-ddp-images-'));
  try {
    const run = ['pretrain', '--task', 'image-classification', '--data', 'mnist', '--classes', '0-2', '--per-class', '16', '--val-size', '24', '--arch', 'vit', '--patch-size', '7',
      '--hidden-size', '16', '--layers', '1', '--heads', '2', '--lr', '1e-3', '--max-steps', '8', '--eval-every', '4', '--threads', '1'];
    const single = await kiln([...run, '--batch-size', '8', '--out', path.join(dir, 'single')]);
    assert.equal(single.code, 0, single.stderr);
    const ddp = await kiln(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'kiln', ...run, '--batch-size', '4', '--out', path.join(dir, 'ddp')]);
    assert.equal(ddp.code, 0, ddp.stderr);
    assert.match(ddp.stdout, /\[rank 0\] done at step 8/);
    assert.doesNotMatch(ddp.stdout, /\[rank 1\] done/, 'only rank 0 reports');
    const a = loadSafetensors(path.join(dir, 'single', 'model', 'model.safetensors')).tensors;
    const b = loadSafetensors(path.join(dir, 'ddp', 'model', 'model.safetensors')).tensors;
    let worst = 0;
    for (const [name, tensor] of Object.entries(a)) worst = Math.max(worst, tensor.sub(b[name]!).abs().max().item());
    t.diagnostic(`images: largest parameter difference, 2 ranks × B=4 vs 1 process × B=8: ${worst}`);
    assert.ok(worst < 1e-5, `largest parameter difference ${worst}`);
    assert.deepEqual(metricLines(path.join(dir, 'ddp')).map((l) => [l['step'], l['val_accuracy']]), metricLines(path.join(dir, 'single')).map((l) => [l['step'], l['val_accuracy']]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fine-tuning under kiln launch: two ranks with batch B end with the parameters of one process with batch 2B (classification with class weights and generation, to 1e-5)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-ddp-finetune-'));
  try {
    const labelled = path.join(dir, 'labels.csv');
    writeFileSync(labelled, ['text,label', ...Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? `calm sea ${i},calm` : `storm ${i} hits,storm`))].join('\n') + '\n');
    const pairs = path.join(dir, 'pairs.jsonl');
    writeFileSync(pairs, Array.from({ length: 48 }, (_, i) => JSON.stringify({ prompt: `add ${i % 7} and ${i % 5}: `, completion: `${(i % 7) + (i % 5)}${'!'.repeat(i % 4)}` })).join('\n') + '\n');
    const common = ['--layers', '1', '--heads', '2', '--dim', '16', '--block-size', '24', '--dropout', '0', '--lr', '1e-3', '--max-steps', '12', '--eval-every', '6', '--test-fraction', '0', '--threads', '1', '--no-report'];
    for (const [task, train, extra] of [['classify', labelled, ['--class-weights', 'auto']], ['generate', pairs, []]] as const) {
      const run = ['finetune', '--task', task, '--train', train, ...common, ...extra];
      const single = await kiln([...run, '--batch-size', '8', '--out', path.join(dir, `${task}-single`)]);
      assert.equal(single.code, 0, single.stderr);
      const ddp = await kiln(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'kiln', ...run, '--batch-size', '4', '--out', path.join(dir, `${task}-ddp`)]);
      assert.equal(ddp.code, 0, ddp.stderr);
      assert.match(ddp.stdout, /\[rank 0\] done at step 12/);
      assert.doesNotMatch(ddp.stdout, /\[rank 1\] done/, 'only rank 0 reports');
      let worst = 0;
      for (const file of task === 'classify' ? ['model.safetensors', 'classifier.safetensors'] : ['model.safetensors']) {
        const a = loadSafetensors(path.join(dir, `${task}-single`, 'model', file)).tensors;
        const b = loadSafetensors(path.join(dir, `${task}-ddp`, 'model', file)).tensors;
        for (const [name, tensor] of Object.entries(a)) worst = Math.max(worst, tensor.sub(b[name]!).abs().max().item());
      }
      t.diagnostic(`${task}: largest parameter difference, 2 ranks × B=4 vs 1 process × B=8: ${worst}`);
      assert.ok(worst < 1e-5, `${task}: largest parameter difference ${worst}`);
      assert.deepEqual(metricLines(path.join(dir, `${task}-ddp`)).map((l) => l['step']), metricLines(path.join(dir, `${task}-single`)).map((l) => l['step']));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
