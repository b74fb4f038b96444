/**
 * The Trainer: the one training loop every task runs in — pretraining (causal and masked LM),
 * fine-tuning (classification, generation) and image classification. A task says how to draw
 * and load examples, compute the loss, evaluate and save; the Trainer owns the rest: steps (one
 * memory scope each) under AdamW and a cosine schedule, each the gradient of `gradAccumulation`
 * micro-batches (weighted so that k micro-batches of B equal one batch of kB), on one process or
 * data-parallel over a process group; gradient clipping; a log line every logEvery steps, an
 * evaluation every evalEvery steps and at the end, the last weights in OUT/model, the best by
 * the validation metric in OUT/best, early stopping after `patience` evaluations without
 * improvement, a time limit and a stop signal (Ctrl-C: stop at a step boundary, saved). Every
 * evaluation also writes OUT/state (the module's whole state dict, LoRA adapters unmerged, the
 * optimizer, schedule, sampler, generator and best-checkpoint bookkeeping), from which a killed
 * run resumes (`resume`) and continues exactly as an uninterrupted one would.
 *
 * The run computes on its `device` (the module moved there, its batches made there: the default
 * device is the run's while it trains) in its `precision` (libtorch's autocast for the device;
 * fp16 with dynamic loss scaling). Running out of memory is an OutOfMemoryError that says what
 * to change; the run folder keeps its last checkpoint.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { DistributedDataParallel } from '../distributed/data-parallel.js';
import type { ProcessGroup } from '../distributed/process-group.js';
import { clipCoefficient, clipGradNorm_ } from '../optim/clip.js';
import type { AdamW } from '../optim/adamw.js';
import { GradScaler, type GradScalerState } from '../optim/grad-scaler.js';
import { CosineLR } from '../optim/schedules/cosine.js';
import { scope } from '../tensor/scope.js';
import { autocast } from '../tensor/autocast.js';
import { withDeviceAsync } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { appendText, removeStaleTemporaryFiles, writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import { EVAL_FILE, METRICS_FILE, RUN_CONFIG_FILE } from '../util/run-files.js';
import { applyComputeSettings, type Compute, type ComputeSettings } from './compute-settings.js';
import { asOutOfMemory } from './out-of-memory.js';
import { ConfigError } from './config-error.js';
import { truncateMetrics } from './metrics-file.js';
import { kebabCase } from './pretrain-config.js';
import { loadOptimizerState, restoreRng, saveTrainingState, stateToResume } from './training-state.js';

/** What the loop itself reads of a run's settings (FinetuneConfig's names; an image run maps its own onto them). */
export interface LoopSettings extends ComputeSettings {
  /** Linear warm-up steps. */
  warmup: number;
  /** The cosine schedule's floor (× each group's multiplier). */
  minLr: number;
  /** Gradient-norm clip; 0 is off. */
  gradClip: number;
  /** Examples per micro-batch (per rank). */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  gradAccumulation: number;
  logEvery: number;
  evalEvery: number;
  /** Evaluations without improvement before stopping; 0 never stops early. */
  patience: number;
  /** Wall-clock budget in seconds, or null. */
  timeLimit: number | null;
  seed: number;
}

/**
 * The run's whole settings as OUT/state saves them, and what a resumed run may change: any
 * other key that differs from the saved run's (missing keys read as `defaults`) is refused.
 */
export interface SavedRunSettings {
  config: Readonly<Record<string, unknown>>;
  defaults: Readonly<Record<string, unknown>>;
  resumable: readonly string[];
}

/** A sampler whose position a checkpoint saves (as JSON) and a resumed run restores. */
export interface ResumableSampler {
  state(): unknown;
  restore(state: never): void;
}

/** The module's weights in a state checkpoint. */
const STATE_WEIGHTS = 'weights.safetensors';

/** One line of metrics.jsonl, for every task: a training line, or an evaluation line with validation metrics. */
export interface FinetuneLog {
  step: number;
  /** Mean training loss: of this step on a training line, of the steps since the last eval on an eval line. */
  loss: number;
  lr: number;
  /** Training throughput of a text run (images_per_s on an image run's lines). */
  tokens_per_s?: number;
  images_per_s?: number;
  elapsed_s: number;
  val_loss?: number;
  val_accuracy?: number;
  val_macro_f1?: number;
  val_exact_match?: number;
  val_rouge_l?: number;
  /** A detector's mAP at IoU 0.5 (COCO's AP50) and COCO's mAP@[.5:.95] on the validation images. */
  val_map50?: number;
  val_map?: number;
  /** An embedding's nearest-neighbour identification accuracy and verification ROC AUC on validation identities. */
  val_identification?: number;
  val_auc?: number;
  /** The TF-IDF baseline's regularisation C of this evaluation line (one line per C tried). */
  c?: number;
  /** fp16 runs: the loss scale after this step (it halves after a skipped step). */
  loss_scale?: number;
}

