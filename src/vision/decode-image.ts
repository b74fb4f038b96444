/**
 * Decoding one image file (PNG, JPEG, anything sharp reads) to (C, H, W) uint8 pixels of a
 * fixed size: resized to exactly H×W (aspect ratio not kept), alpha dropped, converted to
 * grey (C = 1) or sRGB (C = 3).
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ImageDataError } from './image-data-error.js';

/** The most pixels an input image may have (a 10,000 × 10,000 photograph). */
export const MAX_INPUT_PIXELS = 100_000_000;

/** The file extensions commands read as images when given a folder (lower case, with the dot). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);
/** DEFLATE expands data at most 1032 times (zlib's technical notes); a PNG's pixels cannot exceed that. */
const DEFLATE_MAX_RATIO = 1032;

/**
 * Why a PNG's header claims more pixels than its bytes can hold, or null. A 182-byte PNG that
 * claims 6,029,318 × 21 pixels made sharp allocate 380 MB and spend 7 s before failing (found by
 * the fuzz campaign); its IHDR says so before any decoding.
 */
function impossiblePng(bytes: Uint8Array): string | null {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 29 || signature.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24]!;
  const samples = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[bytes[25]!] ?? 4;
  const raw = height * (1 + Math.ceil((width * samples * depth) / 8)); // each row: a filter byte and its samples
  if (width * height > MAX_INPUT_PIXELS) return `its header claims ${width}x${height} pixels, more than Kiln decodes (${MAX_INPUT_PIXELS / 1e6} million)`;
  if (raw > DEFLATE_MAX_RATIO * bytes.length + 65_536) return `its header claims ${width}x${height} pixels, more than a ${bytes.length}-byte PNG can hold`;
  return null;
}

export interface DecodeOptions {
  /** Output height and width. */
  height: number;
  width: number;
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
}

/** (C, H, W) uint8. Rejects with an ImageDataError naming the file when it is not a readable image. */
export async function decodeImage(file: string, options: DecodeOptions): Promise<Uint8Array> {
  const { height: H, width: W, channels: C } = options;
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ImageDataError(`${file}: cannot read it (${(error as Error).message})`, file);
  }
  const impossible = impossiblePng(bytes);
  if (impossible !== null) throw new ImageDataError(`${file}: not a readable image (${impossible})`, file);
  try {
    let pipeline = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).resize(W, H, { fit: 'fill' }).removeAlpha();
    pipeline = C === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
    decoded = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new ImageDataError(`${file}: not a readable image (${reason})`, file);
  }
  const { data, info } = decoded;
  if (info.width !== W || info.height !== H) throw new ImageDataError(`${file}: decoded to ${info.width}x${info.height}, expected ${W}x${H}`, file);
  const plane = H * W;
  const out = new Uint8Array(C * plane);
  const got = info.channels;
  // sharp writes (H, W, channels) interleaved; a grey image asked for as RGB repeats its one channel.
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < C; c++) out[c * plane + p] = data[p * got + Math.min(c, got - 1)]!;
  }
  return out;
}
