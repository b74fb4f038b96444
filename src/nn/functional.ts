/**
 * Functional neural-network ops (torch.nn.functional). Shapes use B = batch, C = channels or
 * classes, T = time, H×W = image size, E = embedding size.
 */
import { native as N, type Handle } from '../tensor/native.js';
import { Tensor, wrap, listOf } from '../tensor/tensor.js';

export type Reduction = 'mean' | 'sum' | 'none';

const h = (t: Tensor | null | undefined): Handle | null => (t === null || t === undefined ? null : t.handle);

export function relu(x: Tensor): Tensor { return x.relu(); }
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor { return x.gelu(approximate); }
export function silu(x: Tensor): Tensor { return x.silu(); }
export function tanh(x: Tensor): Tensor { return x.tanh(); }
export function sigmoid(x: Tensor): Tensor { return x.sigmoid(); }
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor { return x.softplus(beta, threshold); }
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor { return x.leakyRelu(negativeSlope); }

export function softmax(x: Tensor, dim: number): Tensor { return x.softmax(dim); }
export function logSoftmax(x: Tensor, dim: number): Tensor { return x.logSoftmax(dim); }

export interface CrossEntropyOptions {
  /** Per-class weights, shape (C). */
  weight?: Tensor;
  /** Targets equal to this contribute no loss or gradient. @default -100 */
  ignoreIndex?: number;
  /** Mixes the target with the uniform distribution by this amount. @default 0 */
  labelSmoothing?: number;
  /** @default 'mean' */
  reduction?: Reduction;
}

/**
 * Cross-entropy between logits (B, C) or (B, C, d1, ...) and class indices (B) / (B, d1, ...)
 * (int64) or class probabilities shaped like the logits.
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const smoothing = options.labelSmoothing ?? 0;
  if (smoothing < 0 || smoothing > 1) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  return wrap(N['crossEntropy']!(logits.handle, target.handle, h(options.weight), options.reduction ?? 'mean',
    options.ignoreIndex ?? -100, smoothing));
}

/** @internal ATen's cross_entropy_loss: the reference of the fused kernel crossEntropy uses for (N, C) float32 logits. */
export function crossEntropyReference(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return wrap(N['crossEntropyReference']!(logits.handle, target.handle, h(options.weight), options.reduction ?? 'mean',
    options.ignoreIndex ?? -100, options.labelSmoothing ?? 0));
}

/** Negative log-likelihood of log-probabilities (B, C) at class indices (B). */
export function nllLoss(logProbs: Tensor, target: Tensor, options: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return wrap(N['nllLoss']!(logProbs.handle, target.handle, h(options.weight), options.reduction ?? 'mean',
    options.ignoreIndex ?? -100));
}

export interface FocalLossOptions {
  /** Focusing exponent γ: 0 gives plain cross-entropy. @default 2 */
  gamma?: number;
  /** Per-class weights α, shape (C). */
  alpha?: Tensor;
  /** Targets equal to this contribute nothing. @default -100 */
  ignoreIndex?: number;
  /** 'mean' averages over the non-ignored targets. @default 'mean' */
  reduction?: Reduction;
}

/**
 * Multi-class focal loss (Lin et al.): −α_y (1 − p_y)^γ log p_y for logits (B, C) and class
 * indices (B). Down-weights easy examples; helps with imbalanced labels.
 */
export function focalLoss(logits: Tensor, target: Tensor, options: FocalLossOptions = {}): Tensor {
  const gamma = options.gamma ?? 2;
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (logits.ndim !== 2 || target.ndim !== 1) {
    throw new Error(`focalLoss: expected logits (B, C) and targets (B), got [${logits.shape.join(', ')}] and [${target.shape.join(', ')}]`);
  }
  const valid = target.ne(ignoreIndex); // (B)
  const safeTarget = target.maskedFill(valid.logicalNot(), 0).unsqueeze(1); // (B, 1)
  const logPt = logits.logSoftmax(1).gather(1, safeTarget).squeeze(1); // (B)
  let loss = logPt.exp().rsub(1).pow(gamma).mul(logPt).neg(); // (B)
  if (options.alpha !== undefined) loss = loss.mul(options.alpha.gather(0, safeTarget.squeeze(1)));
  loss = loss.mul(valid.to(loss.dtype));
  const reduction = options.reduction ?? 'mean';
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return loss.sum();
  return loss.sum().div(valid.sum().clamp(1, null));
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(N['mseLoss']!(input.handle, target.handle, reduction));
}

