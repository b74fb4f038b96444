/**
 * Detection data from files: a YOLO folder and a COCO JSON file written from digit canvases read
 * back with the canvases' boxes (also when resized), one-line errors naming the file and line, and
 * `kiln pretrain|finetune --task detect` on a YOLO folder and on the built-in digits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { digitCanvases } from '../../src/vision/detection/detection-data.js';
import { readDetectionFiles } from '../../src/vision/detection/detection-files.js';
import { scratchFolder } from '../models/reference.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const kiln = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });

const dir = scratchFolder('kiln-detect-files-');
const canvases = digitCanvases({ split: 'train', classes: [3, 8], count: 12, seed: 4, maxDigits: 3 });
const S = canvases.width;

async function writeSets(): Promise<{ yolo: string; coco: string }> {
  const yolo = path.join(dir, 'yolo');
  mkdirSync(path.join(yolo, 'images', 'sub'), { recursive: true });
  mkdirSync(path.join(yolo, 'labels', 'sub'), { recursive: true });
  writeFileSync(path.join(yolo, 'classes.txt'), 'three\neight\n');
  const coco = { images: [] as object[], annotations: [] as object[], categories: [{ id: 7, name: 'eight' }, { id: 2, name: 'three' }] };
  for (let n = 0; n < canvases.objects.length; n++) {
    const name = n < 6 ? `c${n}` : path.join('sub', `c${String(n).padStart(2, '0')}`); // sorted names keep the order
    const png = await sharp(Buffer.from(canvases.pixels.subarray(n * S * S, (n + 1) * S * S)), { raw: { width: S, height: S, channels: 1 } }).png().toBuffer();
    writeFileSync(path.join(yolo, 'images', `${name}.png`), png);
    const lines = canvases.objects[n]!.map((b) => `${b.label} ${(b.x + b.width / 2) / S} ${(b.y + b.height / 2) / S} ${b.width / S} ${b.height / S}`);
    writeFileSync(path.join(yolo, 'labels', `${name}.txt`), lines.join('\n') + '\n');
    coco.images.push({ id: 100 + n, file_name: `yolo/images/${name}.png` });
    for (const b of canvases.objects[n]!) coco.annotations.push({ image_id: 100 + n, category_id: b.label === 0 ? 2 : 7, bbox: [b.x, b.y, b.width, b.height] });
  }
  const cocoFile = path.join(dir, 'coco.json');
  writeFileSync(cocoFile, JSON.stringify(coco));
  return { yolo, coco: cocoFile };
}
const sets = writeSets();

const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-6;

test('a YOLO folder and a COCO file give the boxes and pixels they were written from, and scale boxes with a resize', async () => {
  const { yolo, coco } = await sets;
  const fromYolo = await readDetectionFiles(yolo, { size: S, channels: 1 });
  assert.deepEqual(fromYolo.classNames, ['three', 'eight']);
  // images/ is read in sorted order: c0..c5, then sub/c6..c11.
  assert.deepEqual(fromYolo.pixels, canvases.pixels);
  fromYolo.objects.forEach((objects, n) => {
    const want = canvases.objects[n]!;
    assert.equal(objects.length, want.length);
    objects.forEach((b, i) => assert.ok(near(b.x, want[i]!.x) && near(b.y, want[i]!.y) && near(b.width, want[i]!.width) && near(b.height, want[i]!.height) && b.label === want[i]!.label, `image ${n} box ${i}`));
  });
  const fromCoco = await readDetectionFiles(coco, { size: S / 2, channels: 3 });
  assert.deepEqual(fromCoco.classNames, ['three', 'eight']); // categories by id: 2 (three), 7 (eight)
  assert.equal(fromCoco.pixels.length, 12 * 3 * (S / 2) * (S / 2));
  fromCoco.objects.forEach((objects, n) => {
    const want = canvases.objects[n]!;
    objects.forEach((b, i) => assert.ok(near(b.x, want[i]!.x / 2) && near(b.width, want[i]!.width / 2) && b.label === want[i]!.label, `image ${n} box ${i} at half size`));
  });
});

test('malformed detection files are one-line errors naming the file and line', async () => {
  const { yolo } = await sets;
  const bad = path.join(dir, 'bad-yolo');
  mkdirSync(path.join(bad, 'images'), { recursive: true });
  mkdirSync(path.join(bad, 'labels'), { recursive: true });
  writeFileSync(path.join(bad, 'images', 'a.png'), readFileSync(path.join(yolo, 'images', 'c0.png')));
  writeFileSync(path.join(bad, 'labels', 'a.txt'), '0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n');
  await assert.rejects(readDetectionFiles(bad, { size: S, channels: 1 }), /a\.txt:2: expected 5 numbers/);
  writeFileSync(path.join(bad, 'labels', 'a.txt'), '0 0.5 0.5 1.7 0.2\n');
  await assert.rejects(readDetectionFiles(bad, { size: S, channels: 1 }), /a\.txt:1: the box is not inside the image/);
  await assert.rejects(readDetectionFiles(path.join(dir, 'nosuch'), { size: S, channels: 1 }), /no such file or folder/);
  const cocoBad = path.join(dir, 'bad.json');
  writeFileSync(cocoBad, JSON.stringify({ images: [{ id: 1, file_name: 'yolo/images/c0.png' }], annotations: [{ image_id: 1, category_id: 9, bbox: [1, 1, 5, 5] }], categories: [{ id: 1, name: 'x' }] }));
  await assert.rejects(readDetectionFiles(cocoBad, { size: S, channels: 1 }), /annotation 0 names category_id 9/);
  writeFileSync(cocoBad, '{"images": [');
  await assert.rejects(readDetectionFiles(cocoBad, { size: S, channels: 1 }), /not a COCO JSON file/);
});

test('kiln pretrain --task detect on a YOLO folder, then kiln finetune --task detect on the digits from it', async () => {
  const { yolo } = await sets;
  const pre = kiln('pretrain', '--task', 'detect', '--data', yolo, '--channels', '1', '--width', '4', '--max-steps', '6', '--eval-every', '3', '--val-images', '2', '--batch-size', '4', '--threads', '1', '--no-report', '--out', path.join(dir, 'run-yolo'));
  assert.equal(pre.status, 0, pre.stderr);
  assert.match(pre.stdout, /10 training, 2 validation images of 2 classes \(three,eight\)/);
  assert.match(pre.stdout, /val mAP@0\.5 \d/);
  const tuned = kiln('finetune', '--task', 'detect', '--from', path.join(dir, 'run-yolo'), '--classes', '5', '--train-images', '20', '--val-images', '10', '--test-images', '20', '--max-steps', '4', '--threads', '1', '--json', '--no-report', '--out', path.join(dir, 'run-digits'));
  assert.equal(tuned.status, 0, tuned.stderr);
  const result = JSON.parse(tuned.stdout.trim().split('\n').at(-1)!) as { steps: number; test_map50: number; test_map: number };
  assert.equal(result.steps, 4);
  assert.ok(result.test_map50 >= 0 && result.test_map50 <= 1);
  // kiln evaluate makes the same test canvases and scores the best checkpoint as the run did.
  const evaluated = kiln('evaluate', '--task', 'detect', '--model', path.join(dir, 'run-digits'), '--data', 'digits', '--images', '20', '--json');
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const scores = JSON.parse(evaluated.stdout) as { map50: number; map: number; per_class_ap50: Record<string, number> };
  assert.equal(scores.map50, result.test_map50);
  assert.equal(scores.map, result.test_map);
  assert.deepEqual(Object.keys(scores.per_class_ap50), ['5']);
  const wrong = kiln('finetune', '--task', 'detect', '--from', path.join(dir, 'run-yolo'), '--width', '8', '--out', path.join(dir, 'x'));
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /unknown flag --width/);
});

test('kiln detect with a detector Kiln trained prints the objects detectObjects finds, labelled, and draws them', async () => {
  const { yolo } = await sets;
  const run = path.join(dir, 'run-detect');
  const pre = kiln('pretrain', '--task', 'detect', '--classes', '3,8', '--train-images', '200', '--val-images', '0', '--test-images', '0', '--width', '8', '--max-steps', '40', '--threads', '1', '--no-report', '--out', run);
  assert.equal(pre.status, 0, pre.stderr);
  const out = path.join(dir, 'annotated');
  const r = kiln('detect', '--model', run, '--input', path.join(yolo, 'images'), '--min-score', '0.1', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; width: number; objects: { label: string; score: number; box: { x: number; y: number; width: number; height: number } }[] });
  assert.equal(lines.length, 6); // images/ itself: c0..c5 (sub/ is not searched)
  const { loadDetector } = await import('../../src/vision/detection/detector-folder.js');
  const { detectObjects } = await import('../../src/vision/detection/detect-objects.js');
  const loaded = loadDetector(run);
  const want = detectObjects(loaded.model, canvases.pixels.subarray(0, S * S), [1, 1, S, S], loaded.config.normalization, { minScore: 0.1 })[0]!;
  assert.ok(want.length > 0);
  assert.deepEqual(lines[0]!.objects.map((o) => [o.label, o.box.x]), want.map((o) => [loaded.classNames[o.label], Number(o.x.toFixed(2))]));
  assert.ok(lines.every((l) => l.width === S && l.objects.every((o) => o.label === '3' || o.label === '8')));
  const meta = await sharp(path.join(out, 'c0.png')).metadata();
  assert.equal(meta.width, S);
  assert.equal(JSON.parse(readFileSync(path.join(out, 'detections.json'), 'utf8')).length, 6);
});
