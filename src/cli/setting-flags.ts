/** The flags of a config's settings, for the commands whose flags mirror a config type. */
import { kebabCase } from '../train/pretrain-config.js';
import type { FlagSpec } from './args.js';

/** A setting's flag without its name and default, which come from the config's key and defaults. */
export type SettingFlag = Omit<FlagSpec, 'name' | 'defaultText'>;

/**
 * One flag per key of `settings`, named in kebab-case, its --help default read from `defaults`:
 * null shows as 'unset', a list through `listText`, anything else as itself.
 */
export function settingFlags<K extends string>(
  settings: Readonly<Record<K, SettingFlag>>,
  defaults: Readonly<Record<K, unknown>>,
  listText: (list: readonly unknown[]) => string,
): FlagSpec[] {
  return (Object.keys(settings) as K[]).map((key) => {
    const value = defaults[key];
    const defaultText = value === null ? 'unset' : Array.isArray(value) ? listText(value) : String(value);
    return { name: kebabCase(key), ...settings[key], defaultText };
  });
}
