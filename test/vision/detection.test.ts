/**
 * Object detection: the mAP against an independent Python computation (pycocotools' algorithm in
 * numpy, test/fixtures/map_reference.py) and closed forms; the digit canvases (deterministic, boxes
 * tight around their ink), augmentation that moves boxes with the pixels, the grid targets and
 * decoding in closed form; a short training run that learns to detect, resumes bit for bit, and
 * fine-tunes on other classes with a new class head.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../../src/data/random.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { digitCanvases, selectDetections, shiftDetections } from '../../src/vision/detection/detection-data.js';
import { detectObjects } from '../../src/vision/detection/detect-objects.js';
import { loadDetector } from '../../src/vision/detection/detector-folder.js';
import { runDetection } from '../../src/vision/detection/detect-run.js';
import { GridDetector, gridTargets } from '../../src/vision/detection/grid-detector.js';
import { averagePrecision, COCO_IOU_THRESHOLDS, type GroundTruthBox, meanAveragePrecision, type ScoredDetection } from '../../src/vision/detection/mean-average-precision.js';
import { scratchFolder } from '../models/reference.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/map_reference.json', import.meta.url));

interface ReferenceCase {
  num_images: number;
  num_classes: number;
  truths: { image: number; label: number; box: [number, number, number, number] }[];
  detections: { image: number; label: number; score: number; box: [number, number, number, number] }[];
  expected: { ap_per_threshold_class: (number | null)[][]; map50: number; map75: number; map: number };
}

const toBox = ([x, y, width, height]: [number, number, number, number]) => ({ x, y, width, height });

test('mAP equals the independent numpy computation of COCO AP, per class and threshold and overall', () => {
  const { cases } = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: ReferenceCase[] };
  assert.ok(cases.length >= 4);
  for (const c of cases) {
    const truths: GroundTruthBox[] = c.truths.map((t) => ({ image: t.image, label: t.label, box: toBox(t.box) }));
    const detections: ScoredDetection[] = c.detections.map((d) => ({ image: d.image, label: d.label, score: d.score, box: toBox(d.box) }));
    COCO_IOU_THRESHOLDS.forEach((threshold, t) => {
      for (let k = 0; k < c.num_classes; k++) {
        const ap = averagePrecision(detections.filter((d) => d.label === k), truths.filter((g) => g.label === k), threshold);
        const want = c.expected.ap_per_threshold_class[t]![k];
        if (want === null) assert.ok(Number.isNaN(ap), `case ${c.num_images} images: class ${k} has no ground truth`);
        else assert.ok(Math.abs(ap - want!) < 1e-9, `case ${c.num_images} images, IoU ${threshold}, class ${k}: ${ap} vs ${want}`);
      }
    });
    const m = meanAveragePrecision(detections, truths, c.num_classes);
    for (const key of ['map50', 'map75', 'map'] as const) assert.ok(Math.abs(m[key] - c.expected[key]) < 1e-9, `${key}: ${m[key]} vs ${c.expected[key]}`);
  }
});

test('mAP closed forms: perfect detections give 1; a false positive ranked first halves AP; a duplicate ranked last costs nothing', () => {
  const gt: GroundTruthBox[] = [{ image: 0, label: 0, box: { x: 0, y: 0, width: 10, height: 10 } }];
  const hit = { image: 0, label: 0, box: { x: 0, y: 0, width: 10, height: 10 } };
  const miss = { image: 0, label: 0, box: { x: 30, y: 30, width: 10, height: 10 } };
  assert.equal(averagePrecision([{ ...hit, score: 0.9 }], gt, 0.5), 1);
  assert.equal(averagePrecision([{ ...miss, score: 0.9 }, { ...hit, score: 0.8 }], gt, 0.5), 0.5);
  assert.equal(averagePrecision([{ ...hit, score: 0.9 }, { ...hit, score: 0.8 }], gt, 0.5), 1);
  // IoU 81/119 = 0.68: a hit at 0.5 and 0.65, a miss from 0.7.
  const shifted = { image: 0, label: 0, score: 1, box: { x: 1, y: 1, width: 10, height: 10 } };
  assert.equal(averagePrecision([shifted], gt, 0.65), 1);
  assert.equal(averagePrecision([shifted], gt, 0.7), 0);
  const m = meanAveragePrecision([shifted], gt, 2);
  assert.equal(m.map50, 1); // class 1 has no ground truth: left out
  assert.ok(Number.isNaN(m.perClass50[1]!));
  assert.ok(Math.abs(m.map - 0.4) < 1e-12); // hits at 0.5, 0.55, 0.6, 0.65 of ten thresholds
});

test('digit canvases: the same arguments give the same canvases; every box is the tight box of its ink; classes are relabelled', () => {
  const options = { split: 'train' as const, classes: [5, 7], count: 40, seed: 3, maxDigits: 1 };
  const a = digitCanvases(options);
  const b = digitCanvases(options);
  assert.deepEqual(a.pixels, b.pixels);
  assert.deepEqual(a.objects, b.objects);
  assert.notDeepEqual(digitCanvases({ ...options, seed: 4 }).pixels, a.pixels);
  assert.notDeepEqual(digitCanvases({ ...options, split: 'test' }).pixels, a.pixels);
  assert.deepEqual(a.classNames, ['5', '7']);
  const S = a.width;
  for (let n = 0; n < 40; n++) {
    const [box] = a.objects[n]!;
    assert.ok(box !== undefined && (box.label === 0 || box.label === 1));
    const ink: [number, number][] = [];
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if (a.pixels[n * S * S + y * S + x]! > 64) ink.push([x, y]);
    const xs = ink.map(([x]) => x);
    const ys = ink.map(([, y]) => y);
    assert.deepEqual([box.x, box.y, box.width, box.height], [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs) + 1, Math.max(...ys) - Math.min(...ys) + 1]);
    assert.ok(box.width >= 4 && box.height >= 8 && box.x + box.width <= S && box.y + box.height <= S);
  }
  const many = digitCanvases({ split: 'test', count: 50, seed: 1, maxDigits: 3, clutter: 2 });
  const counts = many.objects.map((o) => o.length);
  assert.ok(Math.min(...counts) >= 1 && Math.max(...counts) === 3);
});

test('shifting a canvas moves its boxes with its pixels, and drops a box pushed mostly outside', () => {
  const canvases = digitCanvases({ split: 'train', count: 30, seed: 5, maxDigits: 1 });
  const random = new SeededRandom(9);
  const shifted = shiftDetections(canvases, 6, random);
  const S = canvases.width;
  let moved = 0;
  for (let n = 0; n < 30; n++) {
    const before = canvases.objects[n]![0]!;
    const after = shifted.objects[n]![0];
    if (after === undefined || after.width !== before.width || after.height !== before.height) continue; // clipped at an edge
    moved++;
    const dx = after.x - before.x;
    const dy = after.y - before.y;
    assert.ok(Math.abs(dx) <= 6 && Math.abs(dy) <= 6);
    for (let y = 0; y < before.height; y++) {
      for (let x = 0; x < before.width; x++) {
        assert.equal(shifted.pixels[n * S * S + (after.y + y) * S + after.x + x], canvases.pixels[n * S * S + (before.y + y) * S + before.x + x]);
      }
    }
  }
  assert.ok(moved >= 20, `${moved} of 30 boxes moved whole`);
  const edge = { ...canvases, pixels: new Uint8Array(S * S), objects: [[{ x: 0, y: 10, width: 10, height: 10, label: 0 }]] };
  const edgeRandom = new SeededRandom(1);
  const rolls = Array.from({ length: 100 }, () => shiftDetections(edge, 8, edgeRandom).objects[0]!);
  assert.ok(rolls.some((o) => o.length === 0), 'a box shifted 6+ pixels off the left edge is dropped');
  assert.ok(rolls.filter((o) => o.length === 1).every((o) => o[0]!.x >= 0 && o[0]!.x + o[0]!.width <= S && o[0]!.width * o[0]!.height >= 50));
  assert.deepEqual(selectDetections(canvases, [2, 0]).objects, [canvases.objects[2], canvases.objects[0]]);
});

test('grid targets put an object in the cell of its centre, with its offset and log sides (closed form)', () => {
  const t = gridTargets([[{ x: 10, y: 20, width: 16, height: 8, label: 2 }]], [8, 8], 8, 24);
  const cell = 3 * 8 + 2; // centre (18, 24) → row 3, column 2
  assert.equal(t.positives, 1);
  assert.equal(t.objectness[cell], 1);
  assert.equal(t.classes[cell], 2n);
  const box = Array.from(t.box.subarray(cell * 4, cell * 4 + 4));
  [0.25, 0, Math.log(16 / 24), Math.log(8 / 24)].forEach((want, i) => assert.ok(Math.abs(box[i]! - want) < 1e-6, `box[${i}] ${box[i]} vs ${want}`));
  assert.equal(t.classes.filter((c) => c === -100n).length, 63);
});

test('decoding: a detector whose every cell says "an 8-pixel box of class 1 centred here" gives one box per cell, scored as it should', () => {
  const model = new GridDetector({ numClasses: 3, channels: [4, 4, 4], anchor: 24 });
  noGrad(() => {
    for (const p of [model.box.weight, model.box.bias!, model.classifier.weight]) p.zero_();
    const bias = model.box.bias!;
    bias.select(0, 0).fill_(3); // objectness logit
    bias.select(0, 3).fill_(Math.log(8 / 24));
    bias.select(0, 4).fill_(Math.log(8 / 24));
    model.classifier.bias!.zero_();
    model.classifier.bias!.select(0, 1).fill_(2);
  });
  const [found] = detectObjects(model, new Uint8Array(32 * 32), [1, 1, 32, 32], { mean: [0], std: [1] });
  assert.equal(found!.length, 16);
  const p1 = Math.exp(2) / (Math.exp(2) + 2);
  const score = (1 / (1 + Math.exp(-3))) * p1;
  const cells = found!.map((d) => [d.x, d.y, d.width, d.height].map((v) => v.toFixed(4)).join(',') + `,${d.label}`).sort();
  const want = Array.from({ length: 16 }, (_, c) => [(c % 4) * 8, Math.floor(c / 4) * 8, 8, 8].map((v) => v.toFixed(4)).join(',') + ',1').sort();
  assert.deepEqual(cells, want);
  for (const d of found!) assert.ok(Math.abs(d.score - score) < 1e-6);
  assert.equal(detectObjects(model, new Uint8Array(32 * 32), [1, 1, 32, 32], { mean: [0], std: [1] }, { minScore: 0.9 })[0]!.length, 0);
});

test('a detection run learns to find digits, resumes bit for bit after a stop, and fine-tunes on other digits with a new class head', async () => {
  const dir = scratchFolder('kiln-detect-');
  const settings = { classes: [0, 1], trainImages: 300, valImages: 60, testImages: 100, width: 8, batchSize: 16, maxSteps: 80, evalEvery: 40, lr: 3e-3, seed: 2, threads: 1 };
  const full = await runDetection({ ...settings, out: path.join(dir, 'full') });
  assert.ok(full.test !== null && full.test.map50 > 0.5, `mAP@0.5 after 80 steps: ${full.test?.map50}`);
  assert.ok(full.test.map < full.test.map50);
  const evalLines = readFileSync(path.join(dir, 'full', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((l) => 'val_map50' in l);
  assert.equal(evalLines.length, 2);
  const evalJson = JSON.parse(readFileSync(path.join(dir, 'full', 'eval.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(evalJson['map50'], full.test.map50);

  // Stopped at its first checkpoint, then resumed: the uninterrupted run's weights exactly.
  const controller = new AbortController();
  const out = path.join(dir, 'stopped');
  await runDetection({ ...settings, out }, { signal: controller.signal, onLog: (log, { isEval }) => { if (isEval && log.step === 40) controller.abort(); } });
  await runDetection({ ...settings, out }, { resume: true });
  const a = loadSafetensors(path.join(dir, 'full', 'model', 'model.safetensors')).tensors;
  const b = loadSafetensors(path.join(out, 'model', 'model.safetensors')).tensors;
  for (const [name, value] of Object.entries(a)) assert.ok(value.equal(b[name]!), `${name} differs after resume`);

  const tuned = await runDetection({ ...settings, from: path.join(dir, 'full'), classes: [7], trainImages: 20, maxSteps: 2, evalEvery: 2, lr: 1e-9, out: path.join(dir, 'tuned') });
  assert.equal(tuned.newHead, true);
  const loaded = loadDetector(path.join(dir, 'tuned'));
  assert.deepEqual(loaded.classNames, ['7']);
  const before = loadDetector(path.join(dir, 'full'));
  assert.ok(loaded.model.box.weight.sub(before.model.box.weight).abs().max().item() < 1e-6, 'the box head is kept');
});
