/**
 * Token files: a corpus tokenized once, stored compactly, and read back in one go.
 *
 * Layout (all little-endian), 32 bytes of header then the ids:
 *
 * | offset | size | field                                         |
 * |--------|------|-----------------------------------------------|
 * | 0      | 8    | magic: ASCII "KILNTOKS"                       |
 * | 8      | 4    | version: uint32, 1                            |
 * | 12     | 4    | bytes per id: uint32, 2 (uint16) or 4 (uint32) |
 * | 16     | 4    | vocabSize: uint32                             |
 * | 20     | 4    | reserved, 0                                   |
 * | 24     | 8    | count: uint64, number of ids                  |
 * | 32     | …    | count ids                                     |
 *
 * The id type is uint16 when every id fits (vocabSize ≤ 65,536, as for GPT-2's 50,257) and
 * uint32 otherwise. The 32-byte header keeps the ids aligned, so a read views them in place.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { TokenFileError } from './token-file-error.js';

export const TOKEN_FILE_MAGIC = 'KILNTOKS';
export const TOKEN_FILE_VERSION = 1;
export const TOKEN_FILE_HEADER_BYTES = 32;

/** Token ids as they are stored and read back. */
export type TokenArray = Uint16Array | Uint32Array;

export interface TokenFileHeader {
  version: number;
  dtype: 'uint16' | 'uint32';
  vocabSize: number;
  count: number;
}

/** The id type a vocabulary needs: uint16 up to 65,536 ids, uint32 beyond. */
export function tokenDtypeFor(vocabSize: number): 'uint16' | 'uint32' {
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 2 ** 32) {
    throw new RangeError(`token file: vocabSize must be an integer in [1, 2^32], got ${vocabSize}`);
  }
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}


/**
 * Writes `ids` (each an integer in [0, vocabSize)) to a token file at `file`, atomically.
 * @returns the header written
 */
export function writeTokenFile(file: string, ids: ArrayLike<number>, vocabSize: number): TokenFileHeader {
  const dtype = tokenDtypeFor(vocabSize);
  const count = ids.length;
  const body = dtype === 'uint16' ? new Uint16Array(count) : new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`writeTokenFile(${file}): id ${id} at position ${i} is outside [0, ${vocabSize}); is vocabSize the tokenizer's?`);
    }
    body[i] = id;
  }
  const header = Buffer.alloc(TOKEN_FILE_HEADER_BYTES);
  header.write(TOKEN_FILE_MAGIC, 0, 'ascii');
  header.writeUInt32LE(TOKEN_FILE_VERSION, 8);
  header.writeUInt32LE(body.BYTES_PER_ELEMENT, 12);
  // 2^32 itself does not fit a uint32; it is stored as 0, which no real vocabulary has.
  header.writeUInt32LE(vocabSize === 2 ** 32 ? 0 : vocabSize, 16);
  header.writeBigUInt64LE(BigInt(count), 24);
  let bytes: Uint8Array = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (endianness() === 'BE') {
    const swapped = Buffer.from(bytes);
    bytes = body.BYTES_PER_ELEMENT === 2 ? swapped.swap16() : swapped.swap32();
  }
  writeFileAtomic(file, (fd) => {
    writeAll(fd, header);
    writeAll(fd, bytes);
  });
  return { version: TOKEN_FILE_VERSION, dtype, vocabSize, count };
}

