/**
 * `kiln pretrain|finetune --task detect|embed`: flags → runDetection / runEmbedding. main.ts
 * routes the commands here when --task names one of these tasks. Each task is declared once (its
 * settings schema, its run, what it prints); the flags, --config, --resume, the progress lines,
 * the report and --json are shared. Pretraining starts a new model; fine-tuning starts from a
 * model or run folder.
 */
import { type FlagSpec, type FlagValue, formatFlags, parseCommandFlags } from './args.js';
import { DEVICE_FLAG, onFlagDevice } from './device-flag.js';
import { runFolderNote } from './run-folder-note.js';
import { reportRun } from './run-report.js';
import { schemaFlags, settingLayers } from './setting-flags.js';
import { withStopSignals } from './stop-signals.js';
import { UsageError } from './usage-error.js';
import type { ProcessGroup } from '../distributed/process-group.js';
import type { FinetuneLog, LoopResult } from '../train/trainer.js';
import { camelCase, kebabCase, type Schema } from '../util/settings.js';

type Command = 'pretrain' | 'finetune';
type RunResult = LoopResult & { out: string; steps: number; bestDir: string };
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : (100 * x).toFixed(1));

/** What a task's run reports at its start. */
interface StartInfo {
  from: string | null;
  parameters: number;
  maxSteps: number;
  resumedAt: number | null;
  /** What the run trains on, in words. */
  what: string;
}

interface TaskSpec<Config, Result extends RunResult> {
  task: string;
  schema: Schema;
  /** Settings that describe a new model (refused beside --from). */
  modelSettings: readonly string[];
  resolve(layer: Record<string, unknown>): Readonly<Config>;
  run(config: Partial<Config> & { out: string }, callbacks: { resume: boolean; signal: AbortSignal; distributed?: ProcessGroup; onStart: (info: StartInfo) => void; onLog: (log: FinetuneLog, info: { totalSteps: number; isEval: boolean }) => void }): Promise<Result>;
  /** The help's description lines and example, per command. */
  about: Record<Command, { usage: string; lines: string[] }>;
  /** An evaluation line's metrics, and the end's summary and JSON. */
  evalLine(log: FinetuneLog): string;
  summary(result: Result): string;
  json(result: Result): Record<string, unknown>;
}

