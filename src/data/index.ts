/** The data layer: datasets, loaders, seeded randomness for data order. */
export { TensorDataset } from './dataset.js';
export type { Dataset } from './dataset.js';
export { DataLoader, defaultCollate } from './dataloader.js';
export type { DataLoaderOptions } from './dataloader.js';
export { SeededRandom } from './random.js';
