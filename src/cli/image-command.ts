/**
 * `kiln pretrain|finetune|evaluate|predict --task image-classification`: flags →
 * runImageClassification / evaluateImageClassifier / predictImages. main.ts routes the
 * commands here when --task image-classification is given (the --task flag itself is accepted
 * and must say image-classification).
 */
import { type FlagSpec, type FlagValue, formatFlags, parseCommandFlags } from './args.js';
import { runFolderNote } from './run-folder-note.js';
import { withStopSignals } from './stop-signals.js';
import { UsageError } from './usage-error.js';
import { parseDuration } from '../train/pretrain-config.js';
import { evaluateImageClassifier } from '../vision/evaluate-images.js';
import { isIdxDataset, openImageData } from '../vision/image-data.js';
import { loadImageClassifier } from '../vision/image-model-folder.js';
import { IMAGE_ARCHITECTURES, type ImageArchitecture } from '../vision/models/image-classifier.js';
import { listImageFiles, predictImages } from '../vision/predict-images.js';
import { type ImageRunConfig, runImageClassification } from '../vision/image-run.js';
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

const TRAIN_FLAGS: FlagSpec[] = [
  TASK,
  ...DATA_FLAGS,
  { name: 'per-class', kind: 'int', help: 'train on N seeded images per class (few-shot)', defaultText: 'all' },
  { name: 'val-fraction', kind: 'number', help: 'share of the training images held out for validation', defaultText: '0.1' },
  { name: 'val-size', kind: 'int', help: 'at most N validation images (few-shot runs validate on images left over)', defaultText: '2000' },
  { name: 'epochs', kind: 'int', help: 'passes over the training images', defaultText: '3' },
  { name: 'max-steps', kind: 'int', help: 'optimizer steps instead of --epochs passes', defaultText: 'the epochs\' steps' },
  { name: 'batch-size', kind: 'int', help: 'images per micro-batch (per process under kiln launch)', defaultText: '64' },
  { name: 'grad-accumulation', kind: 'int', help: 'micro-batches per optimizer step (one batch of N x batch-size)', defaultText: '1' },
  { name: 'lr', kind: 'number', help: 'peak learning rate (AdamW, warm-up then cosine decay)', defaultText: '0.001' },
  { name: 'weight-decay', kind: 'number', help: 'AdamW weight decay (not on biases and norms)', defaultText: '0.0001' },
  { name: 'warmup', kind: 'int', help: 'warm-up steps', defaultText: '5% of the steps, at most 200' },
  { name: 'grad-clip', kind: 'number', help: 'clip the gradient norm to X; 0 is off', defaultText: '0' },
  { name: 'eval-every', kind: 'int', help: 'evaluate on the validation images and checkpoint every N steps', defaultText: 'once an epoch' },
  { name: 'patience', kind: 'int', help: 'stop after N evaluations without a better validation accuracy; 0 never stops early', defaultText: '0' },
  { name: 'time-limit', kind: 'string', help: 'stop (evaluated and saved) after this wall-clock time, e.g. 90s, 10m', valueName: 'DURATION', defaultText: 'none' },
  { name: 'log-every', kind: 'int', help: 'log the training loss every N steps', defaultText: '50' },
  { name: 'crop-padding', kind: 'int', help: 'augment: random crop after padding by N pixels', defaultText: '0 (off)' },
  { name: 'flip', kind: 'boolean', help: 'augment: random horizontal flips' },
  { name: 'seed', kind: 'int', help: 'seeds the weights, order, sampling and augmentation', defaultText: '0' },
  { name: 'threads', kind: 'int', help: 'libtorch threads', defaultText: 'all cores' },
  { name: 'out', kind: 'string', help: 'run folder: config.json, metrics.jsonl, model/ (last), best/ (best validation accuracy), state/, eval.json', valueName: 'DIR' },
  { name: 'resume', kind: 'boolean', help: 'continue the run in --out from its last evaluation (after a stop, Ctrl-C or crash); the settings must be the same' },
  JSON_FLAG,
  HELP,
];

