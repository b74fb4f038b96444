/** Creating tensors: from JS data, filled, ranges and random. */
import { native as N, type Handle } from './native.js';
import { Tensor, wrap, type NestedArray } from './tensor.js';
import { totalmem } from 'node:os';
import { type AnyTypedArray, type DType, type Device, dtypeByteSize, dtypeOfTypedArray, isDevice } from './dtype.js';

export interface TensorOptions {
  /** @default 'float32' (int64 for integer data and ranges, bool for boolean data) */
  dtype?: DType;
  /** @default the default device: 'cpu' unless setDefaultDevice (or a run's device) says otherwise */
  device?: Device;
  /** Track operations on this tensor for autograd. @default false */
  requiresGrad?: boolean;
}

type Shape = readonly number[];

/** Thrown when an allocation inside withAllocationBudget would exceed the budget; nothing was allocated. */
export class AllocationBudgetError extends RangeError {
  constructor(readonly requestedBytes: number, readonly budgetBytes: number, fn: string, shape: readonly number[]) {
    super(`${fn}: shape [${shape.join(', ')}] would bring the allocations to ${requestedBytes} bytes, over the budget of ${budgetBytes}`);
    this.name = 'AllocationBudgetError';
  }
}

let budget: { limit: number; used: number } | null = null;

let defaultDevice: Device = 'cpu';

/**
 * Sets the device the creation functions (tensor, zeros, randn, arange, ...) use when their
 * options name none — PyTorch's torch.set_default_device — and returns the one it replaces. A
 * run on a GPU sets it for its duration, so that its batches, masks and position indices are
 * made where its model is, without a device argument at every call.
 */
export function setDefaultDevice(device: Device): Device {
  if (!isDevice(device)) throw new TypeError(`setDefaultDevice: ${String(device)} is not a device (cpu, cuda or cuda:N)`);
  const previous = defaultDevice;
  defaultDevice = device;
  return previous;
}

/** The device tensors are created on when their options name none. */
export function getDefaultDevice(): Device {
  return defaultDevice;
}

function deviceOf(options: TensorOptions): Device {
  return options.device ?? defaultDevice;
}

/** Runs `fn` with `device` as the default device (`with torch.device(device):`), restoring the previous one after. */
export function withDevice<T>(device: Device, fn: () => T): T {
  const previous = setDefaultDevice(device);
  try {
    return fn();
  } finally {
    defaultDevice = previous;
  }
}

/** withDevice for an asynchronous `fn`: the previous default comes back once its promise settles. */
export async function withDeviceAsync<T>(device: Device, fn: () => T | Promise<T>): Promise<T> {
  const previous = setDefaultDevice(device);
  try {
    return await fn();
  } finally {
    defaultDevice = previous;
  }
}

/**
 * Runs `build` with a cap on the bytes the tensor constructors (zeros, ones, empty, full, rand,
 * randn, randint, arange, linspace, eye) may allocate: one that would pass it throws AllocationBudgetError before
 * allocating. Loaders build a model that a file's header describes inside a budget the file's
 * real size sets, so a 1 KB file that claims a 100 GB model is refused, not allocated.
 */
export function withAllocationBudget<T>(bytes: number, build: () => T): T {
  const outer = budget;
  budget = { limit: bytes, used: 0 };
  try {
    return build();
  } finally {
    if (outer !== null) outer.used += budget.used;
    budget = outer;
  }
}

function finish(handle: Handle, options: TensorOptions): Tensor {
  const t = wrap(handle);
  if (options.requiresGrad === true) t.requiresGrad = true;
  return t;
}

/**
 * Checks a shape and, for CPU tensors, that it fits in this machine's memory: an allocation
 * larger than RAM can succeed lazily and then get the process killed when the pages are
 * touched, so it is refused up front with an Error instead.
 */
