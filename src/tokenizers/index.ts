/**
 * Tokenizers: character-level, GPT-2's byte-level BPE, byte-level BPE trained on a corpus, and
 * any Hugging Face tokenizer.json (HfTokenizer), saved and loaded as tokenizer.json.
 */
export { CharTokenizer } from './char.js';
export type { CharTokenizerOptions } from './char.js';
export { Gpt2Tokenizer, GPT2_END_OF_TEXT } from './gpt2-bpe.js';
export type { Gpt2TokenizerOptions } from './gpt2-bpe.js';
export { loadTokenizer, saveTokenizer, TOKENIZER_CONFIG_FILE } from './load.js';
export { HfTokenizer } from './hf-tokenizer.js';
export { trainByteLevelBpe, DEFAULT_BPE_VOCAB_SIZE, MIN_BPE_VOCAB_SIZE } from './train-bpe.js';
export type { TrainBpeOptions } from './train-bpe.js';
export type {
  Tokenizer,
  TokenizerKind,
  EncodeOptions,
  DecodeOptions,
  SpecialTokenRole,
  SpecialTokenRoles,
  TokenizerJson,
  AddedTokenJson,
  KilnTokenizerSection,
} from './tokenizer.js';
