/** `kiln finetune`: flags → finetune, with progress on the terminal and the test metrics at the end. */
import { type FinetuneConfig, FINETUNE_DEFAULTS } from '../finetune/finetune-config.js';
import { camelCase } from '../train/pretrain-config.js';
import { type FlagSpec, formatFlags, parseCommandFlags } from './args.js';
import { readConfigFile } from './config-file.js';
import { runFolderNote } from './run-folder-note.js';
import { reportRun } from './run-report.js';
import { type SettingFlag, settingFlags } from './setting-flags.js';
import { withStopSignals } from './stop-signals.js';

export const FINETUNE_SUMMARY = 'fine-tune a model for classification or generation';

const SETTINGS: Record<keyof FinetuneConfig, SettingFlag> = {
  task: { kind: 'string', help: 'classify (a label per text) or generate (a completion per prompt)', valueName: 'classify|generate' },
  from: { kind: 'string', help: 'a model folder (kiln pretrain, or Hugging Face GPT-2/Llama/BERT), scratch:gpt|llama|bert|lstm, or baseline:tfidf (word and character n-gram TF-IDF + logistic regression, C chosen on the validation split)', valueName: 'DIR|scratch:ARCH|baseline:tfidf' },
  train: { kind: 'string', help: "training data: .csv/.tsv/.jsonl, a folder of label sub-folders, or 'default' (spam vs ham)", valueName: 'PATH|default' },
  val: { kind: 'string', help: 'validation file (unset: split val-fraction off the training data)', valueName: 'FILE' },
  test: { kind: 'string', help: 'test file (unset: split test-fraction off the training data)', valueName: 'FILE' },
  valFraction: { kind: 'number', help: 'stratified share held out for validation' },
  testFraction: { kind: 'number', help: 'stratified share held out for the test' },
  trainSize: { kind: 'int', help: 'keep at most N training examples (stratified sample)' },
  textColumn: { kind: 'string', help: 'text column / field', valueName: 'NAME' },
  labelColumn: { kind: 'string', help: 'label column / field', valueName: 'NAME' },
  tokenizer: { kind: 'string', help: 'scratch models: char (from the training texts), gpt2, or a tokenizer.json / model folder', valueName: 'char|gpt2|PATH' },
  layers: { kind: 'int', help: 'scratch models: blocks' },
  heads: { kind: 'int', help: 'scratch models: attention heads' },
  dim: { kind: 'int', help: 'scratch models: width' },
  blockSize: { kind: 'int', help: 'scratch models: context length in tokens' },
  dropout: { kind: 'number', help: 'dropout before the head (and in a scratch model)' },
  maxLength: { kind: 'int', help: "cut texts to N tokens (unset: the model's context length; longer needs --pooling mean, read in windows)" },
  truncation: { kind: 'string', help: 'which part of a long text is kept', valueName: 'head|tail|head+tail' },
  pooling: { kind: 'string', help: 'auto = last token (causal models); cls for encoders whose tokenizer has [CLS], else mean', valueName: 'auto|last|cls|mean' },
  mode: { kind: 'string', help: 'full: train everything; freeze: the head only; lora: adapters and the head', valueName: 'full|freeze|lora' },
  freezeLayers: { kind: 'int', help: 'also freeze the embeddings and the first N blocks' },
  loraRank: { kind: 'int', help: 'LoRA rank r' },
  loraAlpha: { kind: 'number', help: 'LoRA alpha (updates scaled by alpha / r)' },
  loraDropout: { kind: 'number', help: 'dropout on the LoRA input' },
  loraTargets: { kind: 'string', help: 'comma-separated module-name patterns LoRA adapts (unset: c_attn,c_proj for GPT-2; q_proj,v_proj for Llama; query,value for BERT)', valueName: 'PATTERNS' },
  layerDecay: { kind: 'number', help: 'layer-wise lr decay per block from the top (1: off)' },
  classWeights: { kind: 'string', help: 'loss weights: none, auto (inverse frequency) or w1,w2,… in label order', valueName: 'none|auto|W,…' },
  sampler: { kind: 'string', help: 'random batches, or balanced (classes drawn equally often)', valueName: 'random|balanced' },
  loss: { kind: 'string', help: 'classification loss', valueName: 'cross-entropy|focal' },
  focalGamma: { kind: 'number', help: 'focal loss gamma' },
  metric: { kind: 'string', help: 'validation metric for the best checkpoint and early stopping: auto (macro_f1 or exact_match), macro_f1, accuracy, loss, exact_match, rouge_l', valueName: 'NAME' },
  patience: { kind: 'int', help: 'stop after N evaluations without improvement (0: never)' },
  maxNewTokens: { kind: 'int', help: 'generation: tokens generated per prompt at evaluation (unset: longest training completion + 8)' },
  lr: { kind: 'number', help: 'peak learning rate (freeze and lora: 3e-3 unless given)' },
  minLr: { kind: 'number', help: 'learning rate at the end of the cosine decay (lr / 10 unless given)' },
  warmup: { kind: 'int', help: 'linear warm-up steps' },
  weightDecay: { kind: 'number', help: 'AdamW weight decay on matrices' },
  gradClip: { kind: 'number', help: 'gradient-norm clip (0: off)' },
  batchSize: { kind: 'int', help: 'examples per micro-batch' },
  gradAccumulation: { kind: 'int', help: 'micro-batches per optimizer step (a batch of N × batch-size)' },
  maxSteps: { kind: 'int', help: 'optimizer steps' },
  epochs: { kind: 'number', help: 'passes over the training data (overrides max-steps)' },
  timeLimit: { kind: 'duration', help: 'stop (after evaluating and saving) when this much time has passed, e.g. 5m' },
  evalEvery: { kind: 'int', help: 'evaluate and checkpoint every N steps' },
  logEvery: { kind: 'int', help: 'log the training loss every N steps' },
  seed: { kind: 'int', help: 'random seed (split, head, batches, dropout)' },
  threads: { kind: 'int', help: 'CPU threads for libtorch (unset: its default)' },
  out: { kind: 'string', help: 'run folder: metrics.jsonl, config.json, model/, best/', valueName: 'DIR' },
};

