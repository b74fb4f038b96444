/** `kiln demo` (= `npm run demo`): pretrain, fine-tune, compare with scratch, on the built-in data. */
import { type FlagSpec, formatFlags, parseCommandFlags } from './args.js';
import { withStopSignals } from './stop-signals.js';
import { UsageError } from './usage-error.js';

export const DEMO_SUMMARY = 'pretrain a small GPT, fine-tune it on spam vs ham, compare with scratch';

export const DEMO_FLAGS: readonly FlagSpec[] = [
  { name: 'quick', kind: 'boolean', help: 'a first look in about 4 minutes on 2 cores (the full demo takes about 15)' },
  { name: 'out', kind: 'string', help: 'folder for the runs and the report', valueName: 'DIR', defaultText: 'runs/demo-<time>' },
  { name: 'threads', kind: 'int', help: 'CPU threads for libtorch', defaultText: "libtorch's default" },
  { name: 'seed', kind: 'int', help: 'random seed', defaultText: '1337' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function demoHelp(): string {
  return [
    'Usage: kiln demo [--quick] [--out DIR]',
    '',
    'Pretrains a character-level GPT on the default corpus, fine-tunes it on 200 labelled',
    'spam/ham e-mails (reading the first and last 256 characters of each, 128 with --quick),',
    'fine-tunes the same architecture from scratch with the same budget, and prints accuracy,',
    'macro-F1 and minority-class recall for both, plus sample generations.',
    'Writes the runs and report.html under --out.',
    '',
    'Flags:',
    formatFlags(DEMO_FLAGS),
  ].join('\n');
}

export async function runDemoCommand(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, DEMO_FLAGS, 'demo', demoHelp);
  if (flags === undefined) return 0;
  const threads = flags.get('threads') as number | undefined;
  if (threads !== undefined && threads < 1) throw new UsageError(`kiln demo: --threads must be ≥ 1, got ${threads}`);
  const seed = flags.get('seed') as number | undefined;
  if (seed !== undefined && seed < 0) throw new UsageError(`kiln demo: --seed must be ≥ 0, got ${seed}`);

  const [{ runDemo, formatDemoTable, FULL_DEMO, QUICK_DEMO }, { ProgressReporter }] = await Promise.all([import('../demo/demo.js'), import('./progress.js')]);
  const progress = new ProgressReporter(process.stdout);
  return withStopSignals(() => progress.line('stopping the current stage after this step (Ctrl-C again to quit at once)'), async (signal) => {
    const out = flags.get('out') as string | undefined;
    const result = await runDemo({
      budget: flags.get('quick') === true ? QUICK_DEMO : FULL_DEMO,
      threads: threads ?? null,
      ...(out === undefined ? {} : { out }),
      ...(seed === undefined ? {} : { seed }),
      signal,
      onStage: (stage) => {
        progress.finish();
        progress.line(stage);
      },
      onLog: (log, info) => progress.update(log, info.maxSteps, info.isEval),
    });
    progress.finish();
    const p = result.pretrain;
    const lines = [
      '',
      `Pretrained ${p.steps} steps in ${p.seconds.toFixed(0)}s: best validation loss ${p.valLoss.toFixed(4)} nats/char (${p.dir})`,
      '',
      'Spam vs ham, 200 labelled training e-mails, scored on held-out test e-mails:',
      formatDemoTable(result.rows),
      '',
      'Samples from the pretrained model (temperature 0.8, top-k 40):',
      ...result.samples.map((s) => `  ${JSON.stringify(s.text)}`),
      '',
      `Runs and report: ${result.out}`,
      `Report: ${result.reportFile}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  });
}
