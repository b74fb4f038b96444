/**
 * `kiln detect`, `kiln embed`, `kiln verify`: face-api's networks, imported with `kiln import
 * tfjs --arch`, on photographs.
 *
 * - detect: faces in each image (boxes in pixels, scores) as JSON on stdout; with --out, also
 *   each image with its boxes drawn, and detections.json.
 * - embed: detect, 68 landmarks, a dlib-style square around the eyes and mouth, and the 128-d
 *   descriptor of every face, one JSON line each.
 * - verify: whether two photographs show the same person (the closest pair of their faces'
 *   descriptors, Euclidean distance below --threshold, 0.6 as face-api and dlib), or, with
 *   --gallery DIR (one sub-folder of photographs per person, or one photograph per person
 *   named after them), who each face in a photograph is.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { resolveModelFolder } from '../util/run-files.js';
import { IMAGE_EXTENSIONS } from '../vision/decode-image.js';
import { type FlagSpec, type FlagValue, formatFlags, parseCommandFlags } from './args.js';
import { UsageError } from './usage-error.js';
import { DEVICE_FLAG, onFlagDevice } from './device-flag.js';

export const DETECT_SUMMARY = 'find objects with a detector Kiln trained, or faces with an imported face detector (boxes, scores, annotated images)';
export const EMBED_SUMMARY = 'the 128-d descriptor of every face in photographs (detect, landmarks, align, embed)';
export const VERIFY_SUMMARY = 'whether two photographs show the same person, or who a face is in a gallery';


const DETECTOR_FLAGS: FlagSpec[] = [
  { name: 'min-score', kind: 'number', help: 'the lowest score a face may have', defaultText: '0.5' },
  { name: 'input-size', kind: 'int', help: 'tiny-face-detector input side (a multiple of 32; larger finds smaller faces)', defaultText: '416' },
  { name: 'max-results', kind: 'int', help: 'ssd-mobilenetv1: at most this many faces per image', defaultText: '100' },
];

const DETECT_FLAGS: FlagSpec[] = [
  { name: 'model', kind: 'string', help: 'a detector or run folder (kiln pretrain|finetune --task detect), or a face detector folder (kiln import tfjs --arch tiny-face-detector or ssd-mobilenetv1)', valueName: 'DIR' },
  { name: 'input', kind: 'string', help: 'an image, or a folder of images', valueName: 'PATH' },
  ...DETECTOR_FLAGS.map((f) => (f.name === 'min-score' ? { ...f, defaultText: '0.5 faces, 0.3 objects' } : f)),
  { name: 'out', kind: 'string', help: 'folder for the images with their boxes drawn and detections.json', valueName: 'DIR' },
  DEVICE_FLAG,
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

const PIPELINE_FLAGS: FlagSpec[] = [
  { name: 'model', kind: 'string', help: 'the face recognition folder (kiln import tfjs --arch face-recognition)', valueName: 'DIR' },
  { name: 'detector', kind: 'string', help: 'a face detector folder (tiny-face-detector or ssd-mobilenetv1)', valueName: 'DIR' },
  { name: 'landmarks', kind: 'string', help: 'the 68-point landmark folder (kiln import tfjs --arch face-landmark-68)', valueName: 'DIR' },
  ...DETECTOR_FLAGS,
  DEVICE_FLAG,
];

const EMBED_FLAGS: FlagSpec[] = [
  ...PIPELINE_FLAGS,
  { name: 'input', kind: 'string', help: 'an image, or a folder of images', valueName: 'PATH' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

const VERIFY_FLAGS: FlagSpec[] = [
  ...PIPELINE_FLAGS,
  { name: 'gallery', kind: 'string', help: 'identify instead: a folder with a sub-folder of photographs per person (or one photograph per person)', valueName: 'DIR' },
  { name: 'threshold', kind: 'number', help: 'descriptors closer than this are the same person', defaultText: '0.6' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

const help = (usage: string[], about: string[], flags: readonly FlagSpec[]) => (): string => [...usage, '', ...about, '', 'Flags:', formatFlags(flags)].join('\n');

export const detectHelp = help(['Usage: kiln detect --model DIR --input PATH [--out DIR]'], [
  'Prints, per image, the faces found: {"file", "width", "height", "faces": [{"score", "box": {x, y, width, height}}]}',
  '(pixels of the image, best first), or with a detector Kiln trained the objects: "objects": [{"label", "score", "box"}].',
  'With --out, writes each image with its boxes drawn there, and detections.json.',
], DETECT_FLAGS);
export const embedHelp = help(['Usage: kiln embed --model DIR --detector DIR --landmarks DIR --input PATH'], [
  'Prints one JSON line per face: {"file", "face", "score", "box", "alignedBox", "descriptor": [128 numbers]}.',
], EMBED_FLAGS);
export const verifyHelp = help(['Usage: kiln verify A.jpg B.jpg --model DIR --detector DIR --landmarks DIR', '       kiln verify PHOTO --gallery DIR --model DIR --detector DIR --landmarks DIR'], [
  'Same person when the closest pair of faces (one from each photograph) is nearer than --threshold.',
  'With --gallery: for each face in PHOTO, the nearest person of the gallery, or "unknown".',
], VERIFY_FLAGS);

/** Leading arguments that are not flags (verify's photographs), and the flags after them. */
function splitPositionals(argv: readonly string[]): [string[], string[]] {
  const first = argv.findIndex((a) => a.startsWith('--'));
  return first === -1 ? [[...argv], []] : [argv.slice(0, first), argv.slice(first)];
}

