import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pretrainLanguageModel } from '../../src/train/pretrain.js';
import { KNOWN_ARCHITECTURES } from '../../src/train/pretrain-config.js';
import { TINY_RUN, tinyText } from '../train/tiny-text.js';

// dist/test/cli/cli.test.js -> dist/src/cli/main.js
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function kiln(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const TINY_FLAGS = ['--layers', '2', '--heads', '2', '--dim', '32', '--block-size', '16', '--batch-size', '8', '--lr', '1e-2', '--min-lr', '1e-3', '--warmup', '5', '--eval-iters', '2', '--log-every', '1', '--threads', '1', '--seed', '5'];

/** Starts `kiln ARGS`, kills it with SIGKILL as soon as OUT/state/state.json exists, and returns that file's path. */
async function killAfterFirstCheckpoint(args: string[], out: string): Promise<string> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: 'ignore' });
  const stateFile = path.join(out, 'state', 'state.json');
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(stateFile)) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }
    }, 2);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error('the run finished before it could be killed'));
    });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return stateFile;
}

function losses(out: string): string[] {
  // step, loss and val_loss of every line, as written (exact decimal strings of the float32 values)
  return readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = JSON.parse(l) as Record<string, number>;
      return `${m['step']} ${m['loss']} ${m['val_loss']}`;
    });
}

test('kiln --help lists the commands; kiln <cmd> --help lists flags with defaults', () => {
  const top = kiln('--help');
  assert.equal(top.status, 0);
  assert.match(top.stdout, /pretrain/);
  assert.match(top.stdout, /generate/);
  const pretrain = kiln('pretrain', '--help');
  assert.equal(pretrain.status, 0);
  for (const line of ['--arch gpt|llama|bert|lstm', '--kv-heads N', '--block-size N', '(default: 64)', '--min-lr X', '(default: 0.0001)', '--resume', '--config FILE', '--time-limit DURATION', '--beta2 X', '(default: 0.99)']) {
    assert.ok(pretrain.stdout.includes(line), `pretrain --help lacks '${line}'`);
  }
  const generate = kiln('generate', '--help');
  assert.equal(generate.status, 0);
  for (const flag of ['--model DIR', '--prompt', '--max-new-tokens N', '--temperature X', '--top-k N', '--top-p X', '--seed N']) assert.ok(generate.stdout.includes(flag), flag);
});

test('kiln: unknown commands and flags name the closest valid one; bad values are clear; all exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['pretrian'], /unknown command 'pretrian'; did you mean 'pretrain'\?/],
    [['pretrain', '--layer', '3'], /unknown flag --layer; did you mean --layers\?/],
    [['generate', '--max-tokens', '3'], /unknown flag --max-tokens; did you mean --max-new-tokens\?/],
    [['pretrain', '--layers', 'three'], /--layers expects an integer, got 'three'/],
    [['pretrain', '--lr', '1e-3x'], /--lr expects a number, got '1e-3x'/],
    [['pretrain', '--time-limit', 'soon'], /--time-limit expects a duration/],
    [['pretrain', '--val-fraction', '1.5', '--out', path.join(tmpdir(), 'kiln-never-written')], /val-fraction must be a number in \[0, 1\)/],
    [['pretrain', '--arch', 'gpt', '--kv-heads', '2', '--out', path.join(tmpdir(), 'kiln-never-written')], /kv-heads applies to --arch llama only/],
    [['pretrain', '--arch', 'llama', '--heads', '4', '--kv-heads', '3', '--out', path.join(tmpdir(), 'kiln-never-written')], /heads \(4\) must be divisible by kv-heads \(3\)/],
    [['pretrain', '--arch', 'transformer'], /arch must be one of gpt, llama, bert, lstm/],
    [['generate', '--prompt', 'hi'], /--model DIR is required/],
    [['generate', '--model', path.join(tmpdir(), 'kiln-no-such-model')], /--model .*kiln-no-such-model does not exist/],
    [['pretrain', '--data', path.join(tmpdir(), 'kiln-no-such-text.txt'), '--out', path.join(tmpdir(), 'kiln-never-written')], /kiln-no-such-text\.txt: cannot read/],
    [['generate', '--model', 'x', '--top-p', '2'], /--top-p must be in \(0, 1\]/],
  ];
  for (const [args, message] of cases) {
    const result = kiln(...args);
    assert.equal(result.status, 2, `kiln ${args.join(' ')}: exit ${result.status}, stderr ${result.stderr}`);
    assert.match(result.stderr, message, `kiln ${args.join(' ')}`);
    assert.ok(result.stderr.split('\n').filter((l) => l !== '').length <= 2, `a short error, got ${result.stderr}`);
  }
  assert.ok(!existsSync(path.join(tmpdir(), 'kiln-never-written', 'metrics.jsonl')));
});

