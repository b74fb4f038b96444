/**
 * The Tensor: an n-dimensional array on a device, with autograd, backed by one at::Tensor.
 *
 * Methods mirror PyTorch's names in camelCase. Ops return new tensors; methods ending in `_`
 * update in place and return `this`. Arguments typed `Tensor | number` broadcast like PyTorch's.
 * Memory: see scope.ts; `dispose()` frees (a small tensor on the next allocation), the garbage collector frees the rest.
 */
import { inspect } from 'node:util';
import { native, type Handle } from './native.js';
import { keep, track } from './scope.js';
import {
  type AnyTypedArray,
  type DType,
  type Device,
  isDevice,
  isDtype,
  typedArrayView,
} from './dtype.js';

/** A JS number or boolean used as a scalar operand. */
export type Scalar = number | boolean;
/** Nested arrays as returned by `toArray()`. */
export type NestedArray<T> = T | NestedArray<T>[];

/** Values and indices, as returned by max/min over a dim, topk and sort. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. @default false */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients. @default false */
  createGraph?: boolean;
}

export interface ToOptions {
  dtype?: DType;
  device?: Device;
  /** Always return a new tensor, even when nothing changes. @default false */
  copy?: boolean;
}

const N = native;

/** The handle of a Tensor operand or the scalar itself. */
function operand(value: Tensor | Scalar): Handle | Scalar {
  return value instanceof Tensor ? value.handle : value;
}

