import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MetricsTail } from '../../src/report/metrics-tail.js';
import { parseConfusionMatrix } from '../../src/report/confusion-matrix.js';
import { chartGroup, metricRows } from '../../src/report/metric-rows.js';
import { resolveRunFile } from '../../src/report/run-file-path.js';
import { runStatus } from '../../src/report/run-status.js';
import { runNames } from '../../src/report/run-data.js';
import { escapeInlineScript } from '../../src/report/vega-bundles.js';
import { jsonForScript } from '../../src/report/html.js';

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-metrics-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('MetricsTail: new complete lines per poll, a partial line waits (even mid UTF-8 character), replacement and truncation start over', () => {
  withDir((dir) => {
    const file = path.join(dir, 'metrics.jsonl');
    const tail = new MetricsTail(file);
    assert.deepEqual(tail.poll(), { reset: false, records: [], errors: [], modifiedMs: undefined }, 'no file yet');
    writeFileSync(file, '{"step":1,"loss":2}\n{"step":2,');
    assert.deepEqual(tail.poll().records, [{ step: 1, loss: 2 }]);
    assert.deepEqual(tail.poll().records, [], 'nothing new');
    // "é" is two bytes in UTF-8: split them across two appends.
    const tag = Buffer.from('"note":"é"}\n', 'utf8');
    const split = tag.indexOf(0xc3) + 1;
    appendFileSync(file, tag.subarray(0, split));
    assert.deepEqual(tail.poll().records, []);
    appendFileSync(file, Buffer.concat([tag.subarray(split), Buffer.from('not json\n{"loss":1}\n{"step":3}\n')]));
    const update = tail.poll();
    assert.deepEqual(update.records, [{ step: 2, note: 'é' }, { step: 3 }]);
    assert.deepEqual(update.errors.map((e) => e.line), [3, 4], 'bad lines are numbered within the file');
    assert.equal(update.reset, false);

    // A resumed run: the file is replaced (new inode) by its first lines.
    writeFileSync(`${file}.tmp`, '{"step":1,"loss":2}\n');
    renameSync(`${file}.tmp`, file);
    const replaced = tail.poll();
    assert.equal(replaced.reset, true);
    assert.deepEqual(replaced.records, [{ step: 1, loss: 2 }]);
    appendFileSync(file, '{"step":2,"loss":1.5}\n');
    assert.deepEqual(tail.poll().records, [{ step: 2, loss: 1.5 }]);
    // Truncated in place.
    truncateSync(file, 0);
    appendFileSync(file, '{"step":1,"loss":9}\n');
    const truncated = tail.poll();
    assert.equal(truncated.reset, true);
    assert.deepEqual(truncated.records, [{ step: 1, loss: 9 }]);
    rmSync(file);
    assert.equal(tail.poll().reset, true, 'removed');
  });
});

test('metric rows: each key goes to its chart; evaluation lines give train_loss and skip repeated lr and throughput', () => {
  assert.deepEqual(['loss', 'val_loss', 'lr', 'tokens_per_s', 'examples_per_s', 'val_accuracy', 'val_macro_f1', 'grad_norm'].map(chartGroup), ['loss', 'loss', 'lr', 'throughput', 'throughput', 'evaluation', 'evaluation', 'evaluation']);
  const rows = metricRows('r', [
    { step: 1, loss: 2, lr: 0.1, tokens_per_s: 50, elapsed_s: 1, epoch: 0, note: 'text' },
    { step: 1, loss: 1.9, val_loss: 2.1, val_accuracy: 0.5, lr: 0.1, tokens_per_s: 50, elapsed_s: 1.5, confusion_matrix: { matrix: [[1]] } },
  ]);
  assert.deepEqual(rows.map((r) => `${r.metric}=${r.value}@${r.chart}`), ['loss=2@loss', 'lr=0.1@lr', 'tokens_per_s=50@throughput', 'train_loss=1.9@loss', 'val_loss=2.1@loss', 'val_accuracy=0.5@evaluation']);
  assert.equal(rows[0]!.elapsed_s, 1);
});

