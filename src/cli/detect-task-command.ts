/**
 * `kiln pretrain|finetune --task detect`: flags → runDetection. main.ts routes the commands here
 * when --task detect is given. Pretraining starts a new detector; fine-tuning starts from a
 * detector or run folder (a new class head when the labels differ).
 */
import { type FlagSpec, type FlagValue, formatFlags, parseCommandFlags } from './args.js';
import { runFolderNote } from './run-folder-note.js';
import { reportRun } from './run-report.js';
import { schemaFlags, settingLayers } from './setting-flags.js';
import { withStopSignals } from './stop-signals.js';
import { UsageError } from './usage-error.js';
import { camelCase, kebabCase } from '../util/settings.js';
import { DETECT_RUN_SCHEMA, type DetectRunConfig, resolveDetectRunConfig, runDetection } from '../vision/detection/detect-run.js';

const SETTING_FLAGS = schemaFlags(DETECT_RUN_SCHEMA, (list) => list.join(','));
const COMMAND_FLAGS: FlagSpec[] = [
  { name: 'task', kind: 'string', help: 'must be detect', valueName: 'detect' },
  { name: 'config', kind: 'string', help: 'JSON file of settings with the same keys (kebab-case or camelCase); flags override it', valueName: 'FILE' },
  { name: 'resume', kind: 'boolean', help: 'continue the run in --out from its last evaluation (after a stop, Ctrl-C or crash); the settings must be the same' },
  { name: 'no-report', kind: 'boolean', help: 'do not write OUT/report.html at the end' },
  { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
  { name: 'help', kind: 'boolean', help: 'print this help' },
];
/** Settings only kiln finetune takes, and the ones that describe a new detector. */
const FINETUNE_ONLY = ['from'];
const MODEL_SETTINGS = ['width', 'anchor'];
export const DETECT_PRETRAIN_FLAGS: readonly FlagSpec[] = [...SETTING_FLAGS.filter((f) => !FINETUNE_ONLY.includes(f.name)), ...COMMAND_FLAGS];
export const DETECT_FINETUNE_FLAGS: readonly FlagSpec[] = [...SETTING_FLAGS.filter((f) => !MODEL_SETTINGS.includes(f.name)), ...COMMAND_FLAGS];

const gives = (layers: readonly Record<string, unknown>[], key: string): boolean => layers.some((l) => l[key] !== undefined || l[kebabCase(key)] !== undefined);

function settings(flags: Map<string, FlagValue>, command: 'pretrain' | 'finetune'): Partial<DetectRunConfig> & { out: string } {
  const task = flags.get('task');
  if (task !== undefined && task !== 'detect') throw new UsageError(`kiln ${command}: --task ${String(task)} is not detect`);
  const layers = settingLayers(flags, DETECT_RUN_SCHEMA, command);
  const resume = flags.get('resume') === true;
  if (!gives(layers, 'out')) throw new UsageError(`kiln ${command}: --out DIR is required (the run folder to write${resume ? ', or to resume' : ''})`);
  if (command === 'pretrain' && gives(layers, 'from')) throw new UsageError('kiln pretrain: from is a setting of kiln finetune --task detect; pretraining starts a new detector');
  if (command === 'finetune' && !resume && !gives(layers, 'from')) throw new UsageError('kiln finetune: --from DIR is required (a detector or run folder that kiln pretrain --task detect wrote)');
  const modelSettings = command === 'finetune' ? MODEL_SETTINGS.filter((key) => gives(layers, key)) : [];
  if (modelSettings.length > 0) throw new UsageError(`kiln finetune: ${modelSettings.join(', ')} describes a new detector, but --from loads one; drop it`);
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    const checked = resolveDetectRunConfig(layer);
    for (const key of Object.keys(layer)) merged[camelCase(key)] = checked[camelCase(key) as keyof DetectRunConfig];
  }
  return merged as Partial<DetectRunConfig> & { out: string };
}

