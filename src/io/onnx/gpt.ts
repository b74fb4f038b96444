/**
 * GPT (GPT-2's architecture) as ONNX: the body, and the causal-LM graph with a key/value cache
 * under the names transformers.js and Optimum use for GPT-2 (`past_key_values.N.key`,
 * `present.N.key`, …).
 *
 * B = batch, T = new tokens, P = cached tokens, S = P + T, C = nEmbd, H = nHead, D = C / H, V = vocabSize.
 */
import type { GPT } from '../../models/gpt.js';
import type { OnnxGraph } from './graph.js';
import { attention, causalMask, dim, geluTanh, layerNorm, linear, mergeHeads, splitHeads } from './layers.js';

export interface KeyValue {
  key: string;
  value: string;
}

/**
 * ids and positions (B, T) int64, `allowed` bool broadcastable to (B, H, T, S), `past` one
 * (B, H, P, D) key/value pair per block or none -> hidden states (B, T, C) after ln_f, and each
 * block's keys and values (B, H, S, D).
 */
export function gptBody(g: OnnxGraph, model: GPT, ids: string, positions: string, allowed: string, past?: readonly KeyValue[]): { hidden: string; presents: KeyValue[] } {
  const { nHead, nEmbd } = model.config;
  const headDim = nEmbd / nHead;
  const t = model.transformer;
  const wte = g.weight('transformer.wte.weight', t.wte.weight);
  let x = g.op('Add', [g.op('Gather', [wte, ids]), g.op('Gather', [g.weight('transformer.wpe.weight', t.wpe.weight), positions])]); // (B, T, C)
  const presents: KeyValue[] = [];
  t.h.forEach((block, i) => {
    const name = `transformer.h.${i}`;
    const qkv = linear(g, layerNorm(g, x, block.ln_1, `${name}.ln_1`), block.attn.c_attn, `${name}.attn.c_attn`); // (B, T, 3C)
    const [q, k, v] = g.ops('Split', [qkv, g.ints([nEmbd, nEmbd, nEmbd])], 3, { axis: 2 }).map((part) => splitHeads(g, part, nHead, headDim)); // 3 × (B, H, T, D)
    const key = past === undefined ? k! : g.op('Concat', [past[i]!.key, k!], { axis: 2 }); // (B, H, S, D)
    const value = past === undefined ? v! : g.op('Concat', [past[i]!.value, v!], { axis: 2 });
    presents.push({ key, value });
    const attended = mergeHeads(g, attention(g, q!, key, value, allowed, headDim), nEmbd); // (B, T, C)
    x = g.op('Add', [x, linear(g, attended, block.attn.c_proj, `${name}.attn.c_proj`)]);
    const inner = geluTanh(g, linear(g, layerNorm(g, x, block.ln_2, `${name}.ln_2`), block.mlp.c_fc, `${name}.mlp.c_fc`)); // (B, T, 4C)
    x = g.op('Add', [x, linear(g, inner, block.mlp.c_proj, `${name}.mlp.c_proj`)]);
  });
  return { hidden: layerNorm(g, x, t.ln_f, 'transformer.ln_f'), presents };
}

/**
 * The causal LM for generation. Inputs: input_ids, position_ids (B, T), attention_mask (B, S)
 * int64, past_key_values.N.key/value (B, H, P, D) float32 (P = 0 on the first call). Outputs:
 * logits (B, T, V), present.N.key/value (B, H, S, D).
 */
export function gptCausalLmGraph(g: OnnxGraph, model: GPT): void {
  const { nHead, nEmbd, nLayer, vocabSize } = model.config;
  const headDim = nEmbd / nHead;
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positions = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const past = Array.from({ length: nLayer }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, 'float32', ['batch_size', nHead, 'past_sequence_length', headDim]),
    value: g.input(`past_key_values.${i}.value`, 'float32', ['batch_size', nHead, 'past_sequence_length', headDim]),
  }));
  const allowed = causalMask(g, mask, dim(g, ids, 1)); // (B, 1, T, S)
  const { hidden, presents } = gptBody(g, model, ids, positions, allowed, past);
  const head = g.op('Transpose', ['transformer.wte.weight']); // tied: (V, C) -> (C, V)
  g.output(g.op('MatMul', [hidden, head]), 'logits', 'float32', ['batch_size', 'sequence_length', vocabSize]);
  presents.forEach(({ key, value }, i) => {
    g.output(key, `present.${i}.key`, 'float32', ['batch_size', nHead, 'total_sequence_length', headDim]);
    g.output(value, `present.${i}.value`, 'float32', ['batch_size', nHead, 'total_sequence_length', headDim]);
  });
}
