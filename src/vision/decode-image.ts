/**
 * Decoding one image file (PNG, JPEG, anything sharp reads) to (C, H, W) uint8 pixels of a
 * fixed size: resized to exactly H×W (aspect ratio not kept), alpha dropped, converted to
 * grey (C = 1) or sRGB (C = 3).
 */
import sharp from 'sharp';
import { ImageDataError } from './image-data-error.js';

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
  try {
    let pipeline = sharp(file, { failOn: 'error' }).resize(W, H, { fit: 'fill' }).removeAlpha();
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
