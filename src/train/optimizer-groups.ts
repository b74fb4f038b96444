/** The optimizer a pretraining run uses, set up as nanoGPT's configure_optimizers. */
import { AdamW } from '../optim/adamw.js';
import type { Module } from '../nn/module.js';
import type { PretrainConfig } from './pretrain-config.js';

/**
 * AdamW over the parameters that train (requiresGrad) in two groups: matrices and embeddings
 * (≥ 2-D) decay, biases and norm gains (1-D) do not, since shrinking them towards zero only hurts.
 * Pretraining and image runs use it.
 */
export function nanoGptAdamW(model: Module, config: Pick<PretrainConfig, 'lr' | 'beta1' | 'beta2' | 'weightDecay'>): AdamW {
  const params = model.parameters().filter((p) => p.requiresGrad);
  const decay = params.filter((p) => p.ndim >= 2);
  const noDecay = params.filter((p) => p.ndim < 2);
  const groups = [{ params: decay, weightDecay: config.weightDecay }];
  if (noDecay.length > 0) groups.push({ params: noDecay, weightDecay: 0 });
  return new AdamW(groups, { lr: config.lr, betas: [config.beta1, config.beta2], fused: true });
}
