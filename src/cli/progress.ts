/** Progress of a training run: a redrawn bar on a terminal, plain lines otherwise. */

/** What a progress line shows of a metrics line (pretraining's, fine-tuning's and image runs' alike). */
export interface ProgressLog {
  step: number;
  loss: number;
  lr: number;
  elapsed_s: number;
  val_loss?: number | undefined;
  tokens_per_s?: number | undefined;
  images_per_s?: number | undefined;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(log: ProgressLog): string {
  const [value, unit] = log.images_per_s !== undefined ? [log.images_per_s, 'img/s'] : [log.tokens_per_s ?? Number.NaN, 'tok/s'];
  return `${value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0)} ${unit}`;
}

export class ProgressReporter {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  #lastTrain: ProgressLog | undefined;
  #lastVal: number | undefined;
  /** The first training log of this invocation: where the ETA's rate is measured from. */
  #first: { step: number; elapsed: number } | undefined;
  #barShown = false;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  /** A line above the bar (or a plain line). */
  line(text: string): void {
    if (this.#barShown) this.#stream.write('\r\x1b[2K');
    this.#stream.write(text + '\n');
    this.#barShown = false;
  }

  update(log: ProgressLog, maxSteps: number, isEval: boolean): void {
    if (isEval) this.#lastVal = log.val_loss;
    else this.#lastTrain = log;
    if (this.#first === undefined && !isEval) this.#first = { step: log.step, elapsed: log.elapsed_s };
    if (!this.#tty) {
      this.line(
        isEval
          ? `step ${log.step}/${maxSteps}  eval  train_loss ${log.loss.toFixed(4)}  val_loss ${log.val_loss?.toFixed(4)}`
          : `step ${log.step}/${maxSteps}  loss ${log.loss.toFixed(4)}  lr ${log.lr.toExponential(2)}  ${formatRate(log)}  ${formatDuration(log.elapsed_s)}`,
      );
      return;
    }
    if (isEval) this.line(`step ${log.step}: train_loss ${log.loss.toFixed(4)}, val_loss ${log.val_loss?.toFixed(4)}`);
    this.#drawBar(log.step, maxSteps, log.elapsed_s);
  }

  #drawBar(step: number, maxSteps: number, elapsed: number): void {
    const width = 24;
    const filled = Math.round((width * step) / maxSteps);
    const first = this.#first;
    const done = first === undefined ? 0 : step - first.step;
    const perStep = first !== undefined && done > 0 ? (elapsed - first.elapsed) / done : Number.NaN;
    const eta = formatDuration(perStep * (maxSteps - step));
    const train = this.#lastTrain;
    const parts = [
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${maxSteps}`,
      train === undefined ? '' : `loss ${train.loss.toFixed(4)}`,
      this.#lastVal === undefined ? '' : `val ${this.#lastVal.toFixed(4)}`,
      train === undefined ? '' : formatRate(train),
      `ETA ${eta}`,
    ].filter((p) => p !== '');
    this.#stream.write(`\r\x1b[2K${parts.join('  ')}`);
    this.#barShown = true;
  }

  finish(): void {
    if (this.#barShown) this.#stream.write('\n');
    this.#barShown = false;
  }
}
