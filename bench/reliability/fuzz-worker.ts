/**
 * One fuzz campaign worker: `node fuzz-worker.js TARGET START END SEED DIR` loads inputs START..END-1
 * of target TARGET (an index into FUZZ_TARGETS) and reports on fd 1, synchronously so a crash
 * loses nothing: `S i loaded refused` before input i, `N i message` for a throw that is not an Error, `W i ms`
 * for an input slower than a second, and at the end `R {"loaded":…,"refused":…,"maxRssKb":…}`.
 */
import { writeSync } from 'node:fs';
import { FUZZ_TARGETS } from './fuzz-targets.js';
import { mutatedInput } from './mutate.js';

const [targetArg, startArg, endArg, seedArg, dir] = process.argv.slice(2);
const target = FUZZ_TARGETS[Number(targetArg)];
if (target === undefined || dir === undefined) throw new Error('usage: fuzz-worker TARGET START END SEED DIR');
const say = (line: string): void => void writeSync(1, line.replace(/\n/g, ' ') + '\n');

const seeds = await target.seeds(dir);
// The unmutated files must load: otherwise every input is refused for a reason that has nothing to do with it.
for (const [i, seed] of seeds.entries()) {
  try {
    await target.load(seed, dir);
  } catch (error) {
    throw new Error(`fuzz target ${target.name}: its valid seed file ${i} does not load: ${(error as Error).message}`);
  }
}
let loaded = 0;
let refused = 0;
for (let i = Number(startArg); i < Number(endArg); i++) {
  say(`S ${i} ${loaded} ${refused}`); // the counts so far survive a crash on input i
  const input = mutatedInput(seeds, target.json, Number(seedArg), i);
  const started = performance.now();
  try {
    await target.load(input, dir);
    loaded++;
  } catch (error) {
    if (error instanceof Error) refused++;
    else say(`N ${i} ${String(error).slice(0, 200)}`);
  }
  const ms = performance.now() - started;
  if (ms > 1000) say(`W ${i} ${ms.toFixed(0)}`);
}
say(`R ${JSON.stringify({ loaded, refused, maxRssKb: process.resourceUsage().maxRSS })}`);