function checkShape(shape: Shape, fn: string, options: TensorOptions = {}): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: shape must be an array of sizes, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${fn}: shape [${shape.join(', ')}] must hold non-negative integers`);
    }
  }
  checkBytes(shape, fn, options.dtype ?? 'float32', deviceOf(options));
  return [...shape];
}

/** Counts an allocation of `shape` against the budget and this machine's memory (CPU); throws before anything is allocated. */
function checkBytes(shape: Shape, fn: string, dtype: DType, device: Device | undefined): void {
  const bytes = shape.reduce((n, d) => n * d, 1) * dtypeByteSize(dtype);
  if (budget !== null) {
    if (budget.used + bytes > budget.limit) throw new AllocationBudgetError(budget.used + bytes, budget.limit, fn, shape);
    budget.used += bytes;
  }
  if ((device ?? 'cpu') === 'cpu' && bytes > totalmem()) {
    const gib = (b: number): string => (b / 2 ** 30).toFixed(1);
    throw new RangeError(
      `${fn}: shape [${shape.join(', ')}] of ${dtype} needs ${gib(bytes)} GiB, more than this machine's ` +
        `${gib(totalmem())} GiB of memory`,
    );
  }
}

/** Flattens nested arrays, checking that they are rectangular. */
function flattenNested(data: NestedArray<number | boolean>): { values: (number | boolean)[]; shape: number[] } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const values: (number | boolean)[] = [];
  const walk = (value: unknown, d: number, path: string): void => {
    if (d === shape.length) {
      if (typeof value !== 'number' && typeof value !== 'boolean') {
        throw new TypeError(`tensor(): element ${path || '[]'} is ${value === undefined ? 'missing' : typeof value}; expected a number or boolean`);
      }
      values.push(value);
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[d]) {
      throw new RangeError(
        `tensor(): ragged nested array: ${path || 'the top level'} should be an array of length ${shape[d]}`,
      );
    }
    for (let i = 0; i < value.length; i++) walk(value[i], d + 1, `${path}[${i}]`);
  };
  walk(data, 0, '');
  return { values, shape };
}

/**
 * A tensor from a number, a boolean, nested arrays or a typed array (1-D unless `shape` is
 * given). The dtype is inferred as PyTorch does: booleans → bool, all-integer numbers → int64,
 * other numbers → float32; a typed array keeps its element type.
 * @example tensor([[1, 2], [3, 4]], { dtype: 'float32', requiresGrad: true })
 */
export function tensor(
  data: NestedArray<number | boolean> | AnyTypedArray,
  options: TensorOptions & { shape?: Shape } = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const array = data as AnyTypedArray;
    const shape = options.shape === undefined ? [array.length] : checkShape(options.shape, 'tensor');
    const dtype = options.dtype ?? dtypeOfTypedArray(array);
    return finish(N['fromBuffer']!(array, shape, dtype, deviceOf(options)), options);
  }
  const { values, shape } = flattenNested(data);
  if (options.shape !== undefined) throw new TypeError('tensor(): shape is only for typed-array data');
  const allBool = values.length > 0 && values.every((v) => typeof v === 'boolean');
  const anyBool = values.some((v) => typeof v === 'boolean');
  if (anyBool && !allBool) throw new TypeError('tensor(): mixes booleans and numbers');
  let dtype: DType;
  if (options.dtype !== undefined) dtype = options.dtype;
  else if (allBool) dtype = 'bool';
  else if (values.length > 0 && values.every((v) => Number.isInteger(v))) dtype = 'int64';
  else dtype = 'float32';
  const numbers = values.map(Number);
  // Float64 holds every JS number exactly; the addon casts to the requested dtype.
  return finish(N['fromBuffer']!(new Float64Array(numbers), shape, dtype, deviceOf(options)), options);
}

export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(N['zeros']!(checkShape(shape, 'zeros', options), options.dtype, deviceOf(options)), options);
}

export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(N['ones']!(checkShape(shape, 'ones', options), options.dtype, deviceOf(options)), options);
}

/** Uninitialised memory: every element must be written before it is read. */
export function empty(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(N['empty']!(checkShape(shape, 'empty', options), options.dtype, deviceOf(options)), options);
}

