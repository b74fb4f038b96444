/**
 * Image fine-tuning: pretrain a small CNN on MNIST digits 0–4, then teach it digits 5–9 from a
 * handful of labelled images each — and the same few images from scratch, to see what the
 * pretrained features buy.
 *
 * Run: npm run build:ts && node dist/examples/image-finetune.js
 */
import { pathToFileURL } from 'node:url';
import { runImageClassification } from '../src/index.js';

export interface ImageFinetuneSizes {
  /** Pretraining images per class (digits 0–4). */
  pretrainPerClass: number;
  pretrainEpochs: number;
  /** Labelled images per class for fine-tuning (digits 5–9). */
  finetunePerClass: number;
  finetuneEpochs: number;
  out: string;
}

export const FULL_SIZES: ImageFinetuneSizes = { pretrainPerClass: 1000, pretrainEpochs: 2, finetunePerClass: 10, finetuneEpochs: 20, out: 'runs/example-images' };

export async function imageFinetune(sizes: ImageFinetuneSizes = FULL_SIZES, print: (line: string) => void = console.log): Promise<{ pretrained: number; scratch: number }> {
  const common = { data: 'mnist', arch: 'cnn' as const, batchSize: 20, lr: 2e-3, valSize: 500, threads: 1 };

  // 1. A broad task: the first five digits, plenty of examples.
  const base = await runImageClassification({ ...common, classes: [0, 1, 2, 3, 4], perClass: sizes.pretrainPerClass, epochs: sizes.pretrainEpochs, out: `${sizes.out}/digits-0-4` });
  print(`pretrained on digits 0-4: test accuracy ${(100 * base.testAccuracy!).toFixed(1)}%`);

  // 2. The narrow task: five new digits, a few labelled images each. The head is replaced
  //    (new labels); the convolutional features carry over.
  const few = { ...common, classes: [5, 6, 7, 8, 9], perClass: sizes.finetunePerClass, epochs: sizes.finetuneEpochs };
  const tuned = await runImageClassification({ ...few, from: base.out, out: `${sizes.out}/digits-5-9-pretrained` });
  const scratch = await runImageClassification({ ...few, out: `${sizes.out}/digits-5-9-scratch` });
  print(`digits 5-9 from ${sizes.finetunePerClass} images each: pretrained ${(100 * tuned.testAccuracy!).toFixed(1)}%, scratch ${(100 * scratch.testAccuracy!).toFixed(1)}%`);
  return { pretrained: tuned.testAccuracy!, scratch: scratch.testAccuracy! };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await imageFinetune();