const COMMAND_FLAGS = (task: string): FlagSpec[] => [
  { name: 'task', kind: 'string', help: `must be ${task}`, valueName: task },
  { name: 'config', kind: 'string', help: 'JSON file of settings with the same keys (kebab-case or camelCase); flags override it', valueName: 'FILE' },
  { name: 'resume', kind: 'boolean', help: 'continue the run in --out from its last evaluation (after a stop, Ctrl-C or crash); the settings must be the same' },
  { name: 'no-report', kind: 'boolean', help: 'do not write OUT/report.html at the end' },
  { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
  { name: 'help', kind: 'boolean', help: 'print this help' },
];

const gives = (layers: readonly Record<string, unknown>[], key: string): boolean => layers.some((l) => l[key] !== undefined || l[kebabCase(key)] !== undefined);

function flagsOf(spec: TaskSpec<unknown, RunResult>, command: Command): FlagSpec[] {
  const settings = schemaFlags(spec.schema, (list) => list.join(','));
  const dropped = command === 'pretrain' ? ['from'] : spec.modelSettings.map(kebabCase);
  return [...settings.filter((f) => !dropped.includes(f.name)), ...COMMAND_FLAGS(spec.task)];
}

async function train<Config, Result extends RunResult>(spec: TaskSpec<Config, Result>, argv: readonly string[], command: Command): Promise<number> {
  const flagList = flagsOf(spec as unknown as TaskSpec<unknown, RunResult>, command);
  const about = spec.about[command];
  const flags = parseCommandFlags(argv, flagList, command, () => [`Usage: kiln ${command} --task ${spec.task} ${about.usage}`, '', ...about.lines, '', 'Flags:', formatFlags(flagList)].join('\n'));
  if (flags === undefined) return 0;
  const config = settings(spec, flags, command);
  const quiet = flags.get('json') === true;
  const [{ ProgressReporter }, { processGroupFromLaunch }] = await Promise.all([import('./progress.js'), import('../distributed/from-launch.js')]);
  const group = await processGroupFromLaunch();
  const progress = new ProgressReporter(process.stdout);
  const say = (line: string): void => {
    if (!quiet) progress.line(line);
  };
  return withStopSignals(() => say('stopping after this step: evaluating and saving (Ctrl-C again to quit at once)'), async (signal) => {
    const result = await spec.run(config, {
      resume: flags.get('resume') === true,
      signal,
      ...(group === undefined ? {} : { distributed: group }),
      onStart: ({ from, parameters, maxSteps, resumedAt, what }) => {
        const note = from === null ? null : runFolderNote('--from', from);
        if (note !== null) say(note);
        say(`${command}: ${from ?? 'a new model'}, ${(parameters / 1e6).toFixed(3)}M parameters; ${what}; ${maxSteps} steps`);
        if (resumedAt !== null) say(`resuming at step ${resumedAt}`);
      },
      onLog: (log, info) => {
        if (quiet) return;
        if (!info.isEval) return progress.update(log, info.totalSteps, false);
        progress.line(`step ${log.step}/${info.totalSteps}  eval  loss ${log.loss.toFixed(4)}  ${spec.evalLine(log)}`);
      },
    });
    await group?.destroy();
    if (group !== undefined && group.rank !== 0) return 0;
    if (!quiet) {
      progress.finish();
      say(`done at step ${result.steps} (${result.stoppedBy}) in ${result.seconds.toFixed(1)}s; best at step ${result.bestStep}; ${spec.summary(result)}; model in ${result.bestDir}`);
    }
    await reportRun(flags, result.out, say);
    if (quiet) process.stdout.write(JSON.stringify({ out: result.out, steps: result.steps, stopped_by: result.stoppedBy, best_step: result.bestStep, ...spec.json(result), seconds: result.seconds }) + '\n');
    return 0;
  });
}

/** The run settings the flags and --config give, each layer checked on its own (so a resumed run keeps what is not given). */
function settings<Config, Result extends RunResult>(spec: TaskSpec<Config, Result>, flags: Map<string, FlagValue>, command: Command): Partial<Config> & { out: string } {
  const task = flags.get('task');
  if (task !== undefined && task !== spec.task) throw new UsageError(`kiln ${command}: --task ${String(task)} is not ${spec.task}`);
  const layers = settingLayers(flags, spec.schema, command);
  const resume = flags.get('resume') === true;
  if (!gives(layers, 'out')) throw new UsageError(`kiln ${command}: --out DIR is required (the run folder to write${resume ? ', or to resume' : ''})`);
  if (command === 'pretrain' && gives(layers, 'from')) throw new UsageError(`kiln pretrain: from is a setting of kiln finetune --task ${spec.task}; pretraining starts a new model`);
  if (command === 'finetune' && !resume && !gives(layers, 'from')) throw new UsageError(`kiln finetune: --from DIR is required (a model or run folder to start from)`);
  const modelSettings = command === 'finetune' ? spec.modelSettings.filter((key) => gives(layers, key)) : [];
  if (modelSettings.length > 0) throw new UsageError(`kiln finetune: ${modelSettings.map(kebabCase).join(', ')} describes a new model, but --from loads one; drop it`);
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    const checked = spec.resolve(layer) as Record<string, unknown>;
    for (const key of Object.keys(layer)) merged[camelCase(key)] = checked[camelCase(key)];
  }
  return merged as Partial<Config> & { out: string };
}

type DetectRun = typeof import('../vision/detection/detect-run.js');
type EmbedRun = typeof import('../vision/embedding/embed-run.js');


function detectSpec(m: DetectRun): TaskSpec<import('../vision/detection/detect-run.js').DetectRunConfig, Awaited<ReturnType<DetectRun['runDetection']>>> {
  return {
    task: 'detect',
    schema: m.DETECT_RUN_SCHEMA,
    modelSettings: ['width', 'anchor'],
    resolve: (layer) => m.resolveDetectRunConfig(layer),
    run: (config, cb) =>
      m.runDetection(config, {
        ...cb,
        onStart: ({ config: c, parameters, newHead, maxSteps, resumedAt, classNames, trainImages, valImages }) =>
          cb.onStart({ from: c.from === null ? null : `${c.from}${newHead ? ' (new class head for the new labels)' : ''}`, parameters, maxSteps, resumedAt, what: `${trainImages} training, ${valImages} validation images of ${classNames.length} classes (${classNames.join(',')})` }),
      }),
    about: {
      pretrain: {
        usage: '--out DIR [--classes 0-4] [flags]',
        lines: [
          'Trains an object detector (a YOLO-style grid detector) from scratch: on MNIST digits placed on canvases (--data digits),',
          'a YOLO folder (images/, labels/) or a COCO JSON file. Writes the run folder OUT: config.json, metrics.jsonl',
          "(val_map50, val_map), model/, best/ (the best validation mAP@0.5), state/ (for --resume) and eval.json (the test",
          "images' mAP@0.5 and COCO mAP@[.5:.95]).",
          'Example: kiln pretrain --task detect --classes 0-4 --out runs/det04',
        ],
      },
      finetune: {
        usage: '--from DIR --out DIR [--classes 5-9 --train-images 50] [flags]',
        lines: [
          'Fine-tunes a detector from a detector or run folder (a new class head when the labels differ; the box head stays).',
          'Writes the same run folder as pretrain.',
          'Example: kiln finetune --task detect --from runs/det04 --classes 5-9 --train-images 50 --max-steps 400 --out runs/det59',
        ],
      },
    },
    evalLine: (log) => `val mAP@0.5 ${pct(log.val_map50)}  val mAP ${pct(log.val_map)}`,
    summary: (r) => `val mAP@0.5 ${pct(r.valMap50)}; test mAP@0.5 ${pct(r.test?.map50)}, mAP@[.5:.95] ${pct(r.test?.map)} on ${r.test?.images ?? 0} images`,
    json: (r) => ({ val_map50: r.valMap50, test_map50: r.test?.map50 ?? null, test_map: r.test?.map ?? null }),
  };
}

