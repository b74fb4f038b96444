/**
 * How a run computes — its device, its precision, whether transformer blocks recompute their
 * activations in backward — declared once for every run's settings (pretraining, fine-tuning,
 * image, detection and embedding runs) and applied by the Trainer.
 */
import { setGradientCheckpointing } from '../nn/gradient-checkpointing.js';
import type { Module } from '../nn/module.js';
import { PRECISIONS, type Precision } from '../tensor/autocast.js';
import { buildInfo, cudaAvailable } from '../tensor/runtime.js';
import { bool, choice, custom, kebabCase } from '../util/settings.js';
import { ConfigError } from './config-error.js';

const DEVICE_PATTERN = /^(auto|cpu|cuda(:\d+)?)$/;

/** The schema entries of every training run. */
export const COMPUTE_SCHEMA = {
  device: custom<string>(
    'auto',
    'where the run computes: auto (the CPU; a GPU once the Trainer runs tasks on one), cpu, cuda or cuda:N (refused with the reason until then)',
    'string',
    (value, key) => {
      if (typeof value !== 'string' || !DEVICE_PATTERN.test(value)) throw new ConfigError(`${kebabCase(key)} must be auto, cpu, cuda or cuda:N, got ${JSON.stringify(value)}`);
      checkTrainingDevice(value);
      return value;
    },
    { valueName: 'auto|cpu|cuda|cuda:N' },
  ),
  precision: choice(PRECISIONS, 'fp32', 'fp32, or bf16: matrix products and convolutions in bfloat16 under CPU autocast (weights, gradients and optimizer state stay fp32)'),
  gradCheckpointing: bool(false, "recompute each transformer block's activations in backward instead of keeping them: less memory for about one more forward pass (gpt, llama, bert, vit)"),
} as const;

/** The compute settings the Trainer reads. */
export interface ComputeSettings {
  device?: string;
  precision?: Precision;
  gradCheckpointing?: boolean;
}

/**
 * Runs train on the CPU ('auto' is the CPU). A CUDA device is refused, when the run's settings
 * are read, with what stands in the way — a libtorch without CUDA (and how to build against one),
 * no visible GPU, or the Trainer's tasks, which make their batches on the CPU.
 */
function checkTrainingDevice(device: string): void {
  if (device === 'auto' || device === 'cpu') return;
  if (!buildInfo().cuda) {
    throw new ConfigError(`--device ${device}: this Kiln addon is built against a libtorch without CUDA; build one with CUDA: LIBTORCH=$(python3 -c 'import torch,os; print(os.path.dirname(torch.__file__))') npm run build:native (a CUDA PyTorch wheel's libtorch), see the README's "GPUs"`);
  }
  if (!cudaAvailable()) throw new ConfigError(`--device ${device}: this build has CUDA but no GPU is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)`);
  throw new ConfigError(`--device ${device}: Kiln's training tasks run on the CPU so far (their batches are made there); tensors and models can move to ${device} through the library (tensor.to('${device}'), module.to('${device}'))`);
}

/** Applies a run's compute settings to its module before training (its device was checked with its settings): turns gradient checkpointing on. */
export function applyComputeSettings(module: Module, settings: Readonly<ComputeSettings>): void {
  if (settings.gradCheckpointing === true && setGradientCheckpointing(module, true) === 0) {
    throw new ConfigError('--grad-checkpointing recomputes transformer blocks (gpt, llama, bert, vit); this model has none (an LSTM, CNN or ResNet): drop the flag');
  }
}