export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(N['l1Loss']!(input.handle, target.handle, reduction));
}

export function smoothL1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean', beta = 1): Tensor {
  return wrap(N['smoothL1Loss']!(input.handle, target.handle, reduction, beta));
}

export interface BceOptions {
  /** Rescales each element's loss; broadcasts to the input. */
  weight?: Tensor;
  /** Weight of positive examples per class, shape (C). */
  posWeight?: Tensor;
  /** @default 'mean' */
  reduction?: Reduction;
}

/** Binary cross-entropy on logits (numerically stable sigmoid + BCE). */
export function bceWithLogits(logits: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  return wrap(N['bceWithLogits']!(logits.handle, target.handle, h(options.weight), h(options.posWeight),
    options.reduction ?? 'mean'));
}

/** Normalises over the trailing `normalizedShape` dims. */
export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(N['layerNorm']!(x.handle, normalizedShape, h(weight), h(bias), eps));
}

/** Root-mean-square norm over the last dim: x / sqrt(mean(x²) + eps) * weight. */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  const normed = x.mul(x.square().mean(-1, true).add(eps).rsqrt());
  return weight === null || weight === undefined ? normed : normed.mul(weight);
}

export function groupNorm(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(N['groupNorm']!(x.handle, groups, h(weight), h(bias), eps));
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use batch statistics and update the running ones in place. @default false */
  training?: boolean;
  /** @default 0.1 */
  momentum?: number;
  /** @default 1e-5 */
  eps?: number;
}

/** Batch normalisation over (B, C, ...) with running statistics of shape (C). */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  return wrap(N['batchNorm']!(x.handle, h(options.weight), h(options.bias), h(runningMean), h(runningVar),
    options.training ?? false, options.momentum ?? 0.1, options.eps ?? 1e-5));
}

/** Zeroes elements with probability p and scales the rest by 1/(1-p), when training. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (p === 0 || !training) return x;
  return wrap(N['dropout']!(x.handle, p, training));
}

/** Looks up rows of `weight` (V, E) at `indices` (any shape, int64) -> (..., E). */
export function embedding(indices: Tensor, weight: Tensor, options: { paddingIdx?: number } = {}): Tensor {
  return wrap(N['embedding']!(weight.handle, indices.handle, options.paddingIdx ?? -1));
}

/** x (..., in) @ weight (out, in)ᵀ + bias (out). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(N['linear']!(x.handle, weight.handle, h(bias)));
}

export interface ConvOptions {
  /** @default 1 */
  stride?: number | number[];
  /** @default 0 */
  padding?: number | number[] | 'same' | 'valid';
  /** @default 1 */
  dilation?: number | number[];
  /** @default 1 */
  groups?: number;
}

/** x (B, Cin, T), weight (Cout, Cin/groups, K) -> (B, Cout, T'). */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  return wrap(N['conv1d']!(x.handle, weight.handle, h(bias), options.stride, options.padding, options.dilation, options.groups));
}

/** x (B, Cin, H, W), weight (Cout, Cin/groups, kH, kW) -> (B, Cout, H', W'). */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  return wrap(N['conv2d']!(x.handle, weight.handle, h(bias), options.stride, options.padding, options.dilation, options.groups));
}

export interface PoolOptions {
  /** @default kernelSize */
  stride?: number | number[];
  /** @default 0 */
  padding?: number | number[];
  /** @default false */
  ceilMode?: boolean;
}

export function maxPool1d(x: Tensor, kernelSize: number, options: PoolOptions & { dilation?: number } = {}): Tensor {
  return wrap(N['maxPool1d']!(x.handle, kernelSize, options.stride ?? null, options.padding, options.dilation, options.ceilMode));
}

export function maxPool2d(x: Tensor, kernelSize: number | number[], options: PoolOptions & { dilation?: number | number[] } = {}): Tensor {
  return wrap(N['maxPool2d']!(x.handle, kernelSize, options.stride ?? null, options.padding, options.dilation, options.ceilMode));
}

