/**
 * The runner `kiln compare --task image-classification` uses: one candidate, one seed, one
 * `runImageClassification` with the comparison's budget, scored on the data set's test split
 * (MNIST, Fashion-MNIST) or, for a folder of images, on its validation split.
 *
 * Image runs are counted in epochs, so a budget of N steps becomes the whole number of epochs
 * closest to N batches (at least one); a wall-clock budget is refused.
 */
import type { CompareJob } from '../report/compare-job.js';
import type { CandidateRun } from '../report/comparison.js';
import { ConfigError } from '../train/config-error.js';
import { prepareImageData } from './image-data.js';
import { type ImageRunConfig, resolveImageRunConfig, runImageClassification } from './image-run.js';

export async function imageCompareRunner(job: CompareJob, settings: Partial<ImageRunConfig> = {}): Promise<CandidateRun> {
  if (job.task !== 'image-classification') throw new ConfigError(`the image runner does not do --task ${job.task}`);
  if (job.budget.steps === undefined) throw new ConfigError('kiln compare --task image-classification takes --steps N: image runs are counted in batches (whole epochs), not in time');
  if (job.train.length !== 1) throw new ConfigError(`kiln compare --task image-classification takes one --train data set (mnist, fashion-mnist or a folder), got ${job.train.length}`);
  if (job.test !== undefined) throw new ConfigError("kiln compare --task image-classification scores on the data set's own test split (or a folder's validation split); drop --test");
  const { source, scratchArch } = job.candidate;
  const base = resolveImageRunConfig({ ...settings, data: job.train[0]!, seed: job.seed, out: job.outDir });
  const images = (await prepareImageData(base)).train.length;
  const epochs = Math.max(1, Math.round((job.budget.steps * base.batchSize) / images));
  let trainable = 0;
  const result = await runImageClassification(
    { ...base, epochs, ...(scratchArch === undefined ? { from: source } : { arch: scratchArch as ImageRunConfig['arch'], from: null }) },
    { onStart: (info) => void (trainable = info.trainable) },
  );
  const accuracy = result.testAccuracy ?? result.valAccuracy;
  if (accuracy === null) throw new ConfigError(`${job.candidate.name}: the run has neither a test nor a validation split to score; use a val-fraction above 0`);
  return {
    metrics: { accuracy },
    parameters: result.parameters,
    trainableParameters: trainable,
    seconds: result.seconds,
    // Images, not tokens, per second of training.
    tokensPerSecond: (result.trainImages * epochs) / result.seconds,
  };
}
