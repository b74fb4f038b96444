/**
 * A character-level LSTM language model: Embedding → LSTM → Linear, trained with AdamW on
 * random windows of a short text, then sampled greedily.
 *
 *   npm run build:ts && node dist/examples/char-lstm.js
 *
 * B = batch of windows, T = window length, V = vocabulary (distinct characters), H = hidden.
 */
import { pathToFileURL } from 'node:url';
import { AdamW, F, Module, SeededRandom, Tensor, clipGradNorm_, manualSeed, nn, noGrad, tensor } from '../src/index.js';

export const POTTERY_TEXT = `A kiln is an oven for clay. The potter shapes a pot on the wheel, lets it dry
for days, and then fires it slowly, so that the water left in the clay can leave without
cracking the walls. The first firing turns clay into biscuit, hard but still porous. Then the
potter dips the pot in glaze, a thin coat of glass powder and colour, and fires it again, much
hotter. In the heat the glaze melts and flows, and when the kiln cools the pot comes out
sealed and bright. Every kiln has its moods: the front runs hot, the back runs cool, and a
good potter learns where each pot should sit. Wood kilns leave ash on the shoulders of the
pots; gas kilns are even and calm; electric kilns are clean and simple. The potter opens the
kiln, lifts each pot into the light, and listens for the small ring that says it is sound.
`.replace(/\n/g, ' ');

export interface CharLstmOptions {
  /** @default 300 */
  steps?: number;
  /** @default console.log */
  log?: (line: string) => void;
}

class CharLstm extends Module {
  embed: nn.Embedding;
  lstm: nn.LSTM;
  head: nn.Linear;

  constructor(vocab: number, hidden: number) {
    super();
    this.embed = new nn.Embedding(vocab, 32);
    this.lstm = new nn.LSTM(32, hidden, { batchFirst: true });
    this.head = new nn.Linear(hidden, vocab);
  }

  /** (B, T) int64 -> logits (B, T, V) */
  forward(ids: Tensor): Tensor {
    const { output } = this.lstm.forward(this.embed.forward(ids)); // (B, T, H)
    return this.head.forward(output);
  }
}

export function trainCharLstm(options: CharLstmOptions = {}): { firstLoss: number; finalLoss: number; sample: string } {
  const steps = options.steps ?? 300;
  const log = options.log ?? console.log;
  manualSeed(0);
  const chars = [...new Set(POTTERY_TEXT)].sort();
  const ids = [...POTTERY_TEXT].map((c) => chars.indexOf(c));
  const model = new CharLstm(chars.length, 64);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  const random = new SeededRandom(0);
  const [batch, window] = [16, 32];
  let firstLoss = 0;
  let finalLoss = 0;
  for (let step = 0; step < steps; step++) {
    const rows: number[] = [];
    for (let b = 0; b < batch; b++) {
      const start = random.int(ids.length - window - 1);
      rows.push(...ids.slice(start, start + window + 1));
    }
    const data = tensor(rows).view(batch, window + 1); // (B, T + 1)
    const [x, y] = [data.narrow(1, 0, window), data.narrow(1, 1, window)]; // inputs, next characters
    const logits = model.forward(x); // (B, T, V)
    const loss = F.crossEntropy(logits.reshape(-1, chars.length), y.reshape(-1));
    optimizer.zeroGrad();
    loss.backward();
    clipGradNorm_(model.parameters(), 1.0);
    optimizer.step();
    if (step === 0) firstLoss = loss.item();
    finalLoss = loss.item();
    if (step % 100 === 0 || step === steps - 1) log(`step ${step}: loss ${finalLoss.toFixed(3)}`);
  }
  // Greedy continuation of a prompt.
  const prompt = 'The potter ';
  const sampled = [...prompt].map((c) => chars.indexOf(c));
  noGrad(() => {
    model.eval();
    for (let i = 0; i < 60; i++) {
      const logits = model.forward(tensor([sampled])); // (1, T, V)
      sampled.push(logits.select(1, -1).argmax(-1).item());
    }
  });
  const sample = sampled.map((i) => chars[i]).join('');
  log(`sample: ${sample}`);
  return { firstLoss, finalLoss, sample };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) trainCharLstm();
