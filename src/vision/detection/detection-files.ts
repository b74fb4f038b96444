/**
 * Detection data from files, in the two layouts detectors are trained from:
 *
 * - YOLO: a folder with images/ (any depth) and labels/, where labels/<path>.txt holds one line
 *   per object, "class x_centre y_centre width height" as fractions of the image (an image
 *   without a label file has no objects); class names from classes.txt (one per line) if it is
 *   there, else the class numbers.
 * - COCO: a JSON file with images [{id, file_name}], annotations [{image_id, category_id, bbox:
 *   [x, y, width, height] in pixels}] and categories [{id, name}]; file names relative to the
 *   JSON's folder. Categories are renumbered 0..K-1 in the order of their ids.
 *
 * Every image is decoded and resized to size × size (stretched, as image folders are), its boxes
 * scaled with it. A malformed line, an unknown class or an image that does not decode is an
 * ImageDataError naming the file (and the line).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage, IMAGE_EXTENSIONS, MAX_INPUT_PIXELS } from '../decode-image.js';
import { ImageDataError } from '../image-data-error.js';
import type { DetectionImages, LabelledBox } from './detection-data.js';

export interface DetectionFileOptions {
  /** Images are resized to size × size. */
  size: number;
  channels: 1 | 3;
}

function imagesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...imagesUnder(full));
    else if (IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase())) out.push(full);
  }
  return out;
}

