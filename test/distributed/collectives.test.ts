import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DistributedError } from '../../src/distributed/distributed-error.js';
import { launchEnv } from '../../src/distributed/launch-env.js';
import { shardBatch } from '../../src/distributed/shard.js';
import { availableBackends, initProcessGroup } from '../../src/distributed/process-group.js';
import { tensor, zeros } from '../../src/tensor/creation.js';
import { freePort, kiln } from './helpers.js';

const WORKER = fileURLToPath(new URL('./collectives-worker.js', import.meta.url));

function assertClose(actual: unknown, expected: number[], what: string): void {
  const a = actual as number[];
  assert.equal(a.length, expected.length, what);
  a.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-12, `${what}[${i}]: ${v} vs ${expected[i]}`));
}

test('launchEnv reads torchrun variables; null without WORLD_SIZE; bad values are errors', () => {
  assert.equal(launchEnv({}), null);
  assert.deepEqual(launchEnv({ WORLD_SIZE: '4', RANK: '3', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '1234' }), {
    rank: 3,
    worldSize: 4,
    localRank: 3,
    masterAddr: '10.0.0.1',
    masterPort: 1234,
  });
  assert.deepEqual(launchEnv({ WORLD_SIZE: '2', RANK: '0', LOCAL_RANK: '0' }), { rank: 0, worldSize: 2, localRank: 0, masterAddr: '127.0.0.1', masterPort: 29500 });
  assert.throws(() => launchEnv({ WORLD_SIZE: '2' }), /RANK is not/);
  assert.throws(() => launchEnv({ WORLD_SIZE: '2', RANK: '2' }), /outside 0..WORLD_SIZE-1/);
  assert.throws(() => launchEnv({ WORLD_SIZE: 'two', RANK: '0' }), /WORLD_SIZE=two is not valid/);
  assert.throws(() => launchEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_PORT: '70000' }), /not a TCP port/);
});

test('a one-rank group: collectives are identities; wrong arguments are errors, not crashes', async () => {
  assert.ok(availableBackends().includes('gloo'));
  const group = await initProcessGroup({ rank: 0, worldSize: 1, masterPort: await freePort(), timeoutMs: 5000 });
  try {
    const t = tensor([1.5, -2], { dtype: 'float32' });
    await group.allReduce(t, 'avg');
    assert.deepEqual(t.toArray(), [1.5, -2]);
    const [only] = await group.allGather(t);
    assert.deepEqual(only!.toArray(), [1.5, -2]);
    await group.barrier();
    await assert.rejects(group.allReduce(zeros([2, 3]).t(), 'sum'), /must be contiguous/);
    await assert.rejects(group.allReduce(t, 'mean' as 'sum'), /unknown reduction 'mean'/);
    await assert.rejects(group.allReduce(tensor([1, 2]), 'avg'), /'avg' needs a floating-point tensor/);
    await assert.rejects(group.broadcast(t, 1), /root must be in 0..0/);
  } finally {
    await group.destroy();
  }
  await assert.rejects(group.barrier(), /destroyed/);
  await assert.rejects(initProcessGroup({ rank: 2, worldSize: 2 }), DistributedError);
  await assert.rejects(initProcessGroup({ rank: 0, worldSize: 1, timeoutMs: 500 }), /at least 1000/);
  if (!availableBackends().includes('nccl')) {
    await assert.rejects(initProcessGroup({ rank: 0, worldSize: 1, backend: 'nccl' }), /has no NCCL/);
  }
});

test('a rank that never arrives: the rendezvous fails within the timeout with a message', async () => {
  const began = performance.now();
  await assert.rejects(initProcessGroup({ rank: 0, worldSize: 2, masterPort: await freePort(), timeoutMs: 1000 }), (error: Error) => {
    assert.ok(error instanceof DistributedError);
    assert.match(error.message, /within 1 s/);
    return true;
  });
  assert.ok(performance.now() - began < 10_000);
});

test('collectives on 3 ranks match their closed forms', async () => {
  const port = await freePort();
  const run = await kiln(['launch', '--nproc-per-node', '3', '--master-port', String(port), '--', process.execPath, WORKER], { KILN_COLLECTIVES_WORKER: '1' });
  assert.equal(run.code, 0, run.stderr);
  const results = run.stdout
    .split('\n')
    .filter((l) => l.includes('{'))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Record<string, unknown>)
    .sort((a, b) => (a['rank'] as number) - (b['rank'] as number));
  assert.equal(results.length, 3, run.stdout);
  // rank r contributes [r + 1, -2r, 0.5^r] for r = 0, 1, 2
  for (const [r, res] of results.entries()) {
    assert.equal(res['rank'], r);
    assert.ok(run.stdout.includes(`[rank ${r}] {`), 'launch prefixes each line with its rank');
    assertClose(res['sum'], [6, -6, 1.75], 'sum');
    assertClose(res['avg'], [2, -2, 1.75 / 3], 'avg');
    assertClose(res['max'], [3, 0, 1], 'max');
    assertClose(res['min'], [1, -4, 0.25], 'min');
    assertClose(res['product'], [6, 0, 0.125], 'product');
    assert.deepEqual(res['concurrent'], [3, 33, 63, 93]);
    assert.deepEqual(res['broadcast'], [[2, 2.25], [-2, 7]]);
    assert.deepEqual(res['allGather'], [[0, 100], [1, 101], [4, 102]]);
    assert.equal(res['store'], `hello ${(r + 1) % 3}`);
    assert.deepEqual(res['weights'], results[0]!['weights'], 'rank 0 broadcast its weights');
    // used.weight (2, 3): mean of r + 1 = 2; used.bias: 1; the unused layer: zeros, not null
    const expected = [[[2, 2, 2], [2, 2, 2]], [1, 1], [[0, 0], [0, 0]], [0, 0]];
    assert.deepEqual(res['gradsOverlapped'], expected);
    assert.deepEqual(res['grads'], expected);
    assert.equal(res['startedDuringBackward'], 2, 'both used parameters started their all-reduce during backward');
    assert.equal(res['startedDuringBackwardUnarmed'], 0);
  }
});

test('shardBatch: rank r of W takes rows [r·b, (r+1)·b) of every tensor; uneven batches are errors', () => {
  const x = tensor([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]], { dtype: 'float32' }); // (6, 2)
  const y = tensor([0, 1, 2, 3, 4, 5]); // (6,)
  assert.deepEqual(shardBatch(x, 1, 3).toArray(), [[4, 5], [6, 7]]);
  const { x: x2, y: y2, name } = shardBatch({ x, y, name: 'batch' }, 2, 3);
  assert.deepEqual(x2.toArray(), [[8, 9], [10, 11]]);
  assert.deepEqual(y2.toArray(), [4, 5]);
  assert.equal(name, 'batch');
  const [first] = shardBatch([y], 0, 2);
  assert.deepEqual(first!.toArray(), [0, 1, 2]);
  assert.throws(() => shardBatch({ x }, 0, 4), /the batch\.x has 6 rows, not a multiple of the world size 4/);
  assert.throws(() => shardBatch(x, 3, 3), /rank must be in 0..worldSize-1/);
});
