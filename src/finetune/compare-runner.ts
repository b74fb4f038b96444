/**
 * The fine-tuning runner `kiln compare` uses for text tasks: one candidate, one seed, one
 * `finetune` run with the comparison's budget, scored on the test split.
 *
 * Without --test, each run holds out a stratified test split drawn with the run's seed: every
 * candidate sees the same split for a given seed, and the spread over seeds includes the split.
 */
import type { CompareJob } from '../report/compare-job.js';
import type { CandidateRun } from '../report/comparison.js';
import { ConfigError } from '../train/config-error.js';
import { finetune } from './finetune.js';
import type { FinetuneConfigInput } from './finetune-config.js';

/**
 * The cosine schedule's length when the budget is wall-clock time: long enough that the time
 * limit, not the step count, ends the run.
 */
export const STEPS_FOR_A_TIME_BUDGET = 1_000_000;

/** Fine-tunes `job.candidate` on `job.train` and returns its test metrics (classify or generate). */
export async function finetuneCompareRunner(job: CompareJob, settings: FinetuneConfigInput = {}): Promise<CandidateRun> {
  if (job.task !== 'classify' && job.task !== 'generate') throw new ConfigError(`the text fine-tuning runner does not do --task ${job.task}`);
  if (job.train.length !== 1) throw new ConfigError(`kiln compare --task ${job.task} takes one --train file or folder, got ${job.train.length}`);
  if (job.test !== undefined && job.test.length !== 1) throw new ConfigError(`kiln compare --task ${job.task} takes one --test file, got ${job.test.length}`);
  const budget: FinetuneConfigInput = job.budget.steps !== undefined ? { maxSteps: job.budget.steps } : { maxSteps: STEPS_FOR_A_TIME_BUDGET, timeLimit: job.budget.seconds };
  let tokensPerSecond = 0;
  const result = await finetune({
    config: [
      settings,
      {
        task: job.task,
        from: job.candidate.source,
        train: job.train[0]!,
        ...(job.test === undefined ? {} : { test: job.test[0]! }),
        ...budget,
        seed: job.seed,
        out: job.outDir,
        ...job.compute,
      },
    ],
    onLog: (log, info) => {
      if (!info.isEval && log.tokens_per_s !== undefined) tokensPerSecond = log.tokens_per_s;
    },
  });
  if (result.test === null) throw new ConfigError(`${job.candidate.name}: the run has no test split to score; give --test or leave part of --train for testing`);
  // The scalar test metrics: accuracy, macro_f1, loss (classify); loss, perplexity, exact_match, rouge_l (generate).
  const metrics: Record<string, number> = {};
  for (const [key, value] of Object.entries(result.test)) if (typeof value === 'number' && key !== 'count') metrics[key] = value;
  return {
    metrics,
    parameters: result.trainable.totalParameters,
    trainableParameters: result.trainable.trainableParameters,
    seconds: result.seconds,
    tokensPerSecond,
  };
}
