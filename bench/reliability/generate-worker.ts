/**
 * The long-run campaign's generation process: `node generate-worker.js MODEL N` loads MODEL and
 * generates N times (32 new tokens from a short prompt, sampled, the key/value cache on), and
 * prints, every N/50 generations, `G i rssMb` on fd 1, then `D`.
 */
import { writeSync } from 'node:fs';
import { generateText, loadLanguageModel } from '../../src/train/model-folder.js';

const [folder, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (folder === undefined || !Number.isInteger(count) || count < 1) throw new Error('usage: generate-worker MODEL N');
const loaded = loadLanguageModel(folder);
const every = Math.max(1, Math.floor(count / 50));
for (let i = 1; i <= count; i++) {
  generateText(loaded, i % 2 === 0 ? 'the kiln' : 'clay on the wheel', { maxNewTokens: 32, temperature: 0.9, topK: 20, seed: i });
  if (i % every === 0 || i === count) writeSync(1, `G ${i} ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)}\n`);
}
writeSync(1, 'D\n');