export const FINETUNE_FLAGS: readonly FlagSpec[] = [
  ...settingFlags(SETTINGS, FINETUNE_DEFAULTS, (list) => (list.length === 0 ? 'per architecture' : list.join(','))),
  { name: 'config', kind: 'string', help: 'JSON file of settings with the same keys; flags override it', valueName: 'FILE' },
  { name: 'resume', kind: 'boolean', help: 'continue the run in --out from its last evaluation (after a stop, Ctrl-C or crash); the settings must be the same' },
  { name: 'json', kind: 'boolean', help: 'print the result (test metrics included) as one JSON object at the end' },
  { name: 'no-report', kind: 'boolean', help: 'do not write OUT/report.html (curves, confusion matrix) at the end' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
];

export function finetuneHelp(): string {
  return [
    'Usage: kiln finetune --task classify|generate --from DIR|scratch:ARCH|baseline:tfidf --train PATH|default --out DIR [flags]',
    '',
    'Fine-tunes a model. Writes OUT/metrics.jsonl, OUT/config.json, OUT/model (last step) and OUT/best',
    '(best validation metric; in lora mode with the adapter alone in OUT/best/adapter). The best checkpoint',
    'is then scored on the test split. --from baseline:tfidf fits the classical baseline instead of a',
    'network (one evaluation per C tried; the network settings do not apply to it).',
    '',
    'Flags:',
    formatFlags(FINETUNE_FLAGS),
  ].join('\n');
}

const pct = (x: number): string => (100 * x).toFixed(1);

export async function runFinetune(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags(argv, FINETUNE_FLAGS, 'finetune', finetuneHelp);
  if (flags === undefined) return 0;
  const layers: Record<string, unknown>[] = [];
  const configFile = flags.get('config');
  if (typeof configFile === 'string') layers.push(readConfigFile(configFile, 'finetune'));
  const layer: Record<string, unknown> = {};
  for (const [name, value] of flags) if (name !== 'config' && name !== 'help' && name !== 'json' && name !== 'no-report' && name !== 'resume') layer[camelCase(name)] = value;
  layers.push(layer);

  const [{ finetune }, { ProgressReporter }, { processGroupFromLaunch }] = await Promise.all([
    import('../finetune/finetune.js'),
    import('./progress.js'),
    import('../distributed/from-launch.js'),
  ]);
  // Started by `kiln launch` (or torchrun's variables): join the run's process group.
  const group = await processGroupFromLaunch();
  const progress = new ProgressReporter(process.stdout);
  return withStopSignals(() => progress.line('stopping after this step: evaluating and saving (Ctrl-C again to quit at once)'), async (signal) => {
    const result = await finetune({
      config: layers,
      resume: flags.get('resume') === true,
      signal,
      ...(group === undefined ? {} : { distributed: group }),
      onStart: (info) => {
        const t = info.trainable;
        const note = runFolderNote('--from', info.config.from); // null for scratch:, baseline: and model folders
        if (note !== null) progress.line(note);
        progress.line(
          `${info.config.task} from ${info.config.from} (${info.config.mode}): ${t.trainableParameters.toLocaleString('en-US')} of ${t.totalParameters.toLocaleString('en-US')} parameters trained (${pct(t.trainableFraction)}%); ` +
            `${info.trainExamples} training, ${info.valExamples} validation, ${info.testExamples} test examples; ${info.maxSteps} steps`,
        );
      },
      onLog: (log, info) => {
        if (!info.isEval) return progress.update(log, info.maxSteps, false);
        const metrics = Object.entries(log)
          .filter(([k]) => k.startsWith('val_'))
          .map(([k, v]) => `${k} ${(v as number).toFixed(4)}`)
          .join('  ');
        progress.line(`step ${log.step}/${info.maxSteps}  eval  ${metrics}`);
      },
    });
    await group?.destroy();
    if (group !== undefined && group.rank !== 0) return 0; // rank 0 reports for the run
    progress.finish();
    const best = Object.entries(result.best).filter(([k]) => k.startsWith('val_')).map(([k, v]) => `${k} ${(v as number).toFixed(4)}`).join(', ');
    progress.line(`done at step ${result.step} (${result.stoppedBy}) in ${result.seconds.toFixed(0)}s; best at step ${result.bestStep}: ${best}`);
    const test = result.test;
    if (test !== null && 'macro_f1' in test) {
      progress.line(`test (${test.count} examples): accuracy ${pct(test.accuracy)}%, macro-F1 ${pct(test.macro_f1)}`);
      for (const c of test.perClass) progress.line(`  ${c.label}: precision ${pct(c.precision)}, recall ${pct(c.recall)}, F1 ${pct(c.f1)} (${c.support})`);
    } else if (test !== null) {
      progress.line(`test (${test.count} examples): exact match ${pct(test.exact_match)}%, ROUGE-L ${pct(test.rouge_l)}, loss ${test.loss.toFixed(4)}`);
    }
    progress.line(`model in ${result.modelDir}, best in ${result.bestDir}${result.adapterDir === null ? '' : `, adapter in ${result.adapterDir}`}`);
    await reportRun(flags, result.config.out, (line) => progress.line(line));
    if (flags.get('json') === true) {
      const { completions: _c, predictions: _p, ...testSummary } = (test ?? {}) as Record<string, unknown>;
      process.stdout.write(JSON.stringify({ step: result.step, stopped_by: result.stoppedBy, best_step: result.bestStep, best: result.best, seconds: result.seconds, trainable_fraction: result.trainable.trainableFraction, test: test === null ? null : testSummary, model: result.modelDir, best_dir: result.bestDir }) + '\n');
    }
    return 0;
  });
}
