/**
 * One metric-learning run, as `kiln pretrain|finetune --task embed` performs it: an image model
 * whose head becomes a linear map to an embedding (fine-tuning starts from an image classifier or
 * run folder; pretraining from a new CNN) is trained with ArcFace on training identities in the
 * Trainer every task runs in (resume, data parallelism, accumulation, clipping, best checkpoint by
 * validation identification, early stopping, time limit, clean stop), and scored on identities it
 * never saw: nearest-neighbour identification against a one-image-per-identity gallery, and
 * verification ROC AUC over pairs — before training (the starting embedding) and after.
 *
 * Data: 'digit-instances' (digit-instances.ts: each identity one MNIST digit, its images views of
 * it; training identities from MNIST's training images, validation identities after them, test
 * identities from its test images), or a folder of identities DIR/<identity>/<images>, whose
 * identities are split (seeded) into training, validation and test identities.
 *
 * N = images, C = channels, H = height, W = width, D = embedding size.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SeededRandom } from '../../data/random.js';
import type { ProcessGroup } from '../../distributed/process-group.js';
import { epochSampler } from '../../finetune/batches.js';
import { Module } from '../../nn/module.js';
import { manualSeed, tensor } from '../../tensor/creation.js';
import { getNumThreads, setNumThreads } from '../../tensor/runtime.js';
import { ConfigError } from '../../train/config-error.js';
import { nanoGptAdamW } from '../../train/optimizer-groups.js';
import { mergeConfigLayers } from '../../train/pretrain-config.js';
import { EPOCH_RESUMABLE, epochLoopSchema, epochLoopSettings, epochSteps, epochTrainingSchema } from '../../train/epoch-run-settings.js';
import { type FinetuneLog, type LoopResult, runTrainer, writeRunConfig } from '../../train/trainer.js';
import { stateToResume } from '../../train/training-state.js';
import { writeJsonAtomic } from '../../util/atomic-write.js';
import { EVAL_FILE } from '../../util/run-files.js';
import { checkSetting, custom, defaultsOf, int, num, optionalStr, type SettingsOf, str } from '../../util/settings.js';
import { ImageFolder } from '../image-folder.js';
import { buildImageClassifier, loadImageClassifier, saveImageClassifier } from '../image-model-folder.js';
import type { ImageSource, InMemoryImages } from '../image-source.js';
import { IDX_NORMALIZATION } from '../mnist.js';
import type { ImageClassifier } from '../models/image-classifier.js';
import { defaultNormalization, type Normalization, pixelsToTensor } from '../normalize.js';
import { ImageSubset } from '../subsets.js';
import { digitInstances } from './digit-instances.js';
import { ArcFaceLoss, embedImages, type RecognitionScores, recognitionScores } from './metric-learning.js';

export const EMBED_RUN_SCHEMA = {
  from: optionalStr(null, 'an image classifier or run folder (its best/) whose body starts the embedding; unset: a new CNN', 'a model folder', { valueName: 'DIR' }),
  data: str('digit-instances', 'digit-instances (each identity one MNIST digit, its images views of it) or a folder DIR/<identity>/<images>', { valueName: 'digit-instances|DIR' }),
  identities: int(1000, 'digit-instances: training identities'),
  views: int(8, 'digit-instances: images of each identity'),
  valIdentities: int(100, 'identities held out for validation (the best checkpoint is chosen on them)', 0),
  testIdentities: int(300, 'identities held out for the test (digit-instances: from MNIST test digits)', 0),
  imageSize: int(32, 'folders: resize images to N x N'),
  channels: custom<1 | 3>(3, 'folders: 1 (grey) or 3 (RGB)', 'int', (value, key) => {
    if (value === 1 || value === 3) return value;
    throw new ConfigError(`${key} must be 1 or 3, got ${JSON.stringify(value)}`);
  }),
  embeddingSize: int(128, 'numbers in an embedding'),
  margin: num(0.3, 'ArcFace angular margin m (radians)'),
  scale: num(30, 'ArcFace logit scale s', 'positive'),
  ...epochTrainingSchema({ epochs: 5, batchSize: 64, lr: 1e-3, weightDecay: 1e-4, gradClip: 0, items: 'images' }),
  seed: int(0, 'seeds the new weights, the identity split, the order and the views', 0),
  ...epochLoopSchema({ validation: 'validation identities', best: 'validation identification' }),
  out: str('runs/embed', 'run folder: config.json, metrics.jsonl, model/, best/ (best validation identification), state/, eval.json', { valueName: 'DIR' }),
} as const;

export type EmbedRunConfig = SettingsOf<typeof EMBED_RUN_SCHEMA>;
export const EMBED_RUN_DEFAULTS: Readonly<EmbedRunConfig> = defaultsOf(EMBED_RUN_SCHEMA);
const EMBED_RUN_KEYS = Object.keys(EMBED_RUN_SCHEMA) as (keyof EmbedRunConfig)[];
const RESUMABLE: readonly (keyof EmbedRunConfig)[] = EPOCH_RESUMABLE;

export function resolveEmbedRunConfig(...layers: (Partial<EmbedRunConfig> | Readonly<Record<string, unknown>>)[]): Readonly<EmbedRunConfig> {
  const config: EmbedRunConfig = { ...EMBED_RUN_DEFAULTS };
  mergeConfigLayers(config, layers, EMBED_RUN_KEYS, (key, value) => checkSetting(EMBED_RUN_SCHEMA, key as string, value));
  return Object.freeze(config);
}

/** Recognition scores of a model on a set of identities (gallery: one image per identity). */
export async function scoreEmbedding(model: ImageClassifier, images: ImageSource, normalization: Normalization, seed = 0): Promise<RecognitionScores> {
  const indices = Array.from({ length: images.length }, (_, i) => i);
  const embeddings = await embedImages(model, images, indices, normalization);
  return recognitionScores(embeddings, Array.from(images.labels), 1, seed);
}

