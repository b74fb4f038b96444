/**
 * Importing llama2.c checkpoints (Karpathy's llama2.c) into Kiln's Llama.
 *
 * Two file formats, both little-endian float32:
 * - legacy (run.c's original format): a header of 7 int32 — dim, hidden_dim, n_layers,
 *   n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is
 *   stored separately (otherwise it is the token embedding) — then token_embedding (V, D),
 *   rms_att (L, D), wq (L, D, D), wk (L, KV, D), wv (L, KV, D), wo (L, D, D), rms_ffn (L, D),
 *   w1 (L, H, D), w2 (L, D, H), w3 (L, H, D), rms_final (D), freq_cis_real and freq_cis_imag
 *   (seq_len, hs/2 each; skipped, Kiln computes its own), and wcls (V, D) when separate.
 * - version 1 of export.py: a 256-byte header — uint32 magic 0x616b3432 ("ak42"), int32
 *   version (1), the same 7 int32 (vocab_size positive), uint8 shared_classifier, zero padding —
 *   then the norms first: attention norms (L × D), ffn norms (L × D), final norm (D), then
 *   token embedding, wq, wk, wv, wo, w1, w2, w3 (each layer after layer), and the classifier
 *   (V, D) when not shared. Version 2 (int8 Q8_0 groups) is refused.
 *
 * Matrices are (out, in) like PyTorch's Linear. w1 is the gated (SiLU) branch → gate_proj, w3
 * the linear branch → up_proj, w2 → down_proj. run.c's RMSNorm eps is 1e-5 and RoPE θ 10000.
 *
 * RoPE layout. llama2.c (like Meta's code) rotates neighbouring pairs (2i, 2i+1) of each head
 * by pos·θ^(−2i/hs), on the weights exactly as stored; Kiln's Llama uses Hugging Face's
 * rotate_half, which pairs i with i + hs/2 at the same angle. So that Kiln computes what run.c
 * computes, the rows of wq and wk are permuted within each head on import: new row i is old
 * row 2i and new row hs/2 + i is old row 2i+1 (the inverse of the permutation export.py applies
 * when it writes a Hugging Face folder). The same permutation on q and k leaves every q·k dot
 * product — hence attention and logits — unchanged, so greedy generation matches run.c's.
 * The imported model saved with io/hf-llama.ts is a correct Hugging Face Llama.
 *
 * D = dim, H = hidden_dim, L = n_layers, V = vocab_size, hs = D / n_heads, KV = n_kv_heads·hs.
 */
import { readFileSync } from 'node:fs';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Llama } from '../models/llama.js';
import { type LlamaConfig, llamaConfig } from '../models/llama-config.js';
import { buildWithinWeights } from './hf-folder.js';

export const LLAMA2C_MAGIC = 0x616b3432;
const LEGACY_HEADER_BYTES = 7 * 4;
const V1_HEADER_BYTES = 256;
/** run.c's rmsnorm adds 1e-5f; its RoPE base is 10000. */
const LLAMA2C_NORM_EPS = 1e-5;
const LLAMA2C_ROPE_THETA = 10000;

export type Llama2cFormat = 'legacy' | 'v1';

/** The header's hyperparameters, as llama2.c's Config. */
export interface Llama2cHeader {
  format: Llama2cFormat;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** The output classifier is the token embedding. */
  sharedClassifier: boolean;
}

export interface LoadedLlama2c {
  model: Llama;
  config: Readonly<LlamaConfig>;
  header: Llama2cHeader;
}

function checkpointError(file: string, problem: string): Error {
  return new Error(`llama2.c checkpoint ${file}: ${problem}`);
}

/** Reads and checks the header; throws naming the field when a value is impossible. */
export function readLlama2cHeader(bytes: Uint8Array, file = '<checkpoint>'): Llama2cHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < LEGACY_HEADER_BYTES) throw checkpointError(file, `the file has ${bytes.length} bytes, fewer than a header`);
  let format: Llama2cFormat;
  let at: number;
  let shared: boolean | undefined;
  if (view.getUint32(0, true) === LLAMA2C_MAGIC) {
    if (bytes.length < V1_HEADER_BYTES) throw checkpointError(file, `the file has ${bytes.length} bytes, fewer than export.py's 256-byte header`);
    const version = view.getInt32(4, true);
    if (version !== 1) {
      throw checkpointError(file, `export format version ${version} is not supported; Kiln reads version 1 (float32) and the legacy format (re-export with export.py --version 1)`);
    }
    format = 'v1';
    at = 8;
    shared = view.getUint8(8 + 7 * 4) !== 0;
  } else {
    format = 'legacy';
    at = 0;
  }
  const fields = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'];
  const values = fields.map((_, i) => view.getInt32(at + 4 * i, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = values as [number, number, number, number, number, number, number];
  if (format === 'legacy') shared = vocab > 0;
  else if (vocab < 0) throw checkpointError(file, `vocab_size ${vocab} is negative in a version 1 header (only the legacy format encodes the classifier that way)`);
  fields.forEach((name, i) => {
    const value = name === 'vocab_size' ? Math.abs(values[i]!) : values[i]!;
    if (!(value >= 1 && value <= 1 << 24)) throw checkpointError(file, `header field ${name} = ${values[i]} is not a plausible size; is this a llama2.c checkpoint?`);
  });
  if (dim % nHeads !== 0 || nHeads % nKvHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    throw checkpointError(file, `dim ${dim}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}: dim must divide into heads of even size and n_heads into n_kv_heads`);
  }
  return { format, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocab), seqLen, sharedClassifier: shared! };
}

