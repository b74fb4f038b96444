/**
 * The safetensors container, without tensors: dtype names, header parsing with full
 * validation, and header writing. See https://huggingface.co/docs/safetensors.
 *
 *   8 bytes   N, the header length, a little-endian u64
 *   N bytes   UTF-8 JSON: { "__metadata__"?: {string: string},
 *                           name: { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] } }
 *   the rest  the data section: each tensor's bytes, little-endian, C order; offsets are
 *             relative to the start of this section, and the ranges tile it with no gaps
 */
import type { DType } from '../tensor/dtype.js';
import { SafetensorsError } from './safetensors-error.js';

/** The reference implementation refuses headers over 100 MB; so does Kiln. */
export const MAX_HEADER_BYTES = 100_000_000;

interface DtypeFormat {
  /** The name in safetensors headers. */
  readonly code: string;
  /** Bytes per element. */
  readonly size: number;
  /**
   * The reference writer's dtype order; data is written by descending rank, then by name, which
   * puts every tensor at a multiple of its element size (the data section starts 8-aligned).
   */
  readonly rank: number;
}

const FORMATS: Readonly<Record<DType, DtypeFormat>> = {
  bool: { code: 'BOOL', size: 1, rank: 0 },
  uint8: { code: 'U8', size: 1, rank: 1 },
  int8: { code: 'I8', size: 1, rank: 2 },
  int16: { code: 'I16', size: 2, rank: 3 },
  float16: { code: 'F16', size: 2, rank: 4 },
  bfloat16: { code: 'BF16', size: 2, rank: 5 },
  int32: { code: 'I32', size: 4, rank: 6 },
  float32: { code: 'F32', size: 4, rank: 7 },
  float64: { code: 'F64', size: 8, rank: 8 },
  int64: { code: 'I64', size: 8, rank: 9 },
};

const DTYPE_OF_CODE: ReadonlyMap<string, DType> = new Map(
  (Object.entries(FORMATS) as [DType, DtypeFormat][]).map(([dtype, format]) => [format.code, dtype]),
);

/** The dtypes Kiln reads, as listed in error messages. */
const KNOWN_CODES = 'F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL';