/** The embedding net and ArcFace's identity centres: what the Trainer trains and checkpoints. */
class MetricLearner extends Module {
  constructor(readonly net: ImageClassifier & Module, readonly arcface: ArcFaceLoss) {
    super();
  }
}

interface Identities {
  train: ImageSource;
  val: ImageSource | null;
  test: ImageSource | null;
  normalization: Normalization;
}

/** Images of one set of identities, relabelled 0..k-1. */
function identitySubset(source: ImageSource, identities: readonly number[]): ImageSource {
  const keep = new Map(identities.map((id, k) => [id, k]));
  const indices: number[] = [];
  for (let i = 0; i < source.length; i++) if (keep.has(source.labels[i]!)) indices.push(i);
  return new ImageSubset(source, indices, identities.map((id) => source.classNames[id]!), keep);
}

/** The test identities of digit-instances: MNIST's test digits, one seed whatever the run's, so every run (and kiln evaluate) scores on the same images. */
function testInstances(identities: number, views: number): InMemoryImages {
  return digitInstances({ split: 'test', identities, views, seed: 0 });
}

async function identitiesOf(config: Readonly<EmbedRunConfig>): Promise<Identities> {
  if (config.data === 'digit-instances') {
    const views = config.views;
    return {
      train: digitInstances({ split: 'train', identities: config.identities, views, seed: config.seed }),
      val: config.valIdentities === 0 ? null : digitInstances({ split: 'train', identities: config.valIdentities, first: config.identities, views, seed: config.seed + 1 }),
      test: config.testIdentities === 0 ? null : testInstances(config.testIdentities, views),
      normalization: IDX_NORMALIZATION.mnist,
    };
  }
  const folder = await ImageFolder.open(config.data, { size: config.imageSize, channels: config.channels });
  const K = folder.classNames.length;
  const held = config.valIdentities + config.testIdentities;
  if (K - held < 2) throw new ConfigError(`${config.data} has ${K} identities; holding out ${config.valIdentities} for validation and ${config.testIdentities} for the test leaves fewer than 2 to train on (set val-identities / test-identities)`);
  const order = new SeededRandom(config.seed + 5).permutation(K);
  const pick = (from: number, count: number): number[] => order.slice(from, from + count).sort((a, b) => a - b);
  return {
    train: identitySubset(folder, pick(held, K - held)),
    val: config.valIdentities === 0 ? null : identitySubset(folder, pick(0, config.valIdentities)),
    test: config.testIdentities === 0 ? null : identitySubset(folder, pick(config.valIdentities, config.testIdentities)),
    normalization: defaultNormalization(config.channels),
  };
}

