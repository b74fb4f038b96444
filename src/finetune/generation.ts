/**
 * Prompt → completion data for generation fine-tuning, and its evaluation: the loss on
 * completion tokens only, and greedy completions scored by exact match and ROUGE-L.
 *
 * B = batch, T = sequence length.
 */
import { TextDataError } from '../data/text-data-error.js';
import { readTextFile } from '../data/text-readers.js';
import { noGrad } from '../tensor/autograd.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { CausalLM } from '../train/architectures.js';
import { padBatch } from './batches.js';
import { encodeLenient } from './encode.js';
import { type GenerationMetrics, generationMetrics } from './metrics.js';

export interface PromptCompletion {
  prompt: string;
  completion: string;
}

/** Targets equal to this are not scored (the prompt's positions, padding). */
export const IGNORE = -100;

/** The {"prompt", "completion"} records of a JSONL file. */
export function readPromptCompletions(file: string, columns: { prompt?: string; completion?: string } = {}): PromptCompletion[] {
  const promptKey = columns.prompt ?? 'prompt';
  const completionKey = columns.completion ?? 'completion';
  if (!/\.(jsonl|ndjson)$/i.test(file)) throw new TextDataError(file, `generation data must be a .jsonl file of {"${promptKey}": …, "${completionKey}": …} records`);
  const out: PromptCompletion[] = [];
  for (const [i, raw] of readTextFile(file).split('\n').entries()) {
    if (raw.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch (error) {
      throw new TextDataError(file, `not valid JSON (${(error as Error).message})`, i + 1);
    }
    const fields = (record ?? {}) as Record<string, unknown>;
    for (const key of [promptKey, completionKey]) {
      if (typeof fields[key] !== 'string') {
        throw new TextDataError(file, `no string "${key}" field (fields: ${Object.keys(fields).join(', ') || 'none'}); each line needs "${promptKey}" and "${completionKey}"`, i + 1);
      }
    }
    out.push({ prompt: fields[promptKey] as string, completion: fields[completionKey] as string });
  }
  if (out.length === 0) throw new TextDataError(file, 'has no examples; it needs at least one {"prompt", "completion"} line');
  return out;
}

/** How completions end: the tokenizer's eos, else a newline when it is one token, else nothing. */
export function terminatorId(tokenizer: Tokenizer): number | undefined {
  if (tokenizer.eosId !== undefined) return tokenizer.eosId;
  try {
    const ids = tokenizer.encode('\n');
    return ids.length === 1 ? ids[0] : undefined;
  } catch {
    return undefined;
  }
}

export interface EncodedPair {
  /** Inputs (T) and targets (T): targets[t] is the token after inputs[t], IGNORE on the prompt. */
  inputs: number[];
  targets: number[];
  /** Prompt ids (cut to leave room to generate). */
  prompt: number[];
}

/** A pair as one sequence prompt + completion + terminator, cut to `maxLength` inputs (the prompt's head goes first). */
export function encodePair(tokenizer: Tokenizer, pair: PromptCompletion, maxLength: number): EncodedPair {
  const stop = terminatorId(tokenizer);
  let prompt = encodeLenient(tokenizer, pair.prompt);
  let completion = encodeLenient(tokenizer, pair.completion);
  if (stop !== undefined) completion = [...completion, stop];
  if (prompt.length === 0) prompt = [stop ?? 0];
  completion = completion.slice(0, maxLength); // at least one prompt token must precede it
  if (prompt.length + completion.length > maxLength + 1) prompt = prompt.slice(prompt.length + completion.length - (maxLength + 1));
  const sequence = [...prompt, ...completion];
  const inputs = sequence.slice(0, -1);
  const targets = sequence.slice(1).map((id, j) => (j < prompt.length - 1 ? IGNORE : id));
  return { inputs, targets, prompt: prompt.slice(Math.max(0, prompt.length - (maxLength - 1))) };
}

/** Padded (B, T) inputs and targets (IGNORE after each sequence). */
export function pairBatch(pairs: readonly EncodedPair[], padId: number): { x: ReturnType<typeof tensor>; y: ReturnType<typeof tensor>; tokens: number } {
  const { ids: x } = padBatch(pairs.map((p) => p.inputs), padId); // (B, T)
  const { ids: y } = padBatch(pairs.map((p) => p.targets), IGNORE); // (B, T)
  return { x, y, tokens: pairs.reduce((s, p) => s + p.inputs.length, 0) };
}

/** Mean loss per completion token over the pairs, in eval mode, without gradients. */
export function completionLoss(model: CausalLM, pairs: readonly EncodedPair[], padId: number, batchSize = 32): number {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let sum = 0;
      let count = 0;
      for (let start = 0; start < pairs.length; start += batchSize) {
        const batch = pairs.slice(start, start + batchSize);
        const scored = batch.reduce((s, p) => s + p.targets.filter((t) => t !== IGNORE).length, 0);
        sum += scope(() => {
          const { x, y } = pairBatch(batch, padId);
          return model.loss(x, y).item();
        }) * scored;
        count += scored;
      }
      return count === 0 ? Number.NaN : sum / count;
    });
  } finally {
    model.train(wasTraining);
  }
}

/**
 * Greedy completions of the prompts: up to maxNewTokens each, cut at the terminator. Prompts of
 * equal length are generated together.
 */
export function greedyCompletions(model: CausalLM, tokenizer: Tokenizer, prompts: readonly (readonly number[])[], maxNewTokens: number, batchSize = 64): string[] {
  const stop = terminatorId(tokenizer);
  const out = new Array<string>(prompts.length);
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]));
  for (const [length, indices] of byLength) {
    for (let start = 0; start < indices.length; start += batchSize) {
      const group = indices.slice(start, start + batchSize);
      const rows = scope(() => {
        const ids = tensor(group.flatMap((i) => [...prompts[i]!]), { dtype: 'int64' }).view(group.length, length); // (B, T)
        return model.generate(ids, { maxNewTokens, temperature: 0 }).toArray() as number[][]; // (B, T + maxNewTokens)
      });
      group.forEach((i, r) => {
        const generated = rows[r]!.slice(length);
        const end = stop === undefined ? -1 : generated.indexOf(stop);
        out[i] = tokenizer.decode(end === -1 ? generated : generated.slice(0, end));
      });
    }
  }
  return out;
}

export interface GenerationEvaluation extends GenerationMetrics {
  /** Mean loss per completion token (nats), and its exponential. */
  loss: number;
  perplexity: number;
  completions: string[];
}

/** Loss, perplexity, exact match and ROUGE-L of a causal LM on prompt → completion pairs. */
export function evaluateGeneration(model: CausalLM, tokenizer: Tokenizer, pairs: readonly PromptCompletion[], options: { maxLength: number; maxNewTokens: number; padId: number }): GenerationEvaluation {
  const encoded = pairs.map((p) => encodePair(tokenizer, p, options.maxLength));
  const loss = completionLoss(model, encoded, options.padId);
  const completions = greedyCompletions(model, tokenizer, encoded.map((e) => e.prompt), options.maxNewTokens);
  return { ...generationMetrics(completions, pairs.map((p) => p.completion)), loss, perplexity: Math.exp(loss), completions };
}