async function train(argv: readonly string[], command: 'pretrain' | 'finetune'): Promise<number> {
  const flagList = command === 'pretrain' ? DETECT_PRETRAIN_FLAGS : DETECT_FINETUNE_FLAGS;
  const usage = command === 'pretrain' ? '--out DIR [--classes 0-4] [flags]' : '--from DIR --out DIR [--classes 5-9 --train-images 50] [flags]';
  const flags = parseCommandFlags(argv, flagList, command, () =>
    [
      `Usage: kiln ${command} --task detect ${usage}`,
      '',
      command === 'pretrain'
        ? 'Trains an object detector (a YOLO-style grid detector) from scratch on MNIST digits placed on canvases.'
        : 'Fine-tunes a detector from a detector or run folder (a new class head when the labels differ; the box head stays).',
      'Writes the run folder OUT: config.json, metrics.jsonl (val_map50, val_map), model/, best/ (the best validation',
      "mAP@0.5), state/ (for --resume) and eval.json (the test canvases' mAP@0.5 and COCO mAP@[.5:.95]).",
      command === 'pretrain' ? 'Example: kiln pretrain --task detect --classes 0-4 --clutter 4 --out runs/det04' : 'Example: kiln finetune --task detect --from runs/det04 --classes 5-9 --train-images 50 --out runs/det59',
      '',
      'Flags:',
      formatFlags(flagList),
    ].join('\n'),
  );
  if (flags === undefined) return 0;
  const config = settings(flags, command);
  const quiet = flags.get('json') === true;
  const [{ ProgressReporter }, { processGroupFromLaunch }] = await Promise.all([import('./progress.js'), import('../distributed/from-launch.js')]);
  const group = await processGroupFromLaunch();
  const progress = new ProgressReporter(process.stdout);
  const say = (line: string): void => {
    if (!quiet) progress.line(line);
  };
  const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}`);
  return withStopSignals(() => say('stopping after this step: evaluating and saving (Ctrl-C again to quit at once)'), async (signal) => {
    const result = await runDetection(config, {
      resume: flags.get('resume') === true,
      signal,
      ...(group === undefined ? {} : { distributed: group }),
      onStart: ({ config: c, parameters, newHead, maxSteps, resumedAt, classNames, trainImages, valImages }) => {
        const note = c.from === null ? null : runFolderNote('--from', c.from);
        if (note !== null) say(note);
        const from = c.from === null ? 'a new grid detector' : `${c.from}${newHead ? ' (new class head for the new labels)' : ''}`;
        say(`${command}: ${from}, ${(parameters / 1e6).toFixed(3)}M parameters; ${trainImages} training, ${valImages} validation images of ${classNames.length} classes (${classNames.join(',')}); ${maxSteps} steps`);
        if (resumedAt !== null) say(`resuming at step ${resumedAt}`);
      },
      onLog: (log, info) => {
        if (quiet) return;
        if (!info.isEval) return progress.update(log, info.totalSteps, false);
        progress.line(`step ${log.step}/${info.totalSteps}  eval  loss ${log.loss.toFixed(4)}  val mAP@0.5 ${pct(log.val_map50)}  val mAP ${pct(log.val_map)}`);
      },
    });
    await group?.destroy();
    if (group !== undefined && group.rank !== 0) return 0;
    if (!quiet) {
      progress.finish();
      say(`done at step ${result.steps} (${result.stoppedBy}) in ${result.seconds.toFixed(1)}s; best at step ${result.bestStep}: val mAP@0.5 ${pct(result.valMap50)}; ` +
        `test mAP@0.5 ${pct(result.test?.map50)}, mAP@[.5:.95] ${pct(result.test?.map)} on ${result.test?.images ?? 0} canvases; model in ${result.bestDir}`);
    }
    await reportRun(flags, result.out, say);
    if (quiet) process.stdout.write(JSON.stringify({ out: result.out, steps: result.steps, stopped_by: result.stoppedBy, best_step: result.bestStep, val_map50: result.valMap50, test_map50: result.test?.map50 ?? null, test_map: result.test?.map ?? null, seconds: result.seconds }) + '\n');
    return 0;
  });
}

export const runDetectPretrain = (argv: readonly string[]): Promise<number> => train(argv, 'pretrain');
export const runDetectFinetune = (argv: readonly string[]): Promise<number> => train(argv, 'finetune');
