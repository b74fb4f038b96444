/**
 * Sharded safetensors checkpoints in Hugging Face's layout: a folder holding
 * `model-00001-of-0000N.safetensors` … and `model.safetensors.index.json`:
 *
 *   { "metadata": { "total_size": <tensor bytes in all> },
 *     "weight_map": { "<tensor name>": "model-00001-of-0000N.safetensors", ... } }
 *
 * Shards are split as huggingface_hub does: tensors in the given order fill a shard until the
 * next one would take it over `maxShardBytes`; a tensor larger than the limit gets a shard of
 * its own. The index is written as Python's `json.dumps(index, indent=2, sort_keys=True)`, so
 * Kiln's folders match the ones Transformers writes byte for byte.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic, writeAll } from '../util/atomic-write.js';
import { compareNames, formatOf, type SafetensorsHeader } from './safetensors-format.js';
import { SafetensorsError } from './safetensors-error.js';
import {
  type NamedTensors,
  type SafetensorsLoadOptions,
  type SafetensorsSaveOptions,
  loadSafetensors,
  namedEntries,
  readSafetensorsHeader,
  saveSafetensors,
} from './safetensors.js';

/** The index file's name inside a sharded checkpoint folder. */
export const SHARD_INDEX_FILE = 'model.safetensors.index.json';

const SHARD_FILE = /^model-\d{5,}-of-\d{5,}\.safetensors$/;

export interface ShardedSaveOptions extends SafetensorsSaveOptions {
  /**
   * The most tensor bytes in one shard; a single tensor larger than this gets a shard of its own.
   * @default 5_000_000_000 (Hugging Face's "5GB")
   */
  maxShardBytes?: number;
}

export interface ShardedSaveResult {
  /** The shard file names, in order. */
  files: string[];
  /** The sum of the tensors' bytes (the index's `metadata.total_size`). */
  totalBytes: number;
}

export interface LoadedShardedSafetensors {
  /** Every tensor of every shard, by name. */
  tensors: Record<string, Tensor>;
  /** The index's `metadata` object (`{ total_size }` for Hugging Face checkpoints); `{}` when absent. */
  metadata: Record<string, unknown>;
}

