/** Models: a config type and a Module each. */
export { GPT, GPTTransformer } from './gpt.js';
export { gptConfig, GPT_CONFIG_DEFAULTS } from './gpt-config.js';
export type { GPTConfig } from './gpt-config.js';
export { topKFilter, topPFilter } from './sampling.js';
export type { GenerateOptions } from './sampling.js';
export {
  BertModel,
  BertForMaskedLM,
  BertForSequenceClassification,
  BertEmbeddings,
  BertSelfAttention,
  BertAttention,
  BertResidualOutput,
  BertIntermediate,
  BertLayer,
  BertEncoder,
  BertPooler,
  BertPredictionHeadTransform,
  BertLMPredictionHead,
  BertOnlyMLMHead,
} from './bert.js';
export type { BertInputs, BertOutput, BertModelOptions, SequenceClassificationOptions } from './bert.js';
export { bertConfig, BERT_CONFIG_DEFAULTS } from './bert-config.js';
export type { BertConfig } from './bert-config.js';
export { maskTokens, maskedLmLoss, IGNORE_INDEX } from './masked-lm.js';
export type { MaskTokensOptions, MaskedTokens } from './masked-lm.js';
export { Llama, LlamaModel, LlamaDecoderLayer } from './llama.js';
export { llamaConfig, LLAMA_CONFIG_DEFAULTS } from './llama-config.js';
export type { LlamaConfig } from './llama-config.js';
export { CausalLanguageModel } from './causal-language-model.js';
export { LstmLM } from './lstm-lm.js';
export { lstmLMConfig, LSTM_LM_CONFIG_DEFAULTS } from './lstm-lm-config.js';
export type { LstmLMConfig } from './lstm-lm-config.js';
export { generateByMasking } from './masked-generation.js';
export type { MaskedGenerateOptions, MaskedLanguageModel } from './masked-generation.js';
