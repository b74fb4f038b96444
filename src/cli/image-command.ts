/**
 * `kiln pretrain|finetune|evaluate|predict --task image-classification`: flags →
 * runImageClassification / evaluateImageClassifier / predictImages. main.ts routes the
 * commands here when --task image-classification is given (the --task flag itself is accepted
 * and must say image-classification).
 */
import { type FlagSpec, type FlagValue, formatFlags, parseCommandFlags } from './args.js';
import { DEVICE_FLAG, onFlagDevice } from './device-flag.js';
import { runFolderNote } from './run-folder-note.js';
import { withStopSignals } from './stop-signals.js';
import { UsageError } from './usage-error.js';
import { evaluateImageClassifier } from '../vision/evaluate-images.js';
import { isIdxDataset, openImageData } from '../vision/image-data.js';
import { loadImageClassifier } from '../vision/image-model-folder.js';
import { IMAGE_ARCHITECTURES, type ImageArchitecture } from '../vision/models/image-classifier.js';
import { listImageFiles, predictImages } from '../vision/predict-images.js';
import { IMAGE_RUN_SCHEMA, type ImageRunConfig, resolveImageRunConfig, runImageClassification } from '../vision/image-run.js';
import { camelCase, kebabCase } from '../util/settings.js';
import { reportRun } from './run-report.js';
import { schemaFlags, settingLayers } from './setting-flags.js';
import { parseClassList, selectClasses } from '../vision/subsets.js';
import type { ImageSource } from '../vision/image-source.js';

const TASK: FlagSpec = { name: 'task', kind: 'string', help: 'must be image-classification', valueName: 'image-classification' };
const HELP: FlagSpec = { name: 'help', kind: 'boolean', help: 'print this help' };
const JSON_FLAG: FlagSpec = { name: 'json', kind: 'boolean', help: 'print the result as JSON' };
const BAD_IMAGES: FlagSpec = { name: 'bad-images', kind: 'string', help: 'a file that does not decode: skip it (reported by name) or stop with an error', valueName: 'skip|error', defaultText: 'error' };

const DATA_FLAGS: FlagSpec[] = [
  { name: 'data', kind: 'string', help: 'MNIST, Fashion-MNIST or a folder DIR/<class>/<image>', valueName: 'mnist|fashion-mnist|DIR' },
  { name: 'classes', kind: 'string', help: 'keep these labels only, relabelled 0..k-1 in order', valueName: 'LIST', defaultText: 'all, e.g. 0-4 or 1,3,5' },
  { name: 'image-size', kind: 'int', help: 'image folders: resize to N x N', defaultText: '32' },
  { name: 'channels', kind: 'int', help: 'image folders: 1 (grey) or 3 (RGB)', defaultText: '3' },
  BAD_IMAGES,
];

/** The run settings' flags (IMAGE_RUN_SCHEMA), plus what a training command adds. */
const SETTING_FLAGS = schemaFlags(IMAGE_RUN_SCHEMA, (list) => list.join(','));
const settingFlag = (name: string): FlagSpec => SETTING_FLAGS.find((f) => f.name === name)!;
const COMMAND_FLAGS: FlagSpec[] = [
  { name: 'config', kind: 'string', help: 'JSON file of settings with the same keys (kebab-case or camelCase); flags override it', valueName: 'FILE' },
  { name: 'resume', kind: 'boolean', help: 'continue the run in --out from its last evaluation (after a stop, Ctrl-C or crash); the settings must be the same' },
  { name: 'no-report', kind: 'boolean', help: 'do not write OUT/report.html (curves, confusion matrix of the test images) at the end' },
  JSON_FLAG,
  HELP,
];
/** Settings only kiln finetune takes: what to start from and what to train. */
const FINETUNE_ONLY = ['from', 'mode'];
const MODEL_FLAG_NAMES = ['arch', 'width', 'stem', 'patch-size', 'hidden-size', 'layers', 'heads'];