export function full(shape: Shape, value: number | boolean, options: TensorOptions = {}): Tensor {
  return finish(N['full']!(checkShape(shape, 'full', options), value, options.dtype, deviceOf(options)), options);
}

/** `arange(end)` or `arange(start, end, step)`: int64 for integer arguments, else float32. */
export function arange(end: number, options?: TensorOptions): Tensor;
export function arange(start: number, end: number, step?: number, options?: TensorOptions): Tensor;
export function arange(
  a: number,
  b?: number | TensorOptions,
  c?: number,
  d?: TensorOptions,
): Tensor {
  const [start, end, step, options] = typeof b === 'number' ? [a, b, c ?? 1, d ?? {}] : [0, a, 1, b ?? {}];
  if (step === 0) throw new RangeError('arange: step must be non-zero');
  const integral = [start, end, step].every(Number.isInteger);
  const dtype = options.dtype ?? (integral ? 'int64' : 'float32');
  checkBytes([Math.max(0, Math.ceil((end - start) / step))], 'arange', dtype, deviceOf(options));
  return finish(N['arange']!(start, end, step, dtype, deviceOf(options)), options);
}

export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`linspace: steps must be a non-negative integer, got ${steps}`);
  checkBytes([steps], 'linspace', options.dtype ?? 'float32', deviceOf(options));
  return finish(N['linspace']!(start, end, steps, options.dtype, deviceOf(options)), options);
}

/** The n×m identity matrix (m = n by default). */
export function eye(n: number, m: number = n, options: TensorOptions = {}): Tensor {
  checkBytes([n, m], 'eye', options.dtype ?? 'float32', deviceOf(options));
  return finish(N['eye']!(n, m, options.dtype, deviceOf(options)), options);
}

/** Uniform on [0, 1). */
export function rand(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(N['rand']!(checkShape(shape, 'rand', options), options.dtype, deviceOf(options)), options);
}

/** Standard normal. */
export function randn(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(N['randn']!(checkShape(shape, 'randn', options), options.dtype, deviceOf(options)), options);
}

/** Integers uniform on [low, high); int64 by default. */
export function randint(low: number, high: number, shape: Shape, options: TensorOptions = {}): Tensor {
  if (!(high > low)) throw new RangeError(`randint: high (${high}) must be greater than low (${low})`);
  return finish(N['randint']!(low, high, checkShape(shape, 'randint', { ...options, dtype: options.dtype ?? 'int64' }), options.dtype ?? 'int64', deviceOf(options)), options);
}

/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, options: TensorOptions = {}): Tensor {
  return finish(N['randperm']!(n, options.dtype ?? 'int64', deviceOf(options)), options);
}

function likeOptions(like: Tensor, options: TensorOptions): TensorOptions {
  return { dtype: like.dtype, device: like.device, ...options };
}

export function zerosLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return zeros(like.shape, likeOptions(like, options));
}
export function onesLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return ones(like.shape, likeOptions(like, options));
}
export function emptyLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return empty(like.shape, likeOptions(like, options));
}
export function fullLike(like: Tensor, value: number | boolean, options: TensorOptions = {}): Tensor {
  return full(like.shape, value, likeOptions(like, options));
}
export function randLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return rand(like.shape, likeOptions(like, options));
}
export function randnLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return randn(like.shape, likeOptions(like, options));
}
export function randintLike(like: Tensor, low: number, high: number, options: TensorOptions = {}): Tensor {
  return randint(low, high, like.shape, likeOptions(like, options));
}

/** Seeds every random generator (CPU and CUDA) for reproducible results. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`manualSeed: seed must be a non-negative integer, got ${seed}`);
  N['manualSeed']!(seed);
}

/**
 * A copy of the CPU random generator's state (a uint8 tensor). With setRngState it lets a
 * resumed run draw exactly the random numbers (dropout masks, samples) the original would have.
 */
export function getRngState(): Tensor {
  return wrap(N['getRngState']!() as Handle);
}

/** Restores a state returned by getRngState(). */
export function setRngState(state: Tensor): void {
  N['setRngState']!(state.handle);
}
