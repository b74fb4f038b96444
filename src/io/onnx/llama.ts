/**
 * Llama as ONNX, under LlamaForCausalLM's state-dict names: RMSNorm, rotary position
 * embeddings read at position_ids, grouped-query attention (the cache keeps the KV heads, each
 * repeated for its H / KV query heads after it), SwiGLU.
 *
 * B = batch, T = new tokens, S = cached + new, C = dim, H = query heads, KV = key/value heads, D = C / H.
 */
import type { Llama } from '../../models/llama.js';
import type { RMSNorm } from '../../nn/rms-norm.js';
import type { OnnxGraph } from './graph.js';
import { type KeyValue, appendToCache, causalLmGraph } from './causal-lm.js';
import { attention, linear, mergeHeads, splitHeads } from './layers.js';

/** x / √(mean(x²) + eps) · weight over the last axis. */
function rmsNorm(g: OnnxGraph, x: string, norm: RMSNorm, name: string): string {
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 }); // (..., 1)
  const inverse = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSquare, g.floats([norm.eps])])])]);
  return g.op('Mul', [g.op('Mul', [x, inverse]), g.weight(`${name}.weight`, norm.weight)]);
}

/** x (B, heads, T, D) rotated by the angles at `cos`, `sin` (B, 1, T, D): x·cos + rotate_half(x)·sin. */
function rotate(g: OnnxGraph, x: string, cos: string, sin: string, headDim: number): string {
  const [first, second] = g.ops('Split', [x, g.ints([headDim / 2, headDim / 2])], 2, { axis: -1 }); // 2 × (B, heads, T, D/2)
  const rotated = g.op('Concat', [g.op('Neg', [second!]), first!], { axis: -1 }); // (B, heads, T, D)
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
}

/** (B, KV, S, D) -> (B, H, S, D): each key/value head repeated for the `group` query heads it serves. */
function repeatHeads(g: OnnxGraph, x: string, heads: number, headDim: number, group: number): string {
  if (group === 1) return x;
  const expanded = g.op('Expand', [g.op('Unsqueeze', [x, g.ints([2])]), g.ints([1, 1, group, 1, 1])]); // (B, KV, group, S, D)
  return g.op('Reshape', [expanded, g.ints([0, heads, -1, headDim])]);
}

/** ids and positions (B, T) -> hidden states (B, T, C) after the final norm, and each layer's cache. */
export function llamaBody(g: OnnxGraph, model: Llama, ids: string, positions: string, allowed: string, past?: readonly KeyValue[]): { hidden: string; presents: KeyValue[] } {
  const { dim: C, nHeads, nKvHeads } = model.config;
  const headDim = C / nHeads;
  const body = model.model;
  const rotary = body.layers[0]!.self_attn.rotary_emb;
  const angle = (table: 'cos' | 'sin'): string => g.op('Unsqueeze', [g.op('Gather', [g.weight(`rotary.${table}`, rotary[table]), positions]), g.ints([1])]); // (B, 1, T, D)
  const cos = angle('cos');
  const sin = angle('sin');
  let x = g.op('Gather', [g.weight('model.embed_tokens.weight', body.embed_tokens.weight), ids]); // (B, T, C)
  const presents: KeyValue[] = [];
  body.layers.forEach((layer, i) => {
    const name = `model.layers.${i}`;
    const attn = layer.self_attn;
    const h = rmsNorm(g, x, layer.input_layernorm, `${name}.input_layernorm`);
    const project = (proj: 'q_proj' | 'k_proj' | 'v_proj', heads: number): string => splitHeads(g, linear(g, h, attn[proj], `${name}.self_attn.${proj}`), heads, headDim);
    const q = rotate(g, project('q_proj', nHeads), cos, sin, headDim); // (B, H, T, D)
    const key = appendToCache(g, past?.[i]?.key, rotate(g, project('k_proj', nKvHeads), cos, sin, headDim)); // (B, KV, S, D)
    const value = appendToCache(g, past?.[i]?.value, project('v_proj', nKvHeads));
    presents.push({ key, value });
    const group = nHeads / nKvHeads;
    const attended = attention(g, q, repeatHeads(g, key, nHeads, headDim, group), repeatHeads(g, value, nHeads, headDim, group), allowed, headDim); // (B, H, T, D)
    x = g.op('Add', [x, linear(g, mergeHeads(g, attended, C), attn.o_proj, `${name}.self_attn.o_proj`)]);
    const m = rmsNorm(g, x, layer.post_attention_layernorm, `${name}.post_attention_layernorm`);
    const gate = linear(g, m, layer.mlp.gate_proj, `${name}.mlp.gate_proj`);
    const swish = g.op('Mul', [gate, g.op('Sigmoid', [gate])]); // silu
    x = g.op('Add', [x, linear(g, g.op('Mul', [swish, linear(g, m, layer.mlp.up_proj, `${name}.mlp.up_proj`)]), layer.mlp.down_proj, `${name}.mlp.down_proj`)]);
  });
  return { hidden: rmsNorm(g, x, body.norm, 'model.norm'), presents };
}

/** Llama's causal LM with a cache. */
export function llamaCausalLmGraph(g: OnnxGraph, model: Llama): void {
  const { dim: C, nHeads, nKvHeads, nLayers, vocabSize } = model.config;
  causalLmGraph(g, { layers: nLayers, kvHeads: nKvHeads, headDim: C / nHeads, vocabSize }, (ids, positions, allowed, past) => {
    const { hidden, presents } = llamaBody(g, model, ids, positions, allowed, past);
    const head = model.config.tieEmbeddings ? g.op('Transpose', ['model.embed_tokens.weight']) : g.weight('lm_head.weight', model.lm_head.weight.t()); // (C, V)
    return { logits: g.op('MatMul', [hidden, head]), presents };
  });
}
