/**
 * Llama model folders in Hugging Face's layout: `config.json` (LlamaConfig) and
 * `model.safetensors` (or a sharded `model.safetensors.index.json` checkpoint), read into
 * Kiln's Llama and written back so that Transformers' LlamaForCausalLM.from_pretrained loads
 * them. Kiln's Llama uses LlamaForCausalLM's parameter names and HF's rotate_half RoPE, so the
 * state dicts line up key for key with no transposes or permutations. Extras that older
 * Transformers versions saved (`self_attn.rotary_emb.inv_freq`, recomputed from rope_theta)
 * are ignored; a tied head may be present in the file (it must then equal the embedding) or not.
 */
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Llama } from '../models/llama.js';
import { type LlamaConfig, llamaConfig } from '../models/llama-config.js';
import { buildWithinWeights, configFields, type FileTensor, folderErrors, matchWeights, readConfigJson, readWeights, weightBytes, weightProblems, writeFolder } from './hf-folder.js';

const folderError = folderErrors('Llama');

const SUPPORTED_ARCHITECTURES = ['LlamaForCausalLM'];
const HEAD = 'lm_head.weight';
const EMBEDDING = 'model.embed_tokens.weight';
/** The RoPE inverse frequencies older Transformers versions saved; Kiln recomputes them. */
const ROTARY_BUFFER = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

export interface LoadedLlamaFolder {
  model: Llama;
  config: Readonly<LlamaConfig>;
}

// ---- config.json ----

/**
 * Kiln's LlamaConfig from a Transformers LlamaConfig (config.json's parsed JSON). Settings
 * Kiln's Llama does not implement (rope_scaling, attention or MLP biases, another activation,
 * a head_dim other than hidden_size / num_attention_heads, pretraining_tp > 1) are errors
 * naming the setting; settings that do not change the network (token ids, use_cache, …) are
 * ignored.
 */
export function llamaConfigFromHf(hf: unknown, dir = '<config>'): Readonly<LlamaConfig> {
  const fields = configFields(hf, dir, folderError, "Kiln's Llama");
  const c = fields.json;
  if (c['model_type'] !== undefined && c['model_type'] !== 'llama') {
    throw folderError(dir, `model_type '${String(c['model_type'])}' is not supported here; this loader reads model_type 'llama' (${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  const architectures = c['architectures'];
  if (architectures !== undefined && architectures !== null) {
    const names = Array.isArray(architectures) ? architectures.map(String) : [String(architectures)];
    const unsupported = names.filter((a) => !SUPPORTED_ARCHITECTURES.includes(a));
    if (unsupported.length > 0) {
      throw folderError(dir, `architecture ${unsupported.join(', ')} is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
    }
  }
  const { integer, number, require: requireSetting } = fields;
  if (c['rope_scaling'] !== undefined && c['rope_scaling'] !== null) {
    throw folderError(dir, `rope_scaling = ${JSON.stringify(c['rope_scaling'])} is not supported; Kiln's Llama implements plain RoPE (rope_scaling null) with rope_theta`);
  }
  requireSetting('hidden_act', 'silu', 'silu', 'the SwiGLU MLP gates with SiLU');
  requireSetting('attention_bias', false, false, 'q/k/v/o projections without biases');
  requireSetting('mlp_bias', false, false, 'MLP projections without biases');
  requireSetting('pretraining_tp', 1, 1, 'tensor-parallel slicing is not emulated');
  const hidden = integer('hidden_size');
  const heads = integer('num_attention_heads');
  const headDim = c['head_dim'];
  if (headDim !== undefined && headDim !== null && headDim !== hidden / heads) {
    throw folderError(dir, `head_dim = ${JSON.stringify(headDim)} is not supported; Kiln's Llama uses hidden_size / num_attention_heads = ${hidden / heads}`);
  }
  const tie = fields.boolean('tie_word_embeddings', false);
  return fields.build(() =>
    llamaConfig({
      vocabSize: integer('vocab_size'),
      dim: hidden,
      nLayers: integer('num_hidden_layers'),
      nHeads: heads,
      nKvHeads: integer('num_key_value_heads', heads),
      intermediateSize: integer('intermediate_size'),
      maxSeqLen: integer('max_position_embeddings', 2048),
      normEps: number('rms_norm_eps', 1e-6),
      ropeTheta: number('rope_theta', 10000),
      tieEmbeddings: tie,
    }),
  );
}

