/** Optimizers, parameter groups, learning-rate schedules and gradient clipping. */
export { Optimizer } from './optimizer.js';
export type {
  BaseHyperparameters,
  Hyperparameter,
  OptimizerStateDict,
  ParamGroup,
  ParamGroupSpec,
  Params,
} from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions, SGDHyperparameters, SGDState } from './sgd.js';
export { Adam } from './adam.js';
export type { AdamOptions, AdamHyperparameters, AdamState } from './adam.js';
export { AdamW } from './adamw.js';
export type { AdamWOptions, AdamWHyperparameters } from './adamw.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions, RMSpropHyperparameters, RMSpropState } from './rmsprop.js';
export { clipCoefficient, clipGradNorm_, clipGradValue_ } from './clip.js';
export type { ClipGradNormOptions } from './clip.js';
export * from './schedules/index.js';
export { GradScaler } from './grad-scaler.js';
export type { GradScalerOptions, GradScalerState } from './grad-scaler.js';