export type StoppedBy = 'maxSteps' | 'timeLimit' | 'signal' | 'earlyStopping';

export interface LoopHooks<Example = unknown, Batch = Example[]> {
  settings: Readonly<LoopSettings>;
  run: SavedRunSettings;
  out: string;
  /** The validation metric key that picks the best checkpoint (e.g. 'val_macro_f1'); lower is better only for val_loss. */
  metricKey: keyof FinetuneLog;
  maxSteps: number;
  optimizer: AdamW;
  /** Each group's lr multiplier (layer-wise decay): the schedule's floor scales with it. */
  multipliers: number[];
  /** What trains: its parameters that require gradients are clipped and stepped; its whole state dict is what a resumed run reloads. */
  module: Module;
  /** What draws the examples: its state is saved with every checkpoint and restored on resume. */
  sampler: ResumableSampler;
  /** Continue from OUT/state when it holds a checkpoint. */
  resume?: boolean | undefined;
  /**
   * Train data-parallel over this process group (`kiln launch`): each rank draws the same
   * global batch of worldSize × batchSize examples and trains on its share; rank 0 alone
   * evaluates, logs and saves, and the ranks stop together.
   */
  distributed?: ProcessGroup | undefined;
  /** The next `count` training examples (the sampler's draw). */
  draw(count: number): Example[];
  /** This rank's share of a micro-batch, made ready for `loss` (images decoded); awaited before the step's scope. Without it, the examples themselves. */
  load?: ((examples: Example[]) => Batch | Promise<Batch>) | undefined;
  /** The name of the throughput key on training lines. @default 'tokens_per_s' */
  rateKey?: 'tokens_per_s' | 'images_per_s' | undefined;
  /**
   * The denominator of the examples' mean loss (their number, their class-weight mass, their
   * completion tokens): micro-batches and ranks are weighted by it, so k micro-batches of B,
   * or W ranks of B, give the gradient of one batch of kB or WB.
   */
  lossWeight(examples: readonly Example[]): number;
  /** Tokens the examples hold (for throughput). */
  tokens(examples: readonly Example[]): number;
  /** The batch's mean loss, a differentiable scalar (called inside the step's scope). */
  loss(batch: Batch): Tensor;
  /** Validation metrics, keys as in FinetuneLog (val_loss NaN without a validation set: the best checkpoint is then the last). */
  evaluate(): (Partial<FinetuneLog> & { val_loss: number }) | Promise<Partial<FinetuneLog> & { val_loss: number }>;
  /** Writes a model folder of the current weights. */
  save(dir: string, step: number, metrics: Partial<FinetuneLog>): void;
  onLog?: ((log: FinetuneLog, info: { maxSteps: number; isEval: boolean }) => void) | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Dynamic loss scaling: each micro-batch's loss is scaled before backward, the gradients
   * unscaled before clipping, a step whose gradients hold an inf or NaN skipped (its schedule
   * step too, as Hugging Face's Trainer does) and the scale updated. fp16 runs get a default
   * GradScaler; other precisions none unless given. Its state is saved with every checkpoint.
   */
  gradScaler?: GradScaler | undefined;
}

export interface LoopResult {
  step: number;
  stoppedBy: StoppedBy;
  bestStep: number;
  /** The validation metrics of the best checkpoint. */
  best: Partial<FinetuneLog>;
  last: Partial<FinetuneLog>;
  seconds: number;
}

/** The settings whose change a resumed run accepts together: the same examples a step, split differently. */
function sameStepBatch(given: Readonly<Record<string, unknown>>, before: Readonly<Record<string, unknown>>): boolean {
  const product = (c: Readonly<Record<string, unknown>>): number => Number(c['batchSize']) * Number(c['gradAccumulation']);
  return Number.isFinite(product(given)) && product(given) === product(before);
}

export async function runTrainer<Example, Batch = Example[]>(hooks: LoopHooks<Example, Batch>): Promise<LoopResult> {
  const compute = applyComputeSettings(hooks.module, hooks.settings);
  return withDeviceAsync(compute.device, () => trainLoop(hooks, compute)); // batches, masks, positions: made where the module is
}

async function trainLoop<Example, Batch>(hooks: LoopHooks<Example, Batch>, compute: Compute): Promise<LoopResult> {
  const { settings: config, out, optimizer, maxSteps } = hooks;
  const load = hooks.load ?? ((examples: Example[]) => examples as unknown as Batch);
  const rateKey = hooks.rateKey ?? 'tokens_per_s';
  const scaler = hooks.gradScaler ?? (compute.precision === 'fp16' ? new GradScaler() : undefined);
  const trained = hooks.module.parameters().filter((p) => p.requiresGrad);
  const group = hooks.distributed;
  const writer = group === undefined || group.rank === 0;
  const metricsFile = path.join(out, METRICS_FILE);
  const stateDir = path.join(out, 'state');
  const scheduler = new CosineLR(optimizer, {
    warmupSteps: Math.min(config.warmup, maxSteps),
    totalSteps: maxSteps,
    minLr: hooks.multipliers.map((m) => config.minLr * m),
  });
  let step = 0;
  let elapsedBefore = 0;
  let best: Partial<FinetuneLog> = {};
  let bestScore = Number.NEGATIVE_INFINITY;
  let bestStep = 0;
  let last: Partial<FinetuneLog> = {};
  let sinceImprovement = 0;

  if (writer) removeStaleTemporaryFiles(out); // left by a process killed mid-write
  const saved = hooks.resume === true ? stateToResume<Record<string, unknown>, unknown>(stateDir) : null;
  if (saved !== null) {
    const { config: given, defaults, resumable } = hooks.run;
    const before: Record<string, unknown> = { ...defaults, ...saved.config }; // a state saved before a setting existed ran with its default
    const regrouped = sameStepBatch(given, before) ? ['batchSize', 'gradAccumulation'] : [];
    const changed = Object.keys(given).filter((k) => !resumable.includes(k) && !regrouped.includes(k) && JSON.stringify(given[k]) !== JSON.stringify(before[k]));
    if (changed.length > 0) {
      const what = changed.map((k) => `${kebabCase(k)} (saved ${JSON.stringify(before[k])}, given ${JSON.stringify(given[k])})`).join(', ');
      throw new ConfigError(`cannot resume with different ${what}; a resumed run may only change ${resumable.map(kebabCase).join(', ')}, and batch-size with grad-accumulation when their product stays the same. Drop those settings, or use a new --out folder`);
    }
    scope(() => {
      hooks.module.loadStateDict(loadSafetensors(path.join(stateDir, saved.modelDir, STATE_WEIGHTS)).tensors);
      optimizer.loadStateDict(loadOptimizerState(stateDir, saved));
    });
    scheduler.loadStateDict(saved.scheduler);
    hooks.sampler.restore(saved.sampler as never);
    restoreRng(saved);
    step = saved.step;
    elapsedBefore = saved.elapsedS;
    const loop = saved.loop as { best: Partial<FinetuneLog>; bestScore: number | null; bestStep: number; last: Partial<FinetuneLog>; sinceImprovement: number; scaler?: GradScalerState | null };
    best = loop.best;
    bestScore = loop.bestScore ?? Number.NEGATIVE_INFINITY;
    bestStep = loop.bestStep;
    last = loop.last;
    sinceImprovement = loop.sinceImprovement;
    if (scaler !== undefined && loop.scaler != null) scaler.loadStateDict(loop.scaler);
    if (writer) truncateMetrics(metricsFile, step); // what the killed run logged after its checkpoint is logged again
  } else if (writer) {
    writeFileAtomic(metricsFile, () => {});
  }
  const ddp = group === undefined ? undefined : new DistributedDataParallel(hooks.module, group);
  const world = ddp?.worldSize ?? 1;
  const rank = ddp?.rank ?? 0;
  await ddp?.broadcastParameters();
  ddp?.seedRank(config.seed + step);
  const start = performance.now();
  const elapsed = (): number => elapsedBefore + (performance.now() - start) / 1000;
  let windowStart = performance.now();
  let windowTokens = 0;
  let tokensPerSecond = 0;
  let lossSum = 0;
  let lossCount = 0;
  let lastLr = scheduler.lastLr[0]! / hooks.multipliers[0]!;

  const log = (entry: FinetuneLog, isEval: boolean): void => {
    if (!writer) return;
    appendText(metricsFile, JSON.stringify(entry) + '\n');
    hooks.onLog?.(entry, { maxSteps, isEval });
  };
  /** Rank 0 evaluates, logs and saves (the last weights, the best, the state); every rank learns whether to stop early. */
  const checkpoint = async (): Promise<boolean> => {
    let stop = false;
    if (writer) {
      const metrics = await hooks.evaluate();
      last = metrics;
      log({ step, loss: lossCount > 0 ? lossSum / lossCount : Number.NaN, lr: lastLr, [rateKey]: tokensPerSecond, elapsed_s: elapsed(), ...metrics }, true);
      hooks.save(path.join(out, 'model'), step, metrics);
      const value = metrics[hooks.metricKey] as number | undefined;
      const score = value === undefined || Number.isNaN(value) ? Number.NEGATIVE_INFINITY : hooks.metricKey !== 'val_loss' ? value : -value;
      // Without a validation metric (no validation set) every checkpoint is the best so far: best/ is the last.
      if (score > bestScore || bestStep === 0 || (score === Number.NEGATIVE_INFINITY && bestScore === Number.NEGATIVE_INFINITY)) {
        bestScore = score;
        best = metrics;
        bestStep = step;
        sinceImprovement = 0;
        hooks.save(path.join(out, 'best'), step, metrics);
      } else {
        sinceImprovement++;
      }
      scope(() =>
        saveTrainingState({
          dir: stateDir,
          step,
          elapsedS: elapsed(),
          scheduler: scheduler.stateDict(),
          sampler: hooks.sampler.state(),
          config: hooks.run.config,
          optimizer: optimizer.stateDict(),
          saveModel: (dir) => {
            mkdirSync(dir, { recursive: true });
            saveSafetensors(path.join(dir, STATE_WEIGHTS), hooks.module.stateDict());
          },
          loop: { best, bestScore: Number.isFinite(bestScore) ? bestScore : null, bestStep, last, sinceImprovement, scaler: scaler?.stateDict() ?? null },
        }),
      );
      stop = config.patience > 0 && sinceImprovement >= config.patience;
    }
    checkpointedAt = step;
    lossSum = 0;
    lossCount = 0;
    windowStart = performance.now(); // evaluation time is not training throughput
    return ddp === undefined ? stop : ddp.any(stop);
  };

  /**
   * One optimizer step's micro-batches: `gradAccumulation` global draws of world × batchSize
   * examples, of which this rank trains on its share (loaded, e.g. decoded, before the step),
   * every share weighted by its loss's denominator over the whole step's.
   */
  const drawStep = async (): Promise<{ micro: { batch: Batch; share: number }[]; tokens: number }> => {
    const B = config.batchSize;
    const draws = Array.from({ length: config.gradAccumulation }, () => {
      const global = hooks.draw(B * world);
      const weight = hooks.lossWeight(global);
      // On one process this rank's share is the whole draw: its weight is known (a masked LM's weighing masks every window).
      return { global, mine: world === 1 ? global : global.slice(rank * B, (rank + 1) * B), weight };
    });
    const total = draws.reduce((sum, m) => sum + m.weight, 0);
    const micro: { batch: Batch; share: number }[] = [];
    for (const m of draws) {
      const mine = world === 1 ? m.weight : hooks.lossWeight(m.mine);
      // The share of the step's mean loss; × world because the ranks' gradients are averaged, not summed.
      micro.push({ batch: await load(m.mine), share: total > 0 ? mine / total : 1 / (draws.length * world) });
    }
    return { micro, tokens: draws.reduce((sum, m) => sum + hooks.tokens(m.global), 0) };
  };
  /** The step's gradient from its micro-batches; returns the step's mean loss (this rank's part). */
  const accumulate = (micro: readonly { batch: Batch; share: number }[]): number => {
    let stepLoss = 0;
    micro.forEach(({ batch, share }, i) => {
      if (i === micro.length - 1) ddp?.armGradientSync(); // this backward completes the step's gradients
      const microLoss = autocast(compute.precision, () => hooks.loss(batch), compute.deviceType);
      const weighted = microLoss.mul(share * world);
      (scaler === undefined ? weighted : scaler.scale(weighted)).backward();
      stepLoss += microLoss.item() * share;
    });
    return stepLoss;
  };

  let stoppedBy: StoppedBy = 'maxSteps';
  // A resumed run's state is a checkpoint of its step already.
  let checkpointedAt = saved === null ? -1 : step;
  /** Runs a step or an evaluation; running out of memory there becomes an OutOfMemoryError that says what to change. */
  const guard = async <T>(evaluating: boolean, fn: () => Promise<T>): Promise<T> => {
    const checkpointStep = checkpointedAt >= 0 ? checkpointedAt : null;
    try {
      return await fn();
    } catch (error) {
      throw asOutOfMemory(error, { out, device: compute.device, batchSize: config.batchSize, gradAccumulation: config.gradAccumulation, step, checkpointStep, evaluating }) ?? error;
    }
  };
  /** One optimizer step: returns the step's mean loss and tokens. */
  const trainStep = async (): Promise<{ loss: number; tokens: number }> => {
    const { micro, tokens } = await drawStep();
    let loss = scope(() => {
      optimizer.zeroGrad();
      return accumulate(micro);
    });
    if (ddp !== undefined) {
      await ddp.syncGradients();
      loss = (await ddp.average(loss)) * world; // the shares sum to the step's mean over the ranks
    }
    if (!Number.isFinite(loss)) {
      throw new Error(`the training loss became ${loss} at step ${step + 1}; lower --lr (or set --grad-clip)${compute.precision === 'fp16' ? ', or use --precision bf16 (fp16 ends at 65,504: loss scaling cannot save a forward pass that overflows)' : ''}`);
    }
    const stepped = scope(() => {
      if (scaler === undefined) {
        // Clipping's coefficient is applied as AdamW reads the gradients: no pass of its own over them.
        if (config.gradClip > 0) {
          const { coefficient, norm } = clipCoefficient(trained, config.gradClip);
          if (Number.isNaN(norm)) throw new Error(`the gradients became NaN at step ${step + 1} (the loss was ${loss}); lower --lr`);
          optimizer.stepScaled(coefficient);
        } else {
          optimizer.step();
        }
        return true;
      }
      scaler.unscale(optimizer); // clipping sees the true gradients
      if (config.gradClip > 0) clipGradNorm_(trained, config.gradClip);
      const ran = scaler.step(optimizer); // skipped when a gradient is inf or NaN
      scaler.update();
      return ran;
    });
    if (stepped) scheduler.step();
    return { loss, tokens };
  };
  while (step < maxSteps) {
    const aborted = hooks.signal?.aborted === true;
    const timeUp = config.timeLimit !== null && (performance.now() - start) / 1000 >= config.timeLimit;
    // Ranks stop together: one rank's signal or clock stops them all.
    if (ddp !== undefined ? await ddp.any(aborted || timeUp) : aborted || timeUp) {
      stoppedBy = timeUp && !aborted ? 'timeLimit' : 'signal';
      break;
    }
    lastLr = scheduler.lastLr[0]! / hooks.multipliers[0]!;
    const { loss, tokens } = await guard(false, trainStep);
    step++;
    lossSum += loss;
    lossCount++;
    windowTokens += tokens;
    if (step % config.logEvery === 0 || step === maxSteps) {
      const now = performance.now();
      tokensPerSecond = windowTokens / ((now - windowStart) / 1000);
      log({ step, loss, lr: lastLr, [rateKey]: tokensPerSecond, elapsed_s: elapsed(), ...(scaler === undefined ? {} : { loss_scale: scaler.scaleValue }) }, false);
      windowStart = now;
      windowTokens = 0;
    }
    if (step % config.evalEvery === 0 || step === maxSteps) {
      if (await guard(true, checkpoint)) {
        stoppedBy = 'earlyStopping';
        break;
      }
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (checkpointedAt !== step) await guard(true, checkpoint);
  ddp?.release();
  return { step, stoppedBy, bestStep, best, last, seconds: elapsed() };
}

/** Writes the run's resolved settings to OUT/config.json. */
export function writeRunConfig(out: string, config: Readonly<object>): void {
  writeJsonAtomic(path.join(out, RUN_CONFIG_FILE), config);
}

/**
 * OUT/eval.json: the best checkpoint's test metrics (an evaluation's scalars; its per-example
 * completions and predictions left out), with the confusion matrix in the form the reports read
 * ({labels, matrix}; rows are true classes, columns predictions).
 */
export function writeTestEvaluation(out: string, test: object, labels: readonly string[] | null): void {
  const { completions: _completions, predictions: _predictions, confusion, ...scalars } = test as Record<string, unknown>;
  const json = { split: 'test', ...scalars, ...(confusion === undefined ? {} : { confusion_matrix: { ...(labels === null ? {} : { labels }), matrix: confusion } }) };
  writeJsonAtomic(path.join(out, EVAL_FILE), json);
}