/** The LlamaConfig JSON Transformers writes for a model of this shape. */
export function hfConfigFromLlama(config: Readonly<LlamaConfig>, dtype: string): Record<string, unknown> {
  const torchDtype: Record<string, string> = { float32: 'float32', float16: 'float16', bfloat16: 'bfloat16', float64: 'float64' };
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    hidden_act: 'silu',
    hidden_size: config.dim,
    initializer_range: 0.02,
    intermediate_size: config.intermediateSize,
    max_position_embeddings: config.maxSeqLen,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: config.nHeads,
    num_hidden_layers: config.nLayers,
    num_key_value_heads: config.nKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: config.normEps,
    rope_scaling: null,
    rope_theta: config.ropeTheta,
    tie_word_embeddings: config.tieEmbeddings,
    torch_dtype: torchDtype[dtype] ?? 'float32',
    use_cache: true,
    vocab_size: config.vocabSize,
  };
}

// ---- weights ----

/** The file's tensors checked against the model's state dict: missing, unexpected and misshapen keys listed. */
function toKilnStateDict(model: Llama, weights: Record<string, Tensor>, dir: string): Map<string, Tensor> {
  const tied = model.config.tieEmbeddings;
  const expected = new Map(Object.entries(model.stateDict()).filter(([name]) => !(tied && name === HEAD)).map(([name, t]) => [name, t.shape]));
  const renamed = new Map<string, FileTensor>();
  let tiedHead: Tensor | undefined;
  for (const [name, t] of Object.entries(weights)) {
    if (ROTARY_BUFFER.test(name)) continue;
    if (tied && name === HEAD) {
      tiedHead = t;
      continue;
    }
    renamed.set(name, { file: name, tensor: t });
  }
  const { state, ...mismatch } = matchWeights(expected, renamed);
  const problems = weightProblems(mismatch);
  if (problems.length > 0) throw folderError(dir, `the weights do not match config.json's Llama: ${problems.join('; ')}`);
  if (tied) {
    const embedding = state.get(EMBEDDING)!;
    if (tiedHead !== undefined && !tiedHead.equal(embedding)) {
      throw folderError(dir, `${HEAD} differs from ${EMBEDDING} although tie_word_embeddings is true; set tie_word_embeddings false to load a separate head`);
    }
    state.set(HEAD, embedding); // one Parameter, loaded once through either name
  }
  return state;
}

/**
 * Loads a Hugging Face Llama folder (config.json + model.safetensors or a sharded index) as a
 * Kiln Llama in training mode, with the weights' values converted to the model's float32.
 * @example const { model } = loadLlamaFolder('models/tinyllama'); model.eval();
 */
export function loadLlamaFolder(dir: string): LoadedLlamaFolder {
  const json = readConfigJson(dir, folderError);
  const config = llamaConfigFromHf(json, dir);
  return scope(() => {
    // Everything read or made here is released on return except the model's Parameters and buffers.
    const model = buildWithinWeights(dir, weightBytes(dir), folderError, () => new Llama(config));
    model.loadStateDict(toKilnStateDict(model, readWeights(dir, folderError), dir));
    return { model, config: model.config };
  });
}

/**
 * Writes `model` as a Hugging Face Llama folder: config.json (LlamaConfig, sorted keys) and
 * model.safetensors under LlamaForCausalLM's names with `__metadata__ {format: 'pt'}`; a tied
 * head is left out, as Transformers does. Both files are written atomically; the folder is
 * created if needed and files with these names are replaced.
 */
export function saveLlamaFolder(model: Llama, dir: string): void {
  writeFolder(dir, hfConfigFromLlama(model.config, model.model.embed_tokens.weight.dtype), () => {
    const tensors = new Map<string, Tensor>();
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (model.config.tieEmbeddings && name === HEAD) continue;
      tensors.set(name, t);
    }
    return tensors;
  });
}