test('kiln pretrain killed with SIGKILL after a checkpoint resumes with --resume and continues with the losses of an uninterrupted run', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-cli-'));
  try {
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, tinyText());
    const config = path.join(dir, 'run.json');
    // The config file uses the flags' keys; flags add the rest.
    writeFileSync(config, JSON.stringify({ 'max-steps': 100, 'eval-every': 25, data: [text] }));
    const whole = path.join(dir, 'whole');
    const uninterrupted = kiln('pretrain', '--config', config, ...TINY_FLAGS, '--out', whole);
    assert.equal(uninterrupted.status, 0, uninterrupted.stderr);
    assert.match(uninterrupted.stdout, /step 100\/100/, 'plain progress lines when stdout is not a terminal');

    const killed = path.join(dir, 'killed');
    const stateFile = await killAfterFirstCheckpoint(['pretrain', '--config', config, ...TINY_FLAGS, '--out', killed], killed);
    const stoppedAt = (JSON.parse(readFileSync(stateFile, 'utf8')) as { step: number }).step;
    assert.ok(stoppedAt >= 25 && stoppedAt < 100, `killed at checkpoint step ${stoppedAt}`);

    const resumed = kiln('pretrain', '--out', killed, '--resume');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`resuming at step ${stoppedAt}`));
    assert.deepEqual(losses(killed), losses(whole));

    const sample = kiln('generate', '--model', path.join(killed, 'best'), '--prompt', 'the pot', '--max-new-tokens', '20', '--seed', '1', '--top-k', '5');
    assert.equal(sample.status, 0, sample.stderr);
    assert.ok(sample.stdout.startsWith('the pot') && sample.stdout.trimEnd().length === 27, sample.stdout);
    assert.equal(kiln('generate', '--model', path.join(whole, 'best'), '--prompt', 'the pot', '--max-new-tokens', '20', '--seed', '1', '--top-k', '5').stdout, sample.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln generate samples text from every architecture kiln pretrain trains', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-cli-'));
  try {
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, tinyText(100));
    for (const arch of KNOWN_ARCHITECTURES) {
      const out = path.join(dir, arch);
      await pretrainLanguageModel({ config: { ...TINY_RUN, arch, data: [text], maxSteps: 5, evalEvery: 5, evalIters: 1, threads: 1, out } });
      const args = ['generate', '--model', path.join(out, 'best'), '--prompt', 'the kiln', '--max-new-tokens', '12', '--seed', '4', '--temperature', '0.9', '--top-p', '0.95'];
      const sample = kiln(...args);
      assert.equal(sample.status, 0, `${arch}: ${sample.stderr}`);
      const printed = sample.stdout.replace(/\n$/, '');
      assert.ok(printed.startsWith('the kiln') && [...printed].length === 8 + 12, `${arch}: ${JSON.stringify(sample.stdout)}`);
      assert.equal(kiln(...args).stdout, sample.stdout, `${arch}: the same seed samples the same text`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run folder is accepted wherever a model folder is (its best/, said on the terminal); a short run scales the default warm-up', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-run-folder-'));
  try {
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, tinyText());
    const pre = path.join(dir, 'pre');
    // No --warmup: the default (100) outlasts 8 steps, so it becomes a tenth of them.
    const short = TINY_FLAGS.filter((_, i, all) => all[i] !== '--warmup' && all[i - 1] !== '--warmup');
    const pretrain = kiln('pretrain', '--data', text, '--max-steps', '8', '--eval-every', '8', '--out', pre, '--no-report', ...short);
    assert.equal(pretrain.status, 0, pretrain.stderr);
    assert.match(pretrain.stdout, /warmup 0 steps: a tenth of max-steps 8 \(the default 100 outlasts the run\)/);
    assert.match(kiln('pretrain', '--data', text, '--max-steps', '8', '--warmup', '20', '--out', path.join(dir, 'x'), ...short).stderr, /warmup \(20\) must not exceed max-steps \(8\)/);

    const generated = kiln('generate', '--model', pre, '--prompt', 'the', '--max-new-tokens', '5', '--temperature', '0');
    assert.equal(generated.status, 0, generated.stderr);
    assert.match(generated.stderr, new RegExp(`--model ${pre} is a run folder: reading its best model, ${path.join(pre, 'best')}`));

    const rows = ['text,label', ...Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `the sea ${i},calm` : `a storm ${i},storm`))];
    const data = path.join(dir, 'labels.csv');
    writeFileSync(data, rows.join('\n') + '\n');
    const tuned = path.join(dir, 'tuned');
    const finetune = kiln('finetune', '--from', pre, '--train', data, '--max-steps', '4', '--eval-every', '4', '--threads', '1', '--out', tuned, '--no-report');
    assert.equal(finetune.status, 0, finetune.stderr);
    assert.match(finetune.stdout, /--from .*pre is a run folder: reading its best model, .*pre\/best/);
    const predicted = kiln('predict', '--model', tuned, '--text', 'the sea', '--json');
    assert.equal(predicted.status, 0, predicted.stderr);
    assert.ok(['calm', 'storm'].includes((JSON.parse(predicted.stdout) as { label: string }).label));
    assert.match(predicted.stderr, /is a run folder: reading its best model/);
    const evaluated = kiln('evaluate', '--model', tuned, '--data', data, '--json');
    assert.equal(evaluated.status, 0, evaluated.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln finetune killed with SIGKILL after a checkpoint resumes with --resume: the same weights, bit for bit, and no metrics line lost or repeated', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-finetune-resume-'));
  try {
    const rows = ['text,label', ...Array.from({ length: 80 }, (_, i) => (i % 3 === 0 ? `calm grey sea ${i},calm` : `a storm ${i} hits the ship,storm`))];
    const data = path.join(dir, 'labels.csv');
    writeFileSync(data, rows.join('\n') + '\n');
    // Dropout on and class weights: the generator and the sampler must both be restored.
    const flags = ['--train', data, '--layers', '1', '--heads', '2', '--dim', '16', '--block-size', '16', '--dropout', '0.1', '--class-weights', 'auto', '--batch-size', '4', '--max-steps', '60', '--eval-every', '10', '--log-every', '5', '--threads', '1', '--no-report'];
    const whole = path.join(dir, 'whole');
    const uninterrupted = kiln('finetune', ...flags, '--out', whole);
    assert.equal(uninterrupted.status, 0, uninterrupted.stderr);

    const killed = path.join(dir, 'killed');
    const stateFile = await killAfterFirstCheckpoint(['finetune', ...flags, '--out', killed], killed);
    const stoppedAt = (JSON.parse(readFileSync(stateFile, 'utf8')) as { step: number }).step;
    assert.ok(stoppedAt >= 10 && stoppedAt < 60, `killed at checkpoint step ${stoppedAt}`);

    const resumed = kiln('finetune', '--out', killed, '--resume', '--no-report');
    assert.equal(resumed.status, 0, resumed.stderr);
    for (const file of ['model.safetensors', 'classifier.safetensors']) {
      assert.ok(readFileSync(path.join(killed, 'model', file)).equals(readFileSync(path.join(whole, 'model', file))), `model/${file} bit for bit`);
      assert.ok(readFileSync(path.join(killed, 'best', file)).equals(readFileSync(path.join(whole, 'best', file))), `best/${file} bit for bit`);
    }
    const steps = (out: string): string[] => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
      const { step, loss, val_macro_f1 } = JSON.parse(l) as Record<string, number>;
      return `${step} ${loss} ${val_macro_f1}`;
    });
    assert.deepEqual(steps(killed), steps(whole));
    const changed = kiln('finetune', '--out', killed, '--resume', '--lr', '0.5', '--no-report');
    assert.equal(changed.status, 2);
    assert.match(changed.stderr, /cannot resume with different lr \(saved 0.0003, given 0.5\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const task of ['masked LM (BERT)', 'generation'] as const) {
  test(`${task}: killed with SIGKILL after a checkpoint and resumed, the final weights equal an uninterrupted run's bit for bit, and no metrics line is lost or repeated`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-kill-matrix-'));
    try {
      let args: string[];
      if (task === 'generation') {
        const pairs = path.join(dir, 'pairs.jsonl');
        writeFileSync(pairs, Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `add ${i % 7} and ${i % 5}: `, completion: `${(i % 7) + (i % 5)}` })).join('\n') + '\n');
        args = ['finetune', '--task', 'generate', '--train', pairs, '--layers', '1', '--heads', '2', '--dim', '16', '--block-size', '24', '--dropout', '0.1', '--batch-size', '4', '--max-steps', '40', '--eval-every', '10', '--log-every', '5', '--max-new-tokens', '3', '--threads', '1', '--no-report'];
      } else {
        const text = path.join(dir, 'text.txt');
        writeFileSync(text, tinyText());
        args = ['pretrain', '--arch', 'bert', '--data', text, ...TINY_FLAGS, '--dropout', '0.1', '--grad-accumulation', '2', '--max-steps', '60', '--eval-every', '15', '--no-report'];
      }
      const whole = path.join(dir, 'whole');
      const uninterrupted = kiln(...args, '--out', whole);
      assert.equal(uninterrupted.status, 0, uninterrupted.stderr);
      const killed = path.join(dir, 'killed');
      const stateFile = await killAfterFirstCheckpoint([...args, '--out', killed], killed);
      const stoppedAt = (JSON.parse(readFileSync(stateFile, 'utf8')) as { step: number }).step;
      const resumed = kiln(args[0]!, '--out', killed, '--resume', '--no-report');
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.ok(stoppedAt > 0, `killed after the checkpoint of step ${stoppedAt}`);
      for (const folder of ['model', 'best']) {
        assert.ok(readFileSync(path.join(killed, folder, 'model.safetensors')).equals(readFileSync(path.join(whole, folder, 'model.safetensors'))), `${task}: ${folder}/model.safetensors bit for bit`);
      }
      const lines = (out: string): string[] => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
        const { elapsed_s: _e, tokens_per_s: _t, ...rest } = JSON.parse(l) as Record<string, number>;
        return JSON.stringify(rest);
      });
      assert.deepEqual(lines(killed), lines(whole));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('kiln pretrain --task image-classification killed with SIGKILL after a checkpoint resumes with --resume: the same weights (BatchNorm statistics too), bit for bit, with augmentation', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-image-resume-'));
  try {
    // A CNN (BatchNorm buffers), random crops and flips (their generator is saved with the sampler), 60 steps over 3 epochs and more.
    const flags = ['pretrain', '--task', 'image-classification', '--data', 'mnist', '--classes', '0-2', '--per-class', '20', '--val-size', '30', '--width', '4', '--batch-size', '8',
      '--max-steps', '60', '--eval-every', '10', '--log-every', '5', '--crop-padding', '2', '--flip', '--threads', '1', '--seed', '4'];
    const whole = path.join(dir, 'whole');
    const uninterrupted = kiln(...flags, '--out', whole);
    assert.equal(uninterrupted.status, 0, uninterrupted.stderr);

    const killed = path.join(dir, 'killed');
    const stateFile = await killAfterFirstCheckpoint([...flags, '--out', killed], killed);
    const stoppedAt = (JSON.parse(readFileSync(stateFile, 'utf8')) as { step: number }).step;
    assert.ok(stoppedAt >= 10 && stoppedAt < 60, `killed at checkpoint step ${stoppedAt}`);

    const resumed = kiln('pretrain', '--task', 'image-classification', '--out', killed, '--resume');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`resuming at step ${stoppedAt}`));
    for (const folder of ['model', 'best']) {
      assert.ok(readFileSync(path.join(killed, folder, 'model.safetensors')).equals(readFileSync(path.join(whole, folder, 'model.safetensors'))), `${folder}/model.safetensors bit for bit`);
    }
    const steps = (out: string): string[] => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
      const { step, loss, val_accuracy } = JSON.parse(l) as Record<string, number>;
      return `${step} ${loss} ${val_accuracy}`;
    });
    assert.deepEqual(steps(killed), steps(whole));
    assert.equal(readFileSync(path.join(killed, 'eval.json'), 'utf8'), readFileSync(path.join(whole, 'eval.json'), 'utf8'));
    const changed = kiln('pretrain', '--task', 'image-classification', '--out', killed, '--resume', '--lr', '0.5');
    assert.equal(changed.status, 2);
    assert.match(changed.stderr, /cannot resume with different lr \(saved 0.001, given 0.5\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kiln pretrain --patience N stops after N evaluations without a lower validation loss; best/ holds the best one', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-patience-'));
  try {
    const text = path.join(dir, 'text.txt');
    writeFileSync(text, tinyText());
    // With lr 0 (and no warm-up) the weights never move: the first evaluation is the best, and no later one is lower.
    const flags = TINY_FLAGS.filter((_, i, all) => !['--lr', '--min-lr', '--warmup'].includes(all[i]!) && !['--lr', '--min-lr', '--warmup'].includes(all[i - 1]!));
    const out = path.join(dir, 'run');
    const run = kiln('pretrain', '--data', text, ...flags, '--lr', '0', '--min-lr', '0', '--warmup', '0', '--max-steps', '40', '--eval-every', '2', '--patience', '2', '--out', out, '--no-report');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /done at step 6 \(earlyStopping\)/);
    const evals = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; val_loss?: number }).filter((l) => l.val_loss !== undefined);
    assert.deepEqual(evals.map((l) => l.step), [2, 4, 6]);
    const best = JSON.parse(readFileSync(path.join(out, 'best', 'kiln.json'), 'utf8')) as { step: number };
    assert.equal(best.step, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output piped into a reader that has gone (kiln … | head): kiln exits 0 without a stack trace', async () => {
  const child = spawn(process.execPath, [MAIN, 'pretrain', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader closes before kiln writes: its write fails with EPIPE
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});