async function pixelSize(file: string): Promise<[number, number]> {
  try {
    const meta = await sharp(file, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    if (meta.width === undefined || meta.height === undefined) throw new Error('no size in its header');
    return [meta.width, meta.height];
  } catch (error) {
    throw new ImageDataError(`${file}: not a readable image (${(error as Error).message.split('\n')[0]})`, file);
  }
}

async function decodeAll(files: readonly string[], options: DetectionFileOptions): Promise<Uint8Array> {
  const plane = options.channels * options.size * options.size;
  const pixels = new Uint8Array(files.length * plane);
  for (let i = 0; i < files.length; i++) pixels.set(await decodeImage(files[i]!, { height: options.size, width: options.size, channels: options.channels }), i * plane);
  return pixels;
}

/** A YOLO folder: images/ and labels/. */
async function readYolo(dir: string, options: DetectionFileOptions): Promise<DetectionImages> {
  const imagesDir = path.join(dir, 'images');
  const labelsDir = path.join(dir, 'labels');
  if (!existsSync(imagesDir) || !existsSync(labelsDir)) throw new ImageDataError(`${dir}: a YOLO detection folder needs images/ and labels/ (labels/NAME.txt: "class x_centre y_centre width height" per object, fractions of the image)`, dir);
  const files = imagesUnder(imagesDir);
  if (files.length === 0) throw new ImageDataError(`${imagesDir}: no images (.png, .jpg, …)`, imagesDir);
  const namesFile = path.join(dir, 'classes.txt');
  const named = existsSync(namesFile) ? readFileSync(namesFile, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '') : null;
  let maxClass = -1;
  const S = options.size;
  const objects = files.map((file) => {
    const relative = path.relative(imagesDir, file);
    const labelFile = path.join(labelsDir, relative.slice(0, relative.length - path.extname(relative).length) + '.txt');
    if (!existsSync(labelFile)) return [];
    return readFileSync(labelFile, 'utf8').split(/\r?\n/).flatMap((line, i): LabelledBox[] => {
      if (line.trim() === '') return [];
      const parts = line.trim().split(/\s+/);
      const [c, cx, cy, w, h] = parts.map(Number) as [number, number, number, number, number];
      const bad = (why: string): ImageDataError => new ImageDataError(`${labelFile}:${i + 1}: ${why}; a line is "class x_centre y_centre width height" (fractions of the image), got '${line.trim()}'`, labelFile);
      if (parts.length !== 5 || [c, cx, cy, w, h].some((v) => !Number.isFinite(v))) throw bad('expected 5 numbers');
      if (!Number.isInteger(c) || c < 0) throw bad(`class ${parts[0]} is not a class number`);
      if (named !== null && c >= named.length) throw bad(`class ${c} is not among the ${named.length} of classes.txt`);
      if (!(w > 0 && h > 0 && w <= 1.001 && h <= 1.001 && cx >= -0.001 && cx <= 1.001 && cy >= -0.001 && cy <= 1.001)) throw bad('the box is not inside the image (fractions in [0, 1], width and height above 0)');
      maxClass = Math.max(maxClass, c);
      const x0 = Math.max(0, (cx - w / 2) * S);
      const y0 = Math.max(0, (cy - h / 2) * S);
      return [{ x: x0, y: y0, width: Math.min(S, (cx + w / 2) * S) - x0, height: Math.min(S, (cy + h / 2) * S) - y0, label: c }];
    });
  });
  const classNames = named ?? Array.from({ length: maxClass + 1 }, (_, i) => String(i));
  if (classNames.length === 0) throw new ImageDataError(`${labelsDir}: no objects in any label file`, labelsDir);
  return { channels: options.channels, height: S, width: S, classNames, pixels: await decodeAll(files, options), objects };
}

interface CocoJson {
  images?: { id?: unknown; file_name?: unknown }[];
  annotations?: { image_id?: unknown; category_id?: unknown; bbox?: unknown }[];
  categories?: { id?: unknown; name?: unknown }[];
}

/** A COCO-style JSON file. */
async function readCoco(file: string, options: DetectionFileOptions): Promise<DetectionImages> {
  let json: CocoJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as CocoJson;
  } catch (error) {
    throw new ImageDataError(`${file}: not a COCO JSON file (${(error as Error).message})`, file);
  }
  const bad = (why: string): ImageDataError => new ImageDataError(`${file}: ${why}; a COCO file has images [{id, file_name}], annotations [{image_id, category_id, bbox: [x, y, width, height]}] and categories [{id, name}]`, file);
  if (typeof json !== 'object' || json === null || !Array.isArray(json.images) || !Array.isArray(json.annotations) || !Array.isArray(json.categories)) throw bad('it needs the arrays images, annotations and categories');
  const categories = [...json.categories].sort((a, b) => Number(a.id) - Number(b.id));
  if (categories.length === 0 || categories.some((c) => !Number.isInteger(c.id))) throw bad('every category needs an integer id');
  const classOf = new Map(categories.map((c, k) => [c.id as number, k]));
  const images = json.images;
  const indexOf = new Map<unknown, number>();
  images.forEach((image, i) => {
    if (image.id === undefined || typeof image.file_name !== 'string') throw bad(`image ${i} has no id or file_name`);
    if (indexOf.has(image.id)) throw bad(`image id ${JSON.stringify(image.id)} appears twice`);
    indexOf.set(image.id, i);
  });
  const files = images.map((image) => path.resolve(path.dirname(file), image.file_name as string));
  const sizes = await Promise.all(files.map(pixelSize));
  const S = options.size;
  const objects: LabelledBox[][] = images.map(() => []);
  json.annotations.forEach((a, i) => {
    const at = indexOf.get(a.image_id);
    const label = classOf.get(a.category_id as number);
    if (at === undefined) throw bad(`annotation ${i} names image_id ${JSON.stringify(a.image_id)}, which is not among the images`);
    if (label === undefined) throw bad(`annotation ${i} names category_id ${JSON.stringify(a.category_id)}, which is not among the categories`);
    const box = a.bbox;
    if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v)) || !(box[2] > 0 && box[3] > 0)) throw bad(`annotation ${i} has bbox ${JSON.stringify(box)}, not [x, y, width, height] with a positive width and height`);
    const [W, H] = sizes[at]!;
    const [x, y, w, h] = box as [number, number, number, number];
    const x0 = Math.max(0, (x * S) / W);
    const y0 = Math.max(0, (y * S) / H);
    const x1 = Math.min(S, ((x + w) * S) / W);
    const y1 = Math.min(S, ((y + h) * S) / H);
    if (x1 <= x0 || y1 <= y0) throw bad(`annotation ${i}'s bbox ${JSON.stringify(box)} lies outside its ${W}x${H} image`);
    objects[at]!.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, label });
  });
  const classNames = categories.map((c) => (typeof c.name === 'string' ? c.name : String(c.id)));
  return { channels: options.channels, height: S, width: S, classNames, pixels: await decodeAll(files, options), objects };
}

/** Images and boxes from a YOLO folder or a COCO JSON file (see the module comment). */
export async function readDetectionFiles(source: string, options: DetectionFileOptions): Promise<DetectionImages> {
  const stat = statSync(source, { throwIfNoEntry: false });
  if (stat === undefined) throw new ImageDataError(`${source}: no such file or folder; give digits, a YOLO folder (images/, labels/) or a COCO JSON file`, source);
  if (stat.isDirectory()) return readYolo(source, options);
  if (source.toLowerCase().endsWith('.json')) return readCoco(source, options);
  throw new ImageDataError(`${source}: neither a folder (YOLO: images/, labels/) nor a .json file (COCO)`, source);
}
