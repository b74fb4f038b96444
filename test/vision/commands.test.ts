/**
 * The image-classification commands end to end, called as main.ts calls them: a small CNN
 * pretrained on 200 MNIST digits (classes 0-4) must beat chance (20%) clearly on the 5,139
 * test digits of those classes; it is then fine-tuned (head only) on a folder of PNGs with a
 * corrupt file in it, evaluated and used for predictions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { runImageEvaluate, runImageFinetune, runImagePredict, runImagePretrain } from '../../src/cli/image-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { ImageDataError } from '../../src/vision/image-data-error.js';
import { loadIdxDataset } from '../../src/vision/mnist.js';
import { scratchFolder } from '../models/reference.js';

/** Runs a command, returning its exit code and what it wrote to stdout and stderr. */
async function capture(run: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [write, writeErr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await run();
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

const dir = scratchFolder('kiln-image-commands-');
const pretrained = path.join(dir, 'pretrained');

test('pretrain: a small CNN on 40 MNIST digits per class (0-4) beats chance clearly and writes the run folder', async () => {
  const { code, stdout } = await capture(() =>
    runImagePretrain(['--task', 'image-classification', '--data', 'mnist', '--classes', '0-4', '--per-class', '40', '--epochs', '3', '--batch-size', '20', '--val-size', '200', '--lr', '0.002', '--out', pretrained, '--json']),
  );
  assert.equal(code, 0);
  // The result line (node --test's own reports to the parent also pass through process.stdout.write while it is captured).
  const result = JSON.parse([...stdout.matchAll(/\{"out".*\}/g)].at(-1)![0]) as { test_accuracy: number; steps: number };
  assert.equal(result.steps, 30); // 200 images / 20 per batch × 3 epochs
  assert.ok(result.test_accuracy > 0.6, `test accuracy ${result.test_accuracy} on 5 classes (chance 0.2)`);
  const metrics = readFileSync(path.join(pretrained, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  // An evaluation each epoch (10 steps) and a training line at the end (log-every 50).
  assert.deepEqual(metrics.map((m) => [m['step'], 'val_accuracy' in m]), [[10, true], [20, true], [30, false], [30, true]]);
  for (const m of metrics) assert.deepEqual(Object.keys(m).sort(), ['elapsed_s', 'images_per_s', 'loss', 'lr', 'step', ...('val_loss' in m ? ['val_accuracy', 'val_loss'] : [])]);
  const run = JSON.parse(readFileSync(path.join(pretrained, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(run['epochs'], 3, "the run folder's config.json holds the run's settings");
  for (const folder of ['model', 'best']) {
    const config = JSON.parse(readFileSync(path.join(pretrained, folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config['id2label'], { 0: '0', 1: '1', 2: '2', 3: '3', 4: '4' });
    assert.deepEqual(config['image_size'], [28, 28]);
    assert.deepEqual(config['normalization'], { mean: [0.1307], std: [0.3081] });
    const kiln = JSON.parse(readFileSync(path.join(pretrained, folder, 'kiln.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(kiln['task'], 'image-classification');
    assert.ok(existsSync(path.join(pretrained, folder, 'model.safetensors')));
  }
  // best/ is the checkpoint with the best validation accuracy; eval.json scores it on the test digits.
  const bestAccuracy = Math.max(...metrics.filter((m) => 'val_accuracy' in m).map((m) => m['val_accuracy']!));
  assert.equal((JSON.parse(readFileSync(path.join(pretrained, 'best', 'kiln.json'), 'utf8')) as { val_accuracy: number }).val_accuracy, bestAccuracy);
  const evalJson = JSON.parse(readFileSync(path.join(pretrained, 'eval.json'), 'utf8')) as { accuracy: number; count: number };
  assert.equal(evalJson.accuracy, result.test_accuracy);
  assert.equal(evalJson.count, 5139);

  const evaluation = await capture(() => runImageEvaluate(['--model', pretrained, '--data', 'mnist', '--json']));
  const json = JSON.parse(evaluation.stdout) as { accuracy: number; count: number; confusion: number[][] };
  assert.equal(json.count, 5139); // the test digits 0-4, matched to the model's labels by name
  assert.equal(json.confusion.flat().reduce((a, b) => a + b, 0), 5139);
  assert.ok(Math.abs(json.accuracy - result.test_accuracy) < 1e-9);
});

async function writeDigitFolder(): Promise<string> {
  const folder = path.join(dir, 'digits');
  const images = loadIdxDataset('mnist', 'test');
  const wanted: Record<string, number> = { seven: 7, one: 1 };
  for (const [name, digit] of Object.entries(wanted)) {
    mkdirSync(path.join(folder, name), { recursive: true });
    let written = 0;
    for (let i = 0; i < images.length && written < 12; i++) {
      if (images.labels[i] !== digit) continue;
      await sharp(Buffer.from(images.pixels([i])), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(path.join(folder, name, `${i}.png`));
      written++;
    }
  }
  writeFileSync(path.join(folder, 'one', 'corrupt.png'), Buffer.from('\x89PNG\r\n\x1a\n this is not a PNG body', 'latin1'));
  return folder;
}

test('finetune on an image folder with a corrupt file: error names it, skip reports it; evaluate and predict read the folder', async () => {
  const folder = await writeDigitFolder();
  const tuned = path.join(dir, 'tuned');
  const base = ['--from', pretrained, '--data', folder, '--epochs', '4', '--batch-size', '8', '--val-fraction', '0', '--lr', '0.01', '--out', tuned];
  await assert.rejects(capture(() => runImageFinetune(base)), (e: Error) => e instanceof ImageDataError && /corrupt\.png: not a readable image/.test(e.message));
  await assert.rejects(capture(() => runImageFinetune([...base, '--mode', 'lora'])), (e: Error) => e instanceof UsageError && /lora is not available/.test(e.message));
  const run = await capture(() => runImageFinetune([...base, '--mode', 'freeze', '--bad-images', 'skip']));
  assert.equal(run.code, 0);
  assert.match(run.stderr, /skipping .*corrupt\.png: .*not a readable image/);
  assert.match(run.stdout, /new head for the new labels/);
  // No validation images: best/ is the last checkpoint.
  const config = JSON.parse(readFileSync(path.join(tuned, 'best', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(config['id2label'], { 0: 'one', 1: 'seven' });
  assert.ok(readFileSync(path.join(tuned, 'best', 'model.safetensors')).equals(readFileSync(path.join(tuned, 'model', 'model.safetensors'))));

  const evaluation = await capture(() => runImageEvaluate(['--model', tuned, '--data', folder, '--bad-images', 'skip', '--json']));
  const json = JSON.parse(evaluation.stdout) as { accuracy: number; count: number; confusion: number[][] };
  assert.equal(json.count, 24);
  // Ones and sevens, trained and evaluated on the same 24 images through pretrained digit features.
  assert.ok(json.accuracy >= 0.75, `accuracy ${json.accuracy} on the 24 training images`);

  const predicted = await capture(() => runImagePredict(['--model', tuned, '--input', folder, '--json', '--top-k', '2']));
  assert.equal(predicted.code, 0);
  const lines = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; label: string; top: { probability: number }[] });
  assert.equal(lines.length, 24);
  assert.match(predicted.stderr, /skipping .*corrupt\.png/);
  for (const line of lines) {
    assert.ok(['one', 'seven'].includes(line.label));
    assert.ok(Math.abs(line.top[0]!.probability + line.top[1]!.probability - 1) < 1e-5);
  }
  const sevenFile = lines.find((l) => l.file.includes(`${path.sep}seven${path.sep}`))!.file;
  const single = await capture(() => runImagePredict(['--model', tuned, '--input', sevenFile]));
  assert.match(single.stdout, /seven.*\t(one|seven)\t0\.\d{4}\n$/);
});

test('usage mistakes are UsageErrors that say what to do', async () => {
  await assert.rejects(runImagePretrain(['--data', 'mnist']), /--out DIR is required/);
  await assert.rejects(runImagePretrain(['--data', 'mnist', '--out', dir, '--arch', 'vgg']), /arch must be one of cnn, resnet18, resnet34, vit, got "vgg"/);
  await assert.rejects(runImagePretrain(['--data', 'mnist', '--out', dir, '--task', 'causal-lm']), /--task causal-lm is not image-classification/);
  await assert.rejects(runImageFinetune(['--from', 'scratch:alexnet', '--data', 'mnist', '--out', dir]), /unknown architecture; use scratch:cnn/);
  await assert.rejects(runImageFinetune(['--from', pretrained, '--data', 'mnist', '--out', dir, '--width', '8']), /--width describes a new model/);
  const helpText = await capture(() => runImageFinetune(['--help']));
  assert.match(helpText.stdout, /--per-class N/);
});
