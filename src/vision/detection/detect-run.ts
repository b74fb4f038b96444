/**
 * One object-detection run, as `kiln pretrain|finetune --task detect` performs it: make or read
 * the images and their boxes, build a GridDetector (or load one, with a new class head when the
 * labels differ: the box head is kept), train it in the Trainer every task runs in (resume, data
 * parallelism, gradient accumulation, clipping, best checkpoint by validation mAP@0.5, early
 * stopping, time limit, clean stop), and score the best checkpoint on the test images by mAP@0.5
 * and COCO's mAP@[.5:.95]. OUT is a run folder like the other tasks': config.json,
 * metrics.jsonl, model/, best/, state/, eval.json.
 *
 * The built-in data ('digits'): MNIST digits on 64-pixel canvases (detection-data.ts) — training
 * and validation canvases from MNIST's training digits, test canvases from its test digits (the
 * same test canvases for every seed, so runs compare on one set).
 *
 * N = images, C = channels, H = height, W = width.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SeededRandom } from '../../data/random.js';
import type { ProcessGroup } from '../../distributed/process-group.js';
import { epochSampler, type SamplerState } from '../../finetune/batches.js';
import { manualSeed } from '../../tensor/creation.js';
import { getNumThreads, setNumThreads } from '../../tensor/runtime.js';
import { ConfigError } from '../../train/config-error.js';
import { nanoGptAdamW } from '../../train/optimizer-groups.js';
import { mergeConfigLayers } from '../../train/pretrain-config.js';
import { EPOCH_RESUMABLE, epochLoopSchema, epochLoopSettings, epochSteps, epochTrainingSchema } from '../../train/epoch-run-settings.js';
import { type FinetuneLog, type LoopResult, runTrainer, writeRunConfig } from '../../train/trainer.js';
import { stateToResume } from '../../train/training-state.js';
import { writeJsonAtomic } from '../../util/atomic-write.js';
import { EVAL_FILE } from '../../util/run-files.js';
import { checkSetting, custom, defaultsOf, int, num, optionalInt, optionalStr, type SettingsOf, str } from '../../util/settings.js';
import { IDX_NORMALIZATION } from '../mnist.js';
import { defaultNormalization, type Normalization, pixelsToTensor } from '../normalize.js';
import { classListSetting } from '../subsets.js';
import { type DetectionImages, type DigitCanvasOptions, digitCanvases, selectDetections, shiftDetections } from './detection-data.js';
import { readDetectionFiles } from './detection-files.js';
import { detectObjects, type DetectObjectsOptions } from './detect-objects.js';
import { loadDetector, saveDetector } from './detector-folder.js';
import { detectionLoss, GridDetector } from './grid-detector.js';
import { type GroundTruthBox, type MeanAveragePrecision, meanAveragePrecision, type ScoredDetection } from './mean-average-precision.js';

/** Every setting of a detection run, declared once (type, default, doc): the option type, defaults, checks, `--config` keys and flags come from it. */
export const DETECT_RUN_SCHEMA = {
  from: optionalStr(null, 'a detector or run folder (its best/) to start from, a new class head when the labels differ; unset: a new detector', 'a model folder', { valueName: 'DIR' }),
  data: str('digits', 'digits (MNIST digits placed at random on canvases, with their boxes), a YOLO folder (images/, labels/) or a COCO JSON file', { valueName: 'digits|DIR|FILE.json' }),
  testData: optionalStr(null, 'a YOLO folder or COCO JSON file of test images (digits make their own test canvases)', 'a folder or file', { valueName: 'DIR|FILE.json' }),
  classes: classListSetting('keep these digits only, relabelled 0..k-1 in order'),
  trainImages: optionalInt(null, 'training images: canvases to make, or the first N of a file set after the validation share', { defaultText: '8000 canvases, or all' }),
  valImages: int(200, 'validation images (the best checkpoint is chosen on them); a file set holds out at most this many, and at most a fifth', 0),
  testImages: int(500, 'digits: test canvases, from MNIST test digits, the same for every seed', 0),
  imageSize: int(64, 'canvas side, or the side files are resized to, in pixels'),
  channels: custom<1 | 3>(3, 'files: 1 (grey) or 3 (RGB); digits are grey', 'int', (value, key) => {
    if (value === 1 || value === 3) return value;
    throw new ConfigError(`${key} must be 1 or 3, got ${JSON.stringify(value)}`);
  }),
  maxDigits: int(2, 'at most N digits on a canvas'),
  clutter: int(4, 'at most N unlabelled fragments of digits on a canvas (clutter the detector must ignore)', 0),
  width: int(16, 'channels of the first block (then x2, x4)'),
  anchor: num(24, 'the box side (pixels) a zero size prediction means', 'positive'),
  ...epochTrainingSchema({ epochs: 10, batchSize: 32, lr: 2e-3, weightDecay: 5e-4, gradClip: 10, items: 'images' }),
  shift: int(8, 'augment: shift each image by up to N pixels each way, its boxes with it (0: off)', 0),
  seed: int(0, 'seeds the weights, the training canvases, their order and the augmentation', 0),
  ...epochLoopSchema({ validation: 'validation images (mAP)', best: 'validation mAP@0.5' }),
  out: str('runs/detect', 'run folder: config.json, metrics.jsonl, model/, best/ (best validation mAP@0.5), state/, eval.json', { valueName: 'DIR' }),
} as const;

