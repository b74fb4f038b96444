/**
 * Face detection, landmarks and descriptors with face-api's networks, post-processed as face-api
 * does it (so that its weights give its boxes, scores and descriptors):
 *
 * - Tiny face detector: score = sigmoid(objectness) > threshold, centre = (cell + sigmoid(t)) / n,
 *   size = exp(t) · anchor / n, then greedy non-maximum suppression at IoU 0.4.
 * - SSD MobileNetV1: score = sigmoid(face logit) > threshold, boxes decoded from the anchors with
 *   scale factors 10, 10, 5, 5, greedy suppression at IoU 0.5, at most `maxResults`.
 * - Both undo the square padding with the rounded size of the image inside the input square.
 * - Landmarks: 68 points from the detection's (floored, clipped) crop.
 * - Descriptor: a dlib-style square around the eyes and mouth (from the landmarks), resized to
 *   150 × 150, through the recognition net; faces match when their Euclidean distance is below
 *   0.6 (dlib's and face-api's threshold).
 */
import { noGrad } from '../../tensor/autograd.js';
import { scope as memoryScope } from '../../tensor/scope.js';
import { type Box, boxIou, suppress } from '../boxes.js';

export type { Box } from '../boxes.js';
import { cropImage, netInput, reshapedSize, type RgbImage } from './face-image.js';
import { FaceLandmark68Net, FaceRecognitionNet, SsdMobilenetV1, TinyFaceDetector } from './face-nets.js';

export interface FaceDetection {
  score: number;
  box: Box;
}

export interface DetectOptions {
  /** Tiny detector: input side, a multiple of 32. @default 416 */
  inputSize?: number;
  /** The lowest score kept (strictly above). @default 0.5 */
  minScore?: number;
  /** SSD: at most this many faces. @default 100 */
  maxResults?: number;
}

/** face-api's distance threshold: two descriptors closer than this are the same person. */
export const SAME_PERSON_DISTANCE = 0.6;

/** Inference: no autograd graph, every intermediate tensor freed at the end. */
const scope = <T>(fn: () => T): T => memoryScope(() => noGrad(fn));

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Faces found by the tiny face detector, best first. */
export function detectFacesTiny(net: TinyFaceDetector, image: RgbImage, options: DetectOptions = {}): FaceDetection[] {
  const inputSize = options.inputSize ?? 416;
  const minScore = options.minScore ?? 0.5;
  if (!Number.isInteger(inputSize) || inputSize < 32 || inputSize % 32 !== 0) throw new RangeError(`inputSize must be a positive multiple of 32, got ${inputSize}`);
  const out = scope(() => {
    const raw = net.forward(netInput(image, inputSize, { centre: false, mean: TinyFaceDetector.MEAN, divisor: 255 }));
    return raw.permute(0, 2, 3, 1).contiguous().toTypedArray() as Float32Array; // (1, n, n, 5 anchors · 5)
  });
  const n = inputSize / 32;
  const reshaped = reshapedSize(image, inputSize);
  const fx = inputSize / reshaped.width;
  const fy = inputSize / reshaped.height;
  const candidates: FaceDetection[] = [];
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      for (let a = 0; a < 5; a++) {
        const at = ((row * n + col) * 5 + a) * 5;
        const score = sigmoid(out[at + 4]!);
        if (!(score > minScore)) continue;
        const [ax, ay] = TinyFaceDetector.ANCHORS[a]!;
        const cx = ((col + sigmoid(out[at]!)) / n) * fx;
        const cy = ((row + sigmoid(out[at + 1]!)) / n) * fy;
        const w = ((Math.exp(out[at + 2]!) * ax) / n) * fx;
        const h = ((Math.exp(out[at + 3]!) * ay) / n) * fy;
        candidates.push({ score, box: { x: cx - w / 2, y: cy - h / 2, width: w, height: h } });
      }
    }
  }
  return suppress(candidates, (a, b) => boxIou(a.box, b.box), 0.4).map((d) => ({ score: d.score, box: scaleBox(d.box, image) }));
}

function scaleBox(box: Box, image: Pick<RgbImage, 'width' | 'height'>): Box {
  return { x: box.x * image.width, y: box.y * image.height, width: box.width * image.width, height: box.height * image.height };
}

