/**
 * Masked-LM pretraining, as BERT: pick ~15% of the tokens, hide them, and score the model on
 * recovering them. Of the picked tokens 80% become [MASK], 10% a random token and 10% stay as
 * they are, so the model cannot learn that only [MASK] positions matter.
 *
 * B = batch, T = time, V = vocabSize.
 */
import { SeededRandom } from '../data/random.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { crossEntropy } from '../nn/functional.js';

/** The label of a position the loss ignores (PyTorch's and Hugging Face's ignore_index). */
export const IGNORE_INDEX = -100;

export interface MaskTokensOptions {
  /** The [MASK] token's id. */
  maskTokenId: number;
  /** Random replacements are drawn uniformly from [0, vocabSize), as Hugging Face's collator does. */
  vocabSize: number;
  /** Ids never picked: [CLS], [SEP], [PAD], [MASK], … (padding must be among them). @default [] */
  specialIds?: readonly number[];
  /** Chance that each (non-special) token is picked. @default 0.15 */
  probability?: number;
  /** Seeds a fresh generator: the same ids and seed give the same masking. Pass this or `generator`. */
  seed?: number;
  /** A generator shared across calls, so each batch is masked differently but a run is reproducible. */
  generator?: SeededRandom;
}

export interface MaskedTokens {
  /** (B, T) int64: the ids with the picked positions replaced (80% [MASK], 10% random, 10% unchanged). */
  input: Tensor;
  /** (B, T) int64: the original id at picked positions, −100 everywhere else. */
  labels: Tensor;
}

function checkOptions(options: MaskTokensOptions): SeededRandom {
  const { maskTokenId, vocabSize, probability = 0.15, seed, generator } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`maskTokens: vocabSize must be a positive integer, got ${String(vocabSize)}`);
  if (!Number.isInteger(maskTokenId) || maskTokenId < 0 || maskTokenId >= vocabSize) {
    throw new RangeError(`maskTokens: maskTokenId must be a token id in [0, ${vocabSize}), got ${String(maskTokenId)}`);
  }
  if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) {
    throw new RangeError(`maskTokens: probability must be in [0, 1], got ${String(probability)}`);
  }
  if ((seed === undefined) === (generator === undefined)) {
    throw new Error('maskTokens: pass exactly one of seed (a number) or generator (a SeededRandom shared across batches)');
  }
  if (generator !== undefined) {
    if (!(generator instanceof SeededRandom)) throw new TypeError('maskTokens: generator must be a SeededRandom');
    return generator;
  }
  if (!Number.isInteger(seed) || seed! < 0) throw new RangeError(`maskTokens: seed must be a non-negative integer, got ${String(seed)}`);
  return new SeededRandom(seed!);
}

/**
 * BERT's masking of a batch of token ids, drawn on the CPU from Kiln's data generator (so it
 * never disturbs libtorch's generator, and hence model initialisation or dropout).
 * ids (B, T) int64 -> { input (B, T), labels (B, T) } int64
 * @example
 * const rng = new SeededRandom(1);
 * const { input, labels } = maskTokens(ids, { maskTokenId: 103, vocabSize: 30522, specialIds: [0, 101, 102, 103], generator: rng });
 */
export function maskTokens(ids: Tensor, options: MaskTokensOptions): MaskedTokens {
  const random = checkOptions(options);
  if (!(ids instanceof Tensor) || ids.dtype !== 'int64') {
    throw new TypeError(`maskTokens: ids must be an int64 Tensor of token ids, got ${ids instanceof Tensor ? ids.dtype : typeof ids}`);
  }
  const { input, labels } = maskIds(ids.toTypedArray() as BigInt64Array, options, random);
  const shape = [...ids.shape];
  return { input: tensor(input, { shape }), labels: tensor(labels, { shape }) };
}

/** One run of ids masked: input and labels as maskTokens makes them, and how many positions were picked. */
export interface MaskedIds {
  input: BigInt64Array;
  labels: BigInt64Array;
  /** Positions picked (labelled): the masked-LM loss's denominator. */
  picked: number;
}

/**
 * maskTokens' masking of plain ids with `random`, no tensors made: the same draws in the same
 * order, so a window masked alone with its own generator is masked the same wherever it lands
 * (which micro-batch, which rank). Options are as maskTokens' (not re-checked here).
 */
export function maskIds(ids: ArrayLike<number | bigint>, options: Pick<MaskTokensOptions, 'maskTokenId' | 'vocabSize' | 'specialIds' | 'probability'>, random: SeededRandom): MaskedIds {
  const { maskTokenId, vocabSize, probability = 0.15 } = options;
  const special = new Set(options.specialIds ?? []);
  const input = new BigInt64Array(ids.length);
  const labels = new BigInt64Array(ids.length).fill(BigInt(IGNORE_INDEX));
  let picked = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = BigInt(ids[i]!);
    input[i] = id;
    if (special.has(Number(id)) || random.next() >= probability) continue;
    labels[i] = id;
    picked++;
    const action = random.next();
    if (action < 0.8) input[i] = BigInt(maskTokenId);
    else if (action < 0.9) input[i] = BigInt(random.int(vocabSize));
    // else (10%): the token stays, but is still scored
  }
  return { input, labels, picked };
}

/**
 * The masked-LM loss: mean cross-entropy over the positions whose label is not −100; 0 (with
 * zero gradient) when no position is labelled, where a plain mean would be NaN.
 * logits (B, T, V), labels (B, T) int64 -> scalar
 */
export function maskedLmLoss(logits: Tensor, labels: Tensor): Tensor {
  if (logits.ndim !== 3 || labels.ndim !== 2 || labels.shape[0] !== logits.shape[0] || labels.shape[1] !== logits.shape[1]) {
    throw new TypeError(`maskedLmLoss: expected logits (B, T, V) and labels (B, T), got [${logits.shape.join(', ')}] and [${labels.shape.join(', ')}]`);
  }
  const [B, T, V] = logits.shape as [number, number, number];
  const summed = crossEntropy(logits.reshape(B * T, V), labels.reshape(B * T), { ignoreIndex: IGNORE_INDEX, reduction: 'sum' }); // (B·T, V), (B·T) -> ()
  const counted = labels.ne(IGNORE_INDEX).sum().clamp(1, null); // how many positions are scored
  return summed.div(counted);
}
