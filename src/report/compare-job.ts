/**
 * What `kiln compare` asks of a runner: one fine-tuning job (a candidate, a seed, a budget) and
 * the runner's type. The text and image runners (src/finetune/compare-runner.ts,
 * src/vision/compare-runner.ts) implement it; src/cli/compare-command.ts builds the jobs.
 */
import type { Precision } from '../tensor/autocast.js';
import type { CompareCandidate } from './compare-candidates.js';
import type { CandidateRun } from './comparison.js';

export const COMPARE_TASKS = ['classify', 'generate', 'image-classification'] as const;
export type CompareTask = (typeof COMPARE_TASKS)[number];

/** One fine-tuning run the runner must perform. */
export interface CompareJob {
  task: CompareTask;
  /** --train files. */
  train: string[];
  /** --test files; undefined: the runner holds out part of --train (the same part for every candidate). */
  test: string[] | undefined;
  candidate: CompareCandidate;
  seed: number;
  /** The budget: exactly one of these is set. */
  budget: { steps: number; seconds?: never } | { seconds: number; steps?: never };
  /** The run folder to write (exists, empty). */
  outDir: string;
  /** Where and in what precision every run computes (--device, --precision); absent: the runs' defaults. */
  compute?: { device?: string; precision?: Precision };
}

/** Fine-tunes and evaluates one candidate with one seed; see CandidateRun for what to return. */
export type CompareRunner = (job: CompareJob) => Promise<CandidateRun>;
