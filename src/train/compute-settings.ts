/**
 * How a run computes — its device, its precision, whether transformer blocks recompute their
 * activations in backward — declared once for every run's settings (pretraining, fine-tuning,
 * image, detection and embedding runs) and applied by the Trainer.
 */
import { setGradientCheckpointing } from '../nn/gradient-checkpointing.js';
import type { Module } from '../nn/module.js';
import { autocastSupported, PRECISIONS, type Precision } from '../tensor/autocast.js';
import type { Device } from '../tensor/dtype.js';
import { buildInfo, cudaDeviceCount, resolveDevice } from '../tensor/runtime.js';
import { bool, choice, custom, kebabCase } from '../util/settings.js';
import { ConfigError } from './config-error.js';

const DEVICE_PATTERN = /^(auto|cpu|cuda(:\d+)?)$/;

/** The `--device` flag's check, for training and inference commands alike: the device must be one this build and machine have. */
export function checkDevice(value: unknown, key = 'device'): 'auto' | Device {
  if (typeof value !== 'string' || !DEVICE_PATTERN.test(value)) throw new ConfigError(`${kebabCase(key)} must be auto, cpu, cuda or cuda:N, got ${JSON.stringify(value)}`);
  try {
    resolveDevice(value as 'auto' | Device);
  } catch (error) {
    throw new ConfigError(`--${(error as Error).message}`);
  }
  return value as 'auto' | Device;
}

/** The schema entries of every training run. */
export const COMPUTE_SCHEMA = {
  device: custom<string>(
    'auto',
    'where the run computes: auto (the GPU when this build has CUDA and one is visible, else the CPU), cpu, cuda or cuda:N',
    'string',
    (value, key) => checkDevice(value, key),
    { valueName: 'auto|cpu|cuda|cuda:N' },
  ),
  precision: (() => {
    const plain = choice(
      PRECISIONS,
      'fp32',
      'fp32; bf16: matrix products and convolutions in bfloat16 under autocast; fp16: float16 under autocast with dynamic loss scaling (a GPU; the CPU from libtorch 2.4). Weights, gradients and optimizer state stay fp32',
    );
    // fp16 where neither a GPU nor the CPU's autocast has it is refused when the settings are read.
    return { ...plain, check: (value: unknown, key: string): Precision => checkPrecisionHere(plain.check(value, key)) };
  })(),
  gradCheckpointing: bool(false, "recompute each transformer block's activations in backward instead of keeping them: less memory for about one more forward pass (gpt, llama, bert, vit)"),
} as const;

function checkPrecisionHere(precision: Precision): Precision {
  if (precision === 'fp16' && (!buildInfo().cuda || cudaDeviceCount() === 0) && !autocastSupported('fp16', 'cpu')) {
    throw new ConfigError(`--precision fp16: no GPU is in reach, and ${fp16OnCpu()}`);
  }
  return precision;
}

function fp16OnCpu(): string {
  return `libtorch ${buildInfo().torchVersion}'s CPU autocast has no fp16 (it has from libtorch 2.4): use --precision bf16 on the CPU (fp16 with loss scaling is for GPUs)`;
}

/** The compute settings the Trainer reads. */
export interface ComputeSettings {
  device?: string;
  precision?: Precision;
  gradCheckpointing?: boolean;
}

/** Where and how a run computes, resolved from its settings. */
export interface Compute {
  device: Device;
  /** The device's type, for autocast. */
  deviceType: 'cpu' | 'cuda';
  precision: Precision;
}

/**
 * Resolves a run's device ('auto' → the GPU when there is one) and checks its precision there;
 * a precision the device's autocast lacks (fp16 on the CPU before libtorch 2.4) is a ConfigError.
 */
export function resolveCompute(settings: Readonly<ComputeSettings>): Compute {
  const device = resolveDevice(checkDevice(settings.device ?? 'auto'));
  const deviceType = device === 'cpu' ? 'cpu' : 'cuda';
  const precision = settings.precision ?? 'fp32';
  if (!autocastSupported(precision, deviceType)) {
    throw new ConfigError(`--precision ${precision} on ${device}: ${deviceType === 'cpu' ? fp16OnCpu() : `libtorch ${buildInfo().torchVersion}'s CUDA autocast lacks it`}`);
  }
  return { device, deviceType, precision };
}

/**
 * Applies a run's compute settings to its module before training: moves it to the run's device
 * (in place: the optimizer's parameters are the same objects) and turns gradient checkpointing on.
 */
export function applyComputeSettings(module: Module, settings: Readonly<ComputeSettings>): Compute {
  const compute = resolveCompute(settings);
  if (settings.gradCheckpointing === true && setGradientCheckpointing(module, true) === 0) {
    throw new ConfigError('--grad-checkpointing recomputes transformer blocks (gpt, llama, bert, vit); this model has none (an LSTM, CNN or ResNet): drop the flag');
  }
  if (compute.device !== 'cpu') module.to(compute.device);
  return compute;
}
