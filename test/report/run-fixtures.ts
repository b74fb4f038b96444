/** Run folders for the report tests, written by hand so every expected count is known in advance. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A fine-tuning-like run: `steps` training lines (loss, lr, tokens_per_s, elapsed_s) and an
 * evaluation line every `evalEvery` steps (loss, val_loss, val_accuracy, val_macro_f1, …).
 */
export function writeClassificationRun(dir: string, options: { steps: number; evalEvery: number; scale: number; confusion?: number[][] }): void {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (let step = 1; step <= options.steps; step++) {
    const loss = (options.scale * 2) / Math.sqrt(step);
    lines.push(JSON.stringify({ step, loss, lr: 1e-3 * Math.min(1, step / 4), tokens_per_s: 5000 + 10 * step, elapsed_s: step * 0.05 }));
    if (step % options.evalEvery === 0) {
      lines.push(JSON.stringify({ step, loss, val_loss: loss * 1.1, val_accuracy: 0.5 + step / (100 * options.scale), val_macro_f1: 0.4 + step / 150, lr: 1e-3, tokens_per_s: 5000, elapsed_s: step * 0.05 }));
    }
  }
  writeFileSync(path.join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ task: 'classify', maxSteps: options.steps, lr: 1e-3 * options.scale, seed: 1 }, null, 2));
  if (options.confusion !== undefined) {
    writeFileSync(path.join(dir, 'eval.json'), JSON.stringify({ accuracy: 0.9, confusion_matrix: { labels: ['ham', 'spam'], matrix: options.confusion } }));
  }
}

/** The raw lines of a metrics.jsonl as objects. */
export function metricLinesOf(text: string): Record<string, number>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, number>);
}