/** Faces found by SSD MobileNetV1, best first. */
export function detectFacesSsd(net: SsdMobilenetV1, image: RgbImage, options: DetectOptions = {}): FaceDetection[] {
  const minScore = options.minScore ?? 0.5;
  const maxResults = options.maxResults ?? 100;
  const { encodings, logits, anchors } = scope(() => {
    const { boxes, classes } = net.forward(netInput(image, 512, { centre: false, mean: [127.5, 127.5, 127.5], divisor: 127.5 }));
    return {
      encodings: boxes.toTypedArray() as Float32Array,
      logits: classes.toTypedArray() as Float32Array,
      anchors: net.anchors().contiguous().toTypedArray() as Float32Array,
    };
  });
  type Candidate = { score: number; index: number; corners: [number, number, number, number] };
  const candidates: Candidate[] = [];
  for (let i = 0; i < anchors.length / 4; i++) {
    const score = sigmoid(logits[i * 3 + 1]!);
    if (!(score > minScore)) continue;
    const [ymin, xmin, ymax, xmax] = [anchors[i * 4]!, anchors[i * 4 + 1]!, anchors[i * 4 + 2]!, anchors[i * 4 + 3]!];
    const ha = ymax - ymin;
    const wa = xmax - xmin;
    const cy = (encodings[i * 4]! / 10) * ha + ymin + ha / 2;
    const cx = (encodings[i * 4 + 1]! / 10) * wa + xmin + wa / 2;
    const halfH = (Math.exp(encodings[i * 4 + 2]! / 5) * ha) / 2;
    const halfW = (Math.exp(encodings[i * 4 + 3]! / 5) * wa) / 2;
    candidates.push({ score, index: i, corners: [cy - halfH, cx - halfW, cy + halfH, cx + halfW] });
  }
  const cornerIou = (a: Candidate, b: Candidate): number => {
    const [ay0, ax0, ay1, ax1] = [Math.min(a.corners[0], a.corners[2]), Math.min(a.corners[1], a.corners[3]), Math.max(a.corners[0], a.corners[2]), Math.max(a.corners[1], a.corners[3])];
    const [by0, bx0, by1, bx1] = [Math.min(b.corners[0], b.corners[2]), Math.min(b.corners[1], b.corners[3]), Math.max(b.corners[0], b.corners[2]), Math.max(b.corners[1], b.corners[3])];
    const areaA = (ay1 - ay0) * (ax1 - ax0);
    const areaB = (by1 - by0) * (bx1 - bx0);
    if (areaA <= 0 || areaB <= 0) return 0;
    const inter = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0)) * Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
    return inter / (areaA + areaB - inter);
  };
  // face-api sorts by descending score keeping equal scores in index order.
  const ordered = candidates.sort((a, b) => b.score - a.score || a.index - b.index);
  const kept: Candidate[] = [];
  for (const c of ordered) {
    if (kept.length >= maxResults) break;
    if (kept.every((k) => cornerIou(k, c) <= 0.5)) kept.push(c);
  }
  const reshaped = reshapedSize(image, 512);
  const padX = 512 / reshaped.width;
  const padY = 512 / reshaped.height;
  return kept.map(({ score, corners: [ymin, xmin, ymax, xmax] }) => {
    const top = Math.max(0, ymin) * padY;
    const bottom = Math.min(1, ymax) * padY;
    const left = Math.max(0, xmin) * padX;
    const right = Math.min(1, xmax) * padX;
    return { score, box: scaleBox({ x: left, y: top, width: right - left, height: bottom - top }, image) };
  });
}

/** `box` clipped to the image and floored (x, y, width and height each), as face-api crops. */
export function clipBox(box: Box, image: Pick<RgbImage, 'width' | 'height'>): Box {
  const x = Math.max(box.x, 0);
  const y = Math.max(box.y, 0);
  const width = Math.min(box.x + box.width - x, image.width - x);
  const height = Math.min(box.y + box.height - y, image.height - y);
  return { x: Math.floor(x), y: Math.floor(y), width: Math.floor(width), height: Math.floor(height) };
}

