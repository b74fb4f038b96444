/** The data layer: datasets, loaders, seeded randomness for data order. */
export { TensorDataset } from './dataset.js';
export type { Dataset } from './dataset.js';
export { DataLoader, defaultCollate } from './dataloader.js';
export type { DataLoaderOptions } from './dataloader.js';
export { SeededRandom } from './random.js';
export {
  DOCUMENT_SEPARATOR,
  TEXT_FILE_EXTENSIONS,
  readTextFile,
  listTextFiles,
  readTextFolder,
  readJsonlTexts,
  parseCsv,
  readCsvTexts,
  readTextDocuments,
  readText,
  readTextSources,
} from './text-readers.js';
export type { TextReadOptions, CsvOptions, CsvRecord } from './text-readers.js';
export { TextDataError } from './text-data-error.js';
export { defaultCorpus, defaultCorpusDocuments, defaultCorpusInfo } from './default-corpus.js';
export type { DefaultCorpusSource, DefaultCorpusOptions, DefaultCorpusSourceInfo } from './default-corpus.js';
export {
  TOKEN_FILE_MAGIC,
  TOKEN_FILE_VERSION,
  TOKEN_FILE_HEADER_BYTES,
  tokenDtypeFor,
  writeTokenFile,
  readTokenFile,
  readTokenFileHeader,
  splitTokens,
} from './token-file.js';
export type { TokenArray, TokenFileHeader, ReadTokenFileOptions } from './token-file.js';
export { TokenFileError } from './token-file-error.js';
export { randomWindows, RandomWindowSampler, evalWindows, EvalWindows } from './lm-batches.js';
export type {
  TokenIds,
  LmBatch,
  WindowOptions,
  RandomWindowsOptions,
  RandomWindowsState,
  EvalWindowsOptions,
} from './lm-batches.js';
