import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateModel, predict } from '../../src/finetune/evaluate.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { finetune } from '../../src/finetune/finetune.js';
import { resolveFinetuneConfig } from '../../src/finetune/finetune-config.js';
import type { ClassifierEvaluation } from '../../src/finetune/classify-eval.js';
import type { GenerationEvaluation } from '../../src/finetune/generation.js';
import { ConfigError } from '../../src/train/config-error.js';
import { imbalancedCsv } from './imbalance.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'kiln-finetune-'));
const TINY = { layers: 1, heads: 2, dim: 16, blockSize: 16, threads: 1 };

function kiln(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('config: defaults, layering, kebab-case keys and errors', () => {
  const config = resolveFinetuneConfig({ 'class-weights': '1,10', 'lora-targets': 'q_proj,v_proj' }, { mode: 'lora', 'time-limit': '2m' });
  assert.deepEqual(config.classWeights, [1, 10]);
  assert.deepEqual(config.loraTargets, ['q_proj', 'v_proj']);
  assert.equal(config.timeLimit, 120);
  assert.equal(config.metric, 'auto');
  // The learning rate follows the mode unless given; the floor is a tenth of the peak.
  assert.deepEqual([config.lr, config.minLr], [3e-3, 3e-4], 'lora');
  assert.deepEqual([resolveFinetuneConfig().lr, resolveFinetuneConfig().minLr], [3e-4, 3e-5], 'full');
  assert.deepEqual([resolveFinetuneConfig({ mode: 'freeze' }).lr, resolveFinetuneConfig({ mode: 'freeze', minLr: 0 }).minLr], [3e-3, 0], 'freeze');
  assert.deepEqual([resolveFinetuneConfig({ mode: 'lora', lr: 2e-5 }).lr, resolveFinetuneConfig({ mode: 'lora', lr: 2e-5 }).minLr], [2e-5, 2e-6], 'a given lr');
  assert.throws(() => resolveFinetuneConfig({ lr: 1e-5, minLr: 1e-4 }), /min-lr \(0.0001\) must not exceed lr/);
  assert.throws(() => resolveFinetuneConfig({ mod: 'lora' }), (e: Error) => e instanceof ConfigError && /unknown setting 'mod'/.test(e.message));
  assert.throws(() => resolveFinetuneConfig({ mode: 'half' }), /mode must be one of full, freeze, lora/);
  assert.throws(() => resolveFinetuneConfig({ classWeights: '1,-2' }), /class-weights/);
  assert.throws(() => resolveFinetuneConfig({ task: 'generate', metric: 'macro_f1' }), /does not apply/);
});

test('class weights auto raise minority recall and macro-F1 on a 10:1 task', async () => {
  writeFileSync(path.join(dir, 'imb-train.csv'), imbalancedCsv(600, 60, 1));
  writeFileSync(path.join(dir, 'imb-test.csv'), imbalancedCsv(500, 50, 2));
  const results: Record<string, ClassifierEvaluation> = {};
  for (const classWeights of ['none', 'auto'] as const) {
    const result = await finetune({
      config: {
        ...TINY,
        train: path.join(dir, 'imb-train.csv'),
        test: path.join(dir, 'imb-test.csv'),
        valFraction: 0.2,
        pooling: 'mean',
        maxSteps: 80,
        evalEvery: 40,
        batchSize: 32,
        lr: 1e-2,
        minLr: 1e-3,
        classWeights,
        metric: 'loss', // the same selection rule for both, blind to the metric compared
        out: path.join(dir, `imb-${classWeights}`),
      },
    });
    results[classWeights] = result.test as ClassifierEvaluation;
  }
  const rare = (r: ClassifierEvaluation): number => r.perClass.find((c) => c.label === 'rare')!.recall;
  assert.ok(rare(results['auto']!) > rare(results['none']!), `minority recall: auto ${rare(results['auto']!)}, none ${rare(results['none']!)}`);
  assert.ok(results['auto']!.macro_f1 > results['none']!.macro_f1, `macro-F1: auto ${results['auto']!.macro_f1}, none ${results['none']!.macro_f1}`);
});

test('generation fine-tuning learns to reverse letter strings (≥ 90% exact match on held-out prompts); kiln generate and evaluate serve the folder', async () => {
  let state = 7;
  const next = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0), (state >>> 8) % n);
  const lines: string[] = [];
  for (let i = 0; i < 600; i++) {
    const word = Array.from({ length: 3 + next(3) }, () => 'abcdef'[next(6)]!).join('');
    lines.push(JSON.stringify({ prompt: `${word}>`, completion: [...word].reverse().join('') }));
  }
  const file = path.join(dir, 'reverse.jsonl');
  writeFileSync(file, lines.slice(0, 540).join('\n') + '\n');
  writeFileSync(path.join(dir, 'reverse-test.jsonl'), lines.slice(540).join('\n') + '\n');
  const out = path.join(dir, 'reverse');
  const result = await finetune({
    config: { task: 'generate', train: file, test: path.join(dir, 'reverse-test.jsonl'), valFraction: 0.1, layers: 2, heads: 4, dim: 64, blockSize: 16, dropout: 0, maxSteps: 150, evalEvery: 75, batchSize: 32, lr: 3e-3, minLr: 3e-4, threads: 1, out },
  });
  const test = result.test as GenerationEvaluation;
  // Held-out prompts the model never saw, scored against reversals computed here.
  const held = lines.slice(540).map((l) => JSON.parse(l) as { prompt: string; completion: string });
  const correct = test.completions.filter((c, i) => c === [...held[i]!.prompt.slice(0, -1)].reverse().join('')).length;
  assert.ok(correct / held.length >= 0.9, `exact match ${correct}/${held.length}`);
  assert.equal(test.exact_match, correct / held.length);

  const generated = kiln('generate', '--model', path.join(out, 'best'), '--prompt', 'abcde>', '--max-new-tokens', '5', '--temperature', '0');
  assert.equal(generated.status, 0, generated.stderr);
  assert.match(generated.stdout, /^abcde>edcba/);
  // --device cpu names the device auto picks on a machine without a GPU: the same tokens.
  const onCpu = kiln('generate', '--model', path.join(out, 'best'), '--prompt', 'abcde>', '--max-new-tokens', '5', '--temperature', '0', '--device', 'cpu');
  assert.equal(onCpu.stdout, generated.stdout, onCpu.stderr);
  const report = kiln('evaluate', '--model', path.join(out, 'best'), '--data', path.join(dir, 'reverse-test.jsonl'), '--json', '--max-new-tokens', '8', '--device', 'cpu');
  assert.equal(report.status, 0, report.stderr);
  const json = JSON.parse(report.stdout) as { task: string; exact_match: number; rouge_l: number; perplexity: number };
  assert.equal(json.task, 'generate');
  assert.ok(json.exact_match >= 0.9 && json.rouge_l >= 0.9 && json.perplexity >= 1);

  const wrongTask = kiln('predict', '--model', path.join(out, 'best'), '--text', 'abc>');
  assert.equal(wrongTask.status, 2);
  assert.match(wrongTask.stderr, /is a causal-lm model folder, not a classifier/);
  assert.equal(wrongTask.stderr.trim().split('\n').length, 1);
});