/** The 68 landmarks ([x, y] in image pixels) of the face in `box`, or null when its crop is empty. */
export function faceLandmarks(net: FaceLandmark68Net, image: RgbImage, box: Box): { points: [number, number][]; crop: Box } | null {
  const crop = clipBox(box, image);
  if (crop.width <= 0 || crop.height <= 0) return null;
  const out = scope(() => net.forward(netInput(cropImage(image, crop.x, crop.y, crop.width, crop.height), 112, { centre: true, mean: FaceLandmark68Net.MEAN, divisor: 255 })).toTypedArray() as Float32Array);
  const s = 112 / Math.max(crop.width, crop.height);
  const sw = crop.width * s;
  const sh = crop.height * s;
  const padX = sw < sh ? Math.abs(sw - sh) / 2 : 0;
  const padY = sh < sw ? Math.abs(sw - sh) / 2 : 0;
  const points: [number, number][] = [];
  for (let i = 0; i < 68; i++) {
    // face-api shifts by the unfloored box origin
    points.push([((out[2 * i]! * 112 - padX) / sw) * crop.width + box.x, ((out[2 * i + 1]! * 112 - padY) / sh) * crop.height + box.y]);
  }
  return { points, crop };
}

/** dlib's face chip box from the 68 landmarks: a square around the eyes and mouth. */
export function alignedFaceBox(points: readonly [number, number][], crop: Pick<Box, 'width' | 'height'>): Box {
  const mean = (from: number, to: number): [number, number] => {
    let x = 0;
    let y = 0;
    for (let i = from; i < to; i++) {
      x += points[i]![0];
      y += points[i]![1];
    }
    return [x / (to - from), y / (to - from)];
  };
  const leftEye = mean(36, 42);
  const rightEye = mean(42, 48);
  const mouth = mean(48, 68);
  const distance = (a: [number, number], b: [number, number]): number => Math.hypot(a[0] - b[0], a[1] - b[1]);
  const size = Math.floor((distance(mouth, leftEye) + distance(mouth, rightEye)) / 2 / 0.45);
  const refX = (leftEye[0] + rightEye[0] + mouth[0]) / 3;
  const refY = (leftEye[1] + rightEye[1] + mouth[1]) / 3;
  const x = Math.floor(Math.max(0, refX - 0.5 * size));
  const y = Math.floor(Math.max(0, refY - 0.43 * size));
  return { x, y, width: Math.min(size, crop.width + x), height: Math.min(size, crop.height + y) };
}

/** The 128-d descriptor of the face in `box` (a crop of the image, resized to 150 × 150). */
export function faceDescriptor(net: FaceRecognitionNet, image: RgbImage, box: Box): Float32Array {
  const crop = clipBox(box, image);
  if (crop.width <= 0 || crop.height <= 0) return new Float32Array(128);
  return scope(() => net.forward(netInput(cropImage(image, crop.x, crop.y, crop.width, crop.height), 150, { centre: true, mean: FaceRecognitionNet.MEAN, divisor: 255 })).toTypedArray() as Float32Array);
}

export interface DescribedFace extends FaceDetection {
  landmarks: [number, number][];
  /** The square the descriptor was computed on. */
  alignedBox: Box;
  descriptor: Float32Array;
}

/** Landmarks, the aligned square and the descriptor of each detection (face-api's withFaceLandmarks().withFaceDescriptors()). */
export function describeDetections(nets: { landmarks: FaceLandmark68Net; recognition: FaceRecognitionNet }, image: RgbImage, detections: readonly FaceDetection[]): DescribedFace[] {
  const faces: DescribedFace[] = [];
  for (const detection of detections) {
    const marked = faceLandmarks(nets.landmarks, image, detection.box);
    if (marked === null) continue;
    const alignedBox = alignedFaceBox(marked.points, marked.crop);
    faces.push({ ...detection, landmarks: marked.points, alignedBox, descriptor: faceDescriptor(nets.recognition, image, alignedBox) });
  }
  return faces;
}

/** Detect, then landmarks, then descriptors: face-api's detectAllFaces(…).withFaceLandmarks().withFaceDescriptors(). */
export function describeFaces(
  nets: { detector: TinyFaceDetector | SsdMobilenetV1; landmarks: FaceLandmark68Net; recognition: FaceRecognitionNet },
  image: RgbImage,
  options: DetectOptions = {},
): DescribedFace[] {
  const detections = nets.detector instanceof TinyFaceDetector ? detectFacesTiny(nets.detector, image, options) : detectFacesSsd(nets.detector, image, options);
  return describeDetections(nets, image, detections);
}

/** Euclidean distance between two descriptors. */
export function descriptorDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}
