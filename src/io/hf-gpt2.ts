/**
 * GPT-2 model folders in Hugging Face's layout: `config.json` (GPT2Config) and
 * `model.safetensors` (or a sharded `model.safetensors.index.json` checkpoint), read into
 * Kiln's GPT and written back so that Transformers' GPT2LMHeadModel.from_pretrained loads them.
 *
 * The state dicts line up key for key (GPT uses GPT2LMHeadModel's names) except for two things:
 * - Hugging Face's Conv1D layers (`attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`)
 *   store their weights (in, out); Kiln's Linear keeps (out, in). Those four are transposed.
 * - Checkpoints vary in their prefix and extras: the original `gpt2` files have no
 *   `transformer.` prefix (GPT2Model's names), tied heads are usually left out
 *   (`lm_head.weight`), and older Transformers versions saved the attention-mask buffers
 *   `h.N.attn.bias` / `h.N.attn.masked_bias`. All of these load; the buffers are ignored.
 *
 * C = n_embd.
 */
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { GPT } from '../models/gpt.js';
import { type GPTConfig, gptConfig } from '../models/gpt-config.js';
import { buildWithinWeights, CONFIG_FILE, configFields, type FileTensor, folderErrors, matchWeights, readConfigJson, readWeights, weightBytes, weightProblems, writeFolder } from './hf-folder.js';

const folderError = folderErrors('GPT-2');

const SUPPORTED_ARCHITECTURES = ['GPT2LMHeadModel', 'GPT2Model'];
/** Both are GELU's tanh approximation, which GPT's MLP computes. */
const SUPPORTED_ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh'];
const PREFIX = 'transformer.';
const HEAD = 'lm_head.weight';
/** Hugging Face Conv1D weights, (in, out) on disk; names without the `transformer.` prefix. */
const CONV1D_WEIGHT = /^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** Causal-mask buffers older Transformers versions saved; not weights. */
const MASK_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;

export interface LoadedGpt2Folder {
  model: GPT;
  config: Readonly<GPTConfig>;
}

// ---- config.json ----

/**
 * Kiln's GPTConfig from a Transformers GPT2Config (config.json's parsed JSON). Settings Kiln's
 * GPT does not implement are errors naming the setting and what is supported; settings that
 * do not change the network (token ids, summary heads, use_cache, …) are ignored.
 */
export function gptConfigFromHf(hf: unknown, dir = '<config>'): Readonly<GPTConfig> {
  const fields = configFields(hf, dir, folderError, "Kiln's GPT");
  const c = fields.json;
  if (c['model_type'] !== undefined && c['model_type'] !== 'gpt2') {
    throw folderError(dir, `model_type '${String(c['model_type'])}' is not supported here; this loader reads model_type 'gpt2' (${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  const architectures = c['architectures'];
  if (architectures !== undefined && architectures !== null) {
    const names = Array.isArray(architectures) ? architectures.map(String) : [String(architectures)];
    const unsupported = names.filter((a) => !SUPPORTED_ARCHITECTURES.includes(a));
    if (unsupported.length > 0) {
      throw folderError(dir, `architecture ${unsupported.join(', ')} is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
    }
  }
  const activation = c['activation_function'] ?? 'gelu_new';
  if (typeof activation !== 'string' || !SUPPORTED_ACTIVATIONS.includes(activation)) {
    throw folderError(dir, `activation_function '${String(activation)}' is not supported; supported: ${SUPPORTED_ACTIVATIONS.join(', ')}`);
  }
  const { integer, number, require: requireSetting } = fields;
  const nEmbd = integer('n_embd');
  const nInner = c['n_inner'];
  if (nInner !== undefined && nInner !== null && nInner !== 4 * nEmbd) {
    throw folderError(dir, `n_inner = ${JSON.stringify(nInner)} is not supported; Kiln's GPT uses an MLP of 4 × n_embd = ${4 * nEmbd} (n_inner null)`);
  }
  requireSetting('scale_attn_weights', true, true, 'attention scores are scaled by 1/√head_dim');
  requireSetting('scale_attn_by_inverse_layer_idx', false, false, 'no per-layer score scaling');
  requireSetting('add_cross_attention', false, false, 'a decoder without cross-attention');
  requireSetting('tie_word_embeddings', true, true, 'the output head shares the token embedding');
  return fields.build(() =>
    gptConfig({
      vocabSize: integer('vocab_size'),
      blockSize: integer('n_positions'),
      nLayer: integer('n_layer'),
      nHead: integer('n_head'),
      nEmbd,
      // One dropout rate in Kiln; GPT-2 sets embd_pdrop = attn_pdrop = resid_pdrop.
      dropout: number('resid_pdrop', 0.1),
      layerNormEpsilon: number('layer_norm_epsilon', 1e-5),
      bias: true,
    }),
  );
}