function shapeArgs(args: readonly (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  return args as number[];
}

const DISPOSED =
  'this Tensor was disposed (by dispose(), or when the scope that created it ended) and cannot be ' +
  'used any more; return it from the scope or keep() it to use it afterwards';

export class Tensor {
  #handle: Handle;
  #shape: number[] | undefined;
  #dtype: DType | undefined;
  #disposed = false;
  /** @internal Set by keep(): no scope releases this tensor. */
  kept = false;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  /**
   * @internal The addon handle; ops pass it to native code. Guarded here, because the addon
   * frees a scoped tensor's handle on dispose().
   */
  get handle(): Handle {
    if (this.#disposed) throw new Error(DISPOSED);
    return this.#handle;
  }

  /** @internal Wraps a handle returned by the addon. */
  static fromHandle(handle: Handle): Tensor {
    return new Tensor(handle);
  }

  // ---- metadata ----

  /** The size of each dimension. */
  get shape(): readonly number[] {
    if (this.#shape === undefined) this.#shape = N['shape']!(this.handle) as number[];
    return this.#shape;
  }

  get dtype(): DType {
    if (this.#dtype === undefined) this.#dtype = N['dtype']!(this.handle) as DType;
    return this.#dtype;
  }

  get device(): Device {
    return N['device']!(this.handle) as Device;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  dim(): number {
    return this.shape.length;
  }

  /** The size of dim `d` (negative counts from the end), or the whole shape. */
  size(): readonly number[];
  size(d: number): number;
  size(d?: number): number | readonly number[] {
    if (d === undefined) return this.shape;
    const n = this.shape.length;
    const index = d < 0 ? d + n : d;
    if (index < 0 || index >= n) throw new RangeError(`size(${d}): dim out of range for a ${n}-dim tensor`);
    return this.shape[index]!;
  }

  numel(): number {
    return N['numel']!(this.handle) as number;
  }

  /** Bytes held by the elements (numel × element size). */
  get nbytes(): number {
    return N['nbytes']!(this.handle) as number;
  }

  isContiguous(): boolean {
    return N['isContiguous']!(this.handle) as boolean;
  }

  stride(): readonly number[] {
    return N['strides']!(this.handle) as number[];
  }

  // ---- memory ----

  /**
   * Frees the underlying memory now (a small tensor without autograd history, when the next
   * tensor is made; see deferredReleases). Using the tensor afterwards throws.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    N['dispose']!(this.#handle);
  }

  /** @internal Hands a tensor made inside a scope, which outlives it, to the garbage collector. */
  adoptByGc(): void {
    if (!this.#disposed) this.#handle = N['adopt']!(this.#handle) as Handle;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Exempts this tensor from release by enclosing scopes. */
  keep(): this {
    return keep(this);
  }

  // ---- conversion ----

  /** Casts and/or moves: `to('float64')`, `to('cuda')`, `to({ dtype, device, copy })`. */
  to(target: DType | Device | ToOptions): Tensor {
    let options: ToOptions;
    if (typeof target === 'string') {
      if (isDtype(target)) options = { dtype: target };
      else if (isDevice(target)) options = { device: target };
      else throw new TypeError(`to('${target}'): not a dtype or a device`);
    } else {
      options = target;
    }
    return wrap(N['to']!(this.handle, options.dtype ?? null, options.device ?? null, options.copy ?? false));
  }

  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  half(): Tensor { return this.to('float16'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(index = 0): Tensor { return this.to(`cuda:${index}`); }

  contiguous(): Tensor { return wrap(N['contiguous']!(this.handle)); }
  clone(): Tensor { return wrap(N['clone']!(this.handle)); }
  /** A tensor sharing this one's data, cut off from the autograd graph. */
  detach(): Tensor { return wrap(N['detach']!(this.handle)); }

  /**
   * Replaces this tensor's data, dtype and device with `source`'s while keeping its identity
   * and autograd leaf status (PyTorch's `t.data = source`). Modules use it to move parameters.
   */
  setData(source: Tensor): this {
    N['setData']!(this.handle, source.handle);
    this.#shape = undefined;
    this.#dtype = undefined;
    return this;
  }

  /** The single element as a JS number (bool tensors give 1 or 0; use `toArray()` for booleans). */
  item(): number {
    return Number(N['item']!(this.handle) as number | boolean);
  }

  /**
   * A copy of the elements as a typed array: Float32Array for float32/float16/bfloat16,
   * Float64Array, BigInt64Array for int64, Int32Array, Int16Array, Int8Array, and Uint8Array
   * for uint8 and bool.
   */
  toTypedArray(): AnyTypedArray {
    return typedArrayView(N['toBuffer']!(this.handle) as ArrayBuffer, this.dtype);
  }

  /** The elements as nested JS arrays (numbers; booleans for bool tensors). */
  toArray(): NestedArray<number | boolean> {
    const flat = this.toTypedArray();
    const isBool = this.dtype === 'bool';
    const at = (i: number): number | boolean => {
      const v = flat[i]!;
      if (typeof v === 'bigint') return Number(v);
      return isBool ? v !== 0 : v;
    };
    const shape = this.shape;
    if (shape.length === 0) return at(0);
    let offset = 0;
    const build = (d: number): NestedArray<number | boolean>[] => {
      const out: NestedArray<number | boolean>[] = new Array(shape[d]!);
      for (let i = 0; i < shape[d]!; i++) out[i] = d === shape.length - 1 ? at(offset++) : build(d + 1);
      return out;
    };
    return build(0);
  }

  toString(): string {
    return formatTensor(this);
  }

  [inspect.custom](): string {
    return this.toString();
  }

  // ---- autograd ----

  get requiresGrad(): boolean {
    return N['requiresGrad']!(this.handle) as boolean;
  }

  set requiresGrad(flag: boolean) {
    N['setRequiresGrad']!(this.handle, flag);
  }

  /** Sets requiresGrad and returns this, for chaining. */
  requiresGrad_(flag = true): this {
    N['setRequiresGrad']!(this.handle, flag);
    return this;
  }

  /** The accumulated gradient, or null before the first backward(). */
  get grad(): Tensor | null {
    const h = N['grad']!(this.handle) as Handle | null;
    return h === null ? null : wrap(h);
  }

  set grad(value: Tensor | null) {
    N['setGrad']!(this.handle, value === null ? null : value.handle);
  }

  /** True for tensors created by the user rather than by an op on tensors requiring grad. */
  get isLeaf(): boolean {
    return N['isLeaf']!(this.handle) as boolean;
  }

  /** The name of the autograd node that produced this tensor, e.g. 'MulBackward0'. */
  get gradFn(): string | null {
    return N['gradFn']!(this.handle) as string | null;
  }

  /** Keep `.grad` on this non-leaf tensor after backward(). */
  retainGrad(): this {
    N['retainGrad']!(this.handle);
    return this;
  }

  /** Accumulates d(this)/d(leaf) into every leaf's `.grad`. */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    N['backward']!(this.handle, gradient?.handle ?? null, options.retainGraph ?? null, options.createGraph ?? false);
  }

  // ---- elementwise ----

  add(other: Tensor | Scalar, alpha?: number): Tensor { return wrap(N['add']!(this.handle, operand(other), alpha)); }
  sub(other: Tensor | Scalar, alpha?: number): Tensor { return wrap(N['sub']!(this.handle, operand(other), alpha)); }
  /** `value - this`. */
  rsub(value: number): Tensor { return wrap(N['rsub']!(this.handle, value)); }
  mul(other: Tensor | Scalar): Tensor { return wrap(N['mul']!(this.handle, operand(other))); }
  /** True division, or rounded with `'trunc'` / `'floor'`. */
  div(other: Tensor | Scalar, roundingMode?: 'trunc' | 'floor'): Tensor {
    return wrap(N['div']!(this.handle, operand(other), roundingMode));
  }
  remainder(other: Tensor | Scalar): Tensor { return wrap(N['remainder']!(this.handle, operand(other))); }
  pow(exponent: Tensor | number): Tensor { return wrap(N['pow']!(this.handle, operand(exponent))); }
  /** `base ** this`. */
  rpow(base: number): Tensor { return wrap(N['rpow']!(this.handle, base)); }
  maximum(other: Tensor | number): Tensor { return wrap(N['maximum']!(this.handle, operand(other))); }
  minimum(other: Tensor | number): Tensor { return wrap(N['minimum']!(this.handle, operand(other))); }

  eq(other: Tensor | Scalar): Tensor { return wrap(N['eq']!(this.handle, operand(other))); }
  ne(other: Tensor | Scalar): Tensor { return wrap(N['ne']!(this.handle, operand(other))); }
  lt(other: Tensor | Scalar): Tensor { return wrap(N['lt']!(this.handle, operand(other))); }
  le(other: Tensor | Scalar): Tensor { return wrap(N['le']!(this.handle, operand(other))); }
  gt(other: Tensor | Scalar): Tensor { return wrap(N['gt']!(this.handle, operand(other))); }
  ge(other: Tensor | Scalar): Tensor { return wrap(N['ge']!(this.handle, operand(other))); }
  logicalAnd(other: Tensor): Tensor { return wrap(N['logicalAnd']!(this.handle, other.handle)); }
  logicalOr(other: Tensor): Tensor { return wrap(N['logicalOr']!(this.handle, other.handle)); }
  logicalXor(other: Tensor): Tensor { return wrap(N['logicalXor']!(this.handle, other.handle)); }
  logicalNot(): Tensor { return wrap(N['logicalNot']!(this.handle)); }

  neg(): Tensor { return wrap(N['neg']!(this.handle)); }
  abs(): Tensor { return wrap(N['abs']!(this.handle)); }
  exp(): Tensor { return wrap(N['exp']!(this.handle)); }
  expm1(): Tensor { return wrap(N['expm1']!(this.handle)); }
  log(): Tensor { return wrap(N['log']!(this.handle)); }
  log2(): Tensor { return wrap(N['log2']!(this.handle)); }
  log1p(): Tensor { return wrap(N['log1p']!(this.handle)); }
  sqrt(): Tensor { return wrap(N['sqrt']!(this.handle)); }
  rsqrt(): Tensor { return wrap(N['rsqrt']!(this.handle)); }
  square(): Tensor { return wrap(N['square']!(this.handle)); }
  reciprocal(): Tensor { return wrap(N['reciprocal']!(this.handle)); }
  sin(): Tensor { return wrap(N['sin']!(this.handle)); }
  cos(): Tensor { return wrap(N['cos']!(this.handle)); }
  tanh(): Tensor { return wrap(N['tanh']!(this.handle)); }
  sigmoid(): Tensor { return wrap(N['sigmoid']!(this.handle)); }
  logSigmoid(): Tensor { return wrap(N['logSigmoid']!(this.handle)); }
  relu(): Tensor { return wrap(N['relu']!(this.handle)); }
  /** GELU, exact (erf) by default or the tanh approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return wrap(N['gelu']!(this.handle, approximate)); }
  silu(): Tensor { return wrap(N['silu']!(this.handle)); }
  softplus(beta = 1, threshold = 20): Tensor { return wrap(N['softplus']!(this.handle, beta, threshold)); }
  leakyRelu(negativeSlope = 0.01): Tensor { return wrap(N['leakyRelu']!(this.handle, negativeSlope)); }
  elu(alpha = 1): Tensor { return wrap(N['elu']!(this.handle, alpha)); }
  erf(): Tensor { return wrap(N['erf']!(this.handle)); }
  sign(): Tensor { return wrap(N['sign']!(this.handle)); }
  floor(): Tensor { return wrap(N['floor']!(this.handle)); }
  ceil(): Tensor { return wrap(N['ceil']!(this.handle)); }
  round(): Tensor { return wrap(N['round']!(this.handle)); }
  trunc(): Tensor { return wrap(N['trunc']!(this.handle)); }
  isnan(): Tensor { return wrap(N['isnan']!(this.handle)); }
  isinf(): Tensor { return wrap(N['isinf']!(this.handle)); }
  isfinite(): Tensor { return wrap(N['isfinite']!(this.handle)); }

  /** Limits values to [min, max]; either bound may be null. */
  clamp(min: Tensor | number | null, max: Tensor | number | null = null): Tensor {
    return wrap(N['clamp']!(this.handle, min === null ? null : operand(min), max === null ? null : operand(max)));
  }

  /** `this + weight * (end - this)`. */
  lerp(end: Tensor, weight: Tensor | number): Tensor { return wrap(N['lerp']!(this.handle, end.handle, operand(weight))); }

  /** Where `mask` is true, `value`; elsewhere this. */
  maskedFill(mask: Tensor, value: Tensor | Scalar): Tensor {
    return wrap(N['maskedFill']!(this.handle, mask.handle, operand(value)));
  }

  // ---- reductions (dim: a dim, a list of dims, or omitted for all) ----

  sum(dim?: number | number[], keepdim = false, options: { dtype?: DType } = {}): Tensor {
    return wrap(N['sum']!(this.handle, dim ?? null, keepdim, options.dtype));
  }
  mean(dim?: number | number[], keepdim = false): Tensor { return wrap(N['mean']!(this.handle, dim ?? null, keepdim)); }
  prod(dim?: number, keepdim = false): Tensor { return wrap(N['prod']!(this.handle, dim ?? null, keepdim)); }

  /** The largest element, or the largest along `dim` with its indices. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return wrap(N['maxAll']!(this.handle));
    return pairOf(N['maxDim']!(this.handle, dim, keepdim));
  }

  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices {
    if (dim === undefined) return wrap(N['minAll']!(this.handle));
    return pairOf(N['minDim']!(this.handle, dim, keepdim));
  }

  amax(dim?: number | number[], keepdim = false): Tensor { return wrap(N['amax']!(this.handle, dim ?? [], keepdim)); }
  amin(dim?: number | number[], keepdim = false): Tensor { return wrap(N['amin']!(this.handle, dim ?? [], keepdim)); }
  argmax(dim?: number, keepdim = false): Tensor { return wrap(N['argmax']!(this.handle, dim ?? null, keepdim)); }
  argmin(dim?: number, keepdim = false): Tensor { return wrap(N['argmin']!(this.handle, dim ?? null, keepdim)); }

  /** Variance; `correction` 1 (default) is the unbiased estimator, 0 the population variance. */
  var(dim?: number | number[], options: { correction?: 0 | 1; keepdim?: boolean } = {}): Tensor {
    return wrap(N['var']!(this.handle, dim ?? null, options.correction ?? 1, options.keepdim ?? false));
  }
  std(dim?: number | number[], options: { correction?: 0 | 1; keepdim?: boolean } = {}): Tensor {
    return wrap(N['std']!(this.handle, dim ?? null, options.correction ?? 1, options.keepdim ?? false));
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return wrap(N['logsumexp']!(this.handle, dim, keepdim)); }
  /** Vector p-norm over `dim` (all elements when omitted). */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return wrap(N['norm']!(this.handle, p, dim ?? null, keepdim));
  }
  all(dim?: number, keepdim = false): Tensor { return wrap(N['all']!(this.handle, dim ?? null, keepdim)); }
  any(dim?: number, keepdim = false): Tensor { return wrap(N['any']!(this.handle, dim ?? null, keepdim)); }
  cumsum(dim: number): Tensor { return wrap(N['cumsum']!(this.handle, dim)); }
  /** True when both tensors have the same shape and elements. */
  equal(other: Tensor): boolean { return N['equal']!(this.handle, other.handle) as boolean; }

  softmax(dim: number): Tensor { return wrap(N['softmax']!(this.handle, dim)); }
  logSoftmax(dim: number): Tensor { return wrap(N['logSoftmax']!(this.handle, dim)); }

  // ---- linear algebra ----

  /** Matrix product with broadcasting over batch dims, as torch.matmul. */
  matmul(other: Tensor): Tensor { return wrap(N['matmul']!(this.handle, other.handle)); }
  mm(other: Tensor): Tensor { return wrap(N['mm']!(this.handle, other.handle)); }
  /** (B, n, m) @ (B, m, p) -> (B, n, p) */
  bmm(other: Tensor): Tensor { return wrap(N['bmm']!(this.handle, other.handle)); }
  outer(other: Tensor): Tensor { return wrap(N['outer']!(this.handle, other.handle)); }
  dot(other: Tensor): Tensor { return wrap(N['dot']!(this.handle, other.handle)); }

  // ---- shape ----

  view(...shape: number[] | [readonly number[]]): Tensor { return wrap(N['view']!(this.handle, shapeArgs(shape))); }
  reshape(...shape: number[] | [readonly number[]]): Tensor { return wrap(N['reshape']!(this.handle, shapeArgs(shape))); }
  transpose(dim0: number, dim1: number): Tensor { return wrap(N['transpose']!(this.handle, dim0, dim1)); }
  /** The transpose of a 2-D tensor. */
  t(): Tensor {
    if (this.ndim > 2) throw new Error(`t() expects a tensor with <= 2 dims, got shape [${this.shape.join(', ')}]`);
    return this.ndim < 2 ? this : this.transpose(0, 1);
  }
  permute(...dims: number[] | [readonly number[]]): Tensor { return wrap(N['permute']!(this.handle, shapeArgs(dims))); }
  expand(...shape: number[] | [readonly number[]]): Tensor { return wrap(N['expand']!(this.handle, shapeArgs(shape))); }
  expandAs(other: Tensor): Tensor { return this.expand(other.shape); }
  squeeze(dim?: number): Tensor { return wrap(N['squeeze']!(this.handle, dim ?? null)); }
  unsqueeze(dim: number): Tensor { return wrap(N['unsqueeze']!(this.handle, dim)); }
  flatten(startDim = 0, endDim = -1): Tensor { return wrap(N['flatten']!(this.handle, startDim, endDim)); }
  /** Pieces of `size` along dim (last may be smaller), or pieces of the given sizes. */
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] { return listOf(N['split']!(this.handle, sizeOrSizes, dim)); }
  chunk(chunks: number, dim = 0): Tensor[] { return listOf(N['chunk']!(this.handle, chunks, dim)); }
  unbind(dim = 0): Tensor[] { return listOf(N['unbind']!(this.handle, dim)); }
  narrow(dim: number, start: number, length: number): Tensor { return wrap(N['narrow']!(this.handle, dim, start, length)); }
  /** Python's `x[start:end:step]` along `dim`; null bounds mean the ends. */
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return wrap(N['slice']!(this.handle, dim, start, end, step));
  }
  /** Python's `x[..., index, ...]` at `dim` (the dim is removed). */
  select(dim: number, index: number): Tensor { return wrap(N['select']!(this.handle, dim, index)); }
  indexSelect(dim: number, index: Tensor): Tensor { return wrap(N['indexSelect']!(this.handle, dim, index.handle)); }
  gather(dim: number, index: Tensor): Tensor { return wrap(N['gather']!(this.handle, dim, index.handle)); }
  scatter(dim: number, index: Tensor, src: Tensor | Scalar): Tensor {
    return wrap(N['scatter']!(this.handle, dim, index.handle, operand(src)));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(N['scatterAdd']!(this.handle, dim, index.handle, src.handle));
  }
  indexAdd(dim: number, index: Tensor, source: Tensor): Tensor {
    return wrap(N['indexAdd']!(this.handle, dim, index.handle, source.handle));
  }
  tril(diagonal = 0): Tensor { return wrap(N['tril']!(this.handle, diagonal)); }
  triu(diagonal = 0): Tensor { return wrap(N['triu']!(this.handle, diagonal)); }
  repeat(...repeats: number[] | [readonly number[]]): Tensor { return wrap(N['repeat']!(this.handle, shapeArgs(repeats))); }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return wrap(N['repeatInterleave']!(this.handle, repeats, dim ?? null));
  }
  flip(...dims: number[] | [readonly number[]]): Tensor { return wrap(N['flip']!(this.handle, shapeArgs(dims))); }
  roll(shifts: number | number[], dims: number | number[]): Tensor {
    return wrap(N['roll']!(this.handle, [shifts].flat(), [dims].flat()));
  }

  // ---- in place (return this) ----

  add_(other: Tensor | Scalar, alpha?: number): this { N['add_']!(this.handle, operand(other), alpha); return this; }
  sub_(other: Tensor | Scalar, alpha?: number): this { N['sub_']!(this.handle, operand(other), alpha); return this; }
  mul_(other: Tensor | Scalar): this { N['mul_']!(this.handle, operand(other)); return this; }
  div_(other: Tensor | Scalar): this { N['div_']!(this.handle, operand(other)); return this; }
  pow_(exponent: Tensor | number): this { N['pow_']!(this.handle, operand(exponent)); return this; }
  /** `this += value * t1 * t2` */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { N['addcmul_']!(this.handle, t1.handle, t2.handle, value); return this; }
  /** `this += value * t1 / t2` */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { N['addcdiv_']!(this.handle, t1.handle, t2.handle, value); return this; }
  lerp_(end: Tensor, weight: Tensor | number): this { N['lerp_']!(this.handle, end.handle, operand(weight)); return this; }
  zero_(): this { N['zero_']!(this.handle); return this; }
  fill_(value: Tensor | Scalar): this { N['fill_']!(this.handle, operand(value)); return this; }
  copy_(src: Tensor): this { N['copy_']!(this.handle, src.handle); return this; }
  clamp_(min: number | null, max: number | null = null): this { N['clamp_']!(this.handle, min, max); return this; }
  sqrt_(): this { N['sqrt_']!(this.handle); return this; }
  maskedFill_(mask: Tensor, value: Tensor | Scalar): this {
    N['maskedFill_']!(this.handle, mask.handle, operand(value));
    return this;
  }
  uniform_(low = 0, high = 1): this { N['uniform_']!(this.handle, low, high); return this; }
  normal_(mean = 0, std = 1): this { N['normal_']!(this.handle, mean, std); return this; }

  // ---- sorting and sampling ----

  topk(k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
    return pairOf(N['topk']!(this.handle, k, dim, largest, sorted));
  }
  sort(dim = -1, descending = false): ValuesIndices { return pairOf(N['sort']!(this.handle, dim, descending)); }
  argsort(dim = -1, descending = false): Tensor { return wrap(N['argsort']!(this.handle, dim, descending)); }
  /** Draws `numSamples` indices per row with probability proportional to the row's values. */
  multinomial(numSamples: number, replacement = false): Tensor {
    return wrap(N['multinomial']!(this.handle, numSamples, replacement));
  }
}

/** @internal Wraps a handle from the addon as a Tensor. */
export function wrap(handle: Handle): Tensor {
  return new Tensor(handle);
}

/** @internal */
export function listOf(handles: Handle[]): Tensor[] {
  return handles.map(wrap);
}

/** @internal */
export function pairOf(handles: [Handle, Handle]): ValuesIndices {
  return { values: wrap(handles[0]), indices: wrap(handles[1]) };
}

// ---- printing ----

const EDGE = 3; // elements shown at each end of a summarised dim
const SUMMARY_THRESHOLD = 1000;

function formatTensor(t: Tensor): string {
  if (t.isDisposed) return 'tensor(<disposed>)';
  const shape = t.shape;
  const summarise = t.numel() > SUMMARY_THRESHOLD;
  // Cut each long dim down to its first and last EDGE entries before copying the data out.
  let shown = t.detach();
  if (summarise) {
    for (let d = 0; d < shape.length; d++) {
      if (shape[d]! > 2 * EDGE) {
        const next = catParts([shown.narrow(d, 0, EDGE), shown.narrow(d, shape[d]! - EDGE, EDGE)], d);
        shown.dispose();
        shown = next;
      }
    }
  }
  const values = shown.toArray();
  shown.dispose();
  const dtype = t.dtype;
  const isFloat = dtype.startsWith('float') || dtype === 'bfloat16';
  const flat = ([values] as unknown[]).flat(Infinity) as (number | boolean)[];
  const useExp = isFloat && flat.some((v) => typeof v === 'number' && v !== 0 && Number.isFinite(v) && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4));
  const fmt = (v: number | boolean): string => {
    if (typeof v === 'boolean') return String(v);
    if (!isFloat) return String(v);
    if (!Number.isFinite(v)) return String(v);
    return useExp ? v.toExponential(4) : v.toFixed(4);
  };
  const width = Math.max(...flat.map((v) => fmt(v).length), 1);
  const pad = (s: string): string => s.padStart(width);
  const render = (value: NestedArray<number | boolean>, d: number, indent: string): string => {
    if (!Array.isArray(value)) return pad(fmt(value));
    const parts = value.map((v) => render(v, d + 1, indent + ' '));
    if (summarise && shape[d]! > 2 * EDGE) parts.splice(EDGE, 0, '...');
    const sep = d === shape.length - 1 ? ', ' : ',\n' + '\n'.repeat(Math.max(0, shape.length - d - 2)) + indent + ' ';
    return '[' + parts.join(sep) + ']';
  };
  const body = render(values, 0, ' '.repeat('tensor('.length));
  const extras = [`dtype=${dtype}`];
  if (summarise) extras.unshift(`shape=[${shape.join(', ')}]`);
  const device = t.device;
  if (device !== 'cpu') extras.push(`device=${device}`);
  if (t.requiresGrad) extras.push('requiresGrad=true');
  return `tensor(${body}, ${extras.join(', ')})`;
}

function catParts(parts: Tensor[], dim: number): Tensor {
  const out = wrap(N['cat']!(parts.map((p) => p.handle), dim));
  for (const p of parts) p.dispose();
  return out;
}
