/** Models: a config type and a Module each. */
export { GPT, GPTTransformer } from './gpt.js';
export { gptConfig, GPT_CONFIG_DEFAULTS } from './gpt-config.js';
export type { GPTConfig } from './gpt-config.js';
export { topKFilter, topPFilter } from './sampling.js';
export type { GenerateOptions } from './sampling.js';
