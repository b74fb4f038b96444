/**
 * GPT (GPT-2's architecture) as ONNX: the body (GPT's state-dict names), and the causal LM.
 *
 * B = batch, T = new tokens, P = cached tokens, S = P + T, C = nEmbd, H = nHead, D = C / H, V = vocabSize.
 */
import type { GPT } from '../../models/gpt.js';
import type { OnnxGraph } from './graph.js';
import { type KeyValue, appendToCache, causalLmGraph } from './causal-lm.js';
import { attention, geluTanh, layerNorm, linear, mergeHeads, splitHeads } from './layers.js';

/**
 * ids and positions (B, T) int64, `allowed` bool broadcastable to (B, H, T, S), `past` one
 * (B, H, P, D) key/value pair per block or none -> hidden states (B, T, C) after ln_f, and each
 * block's keys and values (B, H, S, D).
 */
export function gptBody(g: OnnxGraph, model: GPT, ids: string, positions: string, allowed: string, past?: readonly KeyValue[]): { hidden: string; presents: KeyValue[]; wte: string } {
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
    const key = appendToCache(g, past?.[i]?.key, k!); // (B, H, S, D)
    const value = appendToCache(g, past?.[i]?.value, v!);
    presents.push({ key, value });
    const attended = mergeHeads(g, attention(g, q!, key, value, allowed, headDim), nEmbd); // (B, T, C)
    x = g.op('Add', [x, linear(g, attended, block.attn.c_proj, `${name}.attn.c_proj`)]);
    const inner = geluTanh(g, linear(g, layerNorm(g, x, block.ln_2, `${name}.ln_2`), block.mlp.c_fc, `${name}.mlp.c_fc`)); // (B, T, 4C)
    x = g.op('Add', [x, linear(g, inner, block.mlp.c_proj, `${name}.mlp.c_proj`)]);
  });
  return { hidden: layerNorm(g, x, t.ln_f, 'transformer.ln_f'), presents, wte };
}

/** GPT's causal LM with a cache; the head is the token embedding, transposed. */
export function gptCausalLmGraph(g: OnnxGraph, model: GPT): void {
  const { nHead, nEmbd, nLayer, vocabSize } = model.config;
  causalLmGraph(g, { layers: nLayer, kvHeads: nHead, headDim: nEmbd / nHead, vocabSize }, (ids, positions, allowed, past) => {
    const { hidden, presents, wte } = gptBody(g, model, ids, positions, allowed, past);
    return { logits: g.op('MatMul', [hidden, g.op('Transpose', [wte])]), presents }; // (B, T, C) · (C, V)
  });
}