function shardName(index: number, count: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

function byteSize(t: Tensor): number {
  return t.numel() * formatOf(t.dtype).size;
}

/** huggingface_hub's split, on names in their given order. */
function splitIntoShards(entries: readonly [string, Tensor][], maxShardBytes: number): [string, Tensor][][] {
  const shards: [string, Tensor][][] = [];
  let current: [string, Tensor][] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const bytes = byteSize(entry[1]);
    if (bytes > maxShardBytes) {
      shards.push([entry]);
      continue;
    }
    if (currentBytes + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/** A JSON string as Python's json.dumps writes it by default: non-ASCII as \uXXXX escapes. */
function pythonJsonString(text: string): string {
  return JSON.stringify(text).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function indexJson(totalBytes: number, weightMap: readonly [string, string][]): string {
  const sorted = [...weightMap].sort(([a], [b]) => compareNames(a, b));
  const lines = ['{', '  "metadata": {', `    "total_size": ${totalBytes}`, '  },'];
  if (sorted.length === 0) {
    lines.push('  "weight_map": {}');
  } else {
    lines.push('  "weight_map": {');
    sorted.forEach(([name, file], i) => lines.push(`    ${pythonJsonString(name)}: ${pythonJsonString(file)}${i < sorted.length - 1 ? ',' : ''}`));
    lines.push('  }');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/**
 * Saves `tensors` into `dir` as shards plus `model.safetensors.index.json` (always, even for
 * one shard). Each shard's `__metadata__` is `{ format: 'pt', ...options.metadata }`.
 *
 * Every file is written atomically, the shards first and the index last, and shard files of an
 * earlier save that the new index no longer names are removed afterwards. A crash part-way
 * leaves the previous index in place; shards it names may by then hold new tensors, which
 * `loadShardedSafetensors` detects (the index and the shards' headers must agree).
 */
export function saveShardedSafetensors(dir: string, tensors: NamedTensors, options: ShardedSaveOptions = {}): ShardedSaveResult {
  const maxShardBytes = options.maxShardBytes ?? 5_000_000_000;
  if (!(Number.isSafeInteger(maxShardBytes) && maxShardBytes > 0)) {
    throw new RangeError(`saveShardedSafetensors: maxShardBytes must be a positive integer, got ${maxShardBytes}`);
  }
  const entries = namedEntries(tensors, dir);
  const metadata = { format: 'pt', ...options.metadata };
  mkdirSync(dir, { recursive: true });

  const shards = splitIntoShards(entries, maxShardBytes);
  const files = shards.map((_, i) => shardName(i, shards.length));
  const weightMap: [string, string][] = [];
  let totalBytes = 0;
  shards.forEach((shard, i) => {
    saveSafetensors(path.join(dir, files[i]!), new Map(shard), { metadata });
    for (const [name, t] of shard) {
      weightMap.push([name, files[i]!]);
      totalBytes += byteSize(t);
    }
  });
  const index = Buffer.from(indexJson(totalBytes, weightMap), 'utf8');
  writeFileAtomic(path.join(dir, SHARD_INDEX_FILE), (fd) => writeAll(fd, index));

  const current = new Set(files);
  for (const file of readdirSync(dir)) {
    if (SHARD_FILE.test(file) && !current.has(file)) rmSync(path.join(dir, file), { force: true });
  }
  return { files, totalBytes };
}

interface ShardIndex {
  metadata: Record<string, unknown>;
  weightMap: Map<string, string>;
}

function readIndex(dir: string): ShardIndex {
  const indexPath = path.join(dir, SHARD_INDEX_FILE);
  if (!existsSync(indexPath)) {
    const single = existsSync(path.join(dir, 'model.safetensors')) ? '; the folder holds an unsharded model.safetensors: load it with loadSafetensors' : '';
    throw new SafetensorsError(indexPath, `not found, so ${dir} is not a sharded checkpoint${single}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (error) {
    throw new SafetensorsError(indexPath, `is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(parsed) || !isObject(parsed['weight_map'])) {
    throw new SafetensorsError(indexPath, 'must be an object with a "weight_map" object of {tensor name: shard file}');
  }
  const metadata = parsed['metadata'] ?? {};
  if (!isObject(metadata)) throw new SafetensorsError(indexPath, '"metadata" must be an object');
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(parsed['weight_map'])) {
    if (typeof file !== 'string' || file === '' || file === '.' || file === '..' || /[/\\]/.test(file)) {
      throw new SafetensorsError(indexPath, `weight_map['${name}'] must be a shard file name inside the folder, got ${JSON.stringify(file)}`);
    }
    weightMap.set(name, file);
  }
  return { metadata: { ...metadata }, weightMap };
}

/**
 * Loads a sharded checkpoint folder. The index and every shard's header are read and checked
 * against each other before any tensor is allocated: a missing shard, a tensor listed in the
 * index but absent from its shard, a tensor in a shard the index does not name for it, and a
 * tensor in two shards are all errors.
 * @example const { tensors } = loadShardedSafetensors('checkpoints/step-1000');
 */
export function loadShardedSafetensors(dir: string, options: SafetensorsLoadOptions = {}): LoadedShardedSafetensors {
  const index = readIndex(dir);
  const indexPath = path.join(dir, SHARD_INDEX_FILE);
  const files = [...new Set(index.weightMap.values())];

  const headers = new Map<string, SafetensorsHeader>();
  for (const file of files) {
    const shardPath = path.join(dir, file);
    if (!existsSync(shardPath)) {
      const names = [...index.weightMap].filter(([, f]) => f === file).map(([n]) => n);
      const listed = names.slice(0, 5).join("', '") + (names.length > 5 ? `' and ${names.length - 5} more` : "'");
      throw new SafetensorsError(indexPath, `shard ${file}, which holds '${listed}, is missing from ${dir}`);
    }
    headers.set(file, readSafetensorsHeader(shardPath));
  }

  const foundIn = new Map<string, string>();
  for (const [file, header] of headers) {
    for (const name of Object.keys(header.tensors)) {
      const first = foundIn.get(name);
      if (first !== undefined) throw new SafetensorsError(indexPath, `tensor '${name}' is in two shards, ${first} and ${file}`);
      foundIn.set(name, file);
      const listed = index.weightMap.get(name);
      if (listed === undefined) throw new SafetensorsError(indexPath, `tensor '${name}' is in shard ${file} but not in the weight_map`);
      if (listed !== file) throw new SafetensorsError(indexPath, `the weight_map puts tensor '${name}' in ${listed}, but it is in shard ${file}`);
    }
  }
  for (const [name, file] of index.weightMap) {
    if (!foundIn.has(name)) throw new SafetensorsError(indexPath, `the weight_map puts tensor '${name}' in ${file}, but that shard does not hold it`);
  }

  const loaded: [string, Tensor][] = [];
  try {
    for (const file of files) loaded.push(...Object.entries(loadSafetensors(path.join(dir, file), options).tensors));
  } catch (error) {
    for (const [, t] of loaded) t.dispose();
    throw error;
  }
  return { tensors: Object.fromEntries(loaded), metadata: index.metadata };
}
