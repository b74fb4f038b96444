/**
 * Putting LoRA adapters into a model, taking them out, and saving them on their own: a folder
 * with adapter_model.safetensors (`<module>.lora_A.weight`, `<module>.lora_B.weight`, PEFT's
 * names without its `base_model.model.` prefix) and adapter_config.json (rank, alpha,
 * dropout, targets).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { Linear } from '../nn/linear.js';
import { LoRALinear } from '../nn/lora-linear.js';
import { type Module, matchesPattern } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeAll, writeFileAtomic } from '../util/atomic-write.js';
import { ConfigError } from '../train/config-error.js';

export interface LoraSettings {
  rank: number;
  alpha: number;
  dropout: number;
  /** Module-name patterns ('*' matches any run of characters) of the Linear layers to adapt. */
  targets: readonly string[];
}

export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
export const ADAPTER_CONFIG = 'adapter_config.json';

/** Sets `root`'s sub-module at dotted `name` (array elements are `field.i`) to `value`. */
function setSubmodule(root: Module, name: string, value: Module): void {
  const parts = name.split('.');
  let parent: Record<string, unknown> = root as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) parent = parent[part] as Record<string, unknown>;
  parent[parts.at(-1)!] = value;
}

/**
 * Replaces every Linear whose name matches a target with a LoRALinear around it (in place) and
 * returns the adapted names. Freezing the rest is the caller's choice.
 */
export function applyLora(model: Module, settings: LoraSettings): string[] {
  const matched = model
    .namedModules()
    .filter(([name, m]) => m instanceof Linear && !(m instanceof LoRALinear) && settings.targets.some((t) => matchesPattern(name, t)));
  if (matched.length === 0) {
    const linears = model.namedModules().filter(([, m]) => m instanceof Linear).map(([n]) => n);
    throw new ConfigError(`--lora-targets ${settings.targets.join(',')} match no Linear layer; the model's Linear layers include ${linears.slice(0, 8).join(', ')}`);
  }
  for (const [name, linear] of matched) {
    setSubmodule(model, name, new LoRALinear(linear as Linear, { rank: settings.rank, alpha: settings.alpha, dropout: settings.dropout }));
  }
  return matched.map(([name]) => name);
}

/** The LoRA layers of a model, by name. */
export function loraLayers(model: Module): [string, LoRALinear][] {
  return model.namedModules().filter((entry): entry is [string, LoRALinear] => entry[1] instanceof LoRALinear);
}

/**
 * Folds every adapter into its weight and puts the plain Linear back: the model is then the
 * base architecture again (savable in its own format), with the adapted weights.
 */
export function mergeLora(model: Module): void {
  for (const [name, layer] of loraLayers(model)) {
    layer.merge_();
    layer.base.weight.requiresGrad = true;
    if (layer.base.bias !== null) layer.base.bias.requiresGrad = true;
    setSubmodule(model, name, layer.base);
  }
}

/**
 * Runs `fn` with the adapters folded in and the plain Linears in place (to save the model in
 * its own format), then restores the adapters. The weights come back to within float rounding.
 */
export function withLoraMerged<T>(model: Module, fn: () => T): T {
  const layers = loraLayers(model);
  for (const [name, layer] of layers) {
    layer.merge_();
    setSubmodule(model, name, layer.base);
  }
  try {
    return fn();
  } finally {
    for (const [name, layer] of layers) {
      setSubmodule(model, name, layer);
      layer.unmerge_();
    }
  }
}

/** Writes the adapters alone: adapter_model.safetensors and adapter_config.json. */
export function saveLoraAdapter(model: Module, dir: string, settings: LoraSettings, extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, Tensor> = {};
  const layers = loraLayers(model);
  for (const [name, layer] of layers) {
    tensors[`${name}.lora_A.weight`] = layer.lora_A;
    tensors[`${name}.lora_B.weight`] = layer.lora_B;
  }
  saveSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors);
  const config = {
    peft_type: 'LORA',
    r: settings.rank,
    lora_alpha: settings.alpha,
    lora_dropout: settings.dropout,
    target_modules: layers.map(([name]) => name),
    target_patterns: settings.targets,
    ...extra,
  };
  writeFileAtomic(path.join(dir, ADAPTER_CONFIG), (fd) => writeAll(fd, Buffer.from(JSON.stringify(config, null, 2) + '\n', 'utf8')));
}

/** Puts the adapters saved in `dir` into `model` (which must have the adapted layers as plain Linears). */
export function loadLoraAdapter(model: Module, dir: string): string[] {
  const config = JSON.parse(readFileSync(path.join(dir, ADAPTER_CONFIG), 'utf8')) as { r: number; lora_alpha: number; lora_dropout: number; target_modules: string[] };
  const names = applyLora(model, { rank: config.r, alpha: config.lora_alpha, dropout: config.lora_dropout, targets: config.target_modules });
  noGrad(() =>
    scope(() => {
      const { tensors } = loadSafetensors(path.join(dir, ADAPTER_WEIGHTS));
      for (const [name, layer] of loraLayers(model)) {
        const a = tensors[`${name}.lora_A.weight`];
        const b = tensors[`${name}.lora_B.weight`];
        if (a === undefined || b === undefined) throw new Error(`loadLoraAdapter: ${dir} has no adapter for ${name}`);
        layer.lora_A.copy_(a);
        layer.lora_B.copy_(b);
      }
    }),
  );
  return names;
}