export type DetectRunConfig = SettingsOf<typeof DETECT_RUN_SCHEMA>;
export const DETECT_RUN_DEFAULTS: Readonly<DetectRunConfig> = defaultsOf(DETECT_RUN_SCHEMA);
const DETECT_RUN_KEYS = Object.keys(DETECT_RUN_SCHEMA) as (keyof DetectRunConfig)[];
const RESUMABLE: readonly (keyof DetectRunConfig)[] = EPOCH_RESUMABLE;
/** The test canvases: from MNIST's test digits, with one seed whatever the run's, so every run (and kiln evaluate) scores on the same images. */
function testCanvases(options: Omit<DigitCanvasOptions, 'split' | 'seed'>): DetectionImages {
  return digitCanvases({ ...options, split: 'test', seed: 0 });
}

export function resolveDetectRunConfig(...layers: (Partial<DetectRunConfig> | Readonly<Record<string, unknown>>)[]): Readonly<DetectRunConfig> {
  const config: DetectRunConfig = { ...DETECT_RUN_DEFAULTS };
  mergeConfigLayers(config, layers, DETECT_RUN_KEYS, (key, value) => checkSetting(DETECT_RUN_SCHEMA, key as string, value));
  return Object.freeze(config);
}

/** A detection evaluation: mAP@0.5, @0.75, COCO mAP, per-class AP@0.5, and the images scored. */
export interface DetectionEvaluation extends MeanAveragePrecision {
  images: number;
  objects: number;
  detections: number;
}

/** Scores a detector on images with known boxes. */
export function evaluateDetector(model: GridDetector, images: DetectionImages, normalization: Normalization, options: DetectObjectsOptions = {}): DetectionEvaluation {
  const N = images.objects.length;
  const found = detectObjects(model, images.pixels, [N, images.channels, images.height, images.width], normalization, options);
  const detections: ScoredDetection[] = found.flatMap((objects, image) => objects.map(({ label, score, ...box }) => ({ image, label, score, box })));
  const truths: GroundTruthBox[] = images.objects.flatMap((objects, image) => objects.map(({ label, ...box }) => ({ image, label, box })));
  return { ...meanAveragePrecision(detections, truths, images.classNames.length), images: N, objects: truths.length, detections: detections.length };
}

export interface DetectRunResult extends LoopResult {
  out: string;
  steps: number;
  valMap50: number | null;
  test: DetectionEvaluation | null;
  newHead: boolean;
  parameters: number;
  trainImages: number;
  bestDir: string;
}

export interface DetectRunCallbacks {
  onStart?: (info: { config: Readonly<DetectRunConfig>; parameters: number; newHead: boolean; maxSteps: number; resumedAt: number | null; classNames: readonly string[]; trainImages: number; valImages: number }) => void;
  onLog?: (log: FinetuneLog, info: { totalSteps: number; isEval: boolean }) => void;
  resume?: boolean | undefined;
  signal?: AbortSignal | undefined;
  distributed?: ProcessGroup | undefined;
}

interface DetectionSamplerState extends SamplerState {
  augment: number;
}

interface RunData {
  train: DetectionImages;
  val: DetectionImages | null;
  test: DetectionImages | null;
  normalization: Normalization;
}

