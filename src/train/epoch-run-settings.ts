/**
 * The training settings every epoch-based run declares alike — image classification, detection,
 * metric learning: how long and how big the steps are, the optimizer, and the loop's cadence and
 * limits — as schema entries (each run puts its own settings between them), and the Trainer's
 * loop settings made from them.
 */
import type { Precision } from '../tensor/autocast.js';
import { duration, int, num, optionalInt } from '../util/settings.js';
import { COMPUTE_SCHEMA } from './compute-settings.js';
import type { LoopSettings } from './trainer.js';

/** How a run trains: epochs or steps, batches, AdamW and its schedule. `items` names what a batch holds ('images', 'canvases'). */
export function epochTrainingSchema(d: { epochs: number; batchSize: number; lr: number; weightDecay: number; gradClip: number; items: string }) {
  return {
    epochs: int(d.epochs, `passes over the training ${d.items}`),
    maxSteps: optionalInt(null, 'optimizer steps instead of epochs passes', { defaultText: "the epochs' steps" }),
    batchSize: int(d.batchSize, `${d.items} per micro-batch (per process under kiln launch)`),
    gradAccumulation: int(1, 'micro-batches per optimizer step (one batch of N x batch-size)'),
    lr: num(d.lr, 'peak learning rate (AdamW, warm-up then cosine decay to 0)', 'positive'),
    weightDecay: num(d.weightDecay, 'AdamW weight decay (not on biases and norms)'),
    warmup: optionalInt(null, 'linear warm-up steps', { defaultText: '5% of the steps, at most 200' }, 0),
    gradClip: num(d.gradClip, 'clip the gradient norm to X (0: off)'),
    ...COMPUTE_SCHEMA,
  } as const;
}

/** The loop's cadence and limits. `validation` names what is evaluated, `best` the metric the best checkpoint and patience go by. */
export function epochLoopSchema(d: { validation: string; best: string }) {
  return {
    logEvery: int(50, 'log the training loss every N steps'),
    evalEvery: optionalInt(null, `evaluate on the ${d.validation} and checkpoint every N steps, and at the end`, { defaultText: 'once an epoch' }),
    patience: int(0, `stop after N evaluations without a better ${d.best} (0: never)`, 0),
    timeLimit: duration(null, 'stop (evaluated and saved) after this wall-clock time, e.g. 90s, 10m', { defaultText: 'unset' }),
    threads: optionalInt(null, 'libtorch threads', { defaultText: 'all cores' }),
  } as const;
}

/** Settings a resumed epoch run may change; any other difference from the saved run is refused. */
export const EPOCH_RESUMABLE = ['timeLimit', 'threads', 'logEvery', 'evalEvery', 'gradCheckpointing', 'device', 'precision', 'out'] as const;

type EpochSettings = { warmup: number | null; gradClip: number; precision: Precision; device: string; gradCheckpointing: boolean; batchSize: number; gradAccumulation: number; logEvery: number; evalEvery: number | null; patience: number; timeLimit: number | null; seed: number };

/** Optimizer steps per pass over `examples` (each step takes batch-size × grad-accumulation × processes of them), and the run's steps: maxSteps, or the epochs' steps. */
export function epochSteps(examples: number, config: Readonly<Pick<EpochSettings, 'batchSize' | 'gradAccumulation'> & { maxSteps: number | null; epochs: number }>, world: number): { stepsPerEpoch: number; maxSteps: number } {
  const stepsPerEpoch = Math.max(1, Math.ceil(examples / (config.batchSize * config.gradAccumulation * world)));
  return { stepsPerEpoch, maxSteps: config.maxSteps ?? stepsPerEpoch * config.epochs };
}

/** The Trainer's settings for an epoch run: warm-up 5% of the steps (at most 200) unless given, an evaluation once an epoch unless given, no lr floor. */
export function epochLoopSettings(config: Readonly<EpochSettings>, maxSteps: number, stepsPerEpoch: number): LoopSettings {
  return {
    warmup: config.warmup ?? Math.min(200, Math.floor(maxSteps * 0.05)),
    minLr: 0,
    gradClip: config.gradClip,
    batchSize: config.batchSize,
    gradAccumulation: config.gradAccumulation,
    logEvery: config.logEvery,
    evalEvery: config.evalEvery ?? stepsPerEpoch,
    patience: config.patience,
    timeLimit: config.timeLimit,
    seed: config.seed,
    precision: config.precision,
    device: config.device,
    gradCheckpointing: config.gradCheckpointing,
  };
}