export const IMAGE_PRETRAIN_FLAGS: readonly FlagSpec[] = [TASK, ...SETTING_FLAGS.filter((f) => !FINETUNE_ONLY.includes(f.name)), ...COMMAND_FLAGS];
export const IMAGE_FINETUNE_FLAGS: readonly FlagSpec[] = [
  TASK,
  { ...settingFlag('from'), help: 'a model or run folder to start from (a new head when the labels differ), or scratch:ARCH for a new model', valueName: 'DIR|scratch:ARCH' },
  { ...settingFlag('mode'), valueName: 'full|freeze', help: `${settingFlag('mode').help} (lora: not for image models yet)` },
  ...SETTING_FLAGS.filter((f) => !FINETUNE_ONLY.includes(f.name)),
  ...COMMAND_FLAGS,
];
export const IMAGE_EVALUATE_FLAGS: readonly FlagSpec[] = [
  TASK,
  { name: 'model', kind: 'string', help: 'a model folder', valueName: 'DIR' },
  ...DATA_FLAGS.filter((f) => f.name !== 'image-size' && f.name !== 'channels'),
  { name: 'split', kind: 'string', help: 'MNIST / Fashion-MNIST split', valueName: 'test|train', defaultText: 'test' },
  { name: 'batch-size', kind: 'int', help: 'images per forward', defaultText: '256' },
  { name: 'threads', kind: 'int', help: 'libtorch threads', defaultText: 'all cores' },
  DEVICE_FLAG,
  { name: 'json', kind: 'boolean', help: 'print accuracy, loss and the confusion matrix as JSON' },
  HELP,
];
export const IMAGE_PREDICT_FLAGS: readonly FlagSpec[] = [
  TASK,
  { name: 'model', kind: 'string', help: 'a model folder', valueName: 'DIR' },
  { name: 'input', kind: 'string', help: 'an image file, or a folder of them (searched recursively)', valueName: 'FILE|DIR' },
  { name: 'top-k', kind: 'int', help: 'classes listed per image', defaultText: '3' },
  { ...BAD_IMAGES, defaultText: 'skip' },
  DEVICE_FLAG,
  JSON_FLAG,
  HELP,
];

function help(command: string, usage: string, description: string[], flags: readonly FlagSpec[]): string {
  return [`Usage: kiln ${command} --task image-classification ${usage}`, '', ...description, '', 'Flags:', formatFlags(flags)].join('\n');
}

const str = (flags: Map<string, FlagValue>, name: string): string | undefined => flags.get(name) as string | undefined;
const num = (flags: Map<string, FlagValue>, name: string): number | undefined => flags.get(name) as number | undefined;

function checkTask(flags: Map<string, FlagValue>, command: string): void {
  const task = str(flags, 'task');
  if (task !== undefined && task !== 'image-classification') throw new UsageError(`kiln ${command}: --task ${task} is not image-classification`);
}

