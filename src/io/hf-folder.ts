/**
 * What every Hugging Face-style model folder shares, whatever the architecture: reading
 * config.json, reading the weights (one safetensors file or a sharded index), listing problem
 * keys, and writing config.json (sorted keys) + model.safetensors atomically.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AllocationBudgetError, withAllocationBudget } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { ModelFolderError } from './model-folder-error.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';
import { SHARD_INDEX_FILE, loadShardedSafetensors } from './safetensors-sharded.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

/** Builds the errors of one kind of folder: `${kind} folder ${dir}: ${problem}`. */
export type FolderError = (dir: string, problem: string) => Error;

export function folderErrors(kind: string): FolderError {
  return (dir, problem) => new ModelFolderError(`${kind} folder ${dir}: ${problem}`);
}

/** Checked reads of config.json's fields; each failure is a folder error naming the field. */
export interface ConfigFields {
  /** config.json as an object. */
  readonly json: Record<string, unknown>;
  /** An integer ≥ `min` (1: "positive", 0: "non-negative"); missing without a fallback is an error. */
  integer(key: string, fallback?: number, min?: 0 | 1): number;
  /** A finite number, or the fallback when missing. */
  number(key: string, fallback: number): number;
  /** true or false, or the fallback when missing. */
  boolean(key: string, fallback: boolean): boolean;
  /** The field (or the fallback when missing) must be `want`; `why` says what the model needs it for. */
  require(key: string, want: unknown, fallback: unknown, why: string): void;
  /**
   * `make()`, which reads fields and builds the model's config: a refusal of the model's own
   * checks (a RangeError) becomes a folder error; a field's folder error passes unchanged.
   */
  build<T>(make: () => T): T;
}

/**
 * The field readers over config.json's parsed JSON (which must be an object), for a folder of
 * `dir` whose model is `model` (e.g. "Kiln's GPT").
 */
export function configFields(json: unknown, dir: string, error: FolderError, model: string): ConfigFields {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw error(dir, `${CONFIG_FILE} must hold a JSON object`);
  const c = json as Record<string, unknown>;
  return {
    json: c,
    integer(key, fallback, min = 1) {
      const value = c[key] ?? fallback;
      if (value === undefined) throw error(dir, `${CONFIG_FILE} lacks '${key}'`);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
        throw error(dir, `${CONFIG_FILE}: '${key}' must be a ${min === 1 ? 'positive' : 'non-negative'} integer, got ${JSON.stringify(value)}`);
      }
      return value;
    },
    number(key, fallback) {
      const value = c[key] ?? fallback;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw error(dir, `${CONFIG_FILE}: '${key}' must be a number, got ${JSON.stringify(value)}`);
      return value;
    },
    boolean(key, fallback) {
      const value = c[key] ?? fallback;
      if (typeof value !== 'boolean') throw error(dir, `${CONFIG_FILE}: '${key}' must be true or false, got ${JSON.stringify(value)}`);
      return value;
    },
    require(key, want, fallback, why) {
      const value = c[key] ?? fallback;
      if (value !== want) throw error(dir, `${key} = ${JSON.stringify(value)} is not supported (${model} needs ${JSON.stringify(want)}: ${why})`);
    },
    build(make) {
      try {
        return make();
      } catch (cause) {
        if (cause instanceof ModelFolderError) throw cause;
        throw error(dir, (cause as Error).message);
      }
    },
  };
}

/** Names for a message: the first 20, then how many in all. */
export function listNames(items: string[]): string {
  return items.slice(0, 20).join(', ') + (items.length > 20 ? `, … (${items.length} in all)` : '');
}

/** The parsed config.json of a folder, with clear errors for a missing folder, file or bad JSON. */
export function readConfigJson(dir: string, error: FolderError): unknown {
  if (!existsSync(dir)) throw error(dir, 'does not exist; pass the folder a training run or an import wrote');
  if (!statSync(dir).isDirectory()) throw error(dir, 'is a file, not a model folder');
  const configPath = path.join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) throw error(dir, `no ${CONFIG_FILE}`);
  try {
    return JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (cause) {
    throw error(dir, `${CONFIG_FILE} is not valid JSON: ${(cause as Error).message}`);
  }
}

/** The tensors of model.safetensors, or of the shards its index names. */
export function readWeights(dir: string, error: FolderError): Record<string, Tensor> {
  if (existsSync(path.join(dir, WEIGHTS_FILE))) return loadSafetensors(path.join(dir, WEIGHTS_FILE)).tensors;
  if (existsSync(path.join(dir, SHARD_INDEX_FILE))) return loadShardedSafetensors(dir).tensors;
  const torchFile = existsSync(path.join(dir, 'pytorch_model.bin')) ? ' (it has pytorch_model.bin, which Kiln does not read: convert it to safetensors)' : '';
  throw error(dir, `no ${WEIGHTS_FILE} or ${SHARD_INDEX_FILE}${torchFile}`);
}

