/**
 * The causal language models `pretrainCausalLM` can build, save and load, by name. Adding an
 * architecture is one entry here: how to build it from the run's shape settings and how to
 * write and read its model folder.
 */
import { GPT } from '../models/gpt.js';
import type { GenerateOptions } from '../models/sampling.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadGpt2Folder, saveGpt2Folder } from '../io/hf-gpt2.js';
import { ConfigError } from './config-error.js';
import type { ArchitectureName, PretrainConfig } from './pretrain-config.js';

/** What training and generation need of a causal language model. */
export interface CausalLM extends Module {
  /** Mean next-token cross-entropy; ids, targets (B, T) int64 -> scalar. */
  loss(ids: Tensor, targets: Tensor): Tensor;
  /** ids (B, T) int64 -> (B, T + maxNewTokens) int64. */
  generate(ids: Tensor, options: GenerateOptions): Tensor;
  /** The longest context the model reads. */
  readonly config: { readonly blockSize: number };
}

export interface CausalLMArchitecture {
  readonly name: ArchitectureName;
  /** A freshly initialised model (draws from the engine's generator). */
  build(config: Readonly<PretrainConfig>, vocabSize: number): CausalLM;
  /** Writes config.json and model.safetensors into `dir`. */
  save(model: CausalLM, dir: string): void;
  /** Reads a folder `save` wrote. */
  load(dir: string): CausalLM;
}

const gpt: CausalLMArchitecture = {
  name: 'gpt',
  build: (config, vocabSize) =>
    new GPT({ vocabSize, blockSize: config.blockSize, nLayer: config.layers, nHead: config.heads, nEmbd: config.dim, dropout: config.dropout }),
  save: (model, dir) => saveGpt2Folder(model as GPT, dir),
  load: (dir) => loadGpt2Folder(dir).model,
};

const ARCHITECTURES: Partial<Record<ArchitectureName, CausalLMArchitecture>> = { gpt };

/** The architectures that can be trained today. */
export const SUPPORTED_ARCHITECTURES = Object.keys(ARCHITECTURES) as ArchitectureName[];

/** The architecture called `name`, or a ConfigError listing the supported ones. */
export function causalLMArchitecture(name: string): CausalLMArchitecture {
  const found = ARCHITECTURES[name as ArchitectureName];
  if (found === undefined) {
    throw new ConfigError(`architecture '${name}' is not yet supported for causal-LM pretraining; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
  }
  return found;
}
