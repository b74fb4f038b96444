/**
 * face-api itself (@vladmandic/face-api, a dev dependency, on TensorFlow.js's CPU backend) run on
 * images for the face tests: `node face-api-reference.js OUT IMAGE…` writes, per image, what the
 * tiny detector and SSD MobileNetV1 find and the full pipeline (SSD, 68 landmarks, descriptors).
 * Pixels come from Kiln's own decoder, so both sides see the same RGB values.
 *
 * The package's Node entry needs @tensorflow/tfjs-node (a native build we do not install); its
 * ESM bundle carries TensorFlow.js but, when it sees Node while loading, wants Node's `util`,
 * which the bundle stubs. So Node is hidden while the bundle loads, TensorFlow.js gets a small
 * platform, and face-api is told it runs in Node afterwards.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRgbImage } from '../../src/vision/face/face-image.js';

export const FACE_API_DIR = fileURLToPath(new URL('../../../node_modules/@vladmandic/face-api/', import.meta.url));

export interface ReferenceBox {
  score: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ReferenceImage {
  /** The file's name in face-api's demo folder. */
  file: string;
  /** SHA-256 of the decoded RGB pixels: a different JPEG decoder would change every figure. */
  pixels: string;
  tiny: ReferenceBox[];
  ssd: ReferenceBox[];
  faces: { score: number; box: ReferenceBox; alignedBox: ReferenceBox; landmarks: [number, number][]; descriptor: number[] }[];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- face-api's bundle is untyped here */
async function loadFaceApi(): Promise<any> {
  const versions = Object.getOwnPropertyDescriptor(process, 'versions')!;
  Object.defineProperty(process, 'versions', { ...versions, value: { ...process.versions, node: undefined } });
  let faceapi: any;
  try {
    faceapi = await import(`${FACE_API_DIR}dist/face-api.esm.js`);
  } finally {
    Object.defineProperty(process, 'versions', versions);
  }
  const tf = faceapi.tf;
  tf.env().setPlatform('kiln-test', {
    fetch: (url: string, init: unknown) => fetch(url, init as RequestInit),
    now: () => performance.now(),
    encode: (s: string) => new TextEncoder().encode(s),
    decode: (bytes: Uint8Array, encoding: string) => new TextDecoder(encoding).decode(bytes),
    isTypedArray: (a: unknown) => ArrayBuffer.isView(a) && !(a instanceof DataView),
    setTimeoutCustom: (f: () => void, ms: number) => setTimeout(f, ms),
  });
  await tf.setBackend('cpu');
  await tf.ready();
  faceapi.env.setEnv(faceapi.env.createNodejsEnv());
  faceapi.env.monkeyPatch({ readFile: (file: string) => Promise.resolve(readFileSync(file)) });
  const models = `${FACE_API_DIR}model`;
  for (const net of ['tinyFaceDetector', 'ssdMobilenetv1', 'faceLandmark68Net', 'faceRecognitionNet']) await faceapi.nets[net].loadFromDisk(models);
  return faceapi;
}

const plainBox = (score: number, b: any): ReferenceBox => ({ score, x: b.x, y: b.y, width: b.width, height: b.height });

/** SHA-256 (hex) of an image's RGB bytes as Kiln decodes it. */
export function pixelHash(data: Uint8Array | Float32Array): string {
  return createHash('sha256').update(Uint8Array.from(data)).digest('hex');
}

/** What face-api finds in each image. */
export async function runFaceApi(files: readonly string[]): Promise<ReferenceImage[]> {
  const faceapi = await loadFaceApi();
  const tf = faceapi.tf;
  const out: ReferenceImage[] = [];
  for (const file of files) {
    const image = await readRgbImage(file);
    const input = tf.tensor3d(Float32Array.from(image.data), [image.height, image.width, 3], 'float32');
    const tiny = await faceapi.detectAllFaces(input, new faceapi.TinyFaceDetectorOptions());
    const ssd = await faceapi.detectAllFaces(input, new faceapi.SsdMobilenetv1Options());
    const faces = await faceapi.detectAllFaces(input, new faceapi.SsdMobilenetv1Options()).withFaceLandmarks().withFaceDescriptors();
    out.push({
      file: path.basename(file),
      pixels: pixelHash(image.data),
      tiny: tiny.map((d: any) => plainBox(d.score, d.box)),
      ssd: ssd.map((d: any) => plainBox(d.score, d.box)),
      faces: faces.map((f: any) => ({
        score: f.detection.score,
        box: plainBox(f.detection.score, f.detection.box),
        alignedBox: plainBox(0, f.landmarks.align(null, { useDlibAlignment: true })),
        landmarks: f.landmarks.positions.map((p: any) => [p.x, p.y]),
        descriptor: Array.from(f.descriptor as Float32Array),
      })),
    });
    input.dispose();
  }
  return out;
}

/** The six demo photographs face-api ships. */
export const DEMO_PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => `${FACE_API_DIR}demo/sample${i}.jpg`);

// Run as a program (`npm run test:face-api` does, then compares): writes the fixture the face tests read.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.length === 3) {
  writeFileSync(process.argv[2]!, JSON.stringify({ faceApi: '1.7.15', backend: 'tfjs cpu', images: await runFaceApi(DEMO_PHOTOS) }) + '\n');
}
