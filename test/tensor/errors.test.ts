// Bad input from JavaScript gives a JS Error that names the problem; the process keeps running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Tensor, cat, ones, randn, tensor, zeros } from '../../src/index.js';

const idx = (values: number[]): Tensor => tensor(new BigInt64Array(values.map(BigInt)));

/** [what is wrong, the call, a pattern its message must match] */
const badCalls: [string, () => unknown, RegExp][] = [
  ['matmul shapes', () => randn([2, 3]).matmul(randn([4, 5])), /matmul\(float32\[2, 3\], float32\[4, 5\]\).*cannot be multiplied/],
  ['broadcast shapes', () => randn([2, 3]).add(randn([4])), /add.*size of tensor a \(3\) must match/],
  ['view numel', () => randn([2, 3]).view(4, 2), /view.*shape '\[4, 2\]' is invalid/],
  ['reshape numel', () => randn([6]).reshape(5), /reshape.*invalid/],
  ['cat shapes', () => cat([randn([2, 3]), randn([2, 4])], 0), /cat.*Sizes of tensors must match/],
  ['indexSelect out of range', () => randn([3, 2]).indexSelect(0, idx([3])), /indexSelect.*out of range/],
  ['gather out of range', () => randn([2, 2]).gather(1, tensor(new BigInt64Array([0n, 5n]), { shape: [2, 1] })), /gather.*out of bounds/],
  ['embedding out of range', () => F.embedding(idx([7]), randn([5, 3])), /embedding.*out of range/],
  ['select out of range', () => randn([3]).select(0, 3), /select.*out of range/],
  ['narrow out of range', () => randn([3]).narrow(0, 2, 5), /narrow.*exceeds dimension size|out of range/],
  ['class index out of range', () => F.crossEntropy(randn([2, 3]), idx([0, 5])), /crossEntropy.*out of bounds/],
  ['float class targets of the wrong shape', () => F.crossEntropy(randn([2, 3]), randn([2])), /crossEntropy/],
  ['float indices', () => randn([3]).indexSelect(0, tensor([0.5])), /indexSelect.*(Long|Int|index)/],
  ['grad on integers', () => ones([2], { dtype: 'int64' }).requiresGrad_(), /only floating-point tensors can require gradients/],
  ['ragged nested array', () => tensor([[1, 2], [3]]), /ragged nested array/],
  ['negative shape', () => zeros([2, -1]), /non-negative integers/],
  ['unknown dtype', () => zeros([2], { dtype: 'float8' as never }), /unknown dtype 'float8'/],
  ['unavailable device', () => randn([2]).to('cuda'), /device 'cuda' is not available|cuda/i],
  ['conv channels', () => F.conv2d(randn([1, 3, 5, 5]), randn([2, 4, 3, 3])), /conv2d.*channels/],
  ['bmm on 2-D', () => randn([2, 3]).bmm(randn([3, 2])), /bmm.*3D|3-D|batch1 must be a 3D/],
  ['item of many', () => randn([2]).item(), /item\(\) needs a tensor with exactly one element/],
  ['backward of non-scalar', () => randn([2], { requiresGrad: true }).mul(2).backward(), /needs a scalar output/],
  ['backward without grad', () => randn([1]).backward(), /does not require grad/],
  ['in-place on a leaf', () => randn([2], { requiresGrad: true }).add_(1), /leaf Variable that requires grad/],
  ['string for a tensor', () => F.linear('x' as unknown as Tensor, randn([2, 2])), /linear|handle|Tensor/],
  ['multinomial negative', () => tensor([0.5, -1]).multinomial(1), /multinomial.*element < 0/],
  ['where shapes', () => randn([2]).maximum(randn([3])), /maximum.*must match/],
  ['layerNorm shape', () => F.layerNorm(randn([2, 3]), [4]), /layerNorm.*normalized_shape|expected input/],
  ['lstm params', () => F.lstm(randn([3, 1, 2]), zeros([1, 1, 2]), zeros([1, 1, 2]), [randn([8, 2])]), /lstm/],
  ['split size zero', () => randn([4]).split(0), /split size must be positive/],
  ['dropout p', () => F.dropout(randn([2]), 1.5), /dropout probability must be in \[0, 1\]/],
  ['wrong argument type', () => randn([2]).add('one' as unknown as number), /add.*argument 1 must be a number/],
  ['setting a grad of another shape', () => { randn([2], { requiresGrad: true }).grad = randn([3]); }, /grad must have the tensor's shape/],
];

test('1,000 bad calls each throw a JS Error and the process keeps running', () => {
  const disposed = randn([2]);
  disposed.dispose();
  const calls: [string, () => unknown, RegExp][] = [
    ...badCalls,
    ['disposed tensor', () => disposed.mul(2), /Tensor was disposed/],
    ['disposed tensor in a list', () => F.lstm(randn([1, 1, 1]), disposed, disposed, []), /disposed/],
  ];
  let thrown = 0;
  for (let round = 0; thrown < 1000; round++) {
    for (const [what, call, pattern] of calls) {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof Error, `${what}: threw a non-Error ${String(error)}`);
        assert.match(error.message, pattern, `${what}: unexpected message`);
        return true;
      }, what);
      thrown++;
    }
  }
  assert.ok(thrown >= 1000);
  assert.deepEqual(tensor([1, 2]).add(1).toArray(), [2, 3], 'the engine still works');
});

test('an impossible allocation is an Error, not a crash', () => {
  assert.throws(() => zeros([1_000_000, 1_000_000]), /zeros.*(allocate|memory)/i);
  // More than RAM but a plausible size: refused before libtorch touches (and the kernel kills) it.
  assert.throws(() => ones([1 << 20, 1 << 20], { dtype: 'uint8' }), /ones: shape \[1048576, 1048576\] of uint8 needs 1024\.0 GiB, more than this machine's .* GiB of memory/);
  assert.throws(() => randn([1 << 18, 1 << 18]), /randn: .* needs 256\.0 GiB/);
  assert.equal(zeros([2]).sum().item(), 0);
});
