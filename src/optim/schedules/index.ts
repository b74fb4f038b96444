/** Learning-rate schedules: a pure function of the step each, and a scheduler class that applies it. */
export { LrScheduler } from './scheduler.js';
export type { LrFunction, LrSchedulerState, ScheduledOptimizer, WarmupOptions } from './scheduler.js';
export { ConstantLR, constantLr } from './constant.js';
export type { ConstantLROptions, ConstantSchedule } from './constant.js';
export { StepLR, stepLr } from './step.js';
export type { StepLROptions, StepSchedule } from './step.js';
export { CosineLR, cosineLr } from './cosine.js';
export type { CosineLROptions, CosineSchedule } from './cosine.js';
export { LinearLR, linearLr } from './linear.js';
export type { LinearLROptions, LinearSchedule } from './linear.js';
export { OneCycleLR, oneCycleLr, oneCycleMomentum } from './one-cycle.js';
export type { OneCycleLROptions, OneCycleSchedule } from './one-cycle.js';