function need(flags: Map<string, FlagValue>, name: string, command: string, what: string): string {
  const value = flags.get(name);
  if (typeof value !== 'string' || value === '') throw new UsageError(`kiln ${command}: --${name} ${what} is required`);
  return value;
}

/** The image files of `input` (a file, or a folder's image files in name order). */
function imageFiles(input: string, command: string): string[] {
  let stat;
  try {
    stat = statSync(input);
  } catch {
    throw new UsageError(`kiln ${command}: ${input} does not exist; give an image or a folder of images`);
  }
  if (!stat.isDirectory()) return [input];
  const files = readdirSync(input).filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())).sort().map((f) => path.join(input, f));
  if (files.length === 0) throw new UsageError(`kiln ${command}: ${input} holds no images (${[...IMAGE_EXTENSIONS].join(', ')})`);
  return files;
}

function detectOptions(flags: Map<string, FlagValue>, command: string): { minScore?: number; inputSize?: number; maxResults?: number } {
  const minScore = flags.get('min-score') as number | undefined;
  const inputSize = flags.get('input-size') as number | undefined;
  const maxResults = flags.get('max-results') as number | undefined;
  if (minScore !== undefined && !(minScore >= 0 && minScore < 1)) throw new UsageError(`kiln ${command}: --min-score must be in [0, 1), got ${minScore}`);
  if (inputSize !== undefined && !(inputSize >= 32 && inputSize % 32 === 0)) throw new UsageError(`kiln ${command}: --input-size must be a positive multiple of 32, got ${inputSize}`);
  if (maxResults !== undefined && !(maxResults >= 1)) throw new UsageError(`kiln ${command}: --max-results must be at least 1, got ${maxResults}`);
  return { ...(minScore === undefined ? {} : { minScore }), ...(inputSize === undefined ? {} : { inputSize }), ...(maxResults === undefined ? {} : { maxResults }) };
}

