/**
 * finetune: the whole run a `kiln finetune` invocation performs, as a library call. Settings
 * are layered like pretrain's (defaults → config file → flags); the task picks classification
 * or generation fine-tuning. Writes OUT/metrics.jsonl, OUT/config.json, OUT/model (last),
 * OUT/best (best validation metric; with an adapter/ folder in LoRA mode).
 */
import path from 'node:path';
import { stateToResume } from '../train/training-state.js';
import { getNumThreads, setNumThreads } from '../tensor/runtime.js';
import type { ClassifierEvaluation } from './classify-eval.js';
import { finetuneClassifier } from './classify-run.js';
import { type FinetuneConfig, type FinetuneConfigInput, FINETUNE_DEFAULTS, resolveFinetuneConfig } from './finetune-config.js';
import { finetuneGenerator } from './generate-run.js';
import { isBaseline } from './tfidf/baseline-name.js';
import { finetuneTfidfBaseline } from './tfidf/baseline-run.js';
import type { GenerationEvaluation } from './generation.js';
import { type FinetuneLog, type StoppedBy, writeTestEvaluation } from '../train/trainer.js';
import type { TrainableSetup } from './trainable.js';
import type { ProcessGroup } from '../distributed/process-group.js';

export interface FinetuneOptions {
  /** Settings over the defaults, applied in order (e.g. a config file's, then flags). See FinetuneConfig. */
  config?: FinetuneConfigInput | FinetuneConfigInput[];
  /** Called for every metrics line, as it is written. */
  onLog?: (log: FinetuneLog, info: { maxSteps: number; isEval: boolean }) => void;
  /** Called once before the first step. */
  onStart?: (info: { config: Readonly<FinetuneConfig>; trainExamples: number; valExamples: number; testExamples: number; maxSteps: number; trainable: TrainableSetup; labels?: string[] }) => void;
  /** Stops the run after the current step; it evaluates and saves before returning. */
  signal?: AbortSignal;
  /**
   * Continue the run in `out` from its last checkpoint (OUT/state, written at every evaluation):
   * the weights, optimizer, schedule, batch order and generator, so it ends as an uninterrupted
   * run would. Settings not given are the saved ones; those given may differ only in time-limit,
   * threads, log-every and eval-every.
   */
  resume?: boolean;
  /**
   * Train data-parallel over this process group (`kiln launch` starts the ranks; see
   * processGroupFromLaunch): each rank trains on its share of every batch of
   * worldSize × batchSize examples; rank 0 evaluates, writes and tests.
   */
  distributed?: ProcessGroup;
}

export interface FinetuneResult {
  config: Readonly<FinetuneConfig>;
  task: FinetuneConfig['task'];
  /** Steps completed, and why the loop ended. */
  step: number;
  stoppedBy: StoppedBy;
  /** The step of the best checkpoint, and its validation metrics. */
  bestStep: number;
  best: Partial<FinetuneLog>;
  /** Wall-clock seconds of the training loop (evaluations included, set-up and test excluded). */
  seconds: number;
  trainable: TrainableSetup;
  /** Label names in class-id order (classification). */
  labels: string[] | null;
  /** The best checkpoint on the test split: classification or generation metrics, or null without a test split. */
  test: ClassifierEvaluation | GenerationEvaluation | null;
  modelDir: string;
  bestDir: string;
  /** OUT/best/adapter in LoRA mode, else null. */
  adapterDir: string | null;
}

/**
 * Fine-tunes a model; see the module comment.
 * @example
 * const result = await finetune({ config: { from: 'runs/pretrain/best', trainSize: 200, out: 'runs/spam' } });
 * console.log(result.test); // accuracy, macro_f1, perClass, confusion
 */
export async function finetune(options: FinetuneOptions = {}): Promise<FinetuneResult> {
  const layers = options.config === undefined ? [] : Array.isArray(options.config) ? options.config : [options.config];
  // A resumed run starts from its saved settings; the layers given may change only what resuming allows.
  const saved = options.resume === true ? stateToResume<FinetuneConfig, unknown>(path.join(resolveFinetuneConfig(...layers).out, 'state')) : null;
  const config = saved === null ? resolveFinetuneConfig(...layers) : resolveFinetuneConfig({ ...FINETUNE_DEFAULTS, ...saved.config }, ...layers);
  const previousThreads = getNumThreads();
  if (config.threads !== null) setNumThreads(config.threads);
  try {
    const hooks = { onLog: options.onLog, onStart: options.onStart, signal: options.signal, resume: options.resume, distributed: options.distributed };
    const run =
      isBaseline(config.from) ? await finetuneTfidfBaseline(config, hooks)
      : config.task === 'classify' ? await finetuneClassifier(config, hooks)
      : await finetuneGenerator(config, hooks);
    const labels = 'labels' in run ? run.labels : null;
    if (run.test !== null) writeTestEvaluation(config.out, run.test, labels);
    return {
      config,
      task: config.task,
      step: run.step,
      stoppedBy: run.stoppedBy,
      bestStep: run.bestStep,
      best: run.best,
      seconds: run.seconds,
      trainable: run.trainable,
      labels,
      test: run.test,
      modelDir: path.join(config.out, 'model'),
      bestDir: path.join(config.out, 'best'),
      adapterDir: config.mode === 'lora' ? path.join(config.out, 'best', 'adapter') : null,
    };
  } finally {
    if (config.threads !== null) setNumThreads(previousThreads);
  }
}