function embedSpec(m: EmbedRun): TaskSpec<import('../vision/embedding/embed-run.js').EmbedRunConfig, Awaited<ReturnType<EmbedRun['runEmbedding']>>> {
  return {
    task: 'embed',
    schema: m.EMBED_RUN_SCHEMA,
    modelSettings: [],
    resolve: (layer) => m.resolveEmbedRunConfig(layer),
    run: (config, cb) =>
      m.runEmbedding(config, {
        ...cb,
        onStart: ({ config: c, parameters, maxSteps, resumedAt, trainImages, trainIdentities, start }) =>
          cb.onStart({ from: c.from, parameters, maxSteps, resumedAt, what: `${trainImages} images of ${trainIdentities} training identities${start === null ? '' : `; the starting embedding identifies ${pct(start.identification)}% of the test identities' queries (AUC ${start.verificationAuc.toFixed(4)})`}` }),
      }),
    about: {
      pretrain: {
        usage: '--out DIR [--data digit-instances|DIR] [flags]',
        lines: [
          'Trains an embedding (a new CNN) with ArcFace so that images of one identity lie close together; scored on identities',
          'it never saw: nearest-neighbour identification against a one-image gallery, and verification ROC AUC.',
          'Example: kiln pretrain --task embed --out runs/embed',
        ],
      },
      finetune: {
        usage: '--from DIR --out DIR [--data digit-instances|DIR] [flags]',
        lines: [
          "Metric-learning fine-tuning: an image classifier's body with its head replaced by the embedding, trained with ArcFace;",
          "prints the starting embedding's identification of unseen identities and the trained one's. Writes config.json,",
          'metrics.jsonl (val_identification, val_auc), model/, best/, state/ and eval.json.',
          'Example: kiln finetune --task embed --from runs/mnist04 --data digit-instances --out runs/embed',
        ],
      },
    },
    evalLine: (log) => `val identification ${pct(log.val_identification)}  val AUC ${log.val_auc?.toFixed(4) ?? 'n/a'}`,
    summary: (r) => `test identification ${pct(r.start?.identification)} → ${pct(r.test?.identification)}, verification AUC ${r.start?.verificationAuc.toFixed(4) ?? 'n/a'} → ${r.test?.verificationAuc.toFixed(4) ?? 'n/a'} (${r.test?.gallery ?? 0} unseen identities)`,
    json: (r) => ({ start_identification: r.start?.identification ?? null, test_identification: r.test?.identification ?? null, start_verification_auc: r.start?.verificationAuc ?? null, test_verification_auc: r.test?.verificationAuc ?? null }),
  };
}

/** The tasks this module runs. */
export const RUN_TASKS = ['detect', 'embed'] as const;

async function specOf(task: (typeof RUN_TASKS)[number]): Promise<TaskSpec<unknown, RunResult>> {
  const spec = task === 'detect' ? detectSpec(await import('../vision/detection/detect-run.js')) : embedSpec(await import('../vision/embedding/embed-run.js'));
  return spec as unknown as TaskSpec<unknown, RunResult>;
}

/** The flags of `kiln pretrain|finetune --task TASK`. */
export async function taskRunFlags(task: (typeof RUN_TASKS)[number], command: Command): Promise<FlagSpec[]> {
  return flagsOf(await specOf(task), command);
}

export async function runTaskCommand(task: (typeof RUN_TASKS)[number], command: Command, argv: readonly string[]): Promise<number> {
  return train(await specOf(task), argv, command);
}

const EVALUATE_FLAGS: Record<(typeof RUN_TASKS)[number], FlagSpec[]> = {
  detect: [
    { name: 'task', kind: 'string', help: 'must be detect', valueName: 'detect' },
    { name: 'model', kind: 'string', help: 'a detector or run folder', valueName: 'DIR' },
    { name: 'data', kind: 'string', help: "digits (the test canvases of the model's digits), a YOLO folder or a COCO JSON file", valueName: 'digits|DIR|FILE.json' },
    { name: 'images', kind: 'int', help: 'digits: test canvases', defaultText: '500' },
    DEVICE_FLAG,
    { name: 'json', kind: 'boolean', help: 'print mAP@0.5, mAP@0.75, mAP@[.5:.95] and each class\'s AP@0.5 as JSON' },
    { name: 'help', kind: 'boolean', help: 'print this help' },
  ],
  embed: [
    { name: 'task', kind: 'string', help: 'must be embed', valueName: 'embed' },
    { name: 'model', kind: 'string', help: 'an embedding or run folder (kiln pretrain|finetune --task embed)', valueName: 'DIR' },
    { name: 'data', kind: 'string', help: 'digit-instances (the test identities of a run) or a folder DIR/<identity>/<images>', valueName: 'digit-instances|DIR' },
    { name: 'identities', kind: 'int', help: 'digit-instances: identities', defaultText: '300' },
    DEVICE_FLAG,
    { name: 'json', kind: 'boolean', help: 'print the scores as JSON' },
    { name: 'help', kind: 'boolean', help: 'print this help' },
  ],
};

/** `kiln evaluate --task detect|embed`: a saved model's mAP, or its identification and verification AUC. */
export async function runTaskEvaluate(task: (typeof RUN_TASKS)[number], argv: readonly string[]): Promise<number> {
  const flagList = EVALUATE_FLAGS[task];
  const flags = parseCommandFlags(argv, flagList, 'evaluate', () =>
    [
      `Usage: kiln evaluate --task ${task} --model DIR --data ${task === 'detect' ? 'digits|DIR|FILE.json' : 'digit-instances|DIR'} [--json]`,
      '',
      task === 'detect'
        ? "A detector's mAP@0.5 (COCO's AP50), mAP@0.75 and COCO mAP@[.5:.95] on images with known boxes."
        : "An embedding's nearest-neighbour identification (a gallery of one image per identity) and verification ROC AUC.",
      '',
      'Flags:',
      formatFlags(flagList),
    ].join('\n'),
  );
  if (flags === undefined) return 0;
  if (flags.get('task') !== task) throw new UsageError(`kiln evaluate: --task ${String(flags.get('task'))} is not ${task}`);
  const model = flags.get('model');
  if (typeof model !== 'string') throw new UsageError('kiln evaluate: --model DIR is required (a folder kiln pretrain/finetune wrote)');
  const json = flags.get('json') === true;
  if (task === 'detect') {
    const { evaluateDetectorFolder } = await import('../vision/detection/detect-run.js');
    const images = flags.get('images') as number | undefined;
    const r = await onFlagDevice(flags, () => evaluateDetectorFolder(model, (flags.get('data') as string | undefined) ?? 'digits', images === undefined ? {} : { images }));
    process.stdout.write(json
      ? JSON.stringify({ map50: r.map50, map75: r.map75, map: r.map, per_class_ap50: Object.fromEntries(r.classNames.map((c, k) => [c, r.perClass50[k]])), images: r.images, objects: r.objects, detections: r.detections }) + '\n'
      : `mAP@0.5 ${pct(r.map50)}, mAP@0.75 ${pct(r.map75)}, mAP@[.5:.95] ${pct(r.map)} on ${r.images} images (${r.objects} objects)\n`);
    return 0;
  }
  const { evaluateEmbeddingFolder } = await import('../vision/embedding/embed-run.js');
  const identities = flags.get('identities') as number | undefined;
  const r = await onFlagDevice(flags, () => evaluateEmbeddingFolder(model, (flags.get('data') as string | undefined) ?? 'digit-instances', identities === undefined ? {} : { identities }));
  process.stdout.write(json
    ? JSON.stringify({ identification: r.identification, verification_auc: r.verificationAuc, identities: r.identities, gallery: r.gallery, queries: r.queries, pairs: r.pairs }) + '\n'
    : `identification ${pct(r.identification)}% (${r.queries} queries against ${r.gallery} gallery images), verification AUC ${r.verificationAuc.toFixed(4)} over ${r.pairs} pairs\n`);
  return 0;
}