/** Kiln's LlamaConfig for a llama2.c header. */
export function llamaConfigFromLlama2c(header: Llama2cHeader): Readonly<LlamaConfig> {
  return llamaConfig({
    vocabSize: header.vocabSize,
    dim: header.dim,
    nLayers: header.nLayers,
    nHeads: header.nHeads,
    nKvHeads: header.nKvHeads,
    intermediateSize: header.hiddenDim,
    maxSeqLen: header.seqLen,
    normEps: LLAMA2C_NORM_EPS,
    ropeTheta: LLAMA2C_ROPE_THETA,
    tieEmbeddings: header.sharedClassifier,
  });
}

/** Row order turning a (heads·hs, in) projection from interleaved RoPE pairs to rotate_half halves. */
function rotateHalfRowOrder(heads: number, hs: number): Tensor {
  const order: number[] = [];
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < hs / 2; i++) order.push(h * hs + 2 * i); // first halves: the pairs' first elements
    for (let i = 0; i < hs / 2; i++) order.push(h * hs + 2 * i + 1); // second halves: the pairs' second elements
  }
  return tensor(order, { dtype: 'int64' });
}

/** Reads the float32 arrays of a checkpoint in its format's order, under Hugging Face Llama names. */
function readWeights(bytes: Uint8Array, header: Llama2cHeader, file: string): Map<string, Tensor> {
  const { format, dim: D, hiddenDim: H, nLayers: L, nHeads, nKvHeads, vocabSize: V, seqLen, sharedClassifier } = header;
  const hs = D / nHeads;
  const KV = nKvHeads * hs;
  const perLayer: Record<string, number[]> = {
    rms_att: [D], wq: [D, D], wk: [KV, D], wv: [KV, D], wo: [D, D], rms_ffn: [D], w1: [H, D], w2: [D, H], w3: [H, D],
  };
  const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
  const layerFloats = Object.values(perLayer).reduce((n, s) => n + size(s), 0);
  const freqFloats = format === 'legacy' ? seqLen * hs : 0; // freq_cis_real + freq_cis_imag
  const floats = V * D + L * layerFloats + D + freqFloats + (sharedClassifier ? 0 : V * D);
  const start = format === 'legacy' ? LEGACY_HEADER_BYTES : V1_HEADER_BYTES;
  const want = start + floats * 4;
  if (bytes.length !== want) {
    throw checkpointError(file, `the file has ${bytes.length} bytes but a ${format} checkpoint with this header (dim ${D}, hidden_dim ${H}, n_layers ${L}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}, vocab_size ${V}, seq_len ${seqLen}, ${sharedClassifier ? 'shared' : 'separate'} classifier) has ${want}`);
  }
  let offset = start;
  const next = (shape: number[]): Tensor => {
    const n = size(shape);
    const copy = bytes.slice(offset, offset + 4 * n); // aligned copy
    offset += 4 * n;
    return tensor(new Float32Array(copy.buffer, copy.byteOffset, n), { shape });
  };
  const perLayerNames: Record<string, string> = {
    rms_att: 'input_layernorm', wq: 'self_attn.q_proj', wk: 'self_attn.k_proj', wv: 'self_attn.v_proj', wo: 'self_attn.o_proj',
    rms_ffn: 'post_attention_layernorm', w1: 'mlp.gate_proj', w2: 'mlp.down_proj', w3: 'mlp.up_proj',
  };
  const state = new Map<string, Tensor>();
  const layerKey = (name: string, l: number): string => `model.layers.${l}.${perLayerNames[name]!}.weight`;
  const readLayers = (name: string): void => {
    for (let l = 0; l < L; l++) state.set(layerKey(name, l), next(perLayer[name]!));
  };
  if (format === 'legacy') {
    state.set('model.embed_tokens.weight', next([V, D]));
    for (const name of ['rms_att', 'wq', 'wk', 'wv', 'wo', 'rms_ffn', 'w1', 'w2', 'w3']) readLayers(name);
    state.set('model.norm.weight', next([D]));
    offset += 4 * freqFloats; // freq_cis_real, freq_cis_imag: Kiln's RotaryEmbedding computes its own
  } else {
    readLayers('rms_att');
    readLayers('rms_ffn');
    state.set('model.norm.weight', next([D]));
    state.set('model.embed_tokens.weight', next([V, D]));
    for (const name of ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3']) readLayers(name);
  }
  state.set('lm_head.weight', sharedClassifier ? state.get('model.embed_tokens.weight')! : next([V, D]));
  const qOrder = rotateHalfRowOrder(nHeads, hs);
  const kOrder = rotateHalfRowOrder(nKvHeads, hs);
  for (let l = 0; l < L; l++) {
    state.set(layerKey('wq', l), state.get(layerKey('wq', l))!.indexSelect(0, qOrder)); // (D, D), rows regrouped per head
    state.set(layerKey('wk', l), state.get(layerKey('wk', l))!.indexSelect(0, kOrder)); // (KV, D), rows regrouped per head
  }
  return state;
}

/**
 * Loads a llama2.c checkpoint (legacy or export version 1, detected by the magic number) as a
 * Kiln Llama in training mode; see the file comment for the formats and the RoPE permutation.
 * @example const { model } = loadLlama2cCheckpoint('stories15M.bin'); model.generate(ids, { maxNewTokens: 50, temperature: 0 });
 */
export function loadLlama2cCheckpoint(file: string): LoadedLlama2c {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw checkpointError(file, `cannot be read: ${(error as Error).message}`);
  }
  const header = readLlama2cHeader(bytes, file);
  const config = llamaConfigFromLlama2c(header);
  return scope(() => {
    const model = buildWithinWeights(file, bytes.length, (_dir, problem) => checkpointError(file, problem), () => new Llama(config), 'the header');
    model.loadStateDict(readWeights(bytes, header, file));
    return { model, config: model.config, header };
  });
}
