/** Tokenizers: character-level and GPT-2's byte-level BPE, saved and loaded as tokenizer.json. */
export { CharTokenizer } from './char.js';
export type { CharTokenizerOptions } from './char.js';
export { Gpt2Tokenizer, GPT2_END_OF_TEXT } from './gpt2-bpe.js';
export type { Gpt2TokenizerOptions } from './gpt2-bpe.js';
export { loadTokenizer, saveTokenizer } from './load.js';
export type {
  Tokenizer,
  TokenizerKind,
  EncodeOptions,
  SpecialTokenRole,
  SpecialTokenRoles,
  TokenizerJson,
  AddedTokenJson,
  KilnTokenizerSection,
} from './tokenizer.js';