test('kiln finetune → evaluate → predict on a CSV task; errors are one line with exit code 2', () => {
  const rows = ['text,label'];
  for (let i = 0; i < 120; i++) rows.push(i % 3 === 0 ? `rain and storm ${i},bad` : `sun and calm ${i},good`);
  const data = path.join(dir, 'weather.csv');
  writeFileSync(data, rows.join('\n') + '\n');
  const out = path.join(dir, 'weather');
  const run = kiln('finetune', '--train', data, '--out', out, '--layers', '1', '--heads', '2', '--dim', '16', '--block-size', '24', '--max-steps', '40', '--eval-every', '20', '--lr', '5e-3', '--threads', '1', '--json');
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { test: { accuracy: number }; best_step: number };
  assert.ok(summary.test.accuracy > 0.9, `test accuracy ${summary.test.accuracy}`);
  for (const name of ['config.json', 'model.safetensors', 'classifier.safetensors', 'tokenizer.json', 'kiln.json']) assert.ok(existsSync(path.join(out, 'best', name)), name);
  const config = JSON.parse(readFileSync(path.join(out, 'best', 'config.json'), 'utf8')) as { id2label: Record<string, string>; label2id: Record<string, number> };
  assert.deepEqual(config.id2label, { 0: 'bad', 1: 'good' });
  assert.deepEqual(config.label2id, { bad: 0, good: 1 });
  const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  assert.ok(metrics.some((m) => m['val_macro_f1'] !== undefined && m['val_accuracy'] !== undefined && m['loss'] !== undefined && m['elapsed_s'] !== undefined));

  const evaluated = kiln('evaluate', '--model', path.join(out, 'best'), '--data', data, '--json');
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const report = JSON.parse(evaluated.stdout) as { count: number; accuracy: number; confusion: number[][] };
  assert.equal(report.count, 120);
  assert.equal(report.confusion.flat().reduce((a, b) => a + b, 0), 120);
  assert.deepEqual(evaluateModel(path.join(out, 'best'), data), { ...report }, 'the library call and the CLI agree');

  const predicted = kiln('predict', '--model', path.join(out, 'best'), '--text', 'rain and storm 3', '--json');
  assert.equal(predicted.status, 0, predicted.stderr);
  const p = JSON.parse(predicted.stdout) as { label: string; probabilities: Record<string, number> };
  assert.equal(p.label, 'bad');
  assert.ok(Math.abs(p.probabilities['bad']! + p.probabilities['good']! - 1) < 1e-5);
  writeFileSync(path.join(dir, 'inputs.txt'), 'sun and calm 1\nrain and storm 3\n');
  const many = kiln('predict', '--model', path.join(out, 'best'), '--input', path.join(dir, 'inputs.txt'));
  assert.deepEqual(many.stdout.trim().split('\n').map((l) => l.split('\t')[0]), ['good', 'bad']);
  assert.deepEqual(predict(path.join(out, 'best'), ['sun and calm 1']).map((x) => x.label), ['good']);

  writeFileSync(path.join(dir, 'empty.csv'), '');
  writeFileSync(path.join(dir, 'unknown.csv'), 'text,label\nfog,meh\n');
  const cases: [string[], RegExp][] = [
    [['evaluate', '--model', path.join(out, 'best'), '--data', data, '--label-column', 'class'], /no "class" column/],
    [['evaluate', '--model', path.join(out, 'best'), '--data', path.join(dir, 'empty.csv')], /empty\.csv: is empty/],
    [['evaluate', '--model', path.join(out, 'best'), '--data', path.join(dir, 'unknown.csv')], /unknown label "meh"/],
    [['predict', '--model', dir, '--text', 'x'], /not a model folder/],
    [['finetune', '--train', data, '--text-column', 'body', '--out', path.join(dir, 'x')], /no "body" column/],
  ];
  for (const [args, pattern] of cases) {
    const result = kiln(...args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
});

test('freeze trains only the head; scratch Llama and BERT backbones fine-tune and load back', async () => {
  const rows = ['text,label'];
  for (let i = 0; i < 60; i++) rows.push(i % 2 === 0 ? `aaa ${i},x` : `bbb ${i},y`);
  const data = path.join(dir, 'ab.csv');
  writeFileSync(data, rows.join('\n') + '\n');
  const frozen = await finetune({ config: { ...TINY, train: data, mode: 'freeze', maxSteps: 4, evalEvery: 4, out: path.join(dir, 'frozen') } });
  assert.equal(frozen.trainable.trainableParameters, 16 * 2 + 2, 'the head: (C, K) weight and K biases');
  for (const arch of ['llama', 'bert'] as const) {
    const out = path.join(dir, arch);
    const result = await finetune({ config: { ...TINY, from: `scratch:${arch}`, train: data, maxSteps: 4, evalEvery: 4, out } });
    assert.equal(result.step, 4);
    const kilnJson = JSON.parse(readFileSync(path.join(out, 'best', 'kiln.json'), 'utf8')) as { architecture: string; pooling: string };
    assert.deepEqual([kilnJson.architecture, kilnJson.pooling], [arch, arch === 'bert' ? 'cls' : 'last']);
    const report = evaluateModel(path.join(out, 'best'), data);
    assert.equal(report.count, 60);
  }
});

test('gradient accumulation: 4 micro-batches of 4 train the weights one batch of 16 does (1e-5), for classification and generation', async () => {
  const rows = ['text,label'];
  for (let i = 0; i < 64; i++) rows.push(i % 3 === 0 ? `calm grey sea number ${i},calm` : `a storm ${i} hits,storm`);
  const labelled = path.join(dir, 'accumulate.csv');
  writeFileSync(labelled, rows.join('\n') + '\n');
  const pairs = path.join(dir, 'accumulate.jsonl');
  writeFileSync(pairs, Array.from({ length: 48 }, (_, i) => JSON.stringify({ prompt: `add ${i % 7} and ${i % 5}: `, completion: `${(i % 7) + (i % 5)}${'!'.repeat(i % 4)}` })).join('\n') + '\n');
  for (const [task, train, files] of [['classify', labelled, ['model.safetensors', 'classifier.safetensors']], ['generate', pairs, ['model.safetensors']]] as const) {
    const weights: Record<string, Record<string, Float32Array>> = {};
    for (const [name, batchSize, gradAccumulation] of [['whole', 16, 1], ['micro', 4, 4]] as const) {
      const out = path.join(dir, `accumulate-${task}-${name}`);
      await finetune({ config: { ...TINY, task, train, dropout: 0, classWeights: task === 'classify' ? 'auto' : 'none', batchSize, gradAccumulation, maxSteps: 6, evalEvery: 6, lr: 1e-2, testFraction: 0, out } });
      weights[name] = {};
      for (const file of files) {
        for (const [key, t] of Object.entries(loadSafetensors(path.join(out, 'model', file)).tensors)) weights[name]![`${file}:${key}`] = t.toTypedArray() as Float32Array;
      }
    }
    let worst = 0;
    let moved = 0;
    for (const [key, whole] of Object.entries(weights['whole']!)) {
      const micro = weights['micro']![key]!;
      for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i]! - micro[i]!));
      moved++;
    }
    assert.ok(moved > 5, `${task}: weights compared`);
    assert.ok(worst < 1e-5, `${task}: largest difference ${worst}`);
  }
});
