/**
 * IDX files (the MNIST format), plain or gzip'd: a big-endian header — two zero bytes, a type
 * code, the number of dims — then one big-endian uint32 per dim, then the values in C order.
 * Only unsigned bytes (type 0x08) are read: every image and label file of MNIST and
 * Fashion-MNIST uses them.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ImageDataError } from './image-data-error.js';

export interface IdxArray {
  /** Sizes of the dims, e.g. [60000, 28, 28] for an image file, [60000] for labels. */
  shape: number[];
  /** The values in C order; length = product of shape. */
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

/** Parses IDX bytes (already gunzipped). `file` only names the source in errors. */
export function decodeIdx(bytes: Uint8Array, file = '<bytes>'): IdxArray {
  const fail = (problem: string): ImageDataError =>
    new ImageDataError(`${file}: not a valid IDX file: ${problem}; re-download or regenerate it (MNIST format: http://yann.lecun.com/exdb/mnist/)`, file);
  if (bytes.length < 4) throw fail(`${bytes.length} bytes, shorter than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw fail(`magic number starts with bytes ${bytes[0]}, ${bytes[1]} instead of 0, 0`);
  const type = bytes[2]!;
  const ndim = bytes[3]!;
  if (type !== 0x08) {
    const known = TYPE_NAMES[type];
    throw fail(known === undefined ? `unknown element type code 0x${type.toString(16)}` : `element type ${known}; only uint8 IDX files are supported`);
  }
  if (ndim === 0) throw fail('zero dims');
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) throw fail(`${bytes.length} bytes, shorter than the ${headerBytes}-byte header of ${ndim} dims`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available !== count) {
    throw fail(`header says shape [${shape.join(', ')}] = ${count} values, but ${available} bytes follow it${available < count ? ' (truncated?)' : ''}`);
  }
  return { shape, data: bytes.subarray(headerBytes) };
}

/** Reads an IDX file; a name ending in .gz (or gzip magic bytes) is gunzipped first. */
export function readIdx(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new ImageDataError(`cannot read IDX file ${file}: ${(error as Error).message}`, file);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new ImageDataError(`${file}: gzip data is corrupt (${(error as Error).message}); re-download or regenerate it`, file);
    }
  }
  return decodeIdx(bytes, file);
}
