// Fused CPU kernels: one pass over the elements where ATen runs several ops or a slow one. Each
// keeps the plain ATen op or composition beside it as its reference (the `…Reference` ops), and
// test/nn/fused-kernels.test.ts holds the two together and against PyTorch-written fixtures.
// `setFusedKernels(false)` routes every fused op to its reference, for benchmarks.
#include "kiln.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

namespace kiln {

std::atomic<bool> fusedKernelsEnabled{true};

namespace {
int detectVectorLevel() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq")) {
    return 2;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
  return 0;
}
const int cpuVectorLevel = detectVectorLevel();
std::atomic<int> vectorLevelNow{cpuVectorLevel};
}  // namespace

int vectorLevel() { return vectorLevelNow.load(std::memory_order_relaxed); }

namespace {

// ---- element helpers: plain arithmetic GCC's vectoriser turns into AVX-512 / AVX2 code ----
KILN_INLINE float bf16ToFloat(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest even, NaN to the quiet NaN: c10::BFloat16's conversion.
KILN_INLINE uint16_t floatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nanMask = 0u - static_cast<uint32_t>((u & 0x7FFFFFFFu) > 0x7F800000u);  // all ones for NaN
  return static_cast<uint16_t>((rounded & ~nanMask) | (0x7FC0u & nanMask));
}

KILN_INLINE float load(const float* p, int64_t k) { return p[k]; }
KILN_INLINE float load(const uint16_t* p, int64_t k) { return bf16ToFloat(p[k]); }
KILN_INLINE void store(float* p, int64_t k, float v) { p[k] = v; }
KILN_INLINE void store(uint16_t* p, int64_t k, float v) { p[k] = floatToBf16(v); }

// e^x in float32 to about 1 ulp (Cephes' expf: x = n·ln2 + r, a degree-6 polynomial in r,
// 2^n put into the exponent bits), branch-free so that it vectorises. x is clamped to
// [−88, 89]: e^−88 flushes to 0 (2^−127 has no normal exponent) and e^89 overflows to inf (2^128),
// so that σ(z) = 1/(1 + e^−z) is exactly 0 or 1 far out, as tanh saturates.
KILN_INLINE float expApprox(float x) {
  // (not std::max/min: GCC does not inline them into the target functions, and a call stays scalar;
  // the ternaries vectorise with -fno-trapping-math, binding.gyp)
  x = x < -88.0f ? -88.0f : x;
  x = x > 89.0f ? 89.0f : x;
  // n = round(x / ln 2): adding and taking away 1.5·2^23 rounds to an integer in any vector width
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

// ---- GELU, tanh approximation (GPT-2's gelu_new) ----
// gelu(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), which is x·σ(2u): one exp and one
// division per element. ATen computes tanh through Sleef and its backward again from tanh; at
// the nanoGPT recipe its forward and backward took 17% of PyTorch's training step.
constexpr float kGeluBeta = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluKappa = 0.044715f;

// Each loop is compiled three times, for AVX-512, AVX2 + FMA and the baseline, and the widest
// the CPU has is called (KILN_VECTOR_LOOP, kiln.h).
template <typename T>
KILN_VECTOR_LOOP(geluTanhElements, (const T* __restrict x, T* __restrict y, int64_t begin, int64_t end), {
  for (int64_t k = begin; k < end; ++k) {
    const float v = load(x, k);
    const float s = 1.0f / (1.0f + expApprox(-2.0f * kGeluBeta * (v + kGeluKappa * v * v * v)));
    store(y, k, v * s);
  }
})

// d/dx x·σ(2u) = σ + x·σ(1 − σ)·2u', u' = √(2/π)(1 + 3·0.044715x²)
template <typename T>
KILN_VECTOR_LOOP(geluTanhBackwardElements,
                 (const T* __restrict g, const T* __restrict x, T* __restrict dx, int64_t begin, int64_t end), {
  for (int64_t k = begin; k < end; ++k) {
    const float v = load(x, k);
    const float v2 = v * v;
    const float s = 1.0f / (1.0f + expApprox(-2.0f * kGeluBeta * (v + kGeluKappa * v2 * v)));
    const float du = 2.0f * kGeluBeta * (1.0f + 3.0f * kGeluKappa * v2);
    store(dx, k, load(g, k) * (s + v * s * (1.0f - s) * du));
  }
})

constexpr int64_t kGrain = 16384;

// The fused kernels run where they were measured faster than ATen: float32 or bf16 on a CPU with
// AVX2 or AVX-512 (the baseline build of a loop is slower than ATen's Sleef-vectorised one).
bool fusable(const at::Tensor& x) {
  return fusedKernelsEnabled.load(std::memory_order_relaxed) && vectorLevel() >= 1 && x.device().is_cpu() &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) && x.numel() > 0;
}

// Calls body(typed pointers...) with float or bf16 (as uint16_t) data pointers of contiguous tensors.
template <typename Body>
void dispatchFloatOrBf16(at::ScalarType type, Body body) {
  if (type == at::kFloat) body(static_cast<float*>(nullptr));
  else body(static_cast<uint16_t*>(nullptr));
}

at::Tensor geluTanhKernel(const at::Tensor& input) {
  at::Tensor x = input.contiguous();
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  dispatchFloatOrBf16(x.scalar_type(), [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { vectorLoop<geluTanhElements<T>>()(xp, yp, b, e); });
  });
  return y;
}