/** Valid safetensors dtypes that Kiln has no tensor type for. */
const UNSUPPORTED_CODES = new Set(['U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

export function formatOf(dtype: DType): DtypeFormat {
  return FORMATS[dtype];
}

/** One tensor's entry in a header. */
export interface SafetensorsTensorInfo {
  /** Kiln's dtype for the stored type (`F16` → 'float16', ...). */
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte range `[begin, end)` inside the data section. */
  readonly dataOffsets: readonly [number, number];
}

/** A parsed, validated header. */
export interface SafetensorsHeader {
  /** Tensor entries by name, in data order. */
  readonly tensors: Readonly<Record<string, SafetensorsTensorInfo>>;
  /** The `__metadata__` block; `{}` when the file has none. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Where the data section starts in the file: 8 + the header length. */
  readonly dataStart: number;
}

/**
 * Reads the header length from the first 8 bytes and checks it against the file size.
 * @returns N, the JSON header's length in bytes
 */
export function readHeaderLength(prefix: Uint8Array, fileBytes: number, file: string): number {
  if (fileBytes < 8) {
    throw new SafetensorsError(file, `the file is ${fileBytes} bytes, shorter than the 8-byte header length; it is truncated or not a safetensors file`);
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, `the header length is ${length} bytes, over the ${MAX_HEADER_BYTES}-byte limit; the file is corrupt or not a safetensors file`);
  }
  const n = Number(length);
  if (n > fileBytes - 8) {
    throw new SafetensorsError(file, `the header length is ${n} bytes but only ${fileBytes - 8} bytes follow the length field; the file is truncated or not a safetensors file`);
  }
  return n;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Parses and validates the JSON header. Every check happens here, before any tensor is
 * allocated: JSON shape, dtypes, shapes, offsets against shapes, ranges against the data
 * section, overlaps, gaps and trailing bytes.
 * @param json the N header bytes
 * @param dataBytes the size of the data section (file size − 8 − N)
 */
export function parseHeader(json: Uint8Array, dataBytes: number, file: string): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(json));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SafetensorsError(file, `the header is not valid UTF-8 JSON (${reason}); the file is corrupt or not a safetensors file`);
  }
  if (!isPlainObject(parsed)) {
    throw new SafetensorsError(file, `the header must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : describe(parsed)}`);
  }

  let metadata: Record<string, string> = {};
  const entries: [string, SafetensorsTensorInfo][] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(value, file);
      continue;
    }
    entries.push([name, parseEntry(name, value, dataBytes, file)]);
  }

  // The ranges must tile the data section: sorted by offset, each starts where the last ended.
  const ordered = [...entries].sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let previous: string | undefined;
  for (const [name, info] of ordered) {
    const [begin, end] = info.dataOffsets;
    if (begin < cursor) {
      throw new SafetensorsError(file, `tensor '${name}' [${begin}, ${end}) overlaps tensor '${previous}' which ends at ${cursor}`);
    }
    if (begin > cursor) {
      const after = previous === undefined ? 'at the start of the data section' : `after tensor '${previous}'`;
      throw new SafetensorsError(file, `bytes [${cursor}, ${begin}) of the data section belong to no tensor (a gap ${after}, before '${name}')`);
    }
    cursor = end;
    previous = name;
  }
  if (cursor !== dataBytes) {
    const after = previous === undefined ? 'the file has no tensors' : `the last tensor, '${previous}', ends at ${cursor}`;
    throw new SafetensorsError(file, `the data section is ${dataBytes} bytes but ${after}; ${dataBytes - cursor} bytes belong to no tensor`);
  }
  return { tensors: Object.fromEntries(ordered), metadata, dataStart: 8 + json.length };
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(file, `__metadata__ must be an object of strings, got ${describe(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new SafetensorsError(file, `__metadata__ value '${key}' must be a string, got ${describe(item)}`);
    }
  }
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function parseEntry(name: string, value: unknown, dataBytes: number, file: string): SafetensorsTensorInfo {
  const where = `tensor '${name}'`;
  if (!isPlainObject(value)) throw new SafetensorsError(file, `${where}: the entry must be an object with dtype, shape and data_offsets, got ${describe(value)}`);
  const { dtype: code, shape, data_offsets: offsets } = value;

  if (typeof code !== 'string') throw new SafetensorsError(file, `${where}: dtype must be a string, got ${describe(code)}`);
  const dtype = DTYPE_OF_CODE.get(code);
  const known = KNOWN_CODES;
  if (dtype === undefined && UNSUPPORTED_CODES.has(code)) {
    throw new SafetensorsError(file, `${where}: dtype ${code} is valid safetensors but Kiln has no such tensor type (Kiln reads ${known})`);
  }
  if (dtype === undefined) throw new SafetensorsError(file, `${where}: unknown dtype ${describe(code)} (Kiln reads ${known})`);

  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new SafetensorsError(file, `${where}: shape must be a list of non-negative integers, got ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
    throw new SafetensorsError(file, `${where}: data_offsets must be two non-negative integers [begin, end], got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new SafetensorsError(file, `${where}: data_offsets [${begin}, ${end}] end before they begin`);

  // BigInt: a crafted shape's element count can exceed 2^53.
  const numel = (shape as number[]).reduce((n, d) => n * BigInt(d), 1n);
  const expected = numel * BigInt(FORMATS[dtype].size);
  if (expected !== BigInt(end - begin)) {
    throw new SafetensorsError(
      file,
      `${where}: ${code} [${shape.join(', ')}] needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  if (end > dataBytes) {
    throw new SafetensorsError(file, `${where}: data_offsets [${begin}, ${end}] run past the end of the ${dataBytes}-byte data section; the file is truncated or corrupt`);
  }
  return { dtype, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

/** One tensor as the writer lays it out. */
export interface PlannedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A header ready to write, and where each tensor's bytes go. */
export interface HeaderPlan {
  /** The 8-byte length followed by the space-padded JSON. */
  readonly prefix: Buffer;
  /** In data order. */
  readonly tensors: readonly PlannedTensor[];
  /** The data section's size in bytes. */
  readonly dataBytes: number;
}

/** Orders names as the reference writer does: by UTF-8 bytes (code points), not UTF-16 units. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Lays out a file the way the reference writer does: data by descending dtype rank (so every
 * tensor is aligned to its element size), then by name; compact JSON with `__metadata__` first
 * (its keys sorted) and then the tensors in data order; padded with spaces to a multiple of 8.
 * An empty or absent metadata object writes no `__metadata__` block.
 */
export function planHeader(
  tensors: readonly { name: string; dtype: DType; shape: readonly number[] }[],
  metadata: Readonly<Record<string, string>>,
): HeaderPlan {
  const ordered = [...tensors].sort((a, b) => FORMATS[b.dtype].rank - FORMATS[a.dtype].rank || compareNames(a.name, b.name));
  let offset = 0;
  const planned = ordered.map(({ name, dtype, shape }): PlannedTensor => {
    const bytes = shape.reduce((n, d) => n * d, 1) * FORMATS[dtype].size;
    const entry = { name, dtype, shape, begin: offset, end: offset + bytes };
    offset += bytes;
    return entry;
  });

  // Written by hand, not JSON.stringify(object): JS objects put integer-like keys ("0", "12")
  // first, which would break the data order.
  const fields: string[] = [];
  const metadataKeys = Object.keys(metadata).sort(compareNames);
  if (metadataKeys.length > 0) {
    fields.push(`"__metadata__":{${metadataKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  for (const t of planned) {
    fields.push(
      `${JSON.stringify(t.name)}:{"dtype":"${FORMATS[t.dtype].code}","shape":[${t.shape.join(',')}],"data_offsets":[${t.begin},${t.end}]}`,
    );
  }
  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8 + padded, 0x20);
  prefix.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(prefix, 8);
  return { prefix, tensors: planned, dataBytes: offset };
}
