/**
 * Reading and writing safetensors files (Hugging Face's tensor format; see
 * safetensors-format.ts for the layout): F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL ↔
 * Kiln's float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8 and bool.
 *
 * Files Kiln writes are byte-identical to what the reference writer produces for the same
 * tensors (the metadata keys sorted): data ordered by descending dtype alignment, then name, so
 * every tensor starts at a multiple of its element size.
 *
 * Memory and copies. Node cannot memory-map a file without a native helper, so the loader
 * reads the header first, validates all of it, and then reads each tensor's bytes straight
 * into a fresh, aligned buffer that the engine copies once into the tensor: each byte of the
 * file is read once, each tensor is copied once, and at most one tensor's bytes are held
 * outside the engine at a time. `decodeSafetensors` (data already in memory) views the bytes
 * in place when they are aligned and copies a tensor into an aligned buffer only when they are
 * not (files from writers that order by name alone).
 *
 * Half precision. The engine has no raw-bits import or export for float16/bfloat16 tensors,
 * so their bits travel as float32 values converted bit by bit here (half-precision.ts): exact
 * for every non-NaN value, including subnormals, signed zeros and infinities. A NaN stays NaN,
 * but libtorch's float32 → half casts do not keep a NaN's payload (and, for bfloat16, its
 * sign), so a NaN's bits may change on load.
 *
 * BOOL elements are bytes; the reference format stores 0 or 1, and any other byte loads as true.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { type AnyTypedArray, type DType, type Device, isDtype, isFloatingDtype } from '../tensor/dtype.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import {
  float16BitsToFloat32Bits,
  float32BitsToBfloat16Bits,
  float32BitsToFloat16Bits,
  bfloat16BitsToFloat32Bits,
} from './half-precision.js';
import {
  type HeaderPlan,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  formatOf,
  parseHeader,
  planHeader,
  readHeaderLength,
} from './safetensors-format.js';
import { SafetensorsError } from './safetensors-error.js';

/** Named tensors to save: a plain object (a Module's `stateDict()`) or a Map. */
export type NamedTensors = Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>;

export interface SafetensorsSaveOptions {
  /**
   * Free-form strings stored in the header's `__metadata__` block (written with sorted keys).
   * Hugging Face Transformers refuses a file whose block lacks `format: 'pt'`.
   * @default no `__metadata__` block
   * @example { format: 'pt' }
   */
  metadata?: Readonly<Record<string, string>>;
}

export interface SafetensorsLoadOptions {
  /** Where the tensors are created. @default 'cpu' */
  device?: Device;
  /**
   * Casts every floating-point tensor to this floating dtype; integer and bool tensors keep
   * theirs. @default each tensor's stored dtype
   */
  dtype?: DType;
}

export interface LoadedSafetensors {
  /** The tensors by name, in the file's data order. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` block; `{}` when the file has none. */
  metadata: Record<string, string>;
}

const BUFFER_SOURCE = '<buffer>';

function requireLittleEndian(): void {
  // safetensors is little-endian and tensors are read by viewing the bytes as typed arrays.
  if (endianness() !== 'LE') throw new Error('safetensors: Kiln reads and writes safetensors only on little-endian machines');
}

// ---- writing ----