/** The images of a run: digit canvases of the chosen classes, or a file set split into training and validation images (seeded). */
async function detectionData(config: Readonly<DetectRunConfig>): Promise<RunData> {
  // The grid's stride is 8 (three pooling blocks).
  if (config.imageSize % 8 !== 0) throw new ConfigError(`image-size must be a multiple of 8 (the detector's grid stride), got ${config.imageSize}`);
  if (config.data === 'digits') {
    const bad = (config.classes ?? []).filter((c) => c > 9);
    if (bad.length > 0) throw new ConfigError(`classes ${bad.join(', ')} are not digits (0-9)`);
    if (config.testData !== null) throw new ConfigError('test-data is for file sets; digits make their own test canvases (test-images)');
    const common = { classes: config.classes ?? undefined, size: config.imageSize, maxScale: Math.min(32, config.imageSize), maxDigits: config.maxDigits, clutter: config.clutter };
    return {
      train: digitCanvases({ ...common, split: 'train', count: config.trainImages ?? 8000, seed: config.seed }),
      val: config.valImages === 0 ? null : digitCanvases({ ...common, split: 'train', count: config.valImages, seed: 1_000_003 + config.seed }),
      test: config.testImages === 0 ? null : testCanvases({ ...common, count: config.testImages }),
      normalization: IDX_NORMALIZATION.mnist,
    };
  }
  if (config.classes !== null) throw new ConfigError('classes chooses digits of the built-in data; a file set trains on all of its classes');
  const options = { size: config.imageSize, channels: config.channels };
  const all = await readDetectionFiles(config.data, options);
  const order = new SeededRandom(config.seed + 2).permutation(all.objects.length);
  const nVal = Math.min(config.valImages, Math.floor(all.objects.length / 5));
  const rest = order.slice(nVal);
  const test = config.testData === null ? null : await readDetectionFiles(config.testData, options);
  if (test !== null && test.classNames.join('\n') !== all.classNames.join('\n')) throw new ConfigError(`test-data ${config.testData} has classes ${test.classNames.join(', ')}; the training data has ${all.classNames.join(', ')}`);
  return {
    train: selectDetections(all, config.trainImages === null ? rest : rest.slice(0, config.trainImages)),
    val: nVal === 0 ? null : selectDetections(all, order.slice(0, nVal)),
    test,
    normalization: defaultNormalization(config.channels),
  };
}

/**
 * Trains and saves; see the module comment.
 * @example
 * const pre = await runDetection({ classes: [0, 1, 2, 3, 4], out: 'runs/det04' });
 * const tuned = await runDetection({ from: 'runs/det04', classes: [5, 6, 7, 8, 9], trainImages: 50, out: 'runs/det59' });
 * console.log(tuned.test?.map50);
 */
