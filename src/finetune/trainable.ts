/**
 * What a fine-tuning run trains, and at which learning rate: the mode (full, freeze, LoRA),
 * frozen bottom layers, and layer-wise learning-rate decay as parameter groups.
 */
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { AdamW } from '../optim/adamw.js';
import { ConfigError } from '../train/config-error.js';
import type { Backbone } from './backbone.js';
import { applyLora, type LoraSettings } from './lora.js';
import type { FinetuneConfig } from './finetune-config.js';

export interface TrainableSetup {
  /** Names of the LoRA-adapted layers (empty unless mode is lora). */
  loraLayers: string[];
  trainableParameters: number;
  totalParameters: number;
  /** trainable / total: the fraction of the parameters the run updates. */
  trainableFraction: number;
}

type ModeSettings = Pick<FinetuneConfig, 'mode' | 'freezeLayers' | 'loraRank' | 'loraAlpha' | 'loraDropout' | 'loraTargets'>;

/** The run's LoRA settings: its targets, else the backbone's default targets. */
export function loraSettingsFor(config: ModeSettings, backbone: Backbone): LoraSettings {
  const targets = config.loraTargets.length > 0 ? config.loraTargets : backbone.defaultLoraTargets;
  return { rank: config.loraRank, alpha: config.loraAlpha, dropout: config.loraDropout, targets };
}

/**
 * Applies the mode to `model` (the whole trained module: the backbone's, plus a head) in place.
 * `isHead` picks the head's parameters by name: they always train.
 */
export function setUpTrainable(model: Module, backbone: Backbone, config: ModeSettings, isHead: (name: string) => boolean): TrainableSetup {
  let loraLayers: string[] = [];
  const backboneNames = new Set(backbone.module.parameters());
  const freezeBackbone = (predicate: (name: string) => boolean): void => {
    for (const [name, p] of backbone.module.namedParameters()) if (predicate(name)) p.requiresGrad = false;
  };
  if (config.mode === 'freeze') {
    freezeBackbone(() => true);
  } else if (config.mode === 'lora') {
    freezeBackbone(() => true);
    loraLayers = applyLora(backbone.module, loraSettingsFor(config, backbone));
  }
  if (config.freezeLayers > 0) {
    if (config.freezeLayers > backbone.numLayers) {
      throw new ConfigError(`freeze-layers ${config.freezeLayers} exceeds the model's ${backbone.numLayers} blocks`);
    }
    freezeBackbone((name) => backbone.layerOf(name) <= config.freezeLayers && !/lora_[AB]$/.test(name));
  }
  for (const [name, p] of model.namedParameters()) {
    if (isHead(name) && !backboneNames.has(p)) p.requiresGrad = true;
  }
  const totalParameters = model.numParameters();
  const trainableParameters = model.numParameters({ trainableOnly: true });
  if (trainableParameters === 0) throw new ConfigError('nothing is left to train; lower --freeze-layers or choose another --mode');
  return { loraLayers, trainableParameters, totalParameters, trainableFraction: trainableParameters / totalParameters };
}

/**
 * AdamW over the trainable parameters. With layer-wise decay d, a parameter of backbone layer i
 * (0 = embeddings, L + 1 = after the last block) gets lr · d^(L + 1 − i); the head gets lr.
 * Matrices decay by weightDecay, vectors (biases, norms) do not. Returns the optimizer and each
 * group's lr multiplier (the schedule's floors scale with them).
 */
export function finetuneOptimizer(
  model: Module,
  backbone: Backbone,
  config: Pick<FinetuneConfig, 'lr' | 'weightDecay' | 'layerDecay'>,
): { optimizer: AdamW; multipliers: number[] } {
  const layerOfParameter = new Map<Parameter, number>();
  for (const [name, p] of backbone.module.namedParameters()) layerOfParameter.set(p, backbone.layerOf(name));
  const groups = new Map<string, { params: Parameter[]; lr: number; weightDecay: number; multiplier: number }>();
  for (const p of model.parameters()) {
    if (!p.requiresGrad) continue;
    const layer = layerOfParameter.get(p) ?? backbone.numLayers + 1;
    const multiplier = config.layerDecay ** (backbone.numLayers + 1 - layer);
    const weightDecay = p.ndim >= 2 ? config.weightDecay : 0;
    const key = `${multiplier}/${weightDecay}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { params: [], lr: config.lr * multiplier, weightDecay, multiplier };
      groups.set(key, group);
    }
    group.params.push(p);
  }
  const list = [...groups.values()];
  const optimizer = new AdamW(
    list.map(({ params, lr, weightDecay }) => ({ params, lr, weightDecay })),
    { lr: config.lr, betas: [0.9, 0.999], fused: true },
  );
  return { optimizer, multipliers: list.map((g) => g.multiplier) };
}
