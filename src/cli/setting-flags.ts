/** The flags of a settings schema, for the commands whose flags mirror a run's settings. */
import { camelCase, kebabCase, type Schema } from '../util/settings.js';
import type { FlagSpec } from './args.js';
import { readConfigFile } from './config-file.js';

/**
 * One flag per setting of `schema`, named in kebab-case, its kind, value name and help from the
 * setting, its --help default from the setting's default: null shows as 'unset', a list through
 * `listText`, anything else as itself (unless the setting gives its own default text).
 */
export function schemaFlags(schema: Schema, listText: (list: readonly unknown[]) => string): FlagSpec[] {
  return Object.entries(schema).map(([key, setting]) => {
    const value = setting.default;
    const defaultText = setting.defaultText ?? (value === null ? 'unset' : Array.isArray(value) ? listText(value) : String(value));
    return { name: kebabCase(key), kind: setting.flag, help: setting.doc, defaultText, ...(setting.valueName === undefined ? {} : { valueName: setting.valueName }) };
  });
}

/**
 * The settings layers a training command's flags give, in the order they apply: the object of
 * `--config FILE`, then the flags that name a setting of `schema` (kebab-case → camelCase; the
 * command's own flags, --resume, --json and the like, are not settings).
 */
export function settingLayers(flags: ReadonlyMap<string, unknown>, schema: Schema, command: string): Record<string, unknown>[] {
  const layers: Record<string, unknown>[] = [];
  const file = flags.get('config');
  if (typeof file === 'string') layers.push(readConfigFile(file, command));
  const layer: Record<string, unknown> = {};
  for (const [name, value] of flags) if (Object.hasOwn(schema, camelCase(name))) layer[camelCase(name)] = value;
  layers.push(layer);
  return layers;
}
