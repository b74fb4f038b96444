/**
 * One rank of the collectives test (started by `kiln launch` from collectives.test.ts with
 * KILN_COLLECTIVES_WORKER=1; without it this file does nothing, so a test runner that loads it
 * finds no tests). Prints one JSON line with what each collective produced.
 */
import { initProcessGroup } from '../../src/distributed/process-group.js';
import { DistributedDataParallel } from '../../src/distributed/data-parallel.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { full, manualSeed, tensor } from '../../src/tensor/creation.js';
import { scope } from '../../src/tensor/scope.js';

if (process.env['KILN_COLLECTIVES_WORKER'] === '1') {
  const group = await initProcessGroup({ timeoutMs: 20_000 });
  const r = group.rank;
  const values = (): number[] => [r + 1, -2 * r, 0.5 ** r];
  const result: Record<string, unknown> = { rank: r, worldSize: group.worldSize };
  for (const op of ['sum', 'avg', 'max', 'min', 'product'] as const) {
    const t = tensor(values(), { dtype: 'float64' });
    await group.allReduce(t, op);
    result[op] = t.toArray();
  }
  // Several all-reduces in flight at once: each must get its own sum.
  const many = Array.from({ length: 4 }, (_, k) => tensor([k * 10 + r], { dtype: 'float32' }));
  await Promise.all(many.map((t) => group.allReduce(t, 'sum')));
  result['concurrent'] = many.map((t) => t.item());
  const b = tensor([[r, r + 0.25], [-r, 7]], { dtype: 'float32' });
  await group.broadcast(b, group.worldSize - 1);
  result['broadcast'] = b.toArray();
  const gathered = await group.allGather(tensor([r * r, r + 100], { dtype: 'int64' }));
  result['allGather'] = gathered.map((t) => t.toArray());
  await group.store.set(`from-${r}`, `hello ${r}`);
  result['store'] = await group.store.get(`from-${(r + 1) % group.worldSize}`);
  // DistributedDataParallel on a Linear(3, 2) fed (r + 1)·ones(1, 3) with loss = sum of the
  // outputs: d/dweight = r + 1 everywhere, d/dbias = 1. A second Linear takes no part.
  class TwoLayers extends Module {
    used = new Linear(3, 2);
    unused = new Linear(2, 2);
  }
  manualSeed(100 + r); // different initial weights on every rank: broadcastParameters must fix that
  const model = new TwoLayers();
  const ddp = new DistributedDataParallel(model, group, { bucketCapMb: 1e-6 }); // one bucket per parameter
  await ddp.broadcastParameters();
  result['weights'] = model.used.weight.toArray();
  const grads = (): unknown => model.parameters().map((p) => p.grad?.toArray() ?? null);
  for (const overlap of [true, false]) {
    if (overlap) ddp.armGradientSync();
    scope(() => model.used.forward(full([1, 3], r + 1)).sum().backward());
    await ddp.syncGradients();
    result[overlap ? 'gradsOverlapped' : 'grads'] = grads();
    result[overlap ? 'startedDuringBackward' : 'startedDuringBackwardUnarmed'] = ddp.overlappedBuckets;
    model.zeroGrad();
  }
  ddp.release();
  await group.barrier();
  await group.destroy();
  process.stdout.write(JSON.stringify(result) + '\n');
}
