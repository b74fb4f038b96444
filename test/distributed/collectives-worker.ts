/**
 * One rank of the collectives test (started by `kiln launch` from collectives.test.ts with
 * KILN_COLLECTIVES_WORKER=1; without it this file does nothing, so a test runner that loads it
 * finds no tests). Prints one JSON line with what each collective produced.
 */
import { initProcessGroup } from '../../src/distributed/process-group.js';
import { tensor } from '../../src/tensor/creation.js';

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
  await group.barrier();
  await group.destroy();
  process.stdout.write(JSON.stringify(result) + '\n');
}
