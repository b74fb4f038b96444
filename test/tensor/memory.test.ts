// Memory: tensors are freed without manual dispose(), scopes free early, disposed use is an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Tensor, deferredReleases, keep, nn, noGrad, ones, randint, randn, scope, zeros } from '../../src/index.js';

const rssMB = (): number => process.memoryUsage().rss / 2 ** 20;

test('small tensors a scope releases are freed one per new tensor; graphs, large and kept tensors are not held', () => {
  const drain = (): void => {
    for (let i = 0; i < 5000 && deferredReleases() > 0; i++) zeros([1]).dispose();
  };
  drain();
  assert.equal(deferredReleases(), 0);
  const a = randn([10]);
  scope(() => {
    for (let i = 0; i < 50; i++) a.add(1);
  });
  assert.equal(deferredReleases(), 50, 'fifty small results wait');
  scope(() => {
    for (let i = 0; i < 20; i++) a.mul(2);
  });
  assert.equal(deferredReleases(), 50, 'each new tensor frees one that waited; the scope then adds its own twenty');
  for (let i = 0; i < 10; i++) zeros([1]).dispose();
  assert.equal(deferredReleases(), 40, 'outside a scope too, each new tensor frees one; a GC-owned tensor is freed at its dispose()');
  drain();
  const w = randn([10]).requiresGrad_();
  scope(() => void w.mul(2).sum()); // autograd history: may hold a graph's saved tensors
  scope(() => void zeros([2048])); // 8 KiB: larger than the 4 KiB that may wait
  const kept = scope(() => keep(a.add(1)));
  assert.equal(deferredReleases(), 0, 'none of these wait');
  assert.deepEqual(kept.shape, [10]);
  scope(() => {
    for (let i = 0; i < 5000; i++) a.add(1);
  });
  assert.equal(deferredReleases(), 4096, 'at most 4,096 wait; the rest are freed at once');
  drain();
});

test("a step's freed blocks are reused from the heap, not unmapped and faulted in again", () => {
  // glibc's defaults would unmap each freed 1 MiB block and fault it in again on the next step
  // (about 150,000 minor faults here); the addon's malloc settings keep them for reuse (~800).
  scope(() => void zeros([256, 1024]));
  const before = process.resourceUsage().minorPageFault;
  for (let i = 0; i < 200; i++) scope(() => void ones([256, 1024]).mul(2).add(1)); // three 1 MiB tensors a step
  const faults = process.resourceUsage().minorPageFault - before;
  assert.ok(faults < 20_000, `${faults} minor page faults for 200 steps of three 1 MiB tensors`);
});

test('10,000 training steps without dispose() stay within 100 MB of step 100', () => {
  const w1 = randn([32, 64]).mul(0.1).requiresGrad_();
  const w2 = randn([64, 4]).mul(0.1).requiresGrad_();
  const x = randn([16, 32]);
  const y = randint(0, 4, [16]);
  let baseline = 0;
  let firstLoss = 0;
  let lastLoss = 0;
  for (let step = 0; step < 10_000; step++) {
    const loss = F.crossEntropy(x.matmul(w1).relu().matmul(w2), y);
    loss.backward();
    noGrad(() => {
      for (const p of [w1, w2]) {
        p.sub_(p.grad!.mul(0.05));
        p.grad!.zero_();
      }
    });
    if (step === 0) firstLoss = loss.item();
    if (step === 100) baseline = rssMB();
    if (step === 9_999) lastLoss = loss.item();
  }
  const growth = rssMB() - baseline;
  assert.ok(growth < 100, `resident memory grew by ${growth.toFixed(1)} MB after step 100`);
  assert.ok(lastLoss < firstLoss / 4, `training ran (loss ${firstLoss} -> ${lastLoss})`);
});

test('native memory is reported to V8, so large tensors are collected in a tight loop', () => {
  const before = rssMB();
  for (let i = 0; i < 400; i++) zeros([1024, 1024]); // 4 MiB each, 1.6 GiB in all
  const growth = rssMB() - before;
  assert.ok(growth < 600, `resident memory grew by ${growth.toFixed(0)} MB for 1.6 GiB of garbage tensors`);
});

test('scope() frees what it created except the returned tensors', () => {
  const a = randn([3]);
  let inner: Tensor | undefined;
  const { result } = scope(() => {
    inner = a.mul(2);
    return { result: inner.add(1) };
  });
  assert.equal(inner!.isDisposed, true);
  assert.equal(result.isDisposed, false);
  assert.equal(a.isDisposed, false, 'tensors from outside the scope are untouched');
  assert.throws(() => inner!.sum(), /disposed/);
});

test('nested scopes hand returned tensors to the parent; keep() exempts a tensor', () => {
  let fromInner: Tensor | undefined;
  let kept: Tensor | undefined;
  scope(() => {
    fromInner = scope(() => randn([2]).mul(3));
    kept = keep(randn([2]));
    assert.equal(fromInner.isDisposed, false);
  });
  assert.equal(fromInner!.isDisposed, true, 'the outer scope released it');
  assert.equal(kept!.isDisposed, false);
});

test('a throwing scope releases its tensors and rethrows; async callbacks are refused', () => {
  let made: Tensor | undefined;
  assert.throws(() => scope(() => {
    made = randn([2]);
    throw new Error('boom');
  }), /boom/);
  assert.equal(made!.isDisposed, true);
  assert.throws(() => scope(async () => randn([1])), /synchronous/);
});

test('tensors that outlive their scope are handed to the GC, which frees them', () => {
  // Tensors made inside a scope carry no GC finalizer; the ones returned or kept get one when
  // the scope ends. Without it, these 400 results (4 MiB each) would never be freed.
  const before = rssMB();
  let last: Tensor | undefined;
  for (let i = 0; i < 400; i++) {
    last = scope(() => zeros([1024, 1024]).add(1));
    scope(() => keep(zeros([1024, 1024])));
  }
  const growth = rssMB() - before;
  assert.ok(growth < 600, `resident memory grew by ${growth.toFixed(0)} MB for 3.2 GiB of escaped tensors`);
  assert.equal(last!.sum().item(), 1024 * 1024);
});

test('a module built inside a scope keeps its parameters', () => {
  const layer = scope(() => new nn.Linear(3, 2));
  for (let i = 0; i < 50; i++) zeros([256, 1024]); // some garbage, so GC runs
  assert.deepEqual(layer.forward(ones([1, 3])).shape, [1, 2]);
});

test('dispose() is idempotent and later use throws a clear error', () => {
  const t = randn([2, 2]);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.add(1), /Tensor was disposed .* cannot be used/);
  assert.equal(t.toString(), 'tensor(<disposed>)');
});

test('the addon works in a worker thread, with scopes of its own', async () => {
  const { Worker } = await import('node:worker_threads');
  const index = new URL('../../src/index.js', import.meta.url).href;
  const source = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(index)}).then(({ scope, ones }) => {
      const total = scope(() => ones([3]).mul(2).sum().item());
      parentPort.postMessage(total);
    });`;
  const result = await new Promise<number>((resolve, reject) => {
    const worker = new Worker(source, { eval: true });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const mainResult = scope(() => ones([2]).sum().item());
  assert.equal(result, 6);
  assert.equal(mainResult, 2);
});
