/**
 * The ids a pretrained model's embedding holds: the tokenizer's, then any the run reserves. A
 * masked LM needs a [MASK] token (and BERT a [PAD] row that is not a real token); when the
 * tokenizer has none, the run reserves ids right after the tokenizer's vocabulary for them.
 * They are recorded in the model folder (kiln.json, and BERT's config.json), so generation and
 * fine-tuning find them again.
 */
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { ConfigError } from './config-error.js';

/** How a model is trained: predict the next token, or recover masked ones. */
export type Objective = 'causal' | 'masked';

export interface ModelVocabulary {
  /** Embedding rows. */
  size: number;
  /** The tokenizer's ids, [0, tokenizerSize): the only ids text decodes from. */
  tokenizerSize: number;
  /** [MASK]: the tokenizer's mask token, or an id reserved after its vocabulary; null for causal models. */
  maskTokenId: number | null;
  /** [PAD]: the tokenizer's pad token, or an id reserved after its vocabulary; null for causal models. */
  padTokenId: number | null;
}

/** The id of the tokenizer's special token for `role`, when it has one (`mask` comes with newer tokenizers). */
function roleId(tokenizer: Tokenizer, role: string): number | undefined {
  const text = (tokenizer.roles as Readonly<Record<string, string | undefined>>)[role];
  return text === undefined ? undefined : tokenizer.specialTokens.get(text);
}

/**
 * The vocabulary a run's model gets from its tokenizer, objective and `vocabSize` setting (null:
 * as small as possible). A masked objective takes [MASK] and [PAD] from the tokenizer's special
 * tokens or reserves them at tokenizerSize, tokenizerSize + 1.
 */
export function modelVocabulary(tokenizer: Tokenizer, objective: Objective, vocabSize: number | null): ModelVocabulary {
  const tokenizerSize = tokenizer.vocabSize;
  let next = tokenizerSize;
  let maskTokenId: number | null = null;
  let padTokenId: number | null = null;
  if (objective === 'masked') {
    maskTokenId = roleId(tokenizer, 'mask') ?? next++;
    padTokenId = roleId(tokenizer, 'pad') ?? next++;
  }
  const reserved = next - tokenizerSize;
  if (vocabSize !== null && vocabSize < next) {
    const why = reserved === 0 ? '' : ` plus ${reserved} reserved for [MASK]/[PAD] (the tokenizer has no such tokens)`;
    throw new ConfigError(`vocab-size ${vocabSize} is smaller than the tokenizer's ${tokenizerSize} ids${why}; leave it unset or give at least ${next}`);
  }
  return { size: vocabSize ?? next, tokenizerSize, maskTokenId, padTokenId };
}

/** Ids generation must never produce: [MASK], [PAD] and the rows past the tokenizer's vocabulary. */
export function unspeakableIds(vocabulary: ModelVocabulary): number[] {
  const ids = new Set<number>();
  if (vocabulary.maskTokenId !== null) ids.add(vocabulary.maskTokenId);
  if (vocabulary.padTokenId !== null) ids.add(vocabulary.padTokenId);
  for (let id = vocabulary.tokenizerSize; id < vocabulary.size; id++) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}
