/**
 * The causal-LM graph for generation, whatever the decoder: the inputs and outputs
 * transformers.js and Optimum use for GPT-2 and Llama, with a key/value cache.
 *
 * Inputs: input_ids, position_ids (B, T) int64, attention_mask (B, S) int64 (1 at tokens),
 * past_key_values.N.key/value (B, KV, P, D) float32 (P = 0 on the first call).
 * Outputs: logits (B, T, V), present.N.key/value (B, KV, S, D).
 *
 * B = batch, T = new tokens, P = cached tokens, S = P + T, KV = key/value heads, D = head size, V = vocabulary.
 */
import type { OnnxGraph } from './graph.js';
import { causalMask, dim } from './layers.js';

export interface KeyValue {
  key: string;
  value: string;
}

export interface DecoderShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
}

/**
 * A decoder's forward with a cache: ids and positions (B, T), `allowed` bool broadcastable to
 * (B, H, T, S), one (B, KV, P, D) key/value pair per layer -> logits (B, T, V) and each
 * layer's (B, KV, S, D) keys and values.
 */
export type CachedDecoder = (ids: string, positions: string, allowed: string, past: readonly KeyValue[]) => { logits: string; presents: KeyValue[] };

export function causalLmGraph(g: OnnxGraph, shape: DecoderShape, decoder: CachedDecoder): void {
  const { layers, kvHeads, headDim, vocabSize } = shape;
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positions = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const past = Array.from({ length: layers }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, 'float32', ['batch_size', kvHeads, 'past_sequence_length', headDim]),
    value: g.input(`past_key_values.${i}.value`, 'float32', ['batch_size', kvHeads, 'past_sequence_length', headDim]),
  }));
  const { logits, presents } = decoder(ids, positions, causalMask(g, mask, dim(g, ids, 1)), past);
  g.output(logits, 'logits', 'float32', ['batch_size', 'sequence_length', vocabSize]);
  presents.forEach(({ key, value }, i) => {
    g.output(key, `present.${i}.key`, 'float32', ['batch_size', kvHeads, 'total_sequence_length', headDim]);
    g.output(value, `present.${i}.value`, 'float32', ['batch_size', kvHeads, 'total_sequence_length', headDim]);
  });
}

/** A layer's keys or values after the cache: (B, KV, P, D) + (B, KV, T, D) -> (B, KV, S, D); without a cache, the new ones. */
export function appendToCache(g: OnnxGraph, past: string | undefined, current: string): string {
  return past === undefined ? current : g.op('Concat', [past, current], { axis: 2 });
}
