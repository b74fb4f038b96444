/**
 * `--device` for the commands that run a model without training it (evaluate, predict,
 * generate, and the face commands detect, embed and verify): the model is built, loaded and run
 * on the device, as a training run's is. (The training commands and compare read it through
 * their settings, COMPUTE_SCHEMA.)
 */
import { withDeviceAsync } from '../tensor/creation.js';
import type { Device } from '../tensor/dtype.js';
import { resolveDevice } from '../tensor/runtime.js';
import { checkDevice } from '../train/compute-settings.js';
import type { FlagSpec } from './args.js';

export const DEVICE_FLAG: FlagSpec = {
  name: 'device',
  kind: 'string',
  help: 'where the model runs: auto (the GPU when this build has CUDA and one is visible, else the CPU), cpu, cuda or cuda:N',
  defaultText: 'auto',
  valueName: 'auto|cpu|cuda|cuda:N',
};

/** The device `--device` names (checked: a device this build or machine lacks is a ConfigError saying why). */
export function deviceFromFlag(flags: ReadonlyMap<string, unknown>): Device {
  return resolveDevice(checkDevice(flags.get('device') ?? 'auto'));
}

/** Runs `fn` with `--device`'s device as the default one (restored after): the models it builds and loads, and the inputs it makes, are there. */
export function onFlagDevice<T>(flags: ReadonlyMap<string, unknown>, fn: () => T | Promise<T>): Promise<T> {
  return withDeviceAsync(deviceFromFlag(flags), fn);
}