export function avgPool2d(x: Tensor, kernelSize: number | number[], options: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  return wrap(N['avgPool2d']!(x.handle, kernelSize, options.stride ?? null, options.padding, options.ceilMode,
    options.countIncludePad));
}

/** Averages each channel down to `outputSize` (H', W'). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number, number]): Tensor {
  return wrap(N['adaptiveAvgPool2d']!(x.handle, outputSize));
}

/** int64 indices -> one-hot int64 with a trailing dim of `numClasses` (inferred when -1). */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return wrap(N['oneHot']!(indices.handle, numClasses));
}

/** Pads the last dims: [left, right] for the last, then [top, bottom] for the one before, ... */
export function pad(x: Tensor, pads: number[], value = 0): Tensor {
  return wrap(N['pad']!(x.handle, pads, value));
}

export interface AttentionOptions {
  /** Boolean (true = may attend) or additive float mask, broadcast to (..., L, S). */
  attnMask?: Tensor | null;
  /** @default 0 */
  dropoutP?: number;
  /** Mask out future positions (query i attends to keys ≤ i). @default false */
  isCausal?: boolean;
  /** @default 1/sqrt(E) */
  scale?: number;
}

/** softmax(q kᵀ · scale + mask) v, with q (..., L, E), k (..., S, E), v (..., S, Ev) -> (..., L, Ev). */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  return wrap(N['scaledDotProductAttention']!(q.handle, k.handle, v.handle, h(options.attnMask), options.dropoutP ?? 0,
    options.isCausal ?? false, options.scale ?? null));
}

/** @internal The plain matmul/softmax composition scaledDotProductAttention is checked against. */
export function attentionReference(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  return wrap(N['attentionReference']!(q.handle, k.handle, v.handle, h(options.attnMask), options.dropoutP ?? 0,
    options.isCausal ?? false, options.scale ?? null));
}

export interface RecurrentOptions {
  /** @default 1 */
  numLayers?: number;
  /** Dropout between layers when training. @default 0 */
  dropout?: number;
  /** @default false */
  training?: boolean;
  /** @default false */
  bidirectional?: boolean;
  /** Input (B, T, F) instead of (T, B, F). @default false */
  batchFirst?: boolean;
}

/** Layers × directions: the number of (w_ih, w_hh[, b_ih, b_hh]) groups in `params`. */
function recurrentUnits(options: RecurrentOptions): number {
  return (options.numLayers ?? 1) * (options.bidirectional === true ? 2 : 1);
}

/**
 * The LSTM kernel. `params` holds, per layer and direction, w_ih (4H, F), w_hh (4H, H),
 * b_ih (4H), b_hh (4H) in PyTorch's order; h0 and c0 are (layers × directions, B, H).
 * Returns the output (T, B, dirs × H) (batch-first when asked) and the final h and c.
 */
export function lstm(input: Tensor, h0: Tensor, c0: Tensor, params: Tensor[], options: RecurrentOptions = {}): [Tensor, Tensor, Tensor] {
  const hasBiases = params.length === recurrentUnits(options) * 4;
  const out = listOf(N['lstm']!(input.handle, [h0.handle, c0.handle], params.map((p) => p.handle), hasBiases,
    options.numLayers ?? 1, options.dropout ?? 0, options.training ?? false, options.bidirectional ?? false,
    options.batchFirst ?? false));
  return [out[0]!, out[1]!, out[2]!];
}

/** The GRU kernel; params as for lstm with 3H rows (r, z, n). Returns [output, hN]. */
export function gru(input: Tensor, h0: Tensor, params: Tensor[], options: RecurrentOptions = {}): [Tensor, Tensor] {
  const hasBiases = params.length === recurrentUnits(options) * 4;
  const out = listOf(N['gru']!(input.handle, h0.handle, params.map((p) => p.handle), hasBiases,
    options.numLayers ?? 1, options.dropout ?? 0, options.training ?? false, options.bidirectional ?? false,
    options.batchFirst ?? false));
  return [out[0]!, out[1]!];
}
