// One declaration per setting: every entry of the pretraining, fine-tuning, image, detection and metric-learning schemas has
// its flag (named after it, of its kind, with its doc as the help and its default shown), its
// default passes its own check, and every command's --config refuses an unknown key by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlagSpec } from '../../src/cli/args.js';
import { FINETUNE_FLAGS } from '../../src/cli/finetune-command.js';
import { IMAGE_FINETUNE_FLAGS, IMAGE_PRETRAIN_FLAGS } from '../../src/cli/image-command.js';
import { PRETRAIN_FLAGS } from '../../src/cli/pretrain-flags.js';
import { FINETUNE_DEFAULTS, FINETUNE_SCHEMA, resolveFinetuneConfig } from '../../src/finetune/finetune-config.js';
import { PRETRAIN_DEFAULTS, PRETRAIN_SCHEMA, resolvePretrainConfig } from '../../src/train/pretrain-config.js';
import { kebabCase, type Schema } from '../../src/util/settings.js';
import { IMAGE_RUN_DEFAULTS, IMAGE_RUN_SCHEMA, resolveImageRunConfig } from '../../src/vision/image-run.js';
import { taskRunFlags } from '../../src/cli/task-run-command.js';
import { DETECT_RUN_DEFAULTS, DETECT_RUN_SCHEMA } from '../../src/vision/detection/detect-run.js';
import { EMBED_RUN_DEFAULTS, EMBED_RUN_SCHEMA } from '../../src/vision/embedding/embed-run.js';
import { scratchFolder } from '../models/reference.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const CASES: [string, Schema, readonly FlagSpec[], readonly string[]][] = [
  ['kiln pretrain', PRETRAIN_SCHEMA, PRETRAIN_FLAGS, []],
  ['kiln finetune', FINETUNE_SCHEMA, FINETUNE_FLAGS, []],
  ['kiln finetune --task image-classification', IMAGE_RUN_SCHEMA, IMAGE_FINETUNE_FLAGS, []],
  ['kiln pretrain --task image-classification', IMAGE_RUN_SCHEMA, IMAGE_PRETRAIN_FLAGS, ['from', 'mode']],
  ['kiln pretrain --task detect', DETECT_RUN_SCHEMA, await taskRunFlags('detect', 'pretrain'), ['from']],
  ['kiln finetune --task detect', DETECT_RUN_SCHEMA, await taskRunFlags('detect', 'finetune'), ['width', 'anchor']],
  ['kiln pretrain --task embed', EMBED_RUN_SCHEMA, await taskRunFlags('embed', 'pretrain'), ['from']],
  ['kiln finetune --task embed', EMBED_RUN_SCHEMA, await taskRunFlags('embed', 'finetune'), []],
];

test('settings schemas: every setting has a one-line doc, a default that passes its own check, and its flag in the command', () => {
  for (const [command, schema, flags, notFlags] of CASES) {
    for (const [key, setting] of Object.entries(schema)) {
      assert.ok(setting.doc.length > 10 && !setting.doc.includes('\n'), `${command}: ${key} has a one-line doc`);
      assert.deepEqual(setting.check(setting.default, key), setting.default, `${command}: ${key}'s default passes its check`);
      const flag = flags.find((f) => f.name === kebabCase(key));
      if (notFlags.includes(key)) {
        assert.equal(flag, undefined, `${command} has no --${kebabCase(key)}`);
        continue;
      }
      assert.ok(flag !== undefined, `${command} lacks --${kebabCase(key)} for setting ${key}`);
      assert.equal(flag.kind, setting.flag, `${command} --${flag.name}: kind`);
      assert.ok(flag.help.startsWith(setting.doc.slice(0, 20)) || flag.help.includes(setting.doc.slice(0, 20)), `${command} --${flag.name}: its help is the setting's doc`);
      assert.ok(flag.defaultText !== undefined, `${command} --${flag.name} shows its default`);
    }
  }
  // The option types' defaults are the schemas'.
  for (const [defaults, schema] of [[PRETRAIN_DEFAULTS, PRETRAIN_SCHEMA], [FINETUNE_DEFAULTS, FINETUNE_SCHEMA], [IMAGE_RUN_DEFAULTS, IMAGE_RUN_SCHEMA], [DETECT_RUN_DEFAULTS, DETECT_RUN_SCHEMA], [EMBED_RUN_DEFAULTS, EMBED_RUN_SCHEMA]] as const) {
    assert.deepEqual(Object.keys(defaults), Object.keys(schema));
    for (const [key, setting] of Object.entries(schema as Schema)) assert.deepEqual((defaults as Record<string, unknown>)[key], setting.default, key);
  }
});

test('settings schemas: a bad value is refused naming the setting and what it must be, in code and from a file alike', () => {
  assert.throws(() => resolvePretrainConfig({ 'block-size': 0 }), /block-size must be a positive integer, got 0/);
  assert.throws(() => resolveFinetuneConfig({ loraDropout: 1 }), /lora-dropout must be a number in \[0, 1\), got 1/);
  assert.throws(() => resolveImageRunConfig({ 'grad-accumulation': 0 }), /grad-accumulation must be a positive integer, got 0/);
  assert.throws(() => resolveImageRunConfig({ channels: 2 }), /channels must be 1 or 3, got 2/);
  assert.throws(() => resolveImageRunConfig({ classes: '4-1' }), /classes: class list '4-1': range 4-1 runs backwards/);
  assert.deepEqual(resolveImageRunConfig({ classes: '0-2,5', 'time-limit': '2m' }).classes, [0, 1, 2, 5]);
  assert.equal(resolveImageRunConfig({ 'time-limit': '2m' }).timeLimit, 120);
});

test('every training command refuses an unknown --config key by name (exit 2)', () => {
  const dir = scratchFolder('kiln-settings-');
  const file = path.join(dir, 'run.json');
  writeFileSync(file, JSON.stringify({ 'max-stepz': 5 }));
  for (const args of [['pretrain'], ['finetune'], ['pretrain', '--task', 'image-classification', '--data', 'mnist', '--out', dir], ['finetune', '--task', 'image-classification', '--from', 'scratch:cnn', '--data', 'mnist', '--out', dir],
    ['pretrain', '--task', 'detect', '--out', dir], ['finetune', '--task', 'embed', '--from', dir, '--out', dir]]) {
    const run = spawnSync(process.execPath, [MAIN, ...args, '--config', file], { encoding: 'utf8' });
    assert.equal(run.status, 2, `kiln ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /unknown setting 'max-stepz'; the settings are .*max-steps/, `kiln ${args.join(' ')}`);
  }
});
