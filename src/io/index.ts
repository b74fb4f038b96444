/** Reading and writing model files: safetensors (single files and sharded checkpoints). */
export {
  saveSafetensors,
  encodeSafetensors,
  loadSafetensors,
  decodeSafetensors,
  readSafetensorsHeader,
} from './safetensors.js';
export type { NamedTensors, SafetensorsSaveOptions, SafetensorsLoadOptions, LoadedSafetensors } from './safetensors.js';
export type { SafetensorsHeader, SafetensorsTensorInfo } from './safetensors-format.js';
export { saveShardedSafetensors, loadShardedSafetensors, SHARD_INDEX_FILE } from './safetensors-sharded.js';
export type { ShardedSaveOptions, ShardedSaveResult, LoadedShardedSafetensors } from './safetensors-sharded.js';
export { SafetensorsError } from './safetensors-error.js';
export { ModelFolderError } from './model-folder-error.js';
export { loadGpt2Folder, saveGpt2Folder, gptConfigFromHf, hfConfigFromGpt, type LoadedGpt2Folder } from './hf-gpt2.js';
export {
  loadBertFolder,
  saveBertFolder,
  readBertConfig,
  bertConfigFromHf,
  hfConfigFromBert,
  BERT_ARCHITECTURES,
  type BertArchitecture,
  type AnyBert,
  type HfBertConfig,
  type LoadBertOptions,
  type LoadedBertFolder,
} from './hf-bert.js';
export { loadLlamaFolder, saveLlamaFolder, llamaConfigFromHf, hfConfigFromLlama, type LoadedLlamaFolder } from './hf-llama.js';
export { loadLlama2cCheckpoint, readLlama2cHeader, llamaConfigFromLlama2c, LLAMA2C_MAGIC, type Llama2cHeader, type Llama2cFormat, type LoadedLlama2c } from './llama2c.js';
export { loadTfjsWeights } from './tfjs-weights.js';