export interface EmbedRunResult extends LoopResult {
  out: string;
  steps: number;
  /** The starting embedding's and the trained (best) embedding's scores on the test identities. */
  start: RecognitionScores | null;
  test: RecognitionScores | null;
  parameters: number;
  trainImages: number;
  trainIdentities: number;
  bestDir: string;
}

export interface EmbedRunCallbacks {
  onStart?: (info: { config: Readonly<EmbedRunConfig>; parameters: number; maxSteps: number; resumedAt: number | null; trainImages: number; trainIdentities: number; start: RecognitionScores | null }) => void;
  onLog?: (log: FinetuneLog, info: { totalSteps: number; isEval: boolean }) => void;
  resume?: boolean | undefined;
  signal?: AbortSignal | undefined;
  distributed?: ProcessGroup | undefined;
}

/**
 * Trains and saves; see the module comment.
 * @example
 * const run = await runEmbedding({ from: 'runs/mnist04', out: 'runs/embed' });
 * console.log(run.start?.identification, '→', run.test?.identification);
 */
export async function runEmbedding(input: Partial<EmbedRunConfig> & { out: string }, callbacks: EmbedRunCallbacks = {}): Promise<EmbedRunResult> {
  const saved = callbacks.resume === true ? stateToResume<Partial<EmbedRunConfig>, unknown>(path.join(input.out, 'state')) : null;
  const config = resolveEmbedRunConfig(...(saved === null ? [] : [saved.config as Record<string, unknown>]), input);
  const previousThreads = getNumThreads();
  if (config.threads !== null) setNumThreads(config.threads);
  try {
    manualSeed(config.seed);
    const data = await identitiesOf(config);
    const D = config.embeddingSize;
    let net: ImageClassifier;
    let normalization = data.normalization;
    if (config.from === null) {
      net = buildImageClassifier({ architecture: 'cnn', settings: { inChannels: data.train.channels, numClasses: D, imageSize: [data.train.height, data.train.width], channels: [32, 64] } });
    } else {
      const loaded = loadImageClassifier(config.from);
      const [H, W] = loaded.config.image_size;
      if (loaded.config.num_channels !== data.train.channels || H !== data.train.height || W !== data.train.width) {
        throw new ConfigError(`${config.from} reads ${loaded.config.num_channels}x${H}x${W} images, the identities' images are ${data.train.channels}x${data.train.height}x${data.train.width}`);
      }
      net = loaded.model;
      net.resetHead(D); // the head becomes the embedding: a new linear map from the body's features
      normalization = loaded.config.normalization;
    }
    const trainIdentities = data.train.classNames.length;
    const learner = new MetricLearner(net as ImageClassifier & Module, new ArcFaceLoss(trainIdentities, D, config.margin, config.scale));
    const start = saved === null && data.test !== null ? await scoreEmbedding(net, data.test, normalization) : null;
    const group = callbacks.distributed;
    const world = group?.worldSize ?? 1;
    const rank = group?.rank ?? 0;
    const N = data.train.length;
    const { stepsPerEpoch, maxSteps } = epochSteps(N, config, world);
    learner.requiresGrad_(true);
    const optimizer = nanoGptAdamW(learner, { lr: config.lr, weightDecay: config.weightDecay, beta1: 0.9, beta2: 0.999 });
    const sampler = epochSampler(N, config.seed);
    const out = config.out;
    mkdirSync(out, { recursive: true });
    if (rank === 0) writeRunConfig(out, config);
    if (rank === 0) callbacks.onStart?.({ config, parameters: net.numParameters(), maxSteps, resumedAt: saved?.step ?? null, trainImages: N, trainIdentities, start });
    const { out: _out, ...made } = config;
    const dims = Array.from({ length: D }, (_, i) => `dim${i}`);
    learner.train();
    const loop = await runTrainer<number, { pixels: Uint8Array; labels: Int32Array; n: number }>({
      settings: epochLoopSettings(config, maxSteps, stepsPerEpoch),
      run: { config: config as unknown as Record<string, unknown>, defaults: EMBED_RUN_DEFAULTS as unknown as Record<string, unknown>, resumable: RESUMABLE },
      out,
      metricKey: 'val_identification',
      maxSteps,
      optimizer,
      multipliers: optimizer.paramGroups.map(() => 1),
      module: learner,
      sampler,
      draw: (count) => sampler.next(count),
      load: async (indices) => ({ pixels: await data.train.pixels(indices), labels: Int32Array.from(indices, (i) => data.train.labels[i]!), n: indices.length }),
      rateKey: 'images_per_s',
      lossWeight: (indices) => indices.length,
      tokens: (indices) => indices.length,
      loss: (batch) => learner.arcface.forward(net.forward(pixelsToTensor(batch.pixels, [batch.n, data.train.channels, data.train.height, data.train.width], normalization)), tensor(batch.labels).long()),
      evaluate: async () => {
        if (data.val === null) return { val_loss: Number.NaN };
        const scores = await scoreEmbedding(net, data.val, normalization); // puts the net back in training mode
        return { val_loss: Number.NaN, val_identification: scores.identification, val_auc: scores.verificationAuc };
      },
      save: (dir, step, metrics) =>
        saveImageClassifier(net, dir, {
          classNames: dims,
          channels: data.train.channels,
          imageSize: [data.train.height, data.train.width],
          normalization,
          info: { architecture: net.architecture, task: 'embed', made: { by: config.from === null ? 'kiln pretrain' : 'kiln finetune', config: { ...made }, date: new Date().toISOString() }, step, val_accuracy: metrics.val_identification ?? null, test_accuracy: null }, // val_accuracy: identification
        }),
      resume: callbacks.resume,
      distributed: group,
      signal: callbacks.signal,
      onLog: callbacks.onLog === undefined ? undefined : (log, { maxSteps: totalSteps, isEval }) => callbacks.onLog!(log, { totalSteps, isEval }),
    });
    learner.eval();
    const bestDir = path.join(out, 'best');
    let test: RecognitionScores | null = null;
    if (rank === 0 && data.test !== null) {
      test = await scoreEmbedding(loadImageClassifier(bestDir).model, data.test, normalization);
      writeJsonAtomic(path.join(out, EVAL_FILE), { split: 'test', identities: data.test.classNames.length, ...test, ...(start === null ? {} : { start_identification: start.identification, start_verification_auc: start.verificationAuc }) });
    }
    return { ...loop, out, steps: loop.step, start, test, parameters: net.numParameters(), trainImages: N, trainIdentities, bestDir };
  } finally {
    if (config.threads !== null) setNumThreads(previousThreads);
  }
}

/**
 * A saved embedding scored on identities (`kiln evaluate --task embed`): 'digit-instances' (the
 * test identities a run makes, from MNIST's test digits) or a folder DIR/<identity>/<images>, every
 * identity of it.
 */
export async function evaluateEmbeddingFolder(modelDir: string, data: string, options: { identities?: number; views?: number } = {}): Promise<RecognitionScores & { identities: number }> {
  const { model, config } = loadImageClassifier(modelDir);
  const [H] = config.image_size;
  const images = data === 'digit-instances'
    ? testInstances(options.identities ?? EMBED_RUN_DEFAULTS.testIdentities, options.views ?? EMBED_RUN_DEFAULTS.views)
    : await ImageFolder.open(data, { size: H, channels: config.num_channels as 1 | 3 });
  if (images.height !== H || images.channels !== config.num_channels) throw new ConfigError(`${modelDir} reads ${config.num_channels}x${H}x${H} images, ${data} has ${images.channels}x${images.height}x${images.width}`);
  return { ...(await scoreEmbedding(model, images, config.normalization)), identities: images.classNames.length };
}