const MODEL_FLAGS: FlagSpec[] = [
  { name: 'arch', kind: 'string', help: 'the network', valueName: IMAGE_ARCHITECTURES.join('|'), defaultText: 'cnn' },
  { name: 'width', kind: 'int', help: 'cnn: first block channels; resnet: layer1 channels', defaultText: '32 (cnn), 64 (resnet)' },
  { name: 'stem', kind: 'string', help: 'resnet stem', valueName: 'small|imagenet', defaultText: 'small up to 64 px' },
  { name: 'patch-size', kind: 'int', help: 'vit patch side', defaultText: '4 up to 32 px, else 16' },
  { name: 'hidden-size', kind: 'int', help: 'vit width', defaultText: '64' },
  { name: 'layers', kind: 'int', help: 'vit encoder layers', defaultText: '4' },
  { name: 'heads', kind: 'int', help: 'vit attention heads', defaultText: '4' },
];

export const IMAGE_PRETRAIN_FLAGS: readonly FlagSpec[] = [...MODEL_FLAGS, ...TRAIN_FLAGS];
export const IMAGE_FINETUNE_FLAGS: readonly FlagSpec[] = [
  { name: 'from', kind: 'string', help: 'a model folder to start from, or a fresh model', valueName: 'DIR|scratch:ARCH' },
  { name: 'mode', kind: 'string', help: 'train every weight, or the head alone (lora: not for image models yet)', valueName: 'full|freeze', defaultText: 'full' },
  ...MODEL_FLAGS,
  ...TRAIN_FLAGS,
];
export const IMAGE_EVALUATE_FLAGS: readonly FlagSpec[] = [
  TASK,
  { name: 'model', kind: 'string', help: 'a model folder', valueName: 'DIR' },
  ...DATA_FLAGS.filter((f) => f.name !== 'image-size' && f.name !== 'channels'),
  { name: 'split', kind: 'string', help: 'MNIST / Fashion-MNIST split', valueName: 'test|train', defaultText: 'test' },
  { name: 'batch-size', kind: 'int', help: 'images per forward', defaultText: '256' },
  { name: 'threads', kind: 'int', help: 'libtorch threads', defaultText: 'all cores' },
  { name: 'json', kind: 'boolean', help: 'print accuracy, loss and the confusion matrix as JSON' },
  HELP,
];
export const IMAGE_PREDICT_FLAGS: readonly FlagSpec[] = [
  TASK,
  { name: 'model', kind: 'string', help: 'a model folder', valueName: 'DIR' },
  { name: 'input', kind: 'string', help: 'an image file, or a folder of them (searched recursively)', valueName: 'FILE|DIR' },
  { name: 'top-k', kind: 'int', help: 'classes listed per image', defaultText: '3' },
  { ...BAD_IMAGES, defaultText: 'skip' },
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

/** The run settings the training flags give (absent flags stay absent, so defaults apply). */
function runConfigFromFlags(flags: Map<string, FlagValue>, command: string): Partial<ImageRunConfig> & { out: string } {
  const data = str(flags, 'data');
  const resume = flags.get('resume') === true;
  if (data === undefined && !resume) throw new UsageError(`kiln ${command}: --data is required (mnist, fashion-mnist or a folder of class sub-folders)`);
  const out = str(flags, 'out');
  if (out === undefined) throw new UsageError(`kiln ${command}: --out DIR is required (the run folder to write${resume ? ', or to resume' : ''})`);
  const c: Partial<ImageRunConfig> & { out: string } = { out };
  if (data !== undefined) c.data = data;
  const arch = oneOf(flags, 'arch', IMAGE_ARCHITECTURES, command);
  if (arch !== undefined) c.arch = arch;
  const classes = classList(flags, command);
  if (classes !== undefined) c.classes = classes;
  const channels = num(flags, 'channels');
  if (channels !== undefined) {
    if (channels !== 1 && channels !== 3) throw new UsageError(`kiln ${command}: --channels must be 1 or 3, got ${channels}`);
    c.channels = channels;
  }
  const badImages = oneOf(flags, 'bad-images', ['skip', 'error'] as const, command);
  if (badImages !== undefined) c.badImages = badImages;
  const stem = oneOf(flags, 'stem', ['small', 'imagenet'] as const, command);
  if (stem !== undefined) c.stem = stem;
  const ints: [string, keyof ImageRunConfig, number][] = [
    ['image-size', 'imageSize', 1], ['per-class', 'perClass', 1], ['val-size', 'maxVal', 0], ['epochs', 'epochs', 1], ['batch-size', 'batchSize', 1], ['warmup', 'warmupSteps', 0],
    ['max-steps', 'maxSteps', 1], ['grad-accumulation', 'gradAccumulation', 1], ['eval-every', 'evalEvery', 1], ['patience', 'patience', 0], ['log-every', 'logEvery', 1],
    ['seed', 'seed', 0], ['threads', 'threads', 1], ['width', 'width', 1], ['patch-size', 'patchSize', 1],
    ['hidden-size', 'hiddenSize', 1], ['layers', 'layers', 1], ['heads', 'heads', 1],
  ];
  const record = c as Record<string, unknown>;
  for (const [flag, key, min] of ints) {
    const value = positive(flags, flag, command, min);
    if (value !== undefined) record[key] = value;
  }
  const cropPadding = positive(flags, 'crop-padding', command, 0);
  const flip = flags.get('flip') === true;
  if (cropPadding !== undefined || flip) c.augment = { ...(cropPadding === undefined ? {} : { cropPadding }), ...(flip ? { flip } : {}) };
  const timeLimit = str(flags, 'time-limit');
  if (timeLimit !== undefined) {
    try {
      c.timeLimit = parseDuration(timeLimit, 'time-limit');
    } catch (error) {
      throw new UsageError(`kiln ${command}: ${(error as Error).message}`);
    }
  }
  for (const [flag, key] of [['lr', 'lr'], ['weight-decay', 'weightDecay'], ['val-fraction', 'valFraction'], ['grad-clip', 'gradClip']] as const) {
    const value = num(flags, flag);
    if (value === undefined) continue;
    if (!(value >= 0) || (flag === 'lr' && value === 0) || (flag === 'val-fraction' && value >= 1)) throw new UsageError(`kiln ${command}: --${flag} ${value} is out of range`);
    c[key] = value;
  }
  return c;
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
    if (quiet) {
      process.stdout.write(JSON.stringify({ out: result.out, steps: result.steps, stopped_by: result.stoppedBy, best_step: result.bestStep, val_accuracy: result.valAccuracy, test_accuracy: result.testAccuracy, seconds: result.seconds }) + '\n');
    } else {
      progress.finish();
      say(`done at step ${result.steps} (${result.stoppedBy}) in ${result.seconds.toFixed(1)}s; best at step ${result.bestStep}: val accuracy ${pct(result.valAccuracy)}, test accuracy ${pct(result.testAccuracy)}; model in ${result.bestDir}`);
    }
    return 0;
  });
}

