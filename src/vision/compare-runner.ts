/**
 * The runner `kiln compare --task image-classification` uses: one candidate, one seed, one
 * `runImageClassification` with the comparison's budget (N steps, or a wall-clock time as the
 * text runner treats it), scored on the data set's test split (MNIST, Fashion-MNIST) or, for a
 * folder of images, on its validation split.
 */
import { STEPS_FOR_A_TIME_BUDGET } from '../finetune/compare-runner.js';
import type { CompareJob } from '../report/compare-job.js';
import type { CandidateRun } from '../report/comparison.js';
import { ConfigError } from '../train/config-error.js';
import { type ImageRunConfig, resolveImageRunConfig, runImageClassification } from './image-run.js';

export async function imageCompareRunner(job: CompareJob, settings: Partial<ImageRunConfig> = {}): Promise<CandidateRun> {
  if (job.task !== 'image-classification') throw new ConfigError(`the image runner does not do --task ${job.task}`);
  if (job.train.length !== 1) throw new ConfigError(`kiln compare --task image-classification takes one --train data set (mnist, fashion-mnist or a folder), got ${job.train.length}`);
  if (job.test !== undefined) throw new ConfigError("kiln compare --task image-classification scores on the data set's own test split (or a folder's validation split); drop --test");
  const { source, scratchArch } = job.candidate;
  const budget: Partial<ImageRunConfig> = job.budget.steps !== undefined ? { maxSteps: job.budget.steps } : { maxSteps: STEPS_FOR_A_TIME_BUDGET, timeLimit: job.budget.seconds };
  const base = resolveImageRunConfig({ ...settings, ...budget, ...job.compute, data: job.train[0]!, seed: job.seed, out: job.outDir });
  let trainable = 0;
  let imagesPerSecond = 0;
  const result = await runImageClassification(
    { ...base, ...(scratchArch === undefined ? { from: source } : { arch: scratchArch as ImageRunConfig['arch'], from: null }) },
    {
      onStart: (info) => void (trainable = info.trainable),
      onLog: (log, info) => {
        if (!info.isEval && log.images_per_s !== undefined) imagesPerSecond = log.images_per_s;
      },
    },
  );
  const accuracy = result.testAccuracy ?? result.valAccuracy;
  if (accuracy === null) throw new ConfigError(`${job.candidate.name}: the run has neither a test nor a validation split to score; use a val-fraction above 0`);
  return {
    metrics: { accuracy },
    parameters: result.parameters,
    trainableParameters: trainable,
    seconds: result.seconds,
    // Images, not tokens, per second of training.
    tokensPerSecond: imagesPerSecond,
  };
}
