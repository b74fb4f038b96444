/**
 * Choosing the next token from a language model's logits: greedy, or sampled with temperature,
 * top-k and top-p (nucleus) filtering, in that order (as Hugging Face's generate applies them).
 *
 * B = batch, V = vocabulary size.
 */
import { tensor } from '../tensor/creation.js';
import { where } from '../tensor/ops.js';
import { Tensor } from '../tensor/tensor.js';

export interface GenerateOptions {
  /** How many tokens to append. */
  maxNewTokens: number;
  /** Divides the logits before sampling; 0 means greedy (always the most likely token). @default 1 */
  temperature?: number;
  /** Sample only among the k most likely tokens. @default every token */
  topK?: number;
  /** Sample only among the most likely tokens whose probabilities sum to at least p, in (0, 1]. @default 1 (every token) */
  topP?: number;
  /**
   * Seeds the engine's random generator (`manualSeed`) before sampling, so the same seed gives
   * the same tokens. The generator is global: this also reseeds everything else that draws
   * from it. @default no reseeding
   */
  seed?: number;
  /**
   * Ids never chosen: e.g. embedding rows past the tokenizer's vocabulary (padding, reserved
   * [MASK]/[PAD]), which no text decodes from. @default none
   */
  suppressIds?: readonly number[];
  /**
   * Hugging Face's repetition penalty: the logit of every token already in the row (prompt
   * included) is divided by it when positive and multiplied by it when negative; 1 is none.
   * @default 1
   */
  repetitionPenalty?: number;
  /** Generate with the key/value cache where the model has one (GPT, Llama). @default true */
  useCache?: boolean;
}

/** Throws a RangeError naming the first invalid option. */
export function checkGenerateOptions(options: GenerateOptions, vocabSize: number, who: string): void {
  const { maxNewTokens, temperature, topK, topP, seed } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new RangeError(`${who}: maxNewTokens must be a non-negative integer, got ${String(maxNewTokens)}`);
  if (temperature !== undefined && !(temperature >= 0 && Number.isFinite(temperature))) {
    throw new RangeError(`${who}: temperature must be a finite number ≥ 0 (0 = greedy), got ${String(temperature)}`);
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) throw new RangeError(`${who}: topK must be a positive integer, got ${String(topK)}`);
  if (topK !== undefined && topK > vocabSize) throw new RangeError(`${who}: topK (${topK}) is larger than the vocabulary (${vocabSize})`);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new RangeError(`${who}: topP must be in (0, 1], got ${String(topP)}`);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0)) throw new RangeError(`${who}: seed must be a non-negative integer, got ${String(seed)}`);
  const { repetitionPenalty, useCache } = options;
  if (repetitionPenalty !== undefined && !(repetitionPenalty > 0 && Number.isFinite(repetitionPenalty))) {
    throw new RangeError(`${who}: repetitionPenalty must be a positive number (1 = none), got ${String(repetitionPenalty)}`);
  }
  if (useCache !== undefined && typeof useCache !== 'boolean') throw new TypeError(`${who}: useCache must be true or false, got ${String(useCache)}`);
  const { suppressIds } = options;
  if (suppressIds !== undefined) {
    if (!Array.isArray(suppressIds) || !suppressIds.every((id) => Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      throw new RangeError(`${who}: suppressIds must be token ids in [0, ${vocabSize}), got ${JSON.stringify(suppressIds)}`);
    }
    const allowed = vocabSize - new Set(suppressIds).size;
    if (allowed < 1) throw new RangeError(`${who}: suppressIds leave no token to choose from`);
    if (topK !== undefined && topK > allowed) throw new RangeError(`${who}: topK (${topK}) is larger than the ${allowed} tokens that may be chosen`);
  }
}

/** Sets the logits of `ids` to −∞ in every row. logits (B, V) -> (B, V) */
export function suppressFilter(logits: Tensor, ids: readonly number[]): Tensor {
  const B = logits.shape[0]!;
  const index = tensor([...ids], { dtype: 'int64' }).unsqueeze(0).expand(B, ids.length); // (B, k)
  return logits.scatter(-1, index, -Infinity);
}

/**
 * Hugging Face's repetition penalty: logits (B, V) of the ids in `history` (B, T) divided by
 * `penalty` where positive, multiplied where negative. -> (B, V)
 */
export function repetitionFilter(logits: Tensor, history: Tensor, penalty: number): Tensor {
  const seen = logits.gather(-1, history); // (B, T)
  const penalised = where(seen.gt(0), seen.div(penalty), seen.mul(penalty)); // (B, T)
  return logits.scatter(-1, history, penalised); // a repeated id gets the same value each time
}

/** Sets every logit outside the k largest of its row to −∞. logits (B, V) -> (B, V) */
export function topKFilter(logits: Tensor, k: number): Tensor {
  const kth = logits.topk(k, -1).values.narrow(-1, k - 1, 1); // (B, k) -> (B, 1)
  return logits.maskedFill(logits.lt(kth), -Infinity);
}

/**
 * Keeps, per row, the most likely tokens until their probabilities sum to at least p (always
 * at least one) and sets the other logits to −∞. logits (B, V) -> (B, V)
 */
export function topPFilter(logits: Tensor, p: number): Tensor {
  const sorted = logits.sort(-1, true); // (B, V), most likely first
  const probs = sorted.values.softmax(-1); // (B, V)
  const massBefore = probs.cumsum(-1).sub(probs); // (B, V): probability of the tokens ranked above
  const removeSorted = massBefore.ge(p); // (B, V) bool; the first token always stays (0 < p)
  const remove = removeSorted.scatter(-1, sorted.indices, removeSorted); // back to vocabulary order, (B, V)
  return logits.maskedFill(remove, -Infinity);
}

/** The next token per row: logits (B, V) -> ids (B, 1) int64. */
export function nextToken(logits: Tensor, options: GenerateOptions, history?: Tensor): Tensor {
  const temperature = options.temperature ?? 1;
  const penalty = options.repetitionPenalty ?? 1;
  if (penalty !== 1) {
    if (history === undefined) throw new Error('nextToken: repetitionPenalty needs the tokens so far');
    logits = repetitionFilter(logits, history, penalty);
  }
  if (options.suppressIds !== undefined && options.suppressIds.length > 0) logits = suppressFilter(logits, options.suppressIds);
  if (temperature === 0) return logits.argmax(-1, true); // (B, 1)
  let scaled = logits.div(temperature);
  if (options.topK !== undefined) scaled = topKFilter(scaled, options.topK);
  if (options.topP !== undefined && options.topP < 1) scaled = topPFilter(scaled, options.topP);
  return scaled.softmax(-1).multinomial(1); // (B, V) -> (B, 1)
}