function parseHeader(file: string, bytes: Buffer, fileSize: number): TokenFileHeader {
  const start = bytes.toString('latin1', 0, Math.min(8, bytes.length));
  if (!TOKEN_FILE_MAGIC.startsWith(start) || (bytes.length >= 8 && start !== TOKEN_FILE_MAGIC)) {
    throw new TokenFileError(file, `not a Kiln token file (it does not start with "${TOKEN_FILE_MAGIC}"); write one with writeTokenFile`);
  }
  if (bytes.length < TOKEN_FILE_HEADER_BYTES) {
    throw new TokenFileError(file, `truncated: ${fileSize} bytes, shorter than the ${TOKEN_FILE_HEADER_BYTES}-byte header`);
  }
  const version = bytes.readUInt32LE(8);
  if (version !== TOKEN_FILE_VERSION) {
    throw new TokenFileError(file, `token file version ${version}; this Kiln reads version ${TOKEN_FILE_VERSION}`);
  }
  const width = bytes.readUInt32LE(12);
  if (width !== 2 && width !== 4) throw new TokenFileError(file, `corrupt header: ${width} bytes per id (expected 2 or 4)`);
  const stored = bytes.readUInt32LE(16);
  const vocabSize = stored === 0 ? 2 ** 32 : stored;
  const count = Number(bytes.readBigUInt64LE(24));
  const expected = TOKEN_FILE_HEADER_BYTES + count * width;
  if (fileSize !== expected) {
    throw new TokenFileError(
      file,
      fileSize < expected
        ? `truncated: the header promises ${count} ids (${expected} bytes) but the file has ${fileSize} bytes`
        : `${fileSize - expected} unexpected bytes after the ${count} ids the header promises`,
    );
  }
  return { version, dtype: width === 2 ? 'uint16' : 'uint32', vocabSize, count };
}

/** The header of a token file (reads the whole file to check its size matches). */
export function readTokenFileHeader(file: string): TokenFileHeader {
  const bytes = readFileSync(file);
  return parseHeader(file, bytes, bytes.length);
}

export interface ReadTokenFileOptions {
  /** Refuse a file made for a different vocabulary (e.g. another tokenizer). */
  vocabSize?: number;
}

/**
 * The ids of a token file, validated: magic, version, size and every id < the stored vocabSize.
 * @returns a Uint16Array or Uint32Array, as the file stores them
 */
export function readTokenFile(file: string, options: ReadTokenFileOptions = {}): TokenArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new TokenFileError(file, `cannot read token file: ${(error as Error).message}`);
  }
  const header = parseHeader(file, bytes, bytes.length);
  if (options.vocabSize !== undefined && options.vocabSize !== header.vocabSize) {
    throw new TokenFileError(file, `made for a vocabulary of ${header.vocabSize} but ${options.vocabSize} was expected; re-tokenize with this tokenizer`);
  }
  const width = header.dtype === 'uint16' ? 2 : 4;
  const offset = bytes.byteOffset + TOKEN_FILE_HEADER_BYTES;
  let ids: TokenArray;
  if (endianness() === 'LE' && offset % width === 0) {
    ids = width === 2 ? new Uint16Array(bytes.buffer, offset, header.count) : new Uint32Array(bytes.buffer, offset, header.count);
  } else {
    // Unaligned (a pooled Buffer) or a big-endian host: decode element by element.
    const view = new DataView(bytes.buffer, offset, header.count * width);
    ids = width === 2 ? new Uint16Array(header.count) : new Uint32Array(header.count);
    for (let i = 0; i < header.count; i++) ids[i] = width === 2 ? view.getUint16(2 * i, true) : view.getUint32(4 * i, true);
  }
  for (let i = 0; i < ids.length; i++) {
    if (ids[i]! >= header.vocabSize) {
      throw new TokenFileError(file, `corrupt: id ${ids[i]} at position ${i} is not below the vocabulary size ${header.vocabSize}`);
    }
  }
  return ids;
}

/**
 * A deterministic train/validation split, as nanoGPT makes it: the first
 * floor(n · (1 − valFraction)) ids train, the contiguous tail validates. A tail (not a random
 * sample of windows) keeps validation text unseen in training, with no windows straddling the
 * two. Both are views of `ids`, not copies.
 */
export function splitTokens<A extends TokenArray>(ids: A, valFraction: number): { train: A; val: A } {
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new RangeError(`splitTokens: valFraction must be in [0, 1), got ${valFraction}`);
  }
  const trainCount = Math.floor(ids.length * (1 - valFraction));
  return { train: ids.subarray(0, trainCount) as A, val: ids.subarray(trainCount) as A };
}
