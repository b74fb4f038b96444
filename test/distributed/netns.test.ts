/**
 * Acceptance 2: a two-host run. Two network namespaces joined by a veth pair with addresses
 * private to the test (10.231.0.1 and 10.231.0.2) stand for two machines; each runs `kiln
 * launch --nnodes 2` with one rank, and the result must match the same run on one host.
 *
 * Needs root and iproute2's `ip`, so it runs only from `npm run test:netns` (KILN_NETNS=1);
 * in the default suite this file defines no test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { tinyText } from '../train/tiny-text.js';
import { MAIN, freePort, kiln, start } from './helpers.js';

const HOSTS = ['10.231.0.1', '10.231.0.2'] as const;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

if (process.env['KILN_NETNS'] === '1') {
  test('acceptance 2: two "hosts" (network namespaces over a veth pair) train to the single-host result', async () => {
    const tag = `k${process.pid % 100000}`;
    const spaces = [`${tag}-a`, `${tag}-b`];
    const links = [`${tag}a`, `${tag}b`];
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-netns-'));
    try {
      for (const ns of spaces) ip('netns', 'add', ns);
      ip('link', 'add', links[0]!, 'type', 'veth', 'peer', 'name', links[1]!);
      for (const i of [0, 1]) {
        ip('link', 'set', links[i]!, 'netns', spaces[i]!);
        ip('-n', spaces[i]!, 'addr', 'add', `${HOSTS[i]}/24`, 'dev', links[i]!);
        ip('-n', spaces[i]!, 'link', 'set', links[i]!, 'up');
        ip('-n', spaces[i]!, 'link', 'set', 'lo', 'up');
      }
      const text = path.join(dir, 'text.txt');
      writeFileSync(text, tinyText(300));
      const run = ['pretrain', '--data', text, '--layers', '1', '--heads', '2', '--dim', '32', '--block-size', '16', '--batch-size', '4', '--lr', '1e-3', '--min-lr', '1e-4', '--warmup', '5', '--eval-iters', '2', '--threads', '1', '--seed', '7', '--max-steps', '50', '--eval-every', '50', '--log-every', '10'];

      // One host, two ranks.
      const local = await kiln(['launch', '--nproc-per-node', '2', '--master-port', String(await freePort()), '--', 'kiln', ...run, '--out', path.join(dir, 'one-host')]);
      assert.equal(local.code, 0, local.stderr);

      // Two hosts, one rank each; each host has its own run folder (no shared file system).
      const hosts = [0, 1].map((node) =>
        start('ip', ['netns', 'exec', spaces[node]!, process.execPath, MAIN, 'launch', '--nproc-per-node', '1', '--nnodes', '2', '--node-rank', String(node),
          '--master-addr', HOSTS[0], '--master-port', '29531', '--timeout', '60s', '--', 'kiln', ...run, '--out', path.join(dir, `host-${node}`)]),
      );
      const [h0, h1] = await Promise.all(hosts.map((h) => h.exited));
      assert.equal(h0!.code, 0, h0!.stderr);
      assert.equal(h1!.code, 0, h1!.stderr);
      assert.match(h0!.stdout, /\[rank 0\] done at step 50/);

      const a = loadSafetensors(path.join(dir, 'one-host', 'model', 'model.safetensors')).tensors;
      const b = loadSafetensors(path.join(dir, 'host-0', 'model', 'model.safetensors')).tensors;
      let worst = 0;
      for (const [name, t] of Object.entries(a)) worst = Math.max(worst, t.sub(b[name]!).abs().max().item());
      process.stdout.write(`# largest parameter difference, two hosts vs one host: ${worst}\n`);
      assert.ok(worst < 1e-6, `largest parameter difference ${worst}`);
    } finally {
      for (const ns of spaces) {
        try {
          ip('netns', 'del', ns); // deleting a namespace deletes its end of the veth pair, and so both
        } catch {
          // not created
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
