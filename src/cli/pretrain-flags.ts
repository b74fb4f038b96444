/** The flags of `kiln pretrain`: one per setting of PRETRAIN_SCHEMA (kebab-case), plus --config, --resume, --help. */
import { PRETRAIN_SCHEMA } from '../train/pretrain-config.js';
import type { FlagSpec } from './args.js';
import { schemaFlags } from './setting-flags.js';

export const PRETRAIN_FLAGS: readonly FlagSpec[] = [
  ...schemaFlags(PRETRAIN_SCHEMA, (list) => list.join(' ')),
  { name: 'config', kind: 'string', help: 'JSON file of settings with the same keys (kebab-case or camelCase); flags override it', valueName: 'FILE' },
  { name: 'resume', kind: 'boolean', help: 'continue the run in --out from its last checkpoint' },
  { name: 'no-report', kind: 'boolean', help: 'do not write OUT/report.html (loss, learning-rate and throughput charts) at the end' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];
