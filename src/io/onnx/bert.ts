/**
 * BERT's encoder as ONNX, under BertModel's state-dict names (`embeddings.word_embeddings`,
 * `encoder.layer.N.attention.self.query`, …): post-norm blocks, exact (erf) GELU, padding keys
 * masked. Token types are all 0, as Kiln's classifiers read single texts.
 *
 * N = rows, L = length, C = hiddenSize, H = heads, D = C / H.
 */
import type { BertModel } from '../../models/bert.js';
import type { OnnxGraph } from './graph.js';
import { attention, dim, geluErf, layerNorm, linear, mergeHeads, paddingMask, splitHeads } from './layers.js';

/** ids (N, L) int64, mask (N, L) int64 1 at tokens -> last hidden states (N, L, C). */
export function bertBody(g: OnnxGraph, model: BertModel, ids: string, mask: string, prefix = ''): string {
  const { hiddenSize, numAttentionHeads } = model.config;
  const headDim = hiddenSize / numAttentionHeads;
  const e = model.embeddings;
  const positions = g.op('Range', [g.ints([0], []), dim(g, ids, 1), g.ints([1], [])]); // (L)
  const tokenType = g.op('Gather', [g.weight(`${prefix}embeddings.token_type_embeddings.weight`, e.token_type_embeddings.weight), g.ints([0], [])]); // (C)
  const summed = g.op('Add', [
    g.op('Add', [g.op('Gather', [g.weight(`${prefix}embeddings.word_embeddings.weight`, e.word_embeddings.weight), ids]), g.op('Gather', [g.weight(`${prefix}embeddings.position_embeddings.weight`, e.position_embeddings.weight), positions])]),
    tokenType,
  ]); // (N, L, C) + (L, C) + (C)
  let x = layerNorm(g, summed, e.LayerNorm, `${prefix}embeddings.LayerNorm`);
  const allowed = paddingMask(g, mask); // (N, 1, 1, L)
  model.encoder.layer.forEach((layer, i) => {
    const name = `${prefix}encoder.layer.${i}`;
    const self = layer.attention.self;
    const heads = (projection: 'query' | 'key' | 'value'): string => splitHeads(g, linear(g, x, self[projection], `${name}.attention.self.${projection}`), numAttentionHeads, headDim); // (N, H, L, D)
    const attended = mergeHeads(g, attention(g, heads('query'), heads('key'), heads('value'), allowed, headDim), hiddenSize); // (N, L, C)
    const out = layer.attention.output;
    x = layerNorm(g, g.op('Add', [linear(g, attended, out.dense, `${name}.attention.output.dense`), x]), out.LayerNorm, `${name}.attention.output.LayerNorm`);
    const inner = geluErf(g, linear(g, x, layer.intermediate.dense, `${name}.intermediate.dense`)); // (N, L, I)
    x = layerNorm(g, g.op('Add', [linear(g, inner, layer.output.dense, `${name}.output.dense`), x]), layer.output.LayerNorm, `${name}.output.LayerNorm`);
  });
  return x;
}