/** The GPT2Config JSON Transformers writes for a model of this shape. */
export function hfConfigFromGpt(config: Readonly<GPTConfig>, dtype: string): Record<string, unknown> {
  const torchDtype: Record<string, string> = { float32: 'float32', float16: 'float16', bfloat16: 'bfloat16', float64: 'float64' };
  return {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: config.dropout,
    embd_pdrop: config.dropout,
    initializer_range: 0.02,
    layer_norm_epsilon: config.layerNormEpsilon,
    model_type: 'gpt2',
    n_ctx: config.blockSize,
    n_embd: config.nEmbd,
    n_head: config.nHead,
    n_inner: null,
    n_layer: config.nLayer,
    n_positions: config.blockSize,
    reorder_and_upcast_attn: false,
    resid_pdrop: config.dropout,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    torch_dtype: torchDtype[dtype] ?? 'float32',
    use_cache: true,
    vocab_size: config.vocabSize,
  };
}

// ---- weights ----

/**
 * The file's tensors under GPT's state-dict names, Conv1D weights transposed to (out, in).
 * Mask buffers are dropped; a head is checked to be tied and dropped (GPT's lm_head is wte).
 */
function toKilnStateDict(model: GPT, weights: Record<string, Tensor>, dir: string): Map<string, Tensor> {
  const own = model.stateDict();
  const expected = new Map(Object.entries(own).filter(([name]) => name !== HEAD).map(([name, t]) => [name, t.shape]));
  const renamed = new Map<string, FileTensor>();
  let head: Tensor | undefined;
  for (const [fileName, t] of Object.entries(weights)) {
    if (fileName === HEAD) {
      head = t;
      continue;
    }
    const bare = fileName.startsWith(PREFIX) ? fileName.slice(PREFIX.length) : fileName;
    if (MASK_BUFFER.test(bare)) continue;
    renamed.set(PREFIX + bare, { file: fileName, tensor: t });
  }
  const { state, ...mismatch } = matchWeights(expected, renamed, (name, want) =>
    CONV1D_WEIGHT.test(name.slice(PREFIX.length))
      ? { shape: [...want].reverse(), note: ', Conv1D (in, out)', toKiln: (t) => t.t().contiguous() } // (in, out) -> (out, in)
      : undefined,
  );
  const problems = weightProblems(mismatch);
  if (problems.length > 0) throw folderError(dir, `the weights do not match config.json's GPT-2: ${problems.join('; ')}`);
  const wte = state.get(`${PREFIX}wte.weight`)!;
  if (head !== undefined && !head.equal(wte)) {
    throw folderError(dir, `${HEAD} differs from ${PREFIX}wte.weight; Kiln's GPT ties the output head to the token embedding and cannot load a separate head`);
  }
  state.set(HEAD, wte); // tied: the same Parameter, loaded once through either name
  return state;
}

/**
 * Loads a Hugging Face GPT-2 folder (config.json + model.safetensors or a sharded index) as a
 * Kiln GPT in training mode, with the weights' values converted to float32.
 * @example const { model } = loadGpt2Folder('models/gpt2'); model.eval();
 */
export function loadGpt2Folder(dir: string): LoadedGpt2Folder {
  const json = readConfigJson(dir, folderError);
  const config = gptConfigFromHf(json, dir);
  return scope(() => {
    // Everything read or made here is released on return except the model's Parameters.
    const model = buildWithinWeights(dir, weightBytes(dir), folderError, () => new GPT(config));
    model.loadStateDict(toKilnStateDict(model, readWeights(dir, folderError), dir));
    return { model, config: model.config };
  });
}

/**
 * Writes `model` as a Hugging Face GPT-2 folder: config.json (GPT2Config, sorted keys) and
 * model.safetensors with GPT2LMHeadModel's names (`transformer.` prefix), Conv1D weights
 * transposed back to (in, out), `lm_head.weight` left out as Transformers does for a tied head,
 * and `__metadata__ {format: 'pt'}`. Both files are written atomically. The folder is created
 * if needed; existing files with these names are replaced.
 */
export function saveGpt2Folder(model: GPT, dir: string): void {
  if (!model.config.bias) {
    throw new Error(`saveGpt2Folder: this GPT has no biases (config.bias false), which GPT-2's layout cannot hold; train with bias: true to save as GPT-2`);
  }
  writeFolder(dir, hfConfigFromGpt(model.config, model.transformer.wte.weight.dtype), () => {
    const tensors = new Map<string, Tensor>();
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (name === HEAD) continue;
      const conv1d = CONV1D_WEIGHT.test(name.slice(PREFIX.length));
      tensors.set(name, conv1d ? t.t().contiguous() : t); // (out, in) -> Conv1D (in, out)
    }
    return tensors;
  });
}