/** @internal The entries of `tensors`, checked: names not reserved, live Tensors. */
export function namedEntries(tensors: NamedTensors, file: string): [string, Tensor][] {
  const entries: [string, Tensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError(file, `'__metadata__' is reserved for the metadata block and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new SafetensorsError(file, `'${name}' is not a Tensor`);
    if (t.isDisposed) throw new SafetensorsError(file, `tensor '${name}' has been disposed`);
  }
  return entries;
}

function checkMetadata(metadata: Readonly<Record<string, string>>, file: string): void {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new SafetensorsError(file, `metadata '${key}' must be a string, got ${typeof value}`);
  }
}

/** Lays out `tensors` for writing; the returned map finds each planned tensor by name. */
function plan(tensors: NamedTensors, options: SafetensorsSaveOptions, file: string): { layout: HeaderPlan; byName: Map<string, Tensor> } {
  requireLittleEndian();
  const metadata = options.metadata ?? {};
  checkMetadata(metadata, file);
  const byName = new Map(namedEntries(tensors, file));
  const layout = planHeader(
    [...byName].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    metadata,
  );
  return { layout, byName };
}

/** A tensor's bytes as stored: little-endian, C order, half types as their 16-bit patterns. */
function tensorBytes(t: Tensor): Uint8Array {
  const values = t.toTypedArray(); // a contiguous CPU copy; half types widened to float32
  if (t.dtype !== 'float16' && t.dtype !== 'bfloat16') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const wide = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const narrow = new Uint16Array(values.length);
  const convert = t.dtype === 'float16' ? float32BitsToFloat16Bits : float32BitsToBfloat16Bits;
  for (let i = 0; i < wide.length; i++) narrow[i] = convert(wide[i]!);
  return new Uint8Array(narrow.buffer);
}

/** The bytes of a safetensors file holding `tensors`. */
export function encodeSafetensors(tensors: NamedTensors, options: SafetensorsSaveOptions = {}): Buffer {
  const { layout, byName } = plan(tensors, options, BUFFER_SOURCE);
  const out = Buffer.allocUnsafe(layout.prefix.length + layout.dataBytes);
  layout.prefix.copy(out, 0);
  for (const { name, begin } of layout.tensors) out.set(tensorBytes(byName.get(name)!), layout.prefix.length + begin);
  return out;
}

/**
 * Writes `tensors` to `path` atomically (temporary file, fsync, rename): a crash leaves either
 * the old file or the complete new one. Tensors are converted one at a time, so the peak
 * extra memory is one tensor's bytes.
 * @example saveSafetensors('model.safetensors', model.stateDict(), { metadata: { format: 'pt' } })
 */
export function saveSafetensors(path: string, tensors: NamedTensors, options: SafetensorsSaveOptions = {}): void {
  const { layout, byName } = plan(tensors, options, path);
  writeFileAtomic(path, (fd) => {
    writeAll(fd, layout.prefix);
    for (const { name } of layout.tensors) writeAll(fd, tensorBytes(byName.get(name)!));
  }, layout.prefix.length + layout.dataBytes);
}

// ---- reading ----

function checkLoadOptions(options: SafetensorsLoadOptions): void {
  if (options.dtype !== undefined && !(isDtype(options.dtype) && isFloatingDtype(options.dtype))) {
    throw new TypeError(`loadSafetensors: dtype must be a floating dtype (float32, float64, float16, bfloat16), got '${String(options.dtype)}'`);
  }
}

/** Views (or, when misaligned, copies) stored bytes as the typed array the engine imports. */
function storedValues(dtype: DType, bytes: Uint8Array): AnyTypedArray {
  if (dtype === 'float16' || dtype === 'bfloat16') {
    // Widen to float32 bit patterns; bytes are read one at a time, so alignment does not matter.
    const count = bytes.length / 2;
    const wide = new Float32Array(count);
    const bits = new Uint32Array(wide.buffer);
    const convert = dtype === 'float16' ? float16BitsToFloat32Bits : bfloat16BitsToFloat32Bits;
    for (let i = 0; i < count; i++) bits[i] = convert(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
    return wide;
  }
  const size = formatOf(dtype).size;
  // new Uint8Array(view) copies into a fresh buffer (a Buffer's slice() would only view it again).
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  const { buffer, byteOffset } = aligned;
  const count = bytes.length / size;
  switch (dtype) {
    case 'float64': return new Float64Array(buffer, byteOffset, count);
    case 'float32': return new Float32Array(buffer, byteOffset, count);
    case 'int64': return new BigInt64Array(buffer, byteOffset, count);
    case 'int32': return new Int32Array(buffer, byteOffset, count);
    case 'int16': return new Int16Array(buffer, byteOffset, count);
    case 'int8': return new Int8Array(buffer, byteOffset, count);
    default: return aligned; // uint8, bool
  }
}

/** Creates the header's tensors from their bytes; on any failure, frees the ones made so far. */
function materialize(
  header: SafetensorsHeader,
  bytesOf: (info: SafetensorsTensorInfo) => Uint8Array,
  options: SafetensorsLoadOptions,
): Record<string, Tensor> {
  const made: [string, Tensor][] = [];
  try {
    for (const [name, info] of Object.entries(header.tensors)) {
      const dtype = options.dtype !== undefined && isFloatingDtype(info.dtype) ? options.dtype : info.dtype;
      const values = storedValues(info.dtype, bytesOf(info));
      const created = tensor(values, options.device === undefined ? { shape: info.shape, dtype } : { shape: info.shape, dtype, device: options.device });
      made.push([name, created]);
    }
  } catch (error) {
    for (const [, t] of made) t.dispose();
    throw error;
  }
  return Object.fromEntries(made);
}

/**
 * Reads tensors from safetensors bytes already in memory. Everything is validated before the
 * first tensor is allocated; a bad buffer throws a SafetensorsError saying what is wrong.
 */
export function decodeSafetensors(bytes: Uint8Array, options: SafetensorsLoadOptions = {}): LoadedSafetensors {
  requireLittleEndian();
  checkLoadOptions(options);
  const headerLength = readHeaderLength(bytes, bytes.length, BUFFER_SOURCE);
  const header = parseHeader(bytes.subarray(8, 8 + headerLength), bytes.length - 8 - headerLength, BUFFER_SOURCE);
  const { dataStart } = header;
  const tensors = materialize(header, ({ dataOffsets: [begin, end] }) => bytes.subarray(dataStart + begin, dataStart + end), options);
  return { tensors, metadata: { ...header.metadata } };
}

/** Reads exactly `length` bytes at `position` into a new buffer (aligned: it starts at 0). */
function readRange(fd: number, position: number, length: number, file: string): Uint8Array {
  const out = new Uint8Array(length);
  const chunk = 1 << 30; // readSync reads at most 2 GiB per call
  let done = 0;
  while (done < length) {
    const got = readSync(fd, out, done, Math.min(chunk, length - done), position + done);
    if (got === 0) throw new SafetensorsError(file, `the file ended at byte ${position + done} while reading; was it truncated while being read?`);
    done += got;
  }
  return out;
}

function readHeaderFromFd(fd: number, file: string): SafetensorsHeader {
  const fileBytes = fstatSync(fd).size;
  const prefix = readRange(fd, 0, Math.min(8, fileBytes), file);
  const headerLength = readHeaderLength(prefix, fileBytes, file);
  return parseHeader(readRange(fd, 8, headerLength, file), fileBytes - 8 - headerLength, file);
}

/**
 * Reads and validates a file's header without reading any tensor data: names, dtypes, shapes,
 * byte ranges and metadata.
 */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    return readHeaderFromFd(fd, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads every tensor of a safetensors file. The whole header is validated before the first
 * tensor is allocated; a bad file throws a SafetensorsError naming the file and the problem.
 * @example const { tensors } = loadSafetensors('model.safetensors'); model.loadStateDict(tensors);
 */
export function loadSafetensors(path: string, options: SafetensorsLoadOptions = {}): LoadedSafetensors {
  requireLittleEndian();
  checkLoadOptions(options);
  const fd = openSync(path, 'r');
  try {
    const header = readHeaderFromFd(fd, path);
    const tensors = materialize(
      header,
      ({ dataOffsets: [begin, end] }) => readRange(fd, header.dataStart + begin, end - begin, path),
      options,
    );
    return { tensors, metadata: { ...header.metadata } };
  } finally {
    closeSync(fd);
  }
}
