/**
 * face-api's networks in Kiln against face-api itself: the published TensorFlow.js weights of
 * @vladmandic/face-api (a dev dependency) imported into Kiln's modules, run on the six demo
 * photographs the package ships, compared with what face-api (TensorFlow.js CPU backend) found
 * on the same pixels — test/fixtures/face_api_reference.json, written by
 * test/vision/face-api-reference.ts (`npm run test:face-api` reruns face-api and this test).
 * Every face found by both, boxes within 2 pixels, scores within 1e-3, descriptors with cosine
 * similarity ≥ 0.999.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTfjsWeights } from '../../src/io/tfjs-weights.js';
import { ModelFolderError } from '../../src/io/model-folder-error.js';
import { describeDetections, detectFacesSsd, detectFacesTiny, type Box } from '../../src/vision/face/face-detect.js';
import { readRgbImage } from '../../src/vision/face/face-image.js';
import { faceNetworkFromTfjs, FaceLandmark68Net, FaceRecognitionNet, SsdMobilenetV1, TinyFaceDetector } from '../../src/vision/face/face-nets.js';
import { FACE_API_DIR, pixelHash, type ReferenceBox, type ReferenceImage } from './face-api-reference.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/face_api_reference.json', import.meta.url));
const MODELS = path.join(FACE_API_DIR, 'model');

const manifest = (name: string): string => path.join(MODELS, `${name}-weights_manifest.json`);
const nets = {
  tiny: faceNetworkFromTfjs('tiny-face-detector', loadTfjsWeights(manifest('tiny_face_detector_model'))) as TinyFaceDetector,
  ssd: faceNetworkFromTfjs('ssd-mobilenetv1', loadTfjsWeights(manifest('ssd_mobilenetv1_model'))) as SsdMobilenetV1,
  landmarks: faceNetworkFromTfjs('face-landmark-68', loadTfjsWeights(manifest('face_landmark_68_model'))) as FaceLandmark68Net,
  recognition: faceNetworkFromTfjs('face-recognition', loadTfjsWeights(manifest('face_recognition_model'))) as FaceRecognitionNet,
};

function boxGap(a: Box, b: ReferenceBox): number {
  return Math.max(Math.abs(a.x - b.x), Math.abs(a.y - b.y), Math.abs(a.x + a.width - (b.x + b.width)), Math.abs(a.y + a.height - (b.y + b.height)));
}

function cosine(a: Float32Array, b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

const reference = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { images: ReferenceImage[] };

test('face-api fixture: six photographs with faces', () => {
  assert.equal(reference.images.length, 6);
  assert.ok(reference.images.every((im) => im.faces.length > 0));
});

for (const want of reference.images) {
  test(`face-api's weights in Kiln reproduce face-api on ${want.file}: tiny detector, SSD, 68 landmarks and descriptors`, async (t) => {
    const image = await readRgbImage(path.join(FACE_API_DIR, 'demo', want.file));
    assert.equal(pixelHash(image.data), want.pixels, 'the photograph decodes to the pixels face-api saw (the JPEG decoder changed?)');
    let worstBox = 0;
    let worstScore = 0;
    const ssd = detectFacesSsd(nets.ssd, image);
    for (const [name, got, ref] of [['tiny', detectFacesTiny(nets.tiny, image), want.tiny], ['ssd', ssd, want.ssd]] as const) {
      assert.equal(got.length, ref.length, `${name}: ${got.length} faces, face-api found ${ref.length}`);
      for (const [i, r] of ref.entries()) {
        worstBox = Math.max(worstBox, boxGap(got[i]!.box, r));
        worstScore = Math.max(worstScore, Math.abs(got[i]!.score - r.score));
      }
    }
    const faces = describeDetections({ landmarks: nets.landmarks, recognition: nets.recognition }, image, ssd);
    assert.equal(faces.length, want.faces.length);
    let worstCosine = 1;
    let worstLandmark = 0;
    for (const [i, r] of want.faces.entries()) {
      const f = faces[i]!;
      worstBox = Math.max(worstBox, boxGap(f.box, r.box), boxGap(f.alignedBox, r.alignedBox));
      worstCosine = Math.min(worstCosine, cosine(f.descriptor, r.descriptor));
      for (const [k, [x, y]] of r.landmarks.entries()) worstLandmark = Math.max(worstLandmark, Math.abs(f.landmarks[k]![0] - x), Math.abs(f.landmarks[k]![1] - y));
    }
    t.diagnostic(`${want.file}: ${want.tiny.length} + ${want.ssd.length} detections, ${want.faces.length} descriptors; worst box gap ${worstBox.toExponential(2)} px, score gap ${worstScore.toExponential(2)}, landmark gap ${worstLandmark.toExponential(2)} px, lowest cosine ${worstCosine.toFixed(7)}`);
    assert.ok(worstBox <= 2, `boxes within 2 px (worst ${worstBox})`);
    assert.ok(worstScore <= 1e-3, `scores within 1e-3 (worst ${worstScore})`);
    assert.ok(worstCosine >= 0.999, `descriptor cosine ≥ 0.999 (lowest ${worstCosine})`);
  });
}

test('importing a manifest into the wrong face network names what does not fit', () => {
  assert.throws(() => faceNetworkFromTfjs('face-recognition', loadTfjsWeights(manifest('tiny_face_detector_model'))),
    (e: Error) => e instanceof ModelFolderError && /the manifest is not a face-recognition: it has weights face-recognition does not \(conv0\/filters, conv0\/bias, conv1\/depthwise_filter, …\)/.test(e.message));
  const weights = loadTfjsWeights(manifest('tiny_face_detector_model'));
  weights['conv8/bias'] = weights['conv8/bias']!.narrow(0, 0, 20);
  assert.throws(() => faceNetworkFromTfjs('tiny-face-detector', weights), /tiny-face-detector weight conv8\/bias has shape \[20\]; tiny-face-detector needs \[25\]/);
});
