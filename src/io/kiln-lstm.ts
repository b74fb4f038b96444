/**
 * LSTM language-model folders: `config.json` (model_type 'kiln-lstm') and `model.safetensors`
 * under LstmLM's PyTorch names (`embedding.weight`, `lstm.weight_ih_l0`, …, `head.weight`,
 * `head.bias`). There is no Hugging Face architecture for this model; the layout follows
 * theirs so the same tools read it, and the names are those of an nn.Embedding + nn.LSTM +
 * nn.Linear PyTorch module, so `load_state_dict` takes the file as it is. A tied head is left
 * out of the file, as Transformers does.
 */
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { LstmLM } from '../models/lstm-lm.js';
import { type LstmLMConfig, lstmLMConfig } from '../models/lstm-lm-config.js';
import { buildWithinWeights, configFields, type FileTensor, folderErrors, matchWeights, readConfigJson, readWeights, weightBytes, weightProblems, writeFolder } from './hf-folder.js';

const folderError = folderErrors('LSTM');

export const LSTM_MODEL_TYPE = 'kiln-lstm';
const HEAD = 'head.weight';
const EMBEDDING = 'embedding.weight';

export interface LoadedLstmFolder {
  model: LstmLM;
  config: Readonly<LstmLMConfig>;
}

/** LstmLMConfig from config.json's parsed JSON. */
export function lstmConfigFromJson(json: unknown, dir = '<config>'): Readonly<LstmLMConfig> {
  const fields = configFields(json, dir, folderError, "Kiln's LstmLM");
  const c = fields.json;
  if (c['model_type'] !== LSTM_MODEL_TYPE) {
    throw folderError(dir, `model_type ${JSON.stringify(c['model_type'])} is not '${LSTM_MODEL_TYPE}'; this loader reads folders Kiln's LstmLM wrote`);
  }
  const tie = fields.boolean('tie_word_embeddings', false);
  return fields.build(() =>
    lstmLMConfig({
      vocabSize: fields.integer('vocab_size'),
      embeddingDim: fields.integer('embedding_dim'),
      hiddenSize: fields.integer('hidden_size'),
      numLayers: fields.integer('num_layers'),
      dropout: fields.number('dropout', 0),
      tieWeights: tie,
    }),
  );
}

/** config.json for a model of this shape. */
export function jsonFromLstmConfig(config: Readonly<LstmLMConfig>, dtype: string): Record<string, unknown> {
  return {
    architectures: ['LstmLM'],
    dropout: config.dropout,
    embedding_dim: config.embeddingDim,
    hidden_size: config.hiddenSize,
    model_type: LSTM_MODEL_TYPE,
    num_layers: config.numLayers,
    tie_word_embeddings: config.tieWeights,
    torch_dtype: dtype,
    vocab_size: config.vocabSize,
  };
}

/**
 * Loads an LSTM folder as an LstmLM in training mode, the weights converted to float32.
 * Missing, unexpected and misshapen tensors are errors that list them.
 * @example const { model } = loadLstmFolder('runs/lstm/best'); model.eval();
 */
export function loadLstmFolder(dir: string): LoadedLstmFolder {
  const config = lstmConfigFromJson(readConfigJson(dir, folderError), dir);
  return scope(() => {
    const model = buildWithinWeights(dir, weightBytes(dir), folderError, () => new LstmLM(config));
    const tied = config.tieWeights;
    const expected = new Map(Object.entries(model.stateDict()).filter(([name]) => !(tied && name === HEAD)).map(([name, t]) => [name, t.shape]));
    const renamed = new Map<string, FileTensor>();
    let tiedHead: Tensor | undefined;
    for (const [name, tensor] of Object.entries(readWeights(dir, folderError))) {
      if (tied && name === HEAD) tiedHead = tensor;
      else renamed.set(name, { file: name, tensor });
    }
    const { state, ...mismatch } = matchWeights(expected, renamed);
    const problems = weightProblems(mismatch);
    if (problems.length > 0) throw folderError(dir, `the weights do not match config.json's LstmLM: ${problems.join('; ')}`);
    if (tied) {
      const embedding = state.get(EMBEDDING)!;
      if (tiedHead !== undefined && !tiedHead.equal(embedding)) {
        throw folderError(dir, `${HEAD} differs from ${EMBEDDING} although tie_word_embeddings is true; set it false to load a separate head`);
      }
      state.set(HEAD, embedding); // tied: one Parameter, loaded once through either name
    }
    model.loadStateDict(state);
    return { model, config: model.config };
  });
}

/** Writes `model` as an LSTM folder (config.json + model.safetensors, each atomically). */
export function saveLstmFolder(model: LstmLM, dir: string): void {
  writeFolder(dir, jsonFromLstmConfig(model.config, model.embedding.weight.dtype), () => {
    const tensors = new Map<string, Tensor>();
    for (const [name, t] of Object.entries(model.stateDict())) {
      if (model.config.tieWeights && name === HEAD) continue;
      tensors.set(name, t);
    }
    return tensors;
  });
}