function oneOf<T extends string>(flags: Map<string, FlagValue>, name: string, allowed: readonly T[], command: string): T | undefined {
  const value = str(flags, name);
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UsageError(`kiln ${command}: --${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

function classList(flags: Map<string, FlagValue>, command: string): number[] | undefined {
  const text = str(flags, 'classes');
  if (text === undefined) return undefined;
  try {
    return parseClassList(text);
  } catch (error) {
    throw new UsageError(`kiln ${command}: --classes: ${(error as Error).message}`);
  }
}

function positive(flags: Map<string, FlagValue>, name: string, command: string, min = 1): number | undefined {
  const value = num(flags, name);
  if (value !== undefined && !(value >= min)) throw new UsageError(`kiln ${command}: --${name} must be at least ${min}, got ${value}`);
  return value;
}

/** Whether some layer gives `key` (camelCase or kebab-case). */
const gives = (layers: readonly Record<string, unknown>[], key: string): boolean => layers.some((l) => l[key] !== undefined || l[kebabCase(key)] !== undefined);

/** The run settings of a training command, checked: what the flags and --config give over the defaults (or, with --resume, the saved run's). */
function runSettings(flags: Map<string, FlagValue>, command: string, layers: Record<string, unknown>[]): Partial<ImageRunConfig> & { out: string } {
  const resume = flags.get('resume') === true;
  if (!resume && !gives(layers, 'data')) throw new UsageError(`kiln ${command}: --data is required (mnist, fashion-mnist or a folder of class sub-folders)`);
  if (!gives(layers, 'out')) throw new UsageError(`kiln ${command}: --out DIR is required (the run folder to write${resume ? ', or to resume' : ''})`);
  // Each layer checked on its own (unknown keys and bad values named), then merged: only the keys given, so a resumed run keeps its saved settings.
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    const checked = resolveImageRunConfig(layer);
    for (const key of Object.keys(layer)) merged[camelCase(key)] = checked[camelCase(key) as keyof ImageRunConfig];
  }
  return merged as Partial<ImageRunConfig> & { out: string };
}

async function train(flags: Map<string, FlagValue>, command: string, config: Partial<ImageRunConfig> & { out: string }): Promise<number> {
  const quiet = flags.get('json') === true;
  const [{ ProgressReporter }, { processGroupFromLaunch }] = await Promise.all([import('./progress.js'), import('../distributed/from-launch.js')]);
  // Started by `kiln launch` (or torchrun's variables): join the run's process group.
  const group = await processGroupFromLaunch();
  const progress = new ProgressReporter(process.stdout);
  const say = (line: string): void => {
    if (!quiet) progress.line(line);
  };
  const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
  return withStopSignals(() => say('stopping after this step: evaluating and saving (Ctrl-C again to quit at once)'), async (signal) => {
    const result = await runImageClassification(config, {
      resume: flags.get('resume') === true,
      signal,
      ...(group === undefined ? {} : { distributed: group }),
      onStart: ({ config: c, data, parameters, trainable, newHead, maxSteps, resumedAt }) => {
        const note = c.from === null ? null : runFolderNote('--from', c.from);
        if (note !== null) say(note);
        const from = c.from === null ? `a new ${c.arch}` : `${c.from}${newHead ? ' (new head for the new labels)' : ''}`;
        say(`${command}: ${from}, ${(parameters / 1e6).toFixed(3)}M parameters (${(trainable / 1e6).toFixed(3)}M trained); ` +
          `${data.train.length} training, ${data.val?.length ?? 0} validation images of ${data.classNames.length} classes (${data.channels}x${data.imageSize.join('x')}); ${maxSteps} steps`);
        if (resumedAt !== null) say(`resuming at step ${resumedAt}`);
      },
      onLog: (log, info) => {
        if (quiet) return;
        if (!info.isEval) return progress.update(log, info.totalSteps, false);
        const parts = [`step ${log.step}/${info.totalSteps}  eval`, `loss ${log.loss.toFixed(4)}`];
        if (log.val_accuracy !== undefined) parts.push(`val_loss ${log.val_loss!.toFixed(4)}`, `val_accuracy ${(100 * log.val_accuracy).toFixed(2)}%`);
        progress.line(parts.join('  '));
      },
    });
    await group?.destroy();
    if (group !== undefined && group.rank !== 0) return 0; // rank 0 reports for the run
    if (!quiet) {
      progress.finish();
      say(`done at step ${result.steps} (${result.stoppedBy}) in ${result.seconds.toFixed(1)}s; best at step ${result.bestStep}: val accuracy ${pct(result.valAccuracy)}, test accuracy ${pct(result.testAccuracy)}; model in ${result.bestDir}`);
    }
    await reportRun(flags, result.out, say);
    if (quiet) process.stdout.write(JSON.stringify({ out: result.out, steps: result.steps, stopped_by: result.stoppedBy, best_step: result.bestStep, val_accuracy: result.valAccuracy, test_accuracy: result.testAccuracy, seconds: result.seconds }) + '\n');
    return 0;
  });
}

/** `kiln pretrain --task image-classification`: train an image classifier from scratch. */
export async function runImagePretrain(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, IMAGE_PRETRAIN_FLAGS, 'pretrain', () =>
    help('pretrain', '--data mnist|fashion-mnist|DIR --out DIR [--arch cnn|resnet18|resnet34|vit] [flags]', [
      'Trains an image classifier from scratch. Writes the run folder OUT: config.json (the settings), metrics.jsonl,',
      'model/ (the last weights), best/ (the best validation accuracy; what --model OUT and --from OUT read), state/',
      "(for --resume) and eval.json (the test images' scores). Runs data-parallel under kiln launch.",
      'Example: kiln pretrain --task image-classification --data fashion-mnist --classes 0-4 --epochs 2 --out runs/fashion04',
    ], IMAGE_PRETRAIN_FLAGS));
  if (flags === undefined) return 0;
  checkTask(flags, 'pretrain');
  const layers = settingLayers(flags, IMAGE_RUN_SCHEMA, 'pretrain');
  const finetuneOnly = FINETUNE_ONLY.filter((key) => gives(layers, key));
  if (finetuneOnly.length > 0) throw new UsageError(`kiln pretrain: ${finetuneOnly.join(', ')} ${finetuneOnly.length === 1 ? 'is a setting' : 'are settings'} of kiln finetune --task image-classification; pretraining starts a new model`);
  return train(flags, 'pretrain', runSettings(flags, 'pretrain', layers));
}

/** `kiln finetune --task image-classification`: continue from a model folder (or scratch:ARCH). */
export async function runImageFinetune(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, IMAGE_FINETUNE_FLAGS, 'finetune', () =>
    help('finetune', '--from DIR|scratch:ARCH --data mnist|fashion-mnist|DIR --out DIR [--per-class N] [--mode full|freeze] [flags]', [
      'Fine-tunes an image classifier: starts from a model or run folder (a new head when the labels differ) or',
      'from a fresh model (scratch:ARCH), trains on the given images, writes the same run folder as pretrain.',
      'Example: kiln finetune --task image-classification --from runs/fashion04 --data fashion-mnist --classes 5-9 --per-class 20 --out runs/ft',
    ], IMAGE_FINETUNE_FLAGS));
  if (flags === undefined) return 0;
  checkTask(flags, 'finetune');
  if (flags.get('mode') === 'lora') throw new UsageError('kiln finetune: --mode lora is not available for image models yet; use --mode full or --mode freeze');
  const layers = settingLayers(flags, IMAGE_RUN_SCHEMA, 'finetune');
  const resume = flags.get('resume') === true;
  if (!gives(layers, 'from') && !resume) throw new UsageError('kiln finetune: --from is required: a model folder, or scratch:ARCH for a fresh model (ARCH: cnn, resnet18, resnet34, vit)');
  // scratch:ARCH is a new model of that architecture.
  for (const layer of layers) {
    const from = layer['from'];
    if (typeof from !== 'string' || !from.startsWith('scratch:')) continue;
    const arch = from.slice('scratch:'.length) as ImageArchitecture;
    if (!IMAGE_ARCHITECTURES.includes(arch)) throw new UsageError(`kiln finetune: --from ${from}: unknown architecture; use scratch:${IMAGE_ARCHITECTURES.join(', scratch:')}`);
    if (layer['arch'] !== undefined && layer['arch'] !== arch) throw new UsageError(`kiln finetune: --from ${from} and --arch ${String(layer['arch'])} disagree; give one`);
    layer['from'] = null;
    layer['arch'] = arch;
  }
  const settings = runSettings(flags, 'finetune', layers);
  if (typeof settings.from === 'string') {
    const modelFlags = MODEL_FLAG_NAMES.filter((name) => flags.has(name));
    if (modelFlags.length > 0) throw new UsageError(`kiln finetune: --${modelFlags[0]} describes a new model, but --from ${settings.from} loads one; drop it or use --from scratch:ARCH`);
  }
  return train(flags, 'finetune', settings);
}

/** The images to evaluate: the data's classes matched to the model's labels by name. */
async function evaluationImages(flags: Map<string, FlagValue>, model: ReturnType<typeof loadImageClassifier>): Promise<ImageSource> {
  const data = str(flags, 'data');
  if (data === undefined) throw new UsageError('kiln evaluate: --data is required (mnist, fashion-mnist or a folder of class sub-folders)');
  const split = oneOf(flags, 'split', ['test', 'train'] as const, 'evaluate') ?? 'test';
  if (split !== 'test' && !isIdxDataset(data)) throw new UsageError('kiln evaluate: --split is for mnist and fashion-mnist; a folder is evaluated whole');
  const classes = classList(flags, 'evaluate');
  const [H, W] = model.config.image_size;
  if (!isIdxDataset(data) && H !== W) throw new UsageError(`kiln evaluate: the model reads ${H}x${W} images; image folders are resized to squares`);
  const all = await openImageData({
    data, imageSize: H, channels: model.config.num_channels as 1 | 3, badImages: oneOf(flags, 'bad-images', ['skip', 'error'] as const, 'evaluate') ?? 'error',
    classNames: isIdxDataset(data) || classes !== undefined ? null : model.classNames,
  }, split);
  let source: ImageSource = all;
  if (classes !== undefined) source = selectClasses(all, classes);
  else if (all.classNames.join('\n') !== model.classNames.join('\n')) {
    // Match the model's labels by name (a model fine-tuned on classes 5-9 reads those classes).
    const indices = model.classNames.map((name) => all.classNames.indexOf(name));
    const missing = model.classNames.filter((_, i) => indices[i] === -1);
    if (missing.length > 0) throw new UsageError(`kiln evaluate: the data has no class ${missing.map((m) => `'${m}'`).join(', ')} of the model's; pass --classes`);
    source = selectClasses(all, indices);
  }
  if (source.classNames.length !== model.classNames.length) {
    throw new UsageError(`kiln evaluate: ${source.classNames.length} classes in the data, ${model.classNames.length} in the model`);
  }
  return source;
}

