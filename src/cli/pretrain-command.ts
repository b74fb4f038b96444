/** `kiln pretrain`: flags → pretrainLanguageModel, with progress on the terminal. */
import { formatFlags, parseCommandFlags } from './args.js';
import { PRETRAIN_FLAGS } from './pretrain-flags.js';
import { settingLayers } from './setting-flags.js';
import { PRETRAIN_DEFAULTS, PRETRAIN_SCHEMA } from '../train/pretrain-config.js';
import { runFolderNote } from './run-folder-note.js';
import { reportRun } from './run-report.js';
import { withStopSignals } from './stop-signals.js';

export const PRETRAIN_SUMMARY = 'pretrain a language model on text';

export function pretrainHelp(): string {
  return [
    'Usage: kiln pretrain [--arch gpt|llama|bert|lstm] [--data PATH...|default] [--tokenizer char|gpt2|PATH] [--out DIR] [--resume] [flags]',
    '',
    'Pretrains a language model: gpt, llama and lstm learn to predict the next token, bert to',
    'recover masked tokens (15%: 80% [MASK], 10% random, 10% kept). Writes OUT/metrics.jsonl',
    '(one JSON line per log and eval), OUT/model (last step), OUT/best (best validation loss)',
    'and OUT/state (to --resume from).',
    'Defaults are nanoGPT\'s character-level CPU recipe.',
    '',
    'Flags:',
    formatFlags(PRETRAIN_FLAGS),
  ].join('\n');
}

export async function runPretrain(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, PRETRAIN_FLAGS, 'pretrain', pretrainHelp);
  if (flags === undefined) return 0;
  const layers = settingLayers(flags, PRETRAIN_SCHEMA, 'pretrain');

  const [{ pretrainLanguageModel }, { ProgressReporter }, { processGroupFromLaunch }] = await Promise.all([
    import('../train/pretrain.js'),
    import('./progress.js'),
    import('../distributed/from-launch.js'),
  ]);
  // Started by `kiln launch` (or torchrun's variables): join the run's process group.
  const group = await processGroupFromLaunch();
  const progress = new ProgressReporter(process.stdout);
  return withStopSignals(() => progress.line('stopping after this step: evaluating and saving (Ctrl-C again to quit at once)'), async (signal) => {
    const result = await pretrainLanguageModel({
      config: layers,
      resume: flags.get('resume') === true,
      signal,
      ...(group === undefined ? {} : { distributed: group }),
      onStart: (info) => {
        const note = info.config.from === null ? null : runFolderNote('--from', info.config.from);
        if (note !== null) progress.line(note);
        if (info.config.warmup < PRETRAIN_DEFAULTS.warmup && !layers.some((layer) => 'warmup' in layer)) {
          progress.line(`warmup ${info.config.warmup} steps: a tenth of max-steps ${info.config.maxSteps} (the default ${PRETRAIN_DEFAULTS.warmup} outlasts the run)`);
        }
        const from = info.startStep > 0 ? `resuming at step ${info.startStep}` : 'starting';
        progress.line(
          `${info.config.arch}: ${(info.parameters / 1e6).toFixed(2)}M parameters, vocabulary ${info.vocabSize}, ` +
            `${info.trainTokens} training and ${info.valTokens} validation tokens; ${from}`,
        );
      },
      onLog: (log, info) => progress.update(log, info.maxSteps, info.isEval),
    });
    await group?.destroy();
    if (group !== undefined && group.rank !== 0) return 0; // rank 0 reports for the run
    progress.finish();
    progress.line(`done at step ${result.step} (${result.stoppedBy}): val_loss ${result.valLoss.toFixed(4)}, best ${result.bestValLoss.toFixed(4)}; model in ${result.modelDir}, best in ${result.bestDir}`);
    await reportRun(flags, result.config.out, (line) => progress.line(line));
    return 0;
  });
}
