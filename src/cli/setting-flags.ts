/** The flags of a settings schema, for the commands whose flags mirror a run's settings. */
import { kebabCase, type Schema } from '../util/settings.js';
import type { FlagSpec } from './args.js';

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