/** `kiln pretrain --task image-classification`: train an image classifier from scratch. */
export async function runImagePretrain(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, IMAGE_PRETRAIN_FLAGS, 'pretrain', () =>
    help('pretrain', '--data mnist|fashion-mnist|DIR --out DIR [--arch cnn|resnet18|resnet34|vit] [flags]', [
      'Trains an image classifier from scratch. Writes the run folder OUT: config.json (the settings), metrics.jsonl,',
      'model/ (the last weights), best/ (the best validation accuracy; what --model OUT and --from OUT read), state/',
      '(for --resume) and eval.json (the test images\' scores). Runs data-parallel under kiln launch.',
      'Example: kiln pretrain --task image-classification --data fashion-mnist --classes 0-4 --epochs 2 --out runs/fashion04',
    ], IMAGE_PRETRAIN_FLAGS));
  if (flags === undefined) return 0;
  checkTask(flags, 'pretrain');
  return train(flags, 'pretrain', runConfigFromFlags(flags, 'pretrain'));
}

/** `kiln finetune --task image-classification`: continue from a model folder (or scratch:ARCH). */
export async function runImageFinetune(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, IMAGE_FINETUNE_FLAGS, 'finetune', () =>
    help('finetune', '--from DIR|scratch:ARCH --data mnist|fashion-mnist|DIR --out DIR [--per-class N] [--mode full|freeze] [flags]', [
      'Fine-tunes an image classifier: starts from a model folder (a new head when the labels differ) or from',
      'a fresh model (scratch:ARCH), trains on the given images, writes the same run folder as pretrain.',
      'Example: kiln finetune --task image-classification --from runs/fashion04 --data fashion-mnist --classes 5-9 --per-class 20 --out runs/ft',
    ], IMAGE_FINETUNE_FLAGS));
  if (flags === undefined) return 0;
  checkTask(flags, 'finetune');
  const from = str(flags, 'from');
  const resume = flags.get('resume') === true;
  if (from === undefined && !resume) throw new UsageError('kiln finetune: --from is required: a model folder, or scratch:ARCH for a fresh model (ARCH: cnn, resnet18, resnet34, vit)');
  const mode = oneOf(flags, 'mode', ['full', 'freeze', 'lora'] as const, 'finetune');
  if (mode === 'lora') throw new UsageError('kiln finetune: --mode lora is not available for image models yet; use --mode full or --mode freeze');
  const config = runConfigFromFlags(flags, 'finetune');
  if (mode !== undefined) config.mode = mode;
  if (from === undefined) {
    // --resume: the saved run says where it started
  } else if (from.startsWith('scratch:')) {
    const arch = from.slice('scratch:'.length) as ImageArchitecture;
    if (!IMAGE_ARCHITECTURES.includes(arch)) throw new UsageError(`kiln finetune: --from ${from}: unknown architecture; use scratch:${IMAGE_ARCHITECTURES.join(', scratch:')}`);
    if (flags.has('arch') && config.arch !== arch) throw new UsageError(`kiln finetune: --from ${from} and --arch ${config.arch} disagree; give one`);
    config.arch = arch;
  } else {
    const modelFlags = MODEL_FLAGS.map((f) => f.name).filter((name) => flags.has(name));
    if (modelFlags.length > 0) throw new UsageError(`kiln finetune: --${modelFlags[0]} describes a new model, but --from ${from} loads one; drop it or use --from scratch:ARCH`);
    config.from = from;
  }
  return train(flags, 'finetune', config);
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
  const loaded = loadImageClassifier(dir);
  const threads = positive(flags, 'threads', 'evaluate');
  if (threads !== undefined) (await import('../tensor/runtime.js')).setNumThreads(threads);
  const source = await evaluationImages(flags, loaded);
  const result = await evaluateImageClassifier(loaded.model, source, loaded.config.normalization, { batchSize: positive(flags, 'batch-size', 'evaluate') ?? 256 });
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
  const loaded = loadImageClassifier(dir);
  let files: string[];
  try {
    files = listImageFiles(input);
  } catch (error) {
    throw new UsageError(`kiln predict: --input ${(error as Error).message}`);
  }
  const predictions = await predictImages(loaded, files, {
    topK: positive(flags, 'top-k', 'predict') ?? 3,
    badImages: oneOf(flags, 'bad-images', ['skip', 'error'] as const, 'predict') ?? 'skip',
    onBadImage: (file, reason) => process.stderr.write(`skipping ${file}: ${reason}\n`),
  });
  for (const p of predictions) {
    process.stdout.write(flags.get('json') === true ? JSON.stringify(p) + '\n' : `${p.file}\t${p.label}\t${p.probability.toFixed(4)}\n`);
  }
  return predictions.length === 0 && files.length > 0 ? 1 : 0;
}