export async function runDetection(input: Partial<DetectRunConfig> & { out: string }, callbacks: DetectRunCallbacks = {}): Promise<DetectRunResult> {
  const saved = callbacks.resume === true ? stateToResume<Partial<DetectRunConfig>, unknown>(path.join(input.out, 'state')) : null;
  const config = resolveDetectRunConfig(...(saved === null ? [] : [saved.config as Record<string, unknown>]), input);
  const previousThreads = getNumThreads();
  if (config.threads !== null) setNumThreads(config.threads);
  try {
    manualSeed(config.seed);
    const data = await detectionData(config);
    const classNames = data.train.classNames;
    let model: GridDetector;
    let newHead = false;
    if (config.from === null) {
      model = new GridDetector({ inChannels: data.train.channels, numClasses: classNames.length, channels: [config.width, 2 * config.width, 4 * config.width], anchor: config.anchor });
    } else {
      const loaded = loadDetector(config.from);
      if (loaded.config.num_channels !== data.train.channels) throw new ConfigError(`${config.from} reads ${loaded.config.num_channels}-channel images, the data has ${data.train.channels}`);
      model = loaded.model;
      newHead = loaded.classNames.join('\n') !== classNames.join('\n');
      if (newHead) model.resetHead(classNames.length);
    }
    if (data.train.height % model.stride !== 0) throw new ConfigError(`image-size must be a multiple of ${model.stride} (the detector's grid stride), got ${data.train.height}`);
    const normalization = data.normalization;
    const group = callbacks.distributed;
    const world = group?.worldSize ?? 1;
    const rank = group?.rank ?? 0;
    const N = data.train.objects.length;
    if (N === 0) throw new ConfigError('detection run: no training images');
    const { stepsPerEpoch, maxSteps } = epochSteps(N, config, world);
    model.requiresGrad_(true);
    const optimizer = nanoGptAdamW(model, { lr: config.lr, weightDecay: config.weightDecay, beta1: 0.9, beta2: 0.999 });
    const sampler = epochSampler(N, config.seed);
    const shiftRandom = new SeededRandom(config.seed + 1);
    const out = config.out;
    mkdirSync(out, { recursive: true });
    if (rank === 0) writeRunConfig(out, config);
    if (rank === 0) callbacks.onStart?.({ config, parameters: model.numParameters(), newHead, maxSteps, resumedAt: saved?.step ?? null, classNames, trainImages: N, valImages: data.val?.objects.length ?? 0 });
    const { out: _out, ...made } = config;
    const shape = (n: number): [number, number, number, number] => [n, data.train.channels, data.train.height, data.train.width];
    model.train();
    const loop = await runTrainer<number, DetectionImages>({
      settings: epochLoopSettings(config, maxSteps, stepsPerEpoch),
      run: { config: config as unknown as Record<string, unknown>, defaults: DETECT_RUN_DEFAULTS as unknown as Record<string, unknown>, resumable: RESUMABLE },
      out,
      metricKey: 'val_map50',
      maxSteps,
      optimizer,
      multipliers: optimizer.paramGroups.map(() => 1),
      module: model,
      sampler: {
        state: (): DetectionSamplerState => ({ ...sampler.state(), augment: shiftRandom.state }),
        restore: (state: DetectionSamplerState) => {
          sampler.restore(state);
          shiftRandom.restore(state.augment);
        },
      },
      draw: (count) => sampler.next(count),
      load: (indices) => shiftDetections(selectDetections(data.train, indices), config.shift, shiftRandom),
      rateKey: 'images_per_s',
      lossWeight: (indices) => indices.length,
      tokens: (indices) => indices.length,
      loss: (batch) => detectionLoss(model.forward(pixelsToTensor(batch.pixels, shape(batch.objects.length), normalization)), batch.objects, model.stride, model.config.anchor),
      evaluate: () => {
        if (data.val === null) return { val_loss: Number.NaN };
        const evaluation = evaluateDetector(model, data.val, normalization); // puts the model back in training mode
        return { val_loss: Number.NaN, val_map50: evaluation.map50, val_map: evaluation.map };
      },
      save: (dir, step, metrics) =>
        saveDetector(model, dir, {
          classNames,
          imageSize: [data.train.height, data.train.width],
          normalization,
          info: { architecture: 'grid-detector', made: { by: config.from === null ? 'kiln pretrain' : 'kiln finetune', config: { ...made }, date: new Date().toISOString() }, step, val_map50: metrics.val_map50 ?? null },
        }),
      resume: callbacks.resume,
      distributed: group,
      signal: callbacks.signal,
      onLog: callbacks.onLog === undefined ? undefined : (log, { maxSteps: totalSteps, isEval }) => callbacks.onLog!(log, { totalSteps, isEval }),
    });
    model.eval();
    const bestDir = path.join(out, 'best');
    let test: DetectionEvaluation | null = null;
    if (rank === 0 && data.test !== null) {
      const best = loadDetector(bestDir);
      test = evaluateDetector(best.model, data.test, normalization);
      writeJsonAtomic(path.join(out, EVAL_FILE), { split: 'test', ...test, class_names: classNames });
    }
    return { ...loop, out, steps: loop.step, valMap50: loop.best.val_map50 ?? null, test, newHead, parameters: model.numParameters(), trainImages: N, bestDir };
  } finally {
    if (config.threads !== null) setNumThreads(previousThreads);
  }
}

/**
 * A saved detector scored on images with known boxes (`kiln evaluate --task detect`): 'digits'
 * (the test canvases a run of these classes makes: the model's class names are its digits), a YOLO
 * folder or a COCO file (its classes must be the model's, in order).
 */
export async function evaluateDetectorFolder(modelDir: string, data: string, options: { images?: number; maxDigits?: number; clutter?: number } = {}): Promise<DetectionEvaluation & { classNames: string[] }> {
  const { model, config, classNames } = loadDetector(modelDir);
  const [H] = config.image_size;
  let images: DetectionImages;
  if (data === 'digits') {
    const classes = classNames.map(Number);
    if (classes.some((c) => !Number.isInteger(c) || c < 0 || c > 9)) throw new ConfigError(`${modelDir} detects ${classNames.join(', ')}, not digits; give --data DIR or FILE.json`);
    images = testCanvases({ classes, size: H, maxScale: Math.min(32, H), count: options.images ?? DETECT_RUN_DEFAULTS.testImages, maxDigits: options.maxDigits ?? DETECT_RUN_DEFAULTS.maxDigits, clutter: options.clutter ?? DETECT_RUN_DEFAULTS.clutter });
  } else {
    images = await readDetectionFiles(data, { size: H, channels: config.num_channels as 1 | 3 });
    if (images.classNames.join('\n') !== classNames.join('\n')) throw new ConfigError(`${data} has classes ${images.classNames.join(', ')}; ${modelDir} detects ${classNames.join(', ')}`);
  }
  return { ...evaluateDetector(model, images, config.normalization), classNames };
}
