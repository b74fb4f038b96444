// The default device (torch.set_default_device): the creation functions use it when their options
// name no device, withDevice restores the previous one (also after a throw), and resolveDevice
// turns --device into the device a run computes on, or says why this build or machine lacks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arange, getDefaultDevice, randn, setDefaultDevice, tensor, withDevice, zeros } from '../../src/tensor/creation.js';
import { buildInfo, cudaDeviceCount, resolveDevice } from '../../src/tensor/runtime.js';

const GPUS = buildInfo().cuda ? cudaDeviceCount() : 0;

test('the creation functions make their tensors on the default device; withDevice restores it, also after a throw', () => {
  assert.equal(getDefaultDevice(), 'cpu');
  withDevice('cpu', () => assert.equal(zeros([2]).device, 'cpu'));
  assert.throws(() => setDefaultDevice('gpu' as never), /setDefaultDevice: gpu is not a device \(cpu, cuda or cuda:N\)/);
  if (GPUS === 0) {
    // On a machine without a GPU, a CUDA default reaches libtorch, which refuses: proof that every function read it.
    for (const make of [() => zeros([2]), () => tensor([1, 2]), () => tensor(new Float32Array(3)), () => randn([2]), () => arange(3)]) {
      assert.throws(() => withDevice('cuda', make), /cuda|CUDA/);
      assert.equal(getDefaultDevice(), 'cpu', 'restored after the throw');
      assert.equal(make().device, 'cpu', 'an explicit device is kept; back on the CPU after');
    }
    assert.equal(withDevice('cuda', () => zeros([2], { device: 'cpu' }).device), 'cpu', "an explicit device wins over the default");
  } else {
    withDevice('cuda', () => {
      for (const t of [zeros([2]), tensor([1, 2]), tensor(new Float32Array(3)), randn([2]), arange(3)]) assert.match(t.device, /^cuda/);
    });
  }
  const previous = setDefaultDevice('cpu');
  assert.equal(previous, 'cpu');
});

test('resolveDevice: auto is the GPU (LOCAL_RANK\'s under a launch) when there is one, else the CPU; a missing GPU is an Error that says why', () => {
  assert.equal(resolveDevice('cpu'), 'cpu');
  assert.equal(resolveDevice('auto', {}), GPUS > 0 ? 'cuda:0' : 'cpu');
  if (!buildInfo().cuda) {
    assert.throws(() => resolveDevice('cuda:1', {}), /^Error: device cuda:1: this Kiln addon is built against a libtorch without CUDA; build one with CUDA: LIBTORCH=.* npm run build:native/);
    assert.equal(resolveDevice('auto', { LOCAL_RANK: '1' }), 'cpu');
  } else if (GPUS === 0) {
    assert.throws(() => resolveDevice('cuda', {}), /this build has CUDA but no GPU is visible/);
  } else {
    assert.equal(resolveDevice('cuda', { LOCAL_RANK: String(GPUS - 1) }), `cuda:${GPUS - 1}`);
    assert.throws(() => resolveDevice(`cuda:${GPUS}`, {}), new RegExp(`this machine has ${GPUS} visible GPU`));
  }
});