test('confusion matrix: labels default to indices; wrong shapes and values say what is expected', () => {
  assert.deepEqual(parseConfusionMatrix({ matrix: [[1, 2], [3, 4]] }, 'f'), { labels: ['0', '1'], matrix: [[1, 2], [3, 4]] });
  assert.throws(() => parseConfusionMatrix({ matrix: [[1, 2], [3]] }, 'eval.json'), /eval\.json: confusion_matrix row 1 is not an array of 2 counts \(the matrix must be square\); expected \{"labels"/);
  assert.throws(() => parseConfusionMatrix({ matrix: [[1, -2], [3, 4]] }, 'f'), /row 0 holds a value that is not a non-negative number/);
  assert.throws(() => parseConfusionMatrix([[1]], 'f'), /is not an object/);
});

test('run files: only regular files inside the run folder; .., encoded .., absolute paths and escaping links are refused', () => {
  withDir((dir) => {
    const run = path.join(dir, 'run');
    mkdirSync(path.join(run, 'model'), { recursive: true });
    writeFileSync(path.join(run, 'model', 'config.json'), '{}');
    writeFileSync(path.join(dir, 'outside.txt'), 'x');
    symlinkSync(path.join(dir, 'outside.txt'), path.join(run, 'out-link'));
    symlinkSync(path.join(run, 'model', 'config.json'), path.join(run, 'in-link'));
    assert.deepEqual(resolveRunFile(run, 'model/config.json'), { ok: true, file: path.join(run, 'model', 'config.json') });
    assert.equal(resolveRunFile(run, 'in-link').ok, true, 'a link that stays inside is fine');
    for (const evil of ['../outside.txt', '..%2Foutside.txt', 'model/../../outside.txt', '%2Fetc%2Fpasswd', 'out-link', 'model%5C..%5C..%5Coutside.txt', '%00', '%E0%A4%A']) {
      const result = resolveRunFile(run, evil);
      assert.equal(result.ok ? 200 : result.status, 403, evil);
    }
    assert.equal((resolveRunFile(run, 'missing.json') as { status: number }).status, 404);
    assert.equal((resolveRunFile(run, 'model') as { status: number }).status, 404, 'a folder is not a file');
  });
});

test('run status: waiting, running, finished (an eval at maxSteps), stopped', () => {
  const now = 1_000_000;
  const config = { maxSteps: 10 };
  assert.equal(runStatus([], config, undefined, now), 'waiting');
  assert.equal(runStatus([{ step: 5 }], config, now - 1000, now), 'running');
  assert.equal(runStatus([{ step: 5 }], config, now - 200_000, now), 'stopped');
  assert.equal(runStatus([{ step: 10 }, { step: 10, val_loss: 1 }], config, now, now), 'finished');
  assert.equal(runStatus([{ step: 10, val_accuracy: 0.9 }], config, now, now), 'finished');
  assert.equal(runStatus([{ step: 10 }], config, now - 1000, now), 'running', 'the final evaluation is still to come');
  assert.equal(runStatus([{ step: 10 }], { max_steps: 10 }, now - 200_000, now), 'finished');
  assert.equal(runStatus([{ step: 3 }], undefined, now - 200_000, now), 'stopped');
});

test('names and inline text: clashing folder names get their parents; script text cannot close its element', () => {
  assert.deepEqual(runNames(['/r/a/run', '/r/b/run', '/r/c']), ['a/run', 'b/run', 'r/c']);
  assert.deepEqual(runNames(['/x/one']), ['one']);
  assert.equal(escapeInlineScript('a="</script>";b="<!--"'), 'a="<\\/script>";b="<\\!--"');
  assert.equal(JSON.parse(jsonForScript({ s: '</script><b>' })).s, '</script><b>');
  assert.ok(!jsonForScript({ s: '</script>' }).includes('<'));
});