/** `kiln evaluate --task image-classification`: accuracy (and the confusion matrix with --json). */
export async function runImageEvaluate(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, IMAGE_EVALUATE_FLAGS, 'evaluate', () =>
    help('evaluate', '--model DIR --data mnist|fashion-mnist|DIR [--split test|train] [--json]', [
      'Accuracy of an image classifier. The data\'s classes are matched to the model\'s labels by name;',
      '--json adds the loss and the confusion matrix (rows: true class, columns: predicted).',
    ], IMAGE_EVALUATE_FLAGS));
  if (flags === undefined) return 0;
  checkTask(flags, 'evaluate');
  const dir = str(flags, 'model');
  if (dir === undefined) throw new UsageError('kiln evaluate: --model DIR is required (a folder kiln pretrain/finetune wrote)');
  const threads = positive(flags, 'threads', 'evaluate');
  if (threads !== undefined) (await import('../tensor/runtime.js')).setNumThreads(threads);
  const { loaded, result } = await onFlagDevice(flags, async () => {
    const loaded = loadImageClassifier(dir);
    const source = await evaluationImages(flags, loaded);
    return { loaded, result: await evaluateImageClassifier(loaded.model, source, loaded.config.normalization, { batchSize: positive(flags, 'batch-size', 'evaluate') ?? 256 }) };
  });
  const correct = Math.round(result.accuracy * result.count);
  if (flags.get('json') === true) {
    process.stdout.write(JSON.stringify({ accuracy: result.accuracy, loss: result.loss, count: result.count, correct, class_names: loaded.classNames, confusion: result.confusion }) + '\n');
  } else {
    process.stdout.write(`accuracy ${(100 * result.accuracy).toFixed(2)}% (${correct}/${result.count}), loss ${result.loss.toFixed(4)}\n`);
  }
  return 0;
}

