#!/usr/bin/env node
/**
 * The `kiln` command: a thin shell over the library. Exit codes: 0 done, 1 failed, 2 the
 * command line or the settings are wrong.
 */
import { TextDataError } from '../data/text-data-error.js';
import { TokenFileError } from '../data/token-file-error.js';
import { ModelFolderError } from '../io/model-folder-error.js';
import { SafetensorsError } from '../io/safetensors-error.js';
import { ReportError } from '../report/report-error.js';
import { ConfigError } from '../train/config-error.js';
import { OutOfMemoryError } from '../train/out-of-memory.js';
import { ImageDataError } from '../vision/image-data-error.js';
import { closest } from './closest.js';
import { COMPARE_SUMMARY, runCompare } from './compare-command.js';
import { DEMO_SUMMARY, runDemoCommand } from './demo-command.js';
import { EVALUATE_SUMMARY, runEvaluate } from './evaluate-command.js';
import { EXPORT_SUMMARY, runExport } from './export-command.js';
import { FINETUNE_SUMMARY, runFinetune } from './finetune-command.js';
import { GENERATE_SUMMARY, runGenerate } from './generate-command.js';
import { DETECT_SUMMARY, EMBED_SUMMARY, runDetect, runEmbed, runVerify, VERIFY_SUMMARY } from './face-commands.js';
import { IMPORT_SUMMARY, runImport } from './import-command.js';
import { LAUNCH_SUMMARY, runLaunch } from './launch-command.js';
import { PREDICT_SUMMARY, runPredict } from './predict-command.js';
import { PRETRAIN_SUMMARY, runPretrain } from './pretrain-command.js';
import { REPORT_SUMMARY, runReport } from './report-command.js';
import { SERVE_SUMMARY, runServe } from './serve-command.js';
import { UsageError } from './usage-error.js';

const COMMANDS: Record<string, { summary: string; run: (argv: readonly string[]) => Promise<number> }> = {
  demo: { summary: DEMO_SUMMARY, run: runDemoCommand },
  pretrain: { summary: PRETRAIN_SUMMARY, run: runPretrain },
  finetune: { summary: FINETUNE_SUMMARY, run: runFinetune },
  evaluate: { summary: EVALUATE_SUMMARY, run: runEvaluate },
  predict: { summary: PREDICT_SUMMARY, run: runPredict },
  generate: { summary: GENERATE_SUMMARY, run: runGenerate },
  compare: {
    summary: COMPARE_SUMMARY,
    run: (argv) =>
      runCompare(argv, (job) =>
        job.task === 'image-classification'
          ? import('../vision/compare-runner.js').then((m) => m.imageCompareRunner(job))
          : import('../finetune/compare-runner.js').then((m) => m.finetuneCompareRunner(job)),
      ),
  },
  detect: { summary: DETECT_SUMMARY, run: runDetect },
  embed: { summary: EMBED_SUMMARY, run: runEmbed },
  verify: { summary: VERIFY_SUMMARY, run: runVerify },
  report: { summary: REPORT_SUMMARY, run: runReport },
  serve: { summary: SERVE_SUMMARY, run: (argv) => runServe(argv) },
  import: { summary: IMPORT_SUMMARY, run: runImport },
  export: { summary: EXPORT_SUMMARY, run: runExport },
  launch: { summary: LAUNCH_SUMMARY, run: runLaunch },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'Usage: kiln <command> [flags]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    "Run 'kiln <command> --help' for a command's flags.",
  ].join('\n');
}

/** The commands that also train, score or apply image classifiers, given `--task image-classification`. */
const IMAGE_COMMANDS = { pretrain: 'runImagePretrain', finetune: 'runImageFinetune', evaluate: 'runImageEvaluate', predict: 'runImagePredict' } as const;

function taskOf(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--task');
  const inline = argv.find((a) => a.startsWith('--task='));
  return inline !== undefined ? inline.slice('--task='.length) : i !== -1 ? argv[i + 1] : undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(help() + '\n');
    return command === undefined ? 2 : 0;
  }
  const entry = COMMANDS[command];
  if (entry === undefined) {
    const suggestion = closest(command, Object.keys(COMMANDS));
    throw new UsageError(`kiln: unknown command '${command}'${suggestion === undefined ? '' : `; did you mean '${suggestion}'?`} (commands: ${Object.keys(COMMANDS).join(', ')})`);
  }
  const task = taskOf(rest);
  if ((command === 'pretrain' || command === 'finetune' || command === 'evaluate') && (task === 'detect' || task === 'embed')) {
    const { runTaskCommand, runTaskEvaluate } = await import('./task-run-command.js');
    return command === 'evaluate' ? runTaskEvaluate(task, rest) : runTaskCommand(task, command, rest);
  }
  if (command in IMAGE_COMMANDS && task === 'image-classification') {
    const images = await import('./image-command.js');
    return images[IMAGE_COMMANDS[command as keyof typeof IMAGE_COMMANDS]](rest);
  }
  return entry.run(rest);
}

/** Errors that describe a mistake in the command line, the settings or the input files: exit 2, no stack. */
function isUsersToFix(error: unknown): boolean {
  return error instanceof UsageError || error instanceof ConfigError || error instanceof TextDataError || error instanceof TokenFileError || error instanceof ReportError || error instanceof ImageDataError ||
    error instanceof ModelFolderError || error instanceof SafetensorsError || error instanceof OutOfMemoryError;
}

// Output piped into a command that stops reading (`kiln … | head`) is not an error of Kiln's.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const err = error instanceof Error ? error : new Error(String(error));
  const prefix = err instanceof UsageError ? '' : `kiln ${process.argv[2] ?? ''}: `;
  // The stack helps only when Kiln itself is at fault, and then only on request.
  const detail = process.env['KILN_DEBUG'] === '1' ? `\n${err.stack ?? ''}` : '';
  process.stderr.write(`${prefix}${err.message}${detail}\n`);
  process.exitCode = isUsersToFix(err) ? 2 : 1;
}
