/**
 * Kiln's layers as ONNX subgraphs, shared by every architecture's exporter. Each function takes
 * the graph, the input value's name and the Kiln module whose weights it uses, and returns the
 * output value's name. Weights are stored under the module's state-dict name.
 *
 * B = batch, T = query length, S = key length (past + T), C = width, H = heads, D = C / H.
 */
import type { LayerNorm } from '../../nn/layer-norm.js';
import type { Linear } from '../../nn/linear.js';
import { type OnnxGraph, float } from './graph.js';

/** The most negative float32: masked attention scores (as Transformers masks them). */
export const FLOAT32_LOWEST = -3.4028234663852886e38;

/**
 * x (..., in) -> x·Wᵀ + b (..., out); the weight is stored transposed, (in, out), so MatMul needs
 * no Transpose. In a quantising graph the weight is int8 with one scale (max |W| / 127) and x is
 * quantised per call (DynamicQuantizeLinear): y = (x_q − x_zp)·W_q · x_scale · W_scale + b.
 */
export function linear(g: OnnxGraph, x: string, layer: Linear, name: string): string {
  const y = g.quantize ? quantizedMatMul(g, x, layer, name) : g.op('MatMul', [x, g.weight(`${name}.weight`, layer.weight.t())]);
  return layer.bias === null ? y : g.op('Add', [y, g.weight(`${name}.bias`, layer.bias)]);
}

function quantizedMatMul(g: OnnxGraph, x: string, layer: Linear, name: string): string {
  const w = layer.weight.detach().t().contiguous().toTypedArray() as Float32Array; // (in, out)
  let largest = 0;
  for (const v of w) largest = Math.max(largest, Math.abs(v));
  const scale = largest > 0 ? largest / 127 : 1;
  const q = Int8Array.from(w, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));
  const weight = g.int8Weight(`${name}.weight_quantized`, q, [layer.inFeatures, layer.outFeatures]);
  const [xq, xScale, xZero] = g.ops('DynamicQuantizeLinear', [x], 3); // uint8 (..., in), scalar scale, scalar zero point
  const product = g.op('MatMulInteger', [xq!, weight, xZero!, g.zeroPoint('int8', 0)]); // int32 (..., out)
  return g.op('Mul', [g.op('Cast', [product], { to: 1 }), g.op('Mul', [xScale!, g.floats([scale])])]);
}

/** LayerNormalization over the last axis (opset 17); a norm without a bias passes none. */
export function layerNorm(g: OnnxGraph, x: string, norm: LayerNorm, name: string): string {
  if (norm.weight === null) throw new Error(`ONNX export: ${name} is a LayerNorm without a weight (elementwiseAffine false), which the exporter does not write`);
  const inputs = [x, g.weight(`${name}.weight`, norm.weight)];
  if (norm.bias !== null) inputs.push(g.weight(`${name}.bias`, norm.bias));
  return g.op('LayerNormalization', inputs, { axis: -1, epsilon: float(norm.eps) });
}

/** GELU's tanh approximation (GPT-2's gelu_new): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(g: OnnxGraph, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.floats([0.044715])])]), g.floats([Math.sqrt(2 / Math.PI)])]);
  return g.op('Mul', [g.op('Mul', [x, g.floats([0.5])]), g.op('Add', [g.op('Tanh', [inner]), g.floats([1])])]);
}

/** Exact GELU (BERT's 'gelu'): 0.5·x·(1 + erf(x/√2)). */
export function geluErf(g: OnnxGraph, x: string): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.floats([Math.SQRT1_2])])]);
  return g.op('Mul', [g.op('Mul', [x, g.floats([0.5])]), g.op('Add', [erf, g.floats([1])])]);
}

/** One dimension of `x`'s shape as an int64 scalar. */
export function dim(g: OnnxGraph, x: string, axis: number): string {
  return g.op('Gather', [g.op('Shape', [x]), g.ints([axis], [])]);
}

/** (B, T, H·D) -> (B, H, T, D) */
export function splitHeads(g: OnnxGraph, x: string, heads: number, headDim: number): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
}

/** (B, H, T, D) -> (B, T, H·D) */
export function mergeHeads(g: OnnxGraph, x: string, width: number): string {
  return g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), g.ints([0, 0, width])]);
}

/**
 * softmax(q·kᵀ/√D + mask)·v. q (B, H, T, D), k and v (B, H, S, D); `allowed` is a bool mask
 * broadcastable to (B, H, T, S), true where a query may read a key, or null when every query
 * reads every key. -> (B, H, T, D)
 */
export function attention(g: OnnxGraph, q: string, k: string, v: string, allowed: string | null, headDim: number): string {
  const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.floats([1 / Math.sqrt(headDim)])]); // (B, H, T, S)
  const masked = allowed === null ? scores : g.op('Where', [allowed, scores, g.floats([FLOAT32_LOWEST])]);
  return g.op('MatMul', [g.op('Softmax', [masked], { axis: -1 }), v]); // (B, H, T, D)
}

/**
 * The causal mask of a decoder reading T new tokens after P cached ones, with padding:
 * attention_mask (B, S = P + T) int64, 1 at tokens. -> bool (B, 1, T, S), true where query
 * P + i may read key j (j ≤ P + i and key j is a token).
 */
export function causalMask(g: OnnxGraph, attentionMask: string, queryLength: string): string {
  const total = dim(g, attentionMask, 1); // S
  const past = g.op('Sub', [total, queryLength]); // P
  const keys = g.op('Unsqueeze', [g.op('Range', [g.ints([0], []), total, g.ints([1], [])]), g.ints([0])]); // (1, S)
  const queries = g.op('Unsqueeze', [g.op('Range', [past, total, g.ints([1], [])]), g.ints([1])]); // (T, 1)
  const causal = g.op('LessOrEqual', [keys, queries]); // (T, S)
  return g.op('And', [causal, paddingMask(g, attentionMask)]); // (B, 1, T, S)
}

/** bool (L, L), true where query i may read key j ≤ i: a causal mask without a cache or padding. */
export function causalSquare(g: OnnxGraph, length: string): string {
  const steps = g.op('Range', [g.ints([0], []), length, g.ints([1], [])]); // (L)
  return g.op('LessOrEqual', [g.op('Unsqueeze', [steps, g.ints([0])]), g.op('Unsqueeze', [steps, g.ints([1])])]);
}

/** attention_mask (B, S) int64 -> bool (B, 1, 1, S), true at tokens. */
export function paddingMask(g: OnnxGraph, attentionMask: string): string {
  return g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: 9 }), g.ints([1, 2])]);
}