const round = (box: { x: number; y: number; width: number; height: number }): { x: number; y: number; width: number; height: number } => ({
  x: Number(box.x.toFixed(2)), y: Number(box.y.toFixed(2)), width: Number(box.width.toFixed(2)), height: Number(box.height.toFixed(2)),
});

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function annotate(file: string, boxes: { score: number; label?: string; box: { x: number; y: number; width: number; height: number } }[], out: string): Promise<void> {
  const meta = await sharp(file).rotate().metadata();
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  const stroke = Math.max(2, Math.round(Math.max(width, height) / 400));
  const shapes = boxes.map(({ score, label, box }) =>
    `<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" fill="none" stroke="#00e060" stroke-width="${stroke}"/>` +
    `<text x="${box.x}" y="${Math.max(box.y - stroke * 2, stroke * 6)}" font-family="sans-serif" font-size="${stroke * 7}" fill="#00e060">${label === undefined ? '' : `${escapeXml(label)} `}${score.toFixed(2)}</text>`).join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes}</svg>`);
  await sharp(file).rotate().composite([{ input: svg, top: 0, left: 0 }]).png().toFile(out);
}

/** `kiln detect` with a detector Kiln trained (kiln pretrain|finetune --task detect): objects with their class. */
async function detectObjectsIn(files: readonly string[], dir: string, minScore: number | undefined, out: string | undefined): Promise<number> {
  const [{ loadDetector }, { detectObjects }, { decodeImage }] = await Promise.all([
    import('../vision/detection/detector-folder.js'), import('../vision/detection/detect-objects.js'), import('../vision/decode-image.js'),
  ]);
  const { model, config, classNames } = loadDetector(dir);
  const [H, W] = config.image_size;
  const C = config.num_channels as 1 | 3;
  const results = [];
  for (const file of files) {
    const meta = await sharp(file).metadata();
    const [width, height] = [meta.width ?? W, meta.height ?? H];
    const pixels = await decodeImage(file, { height: H, width: W, channels: C });
    const [found] = detectObjects(model, pixels, [1, C, H, W], config.normalization, minScore === undefined ? {} : { minScore });
    // Boxes in pixels of the image as given (the detector saw it resized to W x H).
    const objects = found!.map((o) => ({ label: classNames[o.label]!, score: o.score, box: { x: (o.x * width) / W, y: (o.y * height) / H, width: (o.width * width) / W, height: (o.height * height) / H } }));
    const result = { file, width, height, objects: objects.map((o) => ({ label: o.label, score: Number(o.score.toFixed(4)), box: round(o.box) })) };
    results.push(result);
    process.stdout.write(JSON.stringify(result) + '\n');
    if (out !== undefined) await annotate(file, objects, path.join(out, `${path.parse(file).name}.png`));
  }
  if (out !== undefined) writeJsonAtomic(path.join(out, 'detections.json'), results);
  return 0;
}

/** The architecture a model folder's config.json names (a run folder: its best/), if it can be read. */
function folderArchitecture(dir: string): unknown {
  try {
    return (JSON.parse(readFileSync(path.join(resolveModelFolder(dir).dir, 'config.json'), 'utf8')) as { architecture?: unknown }).architecture;
  } catch {
    return undefined;
  }
}

export async function runDetect(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, DETECT_FLAGS, 'detect', detectHelp);
  if (flags === undefined) return 0;
  return onFlagDevice(flags, () => detect(flags));
}

/** `kiln detect` on --device's device. */
async function detect(flags: Map<string, FlagValue>): Promise<number> {
  const files = imageFiles(need(flags, 'input', 'detect', 'PATH'), 'detect');
  const options = detectOptions(flags, 'detect');
  const modelDir = need(flags, 'model', 'detect', 'DIR');
  if (folderArchitecture(modelDir) === 'grid-detector') {
    const out = flags.get('out') as string | undefined;
    if (out !== undefined) mkdirSync(out, { recursive: true });
    return detectObjectsIn(files, modelDir, options.minScore ?? 0.3, out);
  }
  const [{ loadFaceNetwork }, { readRgbImage }, { detectFacesSsd, detectFacesTiny }, { TinyFaceDetector }] = await Promise.all([
    import('../vision/face/face-folder.js'), import('../vision/face/face-image.js'), import('../vision/face/face-detect.js'), import('../vision/face/face-nets.js'),
  ]);
  const net = loadFaceNetwork(need(flags, 'model', 'detect', 'DIR'), ['tiny-face-detector', 'ssd-mobilenetv1']);
  const out = flags.get('out') as string | undefined;
  if (out !== undefined) mkdirSync(out, { recursive: true });
  const results = [];
  for (const file of files) {
    const image = await readRgbImage(file);
    const faces = net instanceof TinyFaceDetector ? detectFacesTiny(net, image, options) : detectFacesSsd(net as Parameters<typeof detectFacesSsd>[0], image, options);
    const result = { file, width: image.width, height: image.height, faces: faces.map((f) => ({ score: Number(f.score.toFixed(4)), box: round(f.box) })) };
    results.push(result);
    process.stdout.write(JSON.stringify(result) + '\n');
    if (out !== undefined) await annotate(file, faces, path.join(out, `${path.parse(file).name}.png`));
  }
  if (out !== undefined) writeJsonAtomic(path.join(out, 'detections.json'), results);
  return 0;
}

async function pipeline(flags: Map<string, FlagValue>, command: string) {
  const [{ loadFaceNetwork }, { readRgbImage }, detect, nets] = await Promise.all([
    import('../vision/face/face-folder.js'), import('../vision/face/face-image.js'), import('../vision/face/face-detect.js'), import('../vision/face/face-nets.js'),
  ]);
  const loaded = {
    detector: loadFaceNetwork(need(flags, 'detector', command, 'DIR'), ['tiny-face-detector', 'ssd-mobilenetv1']) as InstanceType<typeof nets.TinyFaceDetector> | InstanceType<typeof nets.SsdMobilenetV1>,
    landmarks: loadFaceNetwork(need(flags, 'landmarks', command, 'DIR'), ['face-landmark-68']) as InstanceType<typeof nets.FaceLandmark68Net>,
    recognition: loadFaceNetwork(need(flags, 'model', command, 'DIR'), ['face-recognition']) as InstanceType<typeof nets.FaceRecognitionNet>,
  };
  const options = detectOptions(flags, command);
  return {
    describe: async (file: string) => detect.describeFaces(loaded, await readRgbImage(file), options),
    distance: detect.descriptorDistance,
  };
}

export async function runEmbed(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, EMBED_FLAGS, 'embed', embedHelp);
  if (flags === undefined) return 0;
  return onFlagDevice(flags, () => embed(flags));
}

/** `kiln embed` on --device's device. */
async function embed(flags: Map<string, FlagValue>): Promise<number> {
  const files = imageFiles(need(flags, 'input', 'embed', 'PATH'), 'embed');
  const { describe } = await pipeline(flags, 'embed');
  for (const file of files) {
    for (const [i, face] of (await describe(file)).entries()) {
      process.stdout.write(JSON.stringify({ file, face: i, score: Number(face.score.toFixed(4)), box: round(face.box), alignedBox: face.alignedBox, descriptor: Array.from(face.descriptor, (v) => Number(v.toPrecision(7))) }) + '\n');
    }
  }
  return 0;
}

export async function runVerify(argv: readonly string[]): Promise<number> {
  const [photos, rest] = splitPositionals(argv);
  const flags = parseCommandFlags(rest, VERIFY_FLAGS, 'verify', verifyHelp);
  if (flags === undefined) return 0;
  const gallery = flags.get('gallery') as string | undefined;
  const threshold = (flags.get('threshold') as number | undefined) ?? 0.6;
  if (!(threshold > 0)) throw new UsageError(`kiln verify: --threshold must be positive, got ${threshold}`);
  const wanted = gallery === undefined ? 2 : 1;
  if (photos.length !== wanted) throw new UsageError(gallery === undefined ? `kiln verify: give two photographs (got ${photos.length}): kiln verify A.jpg B.jpg --model DIR --detector DIR --landmarks DIR` : `kiln verify: give one photograph to identify with --gallery (got ${photos.length})`);
  for (const photo of photos) imageFiles(photo, 'verify');
  return onFlagDevice(flags, () => verify(flags, photos, gallery, threshold));
}

/** `kiln verify` on --device's device: two photographs, or one against a gallery. */
async function verify(flags: Map<string, FlagValue>, photos: readonly string[], gallery: string | undefined, threshold: number): Promise<number> {
  const { describe, distance } = await pipeline(flags, 'verify');
  const facesOf = async (file: string) => {
    const faces = await describe(file);
    if (faces.length === 0) throw new UsageError(`kiln verify: no face found in ${file}`);
    return faces;
  };
  if (gallery === undefined) {
    const [a, b] = [await facesOf(photos[0]!), await facesOf(photos[1]!)];
    let best = { distance: Number.POSITIVE_INFINITY, a: 0, b: 0 };
    for (const [i, fa] of a.entries()) for (const [j, fb] of b.entries()) {
      const d = distance(fa.descriptor, fb.descriptor);
      if (d < best.distance) best = { distance: d, a: i, b: j };
    }
    const same = best.distance < threshold;
    process.stdout.write(JSON.stringify({ same, distance: Number(best.distance.toFixed(4)), threshold, faces: [a.length, b.length], closest: [best.a, best.b] }) + '\n');
    process.stdout.write(`${same ? 'same person' : 'different people'} (distance ${best.distance.toFixed(3)}, threshold ${threshold})\n`);
    return 0;
  }
  // The gallery: each person's descriptors (the first face of each of their photographs).
  let entries;
  try {
    entries = readdirSync(gallery, { withFileTypes: true });
  } catch {
    throw new UsageError(`kiln verify: gallery ${gallery} is not a folder`);
  }
  const people = new Map<string, Float32Array[]>();
  for (const entry of entries.sort((x, y) => x.name.localeCompare(y.name))) {
    const where = path.join(gallery, entry.name);
    const photosOf = entry.isDirectory() ? readdirSync(where).filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())).map((f) => path.join(where, f)) : IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase()) ? [where] : [];
    const name = entry.isDirectory() ? entry.name : path.parse(entry.name).name;
    for (const photo of photosOf) {
      const faces = await describe(photo);
      if (faces.length > 0) people.set(name, [...(people.get(name) ?? []), faces[0]!.descriptor]);
    }
  }
  if (people.size === 0) throw new UsageError(`kiln verify: no face found in the gallery ${gallery}`);
  for (const [i, face] of (await facesOf(photos[0]!)).entries()) {
    let best = { name: 'unknown', distance: Number.POSITIVE_INFINITY };
    for (const [name, descriptors] of people) for (const d of descriptors) {
      const dist = distance(face.descriptor, d);
      if (dist < best.distance) best = { name, distance: dist };
    }
    process.stdout.write(JSON.stringify({ face: i, box: round(face.box), person: best.distance < threshold ? best.name : 'unknown', nearest: best.name, distance: Number(best.distance.toFixed(4)) }) + '\n');
  }
  return 0;
}
