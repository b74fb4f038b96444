import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DOCUMENT_SEPARATOR,
  listTextFiles,
  parseCsv,
  readCsvTexts,
  readJsonlTexts,
  readText,
  readTextFile,
  readTextFolder,
  readTextSources,
} from '../../src/data/text-readers.js';
import { TextDataError } from '../../src/data/text-data-error.js';

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-text-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fields = (text: string, delimiter = ','): string[][] => parseCsv(text, { delimiter }).map((r) => r.fields);

test('CSV: quoted fields hold delimiters, doubled quotes and newlines (RFC 4180)', () => {
  assert.deepEqual(fields('a,b\n"x, y","say ""hi"""\n'), [['a', 'b'], ['x, y', 'say "hi"']]);
  assert.deepEqual(fields('id,text\r\n1,"line one\r\nline two"\r\n2,plain\r\n'), [['id', 'text'], ['1', 'line one\r\nline two'], ['2', 'plain']]);
  // Empty fields, a trailing delimiter, no final newline, a quoted empty field.
  assert.deepEqual(fields('a,,c,\n"",x'), [['a', '', 'c', ''], ['', 'x']]);
  // A quote inside an unquoted field is kept; blank lines are skipped; a single quoted empty field is a record.
  assert.deepEqual(fields('5" tall\n\n""\n'), [['5" tall'], ['']]);
  assert.deepEqual(fields('a\tb\n"x\ty"\tz\n', '\t'), [['a', 'b'], ['x\ty', 'z']]);
});

test('CSV: record lines and malformed input name the line', () => {
  const records = parseCsv('h\n"two\nlines"\nnext\n');
  assert.deepEqual(records.map((r) => r.line), [1, 2, 4]);
  assert.throws(() => parseCsv('a,b\n1,"open\n2,3\n', { file: 'x.csv' }), (error: unknown) => {
    assert.ok(error instanceof TextDataError);
    assert.match(error.message, /^x\.csv:2: a quoted field is never closed/);
    return true;
  });
  assert.throws(() => parseCsv('a\n"q"junk\n', { file: 'y.csv' }), /y\.csv:2: unexpected "j" after a closing quote/);
});

test('CSV/TSV files: the text column, a missing column, ragged rows', () => {
  withTempDir((dir) => {
    const csv = path.join(dir, 'reviews.csv');
    writeFileSync(csv, '\ufeffid,text,label\n1,"Good, really",pos\n2,"He said ""no""\nthen left",neg\n');
    assert.deepEqual(readCsvTexts(csv), ['Good, really', 'He said "no"\nthen left']);
    assert.deepEqual(readCsvTexts(csv, { textColumn: 'label' }), ['pos', 'neg']);
    assert.throws(() => readCsvTexts(csv, { textColumn: 'body' }), /reviews\.csv:1: no "body" column in the header \(columns: id, text, label\)/);
    const tsv = path.join(dir, 'data.tsv');
    writeFileSync(tsv, 'text\tlabel\nhello, world\t1\n');
    assert.deepEqual(readCsvTexts(tsv), ['hello, world']);
    const ragged = path.join(dir, 'ragged.csv');
    writeFileSync(ragged, 'a,text\n1,ok\n2,too,many\n');
    assert.throws(() => readCsvTexts(ragged), /ragged\.csv:3: row has 3 fields but the header has 2/);
    const empty = path.join(dir, 'empty.csv');
    writeFileSync(empty, '');
    assert.throws(() => readCsvTexts(empty), /empty\.csv: is empty/);
  });
});

test('JSONL: the text field per line; errors carry the line number', () => {
  withTempDir((dir) => {
    const file = path.join(dir, 'docs.jsonl');
    writeFileSync(file, '{"text":"first"}\n\n{"text":"sec\\nond","n":2}\r\n');
    assert.deepEqual(readJsonlTexts(file), ['first', 'sec\nond']);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text":"a"}\n{"text":"b"}\n{"text": oops}\n');
    assert.throws(() => readJsonlTexts(bad), /bad\.jsonl:3: not valid JSON/);
    writeFileSync(bad, '{"text":"a"}\n{"body":"b","id":1}\n');
    assert.throws(() => readJsonlTexts(bad), /bad\.jsonl:2: no "text" field \(fields: body, id\)/);
    assert.throws(() => readJsonlTexts(bad, { textColumn: 'body' }), /bad\.jsonl:1: no "body" field/);
    writeFileSync(bad, '{"text":"a"}\n{"text":42}\n');
    assert.throws(() => readJsonlTexts(bad), /bad\.jsonl:2: field "text" is number, expected a string/);
    writeFileSync(bad, '["text"]\n');
    assert.throws(() => readJsonlTexts(bad), /bad\.jsonl:1: expected a JSON object per line, got an array/);
  });
});