at::Tensor geluTanhBackwardKernel(const at::Tensor& gradOutput, const at::Tensor& input) {
  at::Tensor x = input.contiguous();
  at::Tensor g = gradOutput.contiguous();
  at::Tensor dx = at::empty_like(x, at::MemoryFormat::Contiguous);
  dispatchFloatOrBf16(x.scalar_type(), [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    const T* gp = static_cast<const T*>(g.data_ptr());
    T* dxp = static_cast<T*>(dx.data_ptr());
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { vectorLoop<geluTanhBackwardElements<T>>()(gp, xp, dxp, b, e); });
  });
  return dx;
}

struct GeluTanhFunction : torch::autograd::Function<GeluTanhFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    return geluTanhKernel(x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor& g = grads[0];
    // create_graph (a gradient of the gradient) or an unusual gradient: ATen's own backward,
    // which autograd can differentiate again.
    if (at::GradMode::is_enabled() || !fusable(g) || g.scalar_type() != x.scalar_type() || g.sizes() != x.sizes()) {
      return {at::gelu_backward(g, x, "tanh")};
    }
    return {geluTanhBackwardKernel(g, x)};
  }
};

}  // namespace

at::Tensor geluTanh(const at::Tensor& x) {
  if (!fusable(x)) return at::gelu(x, "tanh");
  if (at::GradMode::is_enabled() && x.requires_grad()) return GeluTanhFunction::apply(x);
  return geluTanhKernel(x);
}

namespace {

// geluTanhBackward(grad, x): the fused backward alone, for its test against ATen's gelu_backward.
KILN_OP(geluTanhBackward) {
  const at::Tensor& g = tensorArg(info, 0);
  const at::Tensor& x = tensorArg(info, 1);
  if (!fusable(x) || g.scalar_type() != x.scalar_type() || !g.sizes().equals(x.sizes())) {
    return wrap(env, at::gelu_backward(g, x, "tanh"));
  }
  at::NoGradGuard noGrad;
  return wrap(env, geluTanhBackwardKernel(g, x));
}

KILN_OP(geluTanhBackwardReference) {
  return wrap(env, at::gelu_backward(tensorArg(info, 0), tensorArg(info, 1), "tanh"));
}

// setVectorLevel(level) -> the level in use before: 0 baseline, 1 AVX2, 2 AVX-512; a level above
// the CPU's is lowered to it. Without an argument, only reports it.
KILN_OP(setVectorLevel) {
  if (isMissing(info, 0)) return Napi::Number::New(env, vectorLevel());
  int64_t level = intArg(info, 0);
  if (level < 0 || level > 2) throw ArgError("setVectorLevel: level must be 0, 1 or 2", false);
  return Napi::Number::New(env, vectorLevelNow.exchange(std::min<int>(static_cast<int>(level), cpuVectorLevel)));
}

// setFusedKernels(on) -> the previous setting
KILN_OP(setFusedKernels) {
  return Napi::Boolean::New(env, fusedKernelsEnabled.exchange(boolArg(info, 0, true)));
}

const OpEntry entries[] = {
    KILN_ENTRY(geluTanhBackward),
    KILN_ENTRY(geluTanhBackwardReference),
    KILN_ENTRY(setFusedKernels),
    KILN_ENTRY(setVectorLevel),
};

}  // namespace

void registerFusedOps(Napi::Env env, Napi::Object exports) {
  registerAll(env, exports, entries, sizeof(entries) / sizeof(entries[0]));
}

}  // namespace kiln