/** Bytes of the weights on disk: model.safetensors, or the shards its index names (those that exist). */
export function weightBytes(dir: string): number {
  const single = path.join(dir, WEIGHTS_FILE);
  if (existsSync(single)) return statSync(single).size;
  const index = path.join(dir, SHARD_INDEX_FILE);
  if (!existsSync(index)) return 0;
  let files: string[] = [];
  try {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: unknown }).weight_map;
    if (map !== null && typeof map === 'object') files = [...new Set(Object.values(map as Record<string, unknown>).filter((f): f is string => typeof f === 'string'))];
  } catch {
    return 0; // the shard loader reports what is wrong with the index
  }
  return files.reduce((sum, f) => {
    const file = path.join(dir, path.basename(f));
    return sum + (existsSync(file) ? statSync(file).size : 0);
  }, 0);
}

/**
 * Builds the model a header (config.json, a checkpoint's header) describes, but only as large as
 * weights of `bytes` bytes can fill: the model's tensors may take at most 4 × bytes (fp16 or bf16
 * files become float32; a tied head is stored once) plus 64 MiB (masks, caches, a new head).
 * A header that claims more is an error naming both sizes, raised before anything is allocated
 * (an edited n_embd of 4,096 on a 10 KB file otherwise allocated 6.7 GB for a minute before the
 * shapes were compared).
 */
export function buildWithinWeights<T>(dir: string, bytes: number, error: FolderError, build: () => T, header = CONFIG_FILE): T {
  const limit = 4 * bytes + 64 * 2 ** 20;
  try {
    return withAllocationBudget(limit, build);
  } catch (caught) {
    if (!(caught instanceof AllocationBudgetError)) throw caught;
    const mb = (n: number): string => (n / 2 ** 20).toFixed(1);
    throw error(dir, `${header} describes a model larger than its weights: building it needs over ${mb(caught.requestedBytes)} MiB, but the weights are ${bytes} bytes on disk (at most ${mb(limit)} MiB of model); ${header} does not describe these weights`);
  }
}

/**
 * Writes config.json (keys sorted, as Transformers writes it) and model.safetensors with
 * `__metadata__ {format: 'pt'}`, each atomically; creates the folder if needed. `tensors` is
 * called inside a scope, so the tensors it makes for the file are freed afterwards.
 */
export function writeFolder(dir: string, config: Record<string, unknown>, tensors: () => Map<string, Tensor>): void {
  mkdirSync(dir, { recursive: true });
  scope(() => {
    saveSafetensors(path.join(dir, WEIGHTS_FILE), tensors(), { metadata: { format: 'pt' } });
  });
  const sorted = Object.fromEntries(Object.keys(config).sort().map((k) => [k, config[k]]));
  const json = JSON.stringify(sorted, null, 2) + '\n';
  writeFileAtomic(path.join(dir, CONFIG_FILE), (fd) => writeAll(fd, Buffer.from(json, 'utf8')));
}

/** A checkpoint tensor under the model's name, with the key it has in the file. */
export interface FileTensor {
  file: string;
  tensor: Tensor;
}

/** How a weight is stored when the file's layout differs from Kiln's (GPT-2's Conv1D). */
export interface StoredLayout {
  /** The shape in the file. */
  shape: readonly number[];
  /** Added to a wrong-shape message, e.g. ', Conv1D (in, out)'. */
  note: string;
  /** The file's tensor in Kiln's layout. */
  toKiln: (tensor: Tensor) => Tensor;
}

export interface WeightMatch {
  /** Tensors whose name and shape fit, under the model's names, in Kiln's layout. */
  state: Map<string, Tensor>;
  /** Model names the file lacks. */
  missing: string[];
  /** File keys the model has no place for. */
  unexpected: string[];
  /** `file key (expected [...], got [...])` for each misshapen tensor. */
  wrongShapes: string[];
}

/** Matches a checkpoint's (renamed) tensors against the shapes the model expects. */
export function matchWeights(
  expected: ReadonlyMap<string, readonly number[]>,
  renamed: ReadonlyMap<string, FileTensor>,
  storedLayout?: (name: string, shape: readonly number[]) => StoredLayout | undefined,
): WeightMatch {
  const missing = [...expected.keys()].filter((name) => !renamed.has(name));
  const unexpected = [...renamed].filter(([name]) => !expected.has(name)).map(([, { file }]) => file);
  const wrongShapes: string[] = [];
  const state = new Map<string, Tensor>();
  for (const [name, { file, tensor }] of renamed) {
    const want = expected.get(name);
    if (want === undefined) continue;
    const layout = storedLayout?.(name, want);
    const onDisk = layout?.shape ?? want;
    if (tensor.shape.length !== onDisk.length || tensor.shape.some((d, i) => d !== onDisk[i])) {
      wrongShapes.push(`${file} (expected [${onDisk.join(', ')}]${layout?.note ?? ''}, got [${tensor.shape.join(', ')}])`);
      continue;
    }
    state.set(name, layout === undefined ? tensor : layout.toKiln(tensor));
  }
  return { state, missing, unexpected, wrongShapes };
}

/** The parts of a "weights do not match" message, empty when everything fits. */
export function weightProblems(match: Pick<WeightMatch, 'missing' | 'unexpected' | 'wrongShapes'>): string[] {
  const problems: string[] = [];
  if (match.missing.length > 0) problems.push(`missing keys: ${listNames(match.missing)}`);
  if (match.unexpected.length > 0) problems.push(`unexpected keys: ${listNames(match.unexpected)}`);
  if (match.wrongShapes.length > 0) problems.push(`wrong shapes: ${listNames(match.wrongShapes)}`);
  return problems;
}