test('folders: .txt/.md files recursively, in code-point order of their paths, hidden ones skipped', () => {
  withTempDir((dir) => {
    mkdirSync(path.join(dir, 'b'));
    mkdirSync(path.join(dir, '.git'));
    writeFileSync(path.join(dir, 'b', 'z.txt'), 'bz');
    writeFileSync(path.join(dir, 'b', 'a.md'), 'ba');
    writeFileSync(path.join(dir, 'a10.txt'), 'a10');
    writeFileSync(path.join(dir, 'a2.TXT'), 'a2');
    writeFileSync(path.join(dir, 'B.txt'), 'B'); // uppercase sorts before lowercase in code-point order
    writeFileSync(path.join(dir, 'notes.json'), '{}');
    writeFileSync(path.join(dir, '.hidden.txt'), 'hidden');
    writeFileSync(path.join(dir, '.git', 'HEAD.txt'), 'git');
    const names = listTextFiles(dir).map((f) => path.relative(dir, f).split(path.sep).join('/'));
    assert.deepEqual(names, ['B.txt', 'a10.txt', 'a2.TXT', 'b/a.md', 'b/z.txt']);
    assert.deepEqual(readTextFolder(dir), ['B', 'a10', 'a2', 'ba', 'bz']);
    assert.equal(readText(dir), ['B', 'a10', 'a2', 'ba', 'bz'].join(DOCUMENT_SEPARATOR));
    assert.equal(DOCUMENT_SEPARATOR, '\n\n');
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    assert.throws(() => readTextFolder(empty), /empty: has no \.txt or \.md files/);
  });
});

test('text files: BOM dropped, binary and unreadable files refused by name', () => {
  withTempDir((dir) => {
    const text = path.join(dir, 'a.txt');
    writeFileSync(text, '\ufeffCall me Ishmael.\r\n');
    assert.equal(readTextFile(text), 'Call me Ishmael.\r\n');
    const binary = path.join(dir, 'image.txt');
    writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    assert.throws(() => readTextFile(binary), /image\.txt: looks binary \(a NUL byte at offset 4\)/);
    const latin1 = path.join(dir, 'latin1.txt');
    writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
    assert.throws(() => readTextFile(latin1), /latin1\.txt: is not valid UTF-8/);
    assert.throws(() => readTextFile(path.join(dir, 'missing.txt')), /missing\.txt: cannot read: no such file or folder/);
    assert.throws(() => readTextSources([path.join(dir, 'nope')]), /nope: cannot read: no such file or folder/);
    if (process.getuid?.() !== 0) {
      const locked = path.join(dir, 'locked.txt');
      writeFileSync(locked, 'secret');
      chmodSync(locked, 0o000);
      assert.throws(() => readTextFile(locked), /locked\.txt: cannot read: permission denied/);
    }
  });
});

test('readTextSources joins every document of every source, in order', () => {
  withTempDir((dir) => {
    const txt = path.join(dir, 'one.txt');
    const jsonl = path.join(dir, 'two.jsonl');
    const csv = path.join(dir, 'three.csv');
    writeFileSync(txt, 'one');
    writeFileSync(jsonl, '{"body":"two a"}\n{"body":"two b"}\n');
    writeFileSync(csv, 'body\nthree\n');
    assert.equal(readTextSources([txt, jsonl, csv], { textColumn: 'body' }), 'one\n\ntwo a\n\ntwo b\n\nthree');
    assert.equal(readTextSources([csv, txt], { textColumn: 'body', separator: '<|endoftext|>' }), 'three<|endoftext|>one');
    assert.throws(() => readTextSources([]), /no sources given/);
  });
});
