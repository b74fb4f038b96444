/**
 * Training state for resume, in OUT/state: the model's and the optimizer's tensors in
 * safetensors files named by step, and state.json (step, scheduler, sampler, RNG, config)
 * written last, atomically. state.json only ever names complete files, so a crash at any
 * moment leaves the previous checkpoint usable; older files are deleted afterwards.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config-error.js';
import { getRngState, setRngState, tensor } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import type { Hyperparameter, OptimizerStateDict } from '../optim/optimizer.js';
import type { LrSchedulerState } from '../optim/schedules/scheduler.js';
import type { RandomWindowsState } from '../data/lm-batches.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import type { PretrainConfig } from './pretrain-config.js';

export const STATE_FILE = 'state.json';

/** state.json: everything but the tensors. Pretraining keeps its config and window sampler; other loops theirs. */
export interface TrainingStateJson<Config = PretrainConfig, Sampler = RandomWindowsState> {
  format: 'kiln-training-state';
  version: 1;
  /** Optimizer steps completed. */
  step: number;
  /** Seconds of training before this checkpoint, over all invocations. */
  elapsedS: number;
  scheduler: LrSchedulerState;
  sampler: Sampler;
  /** The engine's CPU generator state (getRngState bytes), base64. */
  rng: string;
  config: Config;
  /** What else the loop carries across a resume (the best checkpoint's step and metrics, …). */
  loop?: Record<string, unknown>;
  /** Folder (relative to the state folder) of the model weights at `step`. */
  modelDir: string;
  /** File (relative) of the optimizer's tensors; `optimizer` holds the rest. */
  optimizerFile: string;
  optimizer: {
    /** Per parameter index: its numeric state (e.g. Adam's step count). */
    numbers: Record<string, Record<string, number>>;
    paramGroups: (Record<string, Hyperparameter> & { params: number[] })[];
  };
}

/** Optimizer tensors are stored as `<param index>.<name>`. */
function optimizerTensors(stateDict: OptimizerStateDict): { tensors: Map<string, Tensor>; numbers: TrainingStateJson['optimizer']['numbers'] } {
  const tensors = new Map<string, Tensor>();
  const numbers: TrainingStateJson['optimizer']['numbers'] = {};
  for (const [index, entry] of Object.entries(stateDict.state)) {
    numbers[index] = {};
    for (const [name, value] of Object.entries(entry)) {
      if (value instanceof Tensor) tensors.set(`${index}.${name}`, value);
      else numbers[index]![name] = value;
    }
  }
  return { tensors, numbers };
}

export interface SaveTrainingStateArgs<Config = PretrainConfig, Sampler = RandomWindowsState> {
  dir: string;
  step: number;
  elapsedS: number;
  scheduler: LrSchedulerState;
  sampler: Sampler;
  config: Config;
  loop?: Record<string, unknown>;
  optimizer: OptimizerStateDict;
  /** Writes the model's folder. */
  saveModel: (dir: string) => void;
}

/** Writes a checkpoint into `dir` (see the module comment). */
export function saveTrainingState<Config, Sampler>(args: SaveTrainingStateArgs<Config, Sampler>): void {
  const { dir, step } = args;
  mkdirSync(dir, { recursive: true });
  const modelDir = `model-${step}`;
  const optimizerFile = `optimizer-${step}.safetensors`;
  args.saveModel(path.join(dir, modelDir));
  const { tensors, numbers } = optimizerTensors(args.optimizer);
  saveSafetensors(path.join(dir, optimizerFile), tensors);
  const rng = scope(() => Buffer.from(getRngState().toTypedArray() as Uint8Array).toString('base64'));
  const json: TrainingStateJson<Config, Sampler> = {
    format: 'kiln-training-state',
    version: 1,
    step,
    elapsedS: args.elapsedS,
    scheduler: args.scheduler,
    sampler: args.sampler,
    rng,
    config: args.config,
    modelDir,
    optimizerFile,
    optimizer: { numbers, paramGroups: args.optimizer.paramGroups },
    ...(args.loop === undefined ? {} : { loop: args.loop }),
  };
  writeJsonAtomic(path.join(dir, STATE_FILE), json);
  // Only now are the older checkpoints' files unreferenced.
  for (const name of readdirSync(dir)) {
    if (name !== modelDir && name !== optimizerFile && /^(model-\d+|optimizer-\d+\.safetensors)$/.test(name)) {
      rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

/** state.json of `dir`, or null when there is none. */
export function readTrainingState<Config = PretrainConfig, Sampler = RandomWindowsState>(dir: string): TrainingStateJson<Config, Sampler> | null {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) return null;
  let json: TrainingStateJson<Config, Sampler>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as TrainingStateJson<Config, Sampler>;
  } catch (error) {
    throw new ConfigError(`training state ${file} is not valid JSON (${(error as Error).message}); delete the state folder to start over`);
  }
  if (json.format !== 'kiln-training-state' || json.version !== 1) {
    throw new ConfigError(`training state ${file} is not a Kiln training state (version 1); delete the state folder to start over`);
  }
  return json;
}

/**
 * The state a `--resume` continues from: state.json of `dir` (OUT/state), or a ConfigError when
 * there is none — resuming a run that never checkpointed would silently start a new one.
 */
export function stateToResume<Config = PretrainConfig, Sampler = RandomWindowsState>(dir: string): TrainingStateJson<Config, Sampler> {
  const state = readTrainingState<Config, Sampler>(dir);
  if (state === null) {
    throw new ConfigError(`nothing to resume in ${path.dirname(dir)}: it has no checkpoint (${path.join(dir, STATE_FILE)}; a run saves one at every evaluation); drop --resume to start a new run there`);
  }
  return state;
}

/** The optimizer state dict a checkpoint holds (tensors loaded fresh; the caller owns them). */
export function loadOptimizerState(dir: string, state: Pick<TrainingStateJson<unknown, unknown>, 'optimizerFile' | 'optimizer'>): OptimizerStateDict {
  const { tensors } = loadSafetensors(path.join(dir, state.optimizerFile));
  const entries: OptimizerStateDict['state'] = {};
  for (const [index, numbers] of Object.entries(state.optimizer.numbers)) entries[Number(index)] = { ...numbers };
  for (const [key, value] of Object.entries(tensors)) {
    const dot = key.indexOf('.');
    const index = Number(key.slice(0, dot));
    (entries[index] ??= {})[key.slice(dot + 1)] = value;
  }
  return { state: entries, paramGroups: state.optimizer.paramGroups };
}

/** Puts the engine's generator back where the checkpoint left it. */
export function restoreRng(state: Pick<TrainingStateJson<unknown, unknown>, 'rng'>): void {
  scope(() => {
    const bytes = new Uint8Array(Buffer.from(state.rng, 'base64'));
    setRngState(tensor(bytes, { dtype: 'uint8' }));
  });
}