/** `kiln predict --task image-classification`: the classes of an image file or a folder of them. */
export async function runImagePredict(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, IMAGE_PREDICT_FLAGS, 'predict', () =>
    help('predict', '--model DIR --input FILE|DIR [--top-k N] [--json]', [
      'Classifies images: one line per file (file, class, probability), or one JSON line per file with --json.',
      'Files that do not decode are reported on stderr and skipped (--bad-images error stops instead).',
    ], IMAGE_PREDICT_FLAGS));
  if (flags === undefined) return 0;
  checkTask(flags, 'predict');
  const dir = str(flags, 'model');
  const input = str(flags, 'input');
  if (dir === undefined || input === undefined) throw new UsageError('kiln predict: --model DIR and --input FILE|DIR are required');
  let files: string[];
  try {
    files = listImageFiles(input);
  } catch (error) {
    throw new UsageError(`kiln predict: --input ${(error as Error).message}`);
  }
  const predictions = await onFlagDevice(flags, () =>
    predictImages(loadImageClassifier(dir), files, {
      topK: positive(flags, 'top-k', 'predict') ?? 3,
      badImages: oneOf(flags, 'bad-images', ['skip', 'error'] as const, 'predict') ?? 'skip',
      onBadImage: (file, reason) => process.stderr.write(`skipping ${file}: ${reason}\n`),
    }),
  );
  for (const p of predictions) {
    process.stdout.write(flags.get('json') === true ? JSON.stringify(p) + '\n' : `${p.file}\t${p.label}\t${p.probability.toFixed(4)}\n`);
  }
  return predictions.length === 0 && files.length > 0 ? 1 : 0;
}
