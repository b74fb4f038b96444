/**
 * kiln import tfjs --arch, detect, embed and verify on face-api's published weights and demo
 * photographs: the commands give face-api's boxes (test/fixtures/face_api_reference.json), an
 * annotated image, the same person across two framings of one face, different people apart, a
 * gallery that names people, and one-line errors for wrong folders and flags.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { scratchFolder } from '../models/reference.js';
import { FACE_API_DIR, type ReferenceImage } from './face-api-reference.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/face_api_reference.json', import.meta.url));
const DEMO = path.join(FACE_API_DIR, 'demo');
const MANIFESTS: Record<string, string> = {
  'tiny-face-detector': 'tiny_face_detector_model', 'ssd-mobilenetv1': 'ssd_mobilenetv1_model', 'face-landmark-68': 'face_landmark_68_model', 'face-recognition': 'face_recognition_model',
};

function kiln(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = scratchFolder('kiln-face-cli-');
let pipeline: string[];

before(async () => {
  for (const [arch, name] of Object.entries(MANIFESTS)) {
    const r = kiln('import', 'tfjs', '--manifest', path.join(FACE_API_DIR, 'model', `${name}-weights_manifest.json`), '--arch', arch, '--out', path.join(dir, arch));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`imported ${arch} \\(`));
  }
  pipeline = ['--model', path.join(dir, 'face-recognition'), '--detector', path.join(dir, 'tiny-face-detector'), '--landmarks', path.join(dir, 'face-landmark-68')];
  // The first face of sample1, cropped and shrunk: the same person framed differently.
  await sharp(path.join(DEMO, 'sample1.jpg')).extract({ left: 250, top: 250, width: 500, height: 500 }).resize(380).jpeg({ quality: 90 }).toFile(path.join(dir, 'same-face.jpg'));
});

test('kiln detect: face-api\'s boxes and scores for every face, an annotated image and detections.json', async () => {
  const want = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { images: ReferenceImage[] }).images;
  const photos = path.join(dir, 'photos');
  mkdirSync(photos);
  for (const name of ['sample1.jpg', 'sample3.jpg']) copyFileSync(path.join(DEMO, name), path.join(photos, name));
  for (const [arch, key] of [['tiny-face-detector', 'tiny'], ['ssd-mobilenetv1', 'ssd']] as const) {
    const out = path.join(dir, `annotated-${arch}`);
    const r = kiln('detect', '--model', path.join(dir, arch), '--input', photos, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; faces: { score: number; box: Record<string, number> }[] });
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const ref = want.find((im) => im.file === path.basename(line.file))![key];
      assert.equal(line.faces.length, ref.length, `${arch} ${line.file}`);
      for (const [i, r0] of ref.entries()) {
        for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(line.faces[i]!.box[k]! - r0[k]) < 0.01, `${arch} ${line.file} face ${i} ${k}`);
        assert.ok(Math.abs(line.faces[i]!.score - r0.score) < 1e-4);
      }
    }
    const meta = await sharp(path.join(out, 'sample1.png')).metadata();
    assert.deepEqual([meta.width, meta.height], [1920, 1280], 'the annotated image keeps the photograph\'s size');
    assert.equal((JSON.parse(readFileSync(path.join(out, 'detections.json'), 'utf8')) as unknown[]).length, 2);
  }
});

test('kiln verify: two framings of one face are the same person; different people are not; a gallery names each face', () => {
  const same = kiln('verify', path.join(dir, 'same-face.jpg'), path.join(DEMO, 'sample1.jpg'), ...pipeline);
  assert.equal(same.status, 0, same.stderr);
  const s = JSON.parse(same.stdout.split('\n')[0]!) as { same: boolean; distance: number };
  assert.equal(s.same, true);
  assert.ok(s.distance < 0.3, `the same face ${s.distance} apart`);
  assert.match(same.stdout, /same person \(distance 0\.\d+, threshold 0\.6\)/);
  // sample2's one face is someone else (0.71 apart; some other demo faces come within 0.6, as face-api's descriptors allow).
  const other = kiln('verify', path.join(dir, 'same-face.jpg'), path.join(DEMO, 'sample2.jpg'), ...pipeline);
  assert.equal(other.status, 0, other.stderr);
  assert.match(other.stdout, /different people/);
  const gallery = path.join(dir, 'gallery');
  mkdirSync(path.join(gallery, 'harlequin'), { recursive: true });
  copyFileSync(path.join(dir, 'same-face.jpg'), path.join(gallery, 'harlequin', 'a.jpg'));
  const who = kiln('verify', path.join(DEMO, 'sample1.jpg'), '--gallery', gallery, ...pipeline);
  assert.equal(who.status, 0, who.stderr);
  const faces = who.stdout.trim().split('\n').map((l) => JSON.parse(l) as { face: number; box: { x: number }; person: string });
  assert.equal(faces.length, 3);
  // The crop came from the left of the photograph (x 250 to 750): that face is the gallery's; the other two are nobody in it.
  assert.deepEqual(faces.map((f) => (f.box.x < 750 ? 'left' : 'right')).sort(), ['left', 'right', 'right']);
  for (const f of faces) assert.equal(f.person, f.box.x < 750 ? 'harlequin' : 'unknown', JSON.stringify(f));
});

test('kiln embed: one line per face with a 128-d descriptor', () => {
  const r = kiln('embed', ...pipeline, '--input', path.join(dir, 'same-face.jpg'));
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { face: number; descriptor: number[]; alignedBox: Record<string, number> });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.descriptor.length, 128);
});

test('face commands: one-line errors for the wrong folder, a missing flag, an unknown architecture and no face', () => {
  const cases: [string[], RegExp][] = [
    [['detect', '--model', path.join(dir, 'face-recognition'), '--input', path.join(DEMO, 'sample1.jpg')], /holds a face-recognition; this needs a tiny-face-detector or ssd-mobilenetv1/],
    [['detect', '--input', path.join(DEMO, 'sample1.jpg')], /kiln detect: --model DIR is required/],
    [['detect', '--model', path.join(dir, 'ssd-mobilenetv1'), '--input', path.join(dir, 'nothing.jpg')], /does not exist; give an image or a folder of images/],
    [['detect', '--model', path.join(dir, 'tiny-face-detector'), '--input', path.join(DEMO, 'sample1.jpg'), '--input-size', '100'], /--input-size must be a positive multiple of 32, got 100/],
    [['import', 'tfjs', '--manifest', path.join(FACE_API_DIR, 'model', 'tiny_face_detector_model-weights_manifest.json'), '--arch', 'yolo', '--out', path.join(dir, 'x')], /--arch yolo is not one Kiln knows \(tiny-face-detector, ssd-mobilenetv1, face-landmark-68, face-recognition\)/],
    [['import', 'tfjs', '--manifest', path.join(FACE_API_DIR, 'model', 'tiny_face_detector_model-weights_manifest.json'), '--arch', 'face-recognition', '--out', path.join(dir, 'x')], /the manifest is not a face-recognition: it has weights face-recognition does not/],
    [['verify', path.join(DEMO, 'sample1.jpg'), ...pipeline], /give two photographs \(got 1\)/],
  ];
  for (const [args, message] of cases) {
    const r = kiln(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(existsSync(path.join(dir, 'x')), false, 'a failed import writes nothing');
});
