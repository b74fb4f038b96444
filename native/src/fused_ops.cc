// Fused CPU kernels: one pass over the elements where ATen runs several ops or a slow one. Each
// keeps the plain ATen op or composition beside it as its reference (the `…Reference` ops), and
// test/nn/fused-kernels.test.ts holds the two together and against PyTorch-written fixtures.
// `setFusedKernels(false)` routes every fused op to its reference, for benchmarks.
#include "kiln.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

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
// (bf16ToFloat and floatToBf16, c10::BFloat16's conversions, are in kiln.h: AdamW writes bf16 too)

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
  RECORD_FUNCTION("kiln::gelu_tanh", std::vector<c10::IValue>());
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
  RECORD_FUNCTION("kiln::gelu_tanh_backward", std::vector<c10::IValue>());
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

// Whether the fused backward takes this gradient: fusable, and of x's dtype and shape.
bool geluBackwardFusable(const at::Tensor& g, const at::Tensor& x) {
  return fusable(x) && g.scalar_type() == x.scalar_type() && g.sizes().equals(x.sizes());
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
    if (at::GradMode::is_enabled() || !geluBackwardFusable(g, x)) {
      return {at::gelu_backward(g, x, "tanh")};
    }
    return {geluTanhBackwardKernel(g, x)};
  }
};

// ---- self-attention, causal or not, without a mask ----
// softmax(scale·q kᵀ) v, causal or over every key, per (batch, head) without writing the (L, L) scores to memory
// shared with other ops: FlashAttention's arithmetic (each row's log-sum-exp kept for the
// backward, which recomputes the probabilities) without its tiling over keys, which short
// sequences do not need. Each head's q, k, v are first gathered into float32 buffers (any
// strides, float32 or bf16), zero-padded to multiples of 16 and, for k and v, also transposed.
// The products then run on tiles of 4 queries × 16 keys (or × 16 features) held in vector
// registers: each key or value vector loaded serves four queries. Causal, only the causal half
// of the scores is computed (per block of 4 queries, the keys up to its last).
// ATen's composition (attentionMath, nn_ops.cc) is the reference: two batched products, a mask
// and a softmax forward, four products and a softmax backward in the backward, each writing and
// reading the (L, L) scores, the masked half included.

// 16 floats in vector registers (GCC's vector extension: one zmm with AVX-512, two ymm with AVX2,
// four xmm on the baseline). Its helpers are always inlined, so the ABI GCC warns about for
// passing it by value between differently-targeted functions never comes into play.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float Vec16 __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;
constexpr int64_t kRows = 4;  // queries per tile

KILN_INLINE Vec16 loadVec(const float* p) {
  Vec16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
KILN_INLINE void storeVec(float* p, Vec16 v) { std::memcpy(p, &v, sizeof v); }

KILN_INLINE int64_t roundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Sum of a[0..n) (n a multiple of 16) in 16 lanes.
KILN_INLINE float sumLanes(const float* a, int64_t n) {
  Vec16 acc = {};
  for (int64_t j = 0; j < n; j += kLanes) acc += loadVec(a + j);
  float total = 0;
  for (int l = 0; l < kLanes; ++l) total += acc[l];
  return total;
}

KILN_INLINE float maxLanes(const float* a, int64_t n) {
  Vec16 acc = loadVec(a);
  for (int64_t j = kLanes; j < n; j += kLanes) {
    const Vec16 v = loadVec(a + j);
    acc = v > acc ? v : acc;
  }
  float m = acc[0];
  for (int l = 1; l < kLanes; ++l) m = acc[l] > m ? acc[l] : m;
  return m;
}

// out[r][c] = Σ_{k<K} a[r][k]·b[k][c] for the kRows rows of a (row stride aStride) and columns
// [0, cols) of b (row stride bStride; cols a multiple of 16), out's row stride outStride: a
// kRows × 16 tile of the product in vector registers, each vector of b loaded serving kRows rows.
// Scores (a = q, b = kᵀ), gradient scores (g, vᵀ), outputs (probabilities, v) and the queries'
// gradient (the scores' gradient, k).
KILN_INLINE void tileMatmul(const float* a, int64_t aStride, const float* b, int64_t bStride, int64_t K, int64_t cols,
                            float* out, int64_t outStride) {
  for (int64_t c = 0; c < cols; c += kLanes) {
    Vec16 acc[kRows] = {};
    for (int64_t k = 0; k < K; ++k) {
      const Vec16 column = loadVec(b + k * bStride + c);
      for (int64_t r = 0; r < kRows; ++r) acc[r] += a[r * aStride + k] * column;
    }
    for (int64_t r = 0; r < kRows; ++r) storeVec(out + r * outStride + c, acc[r]);
  }
}

// target[j][·] += Σ_r weights[r][j]·rows[r][·] for j < n: the keys' and values' gradients.
KILN_INLINE void tileAccumulate(const float* weights, const float* rows, int64_t ep, int64_t lp, int64_t n, float* target) {
  for (int64_t ec = 0; ec < ep; ec += kLanes) {
    Vec16 source[kRows];
    for (int64_t r = 0; r < kRows; ++r) source[r] = loadVec(rows + r * ep + ec);
    for (int64_t j = 0; j < n; ++j) {
      Vec16 acc = loadVec(target + j * ep + ec);
      for (int64_t r = 0; r < kRows; ++r) acc += weights[r * lp + j] * source[r];
      storeVec(target + j * ep + ec, acc);
    }
  }
}

// Scores of the block of queries i0..i0+3 against keys [0, n): causal, n = the block's key
// count rounded up to 16 and the keys after each query's own set to −∞; else every key, n = lp,
// the padding keys from L on set to −∞.
KILN_INLINE int64_t blockScores(const float* q, const float* kt, int64_t i0, int64_t L, int64_t ep, int64_t lp,
                                bool causal, float* s) {
  const int64_t n = causal ? roundUp(i0 + kRows, kLanes) : lp;
  tileMatmul(q + i0 * ep, ep, kt, lp, ep, n, s, lp);
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t j = causal ? i0 + r + 1 : L; j < n; ++j) s[r * lp + j] = -std::numeric_limits<float>::infinity();
  }
  return n;
}

// One head: q (lr × ep, scaled, rows past L zero), kt (ep × lp), v (lp × ep) -> out (lr × ep),
// lse (lr). s: kRows × lp scratch.
KILN_VECTOR_LOOP(attentionForwardHead,
                 (const float* q, const float* kt, const float* v, int64_t L, int64_t lr, int64_t ep, int64_t lp,
                  bool causal, float* out, float* lse, float* s), {
  for (int64_t i0 = 0; i0 < lr; i0 += kRows) {
    const int64_t n = blockScores(q, kt, i0, L, ep, lp, causal, s);
    for (int64_t r = 0; r < kRows; ++r) {
      float* row = s + r * lp;
      const float m = maxLanes(row, n);
      for (int64_t j = 0; j < n; ++j) row[j] = expApprox(row[j] - m);
      const float l = sumLanes(row, n);
      const float inv = 1.0f / l;
      for (int64_t j = 0; j < n; ++j) row[j] *= inv;
      lse[i0 + r] = m + std::log(l);
    }
    tileMatmul(s, lp, v, ep, n, ep, out + i0 * ep, ep);
  }
})

// One head's gradients, accumulated into zeroed dq (lr × ep), dk, dv (lp × ep), from q (scaled),
// kt, k (lp × ep), vt (ep × lp), the output's gradient g (lr × ep, rows past L zero),
// D = rowsum(g ∘ out) and lse (rows past L: +∞, so that their probabilities are 0).
// p, ds: kRows × lp scratch.
KILN_VECTOR_LOOP(attentionBackwardHead,
                 (const float* q, const float* kt, const float* k, const float* vt, const float* g, const float* d,
                  const float* lse, int64_t L, int64_t lr, int64_t ep, int64_t lp, bool causal, float* dq, float* dk,
                  float* dv, float* p, float* ds), {
  for (int64_t i0 = 0; i0 < lr; i0 += kRows) {
    const int64_t n = blockScores(q, kt, i0, L, ep, lp, causal, p);
    tileMatmul(g + i0 * ep, ep, vt, lp, ep, n, ds, lp);  // g_i · v_j
    for (int64_t r = 0; r < kRows; ++r) {
      float* pr = p + r * lp;
      float* dsr = ds + r * lp;
      const float li = lse[i0 + r], di = d[i0 + r];
      for (int64_t j = 0; j < n; ++j) {
        pr[j] = expApprox(pr[j] - li);
        dsr[j] = pr[j] * (dsr[j] - di);  // the scores' gradient
      }
    }
    tileMatmul(ds, lp, k, ep, n, ep, dq + i0 * ep, ep);
    tileAccumulate(ds, q + i0 * ep, ep, lp, n, dk);
    tileAccumulate(p, g + i0 * ep, ep, lp, n, dv);
  }
})

// One head of a (…, L, E) tensor into a zeroed float32 buffer, as rows (row stride ep) or
// transposed (ep × lp), times scale; and back.
template <typename T>
void gatherRows(const T* src, int64_t rowStride, int64_t L, int64_t E, int64_t ep, float scale, float* rows) {
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t e = 0; e < E; ++e) rows[i * ep + e] = load(src + i * rowStride, e) * scale;
  }
}

template <typename T>
void gatherTransposed(const T* src, int64_t rowStride, int64_t L, int64_t E, int64_t lp, float* cols) {
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t e = 0; e < E; ++e) cols[e * lp + i] = load(src + i * rowStride, e);
  }
}

template <typename T>
void scatterRows(const float* rows, int64_t L, int64_t E, int64_t ep, float scale, T* dst, int64_t rowStride) {
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t e = 0; e < E; ++e) store(dst + i * rowStride, e, rows[i * ep + e] * scale);
  }
}

// A (…, L, E) tensor seen as heads × L × E: the element offset of head h and its row stride.
struct HeadLayout {
  int64_t heads, L, E;
  std::vector<int64_t> sizes, strides;  // of the leading dims
  int64_t rowStride;
  explicit HeadLayout(const at::Tensor& t) : L(t.size(-2)), E(t.size(-1)), rowStride(t.stride(-2)) {
    heads = 1;
    for (int64_t dim = 0; dim < t.dim() - 2; ++dim) {
      sizes.push_back(t.size(dim));
      strides.push_back(t.stride(dim));
      heads *= t.size(dim);
    }
  }
  int64_t offset(int64_t h) const {
    int64_t off = 0;
    for (int64_t dim = static_cast<int64_t>(sizes.size()) - 1; dim >= 0; --dim) {
      off += (h % sizes[dim]) * strides[dim];
      h /= sizes[dim];
    }
    return off;
  }
};

// A new tensor of q's shape whose memory is laid out (batch, L, heads, E) for 4-D (B, H, L, E)
// inputs — the layout the heads are merged back into, so that the usual
// y.transpose(1, 2).reshape(B, L, H·E) after attention copies nothing — else contiguous.
at::Tensor newLikeHeads(const at::Tensor& q, at::ScalarType type) {
  if (q.dim() == 4) {
    return at::empty({q.size(0), q.size(2), q.size(1), q.size(3)}, q.options().dtype(type)).transpose(1, 2);
  }
  return at::empty(q.sizes(), q.options().dtype(type));
}

template <typename T>
const T* typed(const at::Tensor& t) { return static_cast<const T*>(t.data_ptr()); }
template <typename T>
T* typedMut(at::Tensor& t) { return static_cast<T*>(t.data_ptr()); }

// The padded sizes of one head's buffers.
struct HeadSizes {
  int64_t L, E, lr, ep, lp;
  HeadSizes(int64_t L, int64_t E) : L(L), E(E), lr(roundUp(L, kRows)), ep(roundUp(E, kLanes)), lp(roundUp(L, kLanes)) {}
};

// out (q's shape, dtype), lse (heads, L) float32
std::pair<at::Tensor, at::Tensor> attentionForwardKernel(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                         double scale, bool causal) {
  RECORD_FUNCTION("kiln::attention", std::vector<c10::IValue>());
  HeadLayout lq(q), lk(k), lv(v);
  at::Tensor out = newLikeHeads(q, q.scalar_type());
  HeadLayout lo(out);
  at::Tensor lse = at::empty({lq.heads, lq.L}, q.options().dtype(at::kFloat));
  const HeadSizes z(lq.L, lq.E);
  float* lsep = lse.data_ptr<float>();
  dispatchFloatOrBf16(q.scalar_type(), [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T *qp = typed<T>(q), *kp = typed<T>(k), *vp = typed<T>(v);
    T* op = typedMut<T>(out);
    at::parallel_for(0, lq.heads, 1, [&](int64_t begin, int64_t end) {
      const int64_t qSize = z.lr * z.ep, kSize = z.ep * z.lp, vSize = z.lp * z.ep;
      std::vector<float> buffer(2 * qSize + kSize + vSize + kRows * z.lp + z.lr);
      float *qh = buffer.data(), *kt = qh + qSize, *vh = kt + kSize, *oh = vh + vSize, *s = oh + qSize,
            *lseh = s + kRows * z.lp;
      for (int64_t h = begin; h < end; ++h) {
        std::fill(buffer.begin(), buffer.begin() + (2 * qSize + kSize + vSize), 0.0f);
        gatherRows(qp + lq.offset(h), lq.rowStride, z.L, z.E, z.ep, static_cast<float>(scale), qh);
        gatherTransposed(kp + lk.offset(h), lk.rowStride, z.L, z.E, z.lp, kt);
        gatherRows(vp + lv.offset(h), lv.rowStride, z.L, z.E, z.ep, 1.0f, vh);
        vectorLoop<attentionForwardHead>()(qh, kt, vh, z.L, z.lr, z.ep, z.lp, causal, oh, lseh, s);
        scatterRows(oh, z.L, z.E, z.ep, 1.0f, op + lo.offset(h), lo.rowStride);
        std::copy(lseh, lseh + z.L, lsep + h * z.L);
      }
    });
  });
  return {out, lse};
}

// dq, dk, dv in the inputs' dtype
std::vector<at::Tensor> attentionBackwardKernel(const at::Tensor& gradOut, const at::Tensor& q, const at::Tensor& k,
                                                const at::Tensor& v, const at::Tensor& out, const at::Tensor& lse,
                                                double scale, bool causal) {
  RECORD_FUNCTION("kiln::attention_backward", std::vector<c10::IValue>());
  HeadLayout lq(q), lk(k), lv(v), lg(gradOut), lo(out);
  at::Tensor dq = newLikeHeads(q, q.scalar_type()), dk = newLikeHeads(q, q.scalar_type()),
             dv = newLikeHeads(q, q.scalar_type());
  HeadLayout ld(dq);
  const HeadSizes z(lq.L, lq.E);
  const float* lsep = lse.data_ptr<float>();
  dispatchFloatOrBf16(q.scalar_type(), [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T *qp = typed<T>(q), *kp = typed<T>(k), *vp = typed<T>(v), *gp = typed<T>(gradOut), *outp = typed<T>(out);
    T *dqp = typedMut<T>(dq), *dkp = typedMut<T>(dk), *dvp = typedMut<T>(dv);
    at::parallel_for(0, lq.heads, 1, [&](int64_t begin, int64_t end) {
      const int64_t qSize = z.lr * z.ep, tSize = z.ep * z.lp, kSize = z.lp * z.ep;
      // q, g, out, dq (lr × ep); kt, vt (ep × lp); k, dk, dv (lp × ep); then p, ds, d, lse
      const int64_t zeroed = 4 * qSize + 2 * tSize + 3 * kSize;
      std::vector<float> buffer(zeroed + 2 * kRows * z.lp + 2 * z.lr);
      float *qh = buffer.data(), *gh = qh + qSize, *oh = gh + qSize, *dqh = oh + qSize, *kt = dqh + qSize,
            *vt = kt + tSize, *kh = vt + tSize, *dkh = kh + kSize, *dvh = dkh + kSize, *p = dvh + kSize,
            *ds = p + kRows * z.lp, *d = ds + kRows * z.lp, *lseh = d + z.lr;
      for (int64_t h = begin; h < end; ++h) {
        std::fill(buffer.begin(), buffer.begin() + zeroed, 0.0f);
        gatherRows(qp + lq.offset(h), lq.rowStride, z.L, z.E, z.ep, static_cast<float>(scale), qh);
        gatherRows(gp + lg.offset(h), lg.rowStride, z.L, z.E, z.ep, 1.0f, gh);
        gatherRows(outp + lo.offset(h), lo.rowStride, z.L, z.E, z.ep, 1.0f, oh);
        gatherTransposed(kp + lk.offset(h), lk.rowStride, z.L, z.E, z.lp, kt);
        gatherRows(kp + lk.offset(h), lk.rowStride, z.L, z.E, z.ep, 1.0f, kh);
        gatherTransposed(vp + lv.offset(h), lv.rowStride, z.L, z.E, z.lp, vt);
        for (int64_t i = 0; i < z.lr; ++i) {
          float di = 0;
          for (int64_t e = 0; e < z.ep; ++e) di += gh[i * z.ep + e] * oh[i * z.ep + e];
          d[i] = di;
          lseh[i] = i < z.L ? lsep[h * z.L + i] : std::numeric_limits<float>::infinity();
        }
        vectorLoop<attentionBackwardHead>()(qh, kt, kh, vt, gh, d, lseh, z.L, z.lr, z.ep, z.lp, causal, dqh, dkh, dvh, p,
                                            ds);
        scatterRows(dqh, z.L, z.E, z.ep, static_cast<float>(scale), dqp + ld.offset(h), ld.rowStride);
        scatterRows(dkh, z.L, z.E, z.ep, 1.0f, dkp + ld.offset(h), ld.rowStride);
        scatterRows(dvh, z.L, z.E, z.ep, 1.0f, dvp + ld.offset(h), ld.rowStride);
      }
    });
  });
  return {dq, dk, dv};
}

// ---- bf16 attention through oneDNN's products ----
// Where the CPU has bf16 dot-product instructions (AVX512-BF16, AMX), oneDNN's bf16 matrix products
// run several times faster than the float32 arithmetic of the kernel above. For bf16 q, k, v there
// the products go to at::matmul — s = q kᵀ and out = p v forward; dp = g vᵀ, dq = ds k, dk = dsᵀ q,
// dv = pᵀ g backward — and what lies between them is fused into one pass over each row of the
// (L, L) scores, in float32: the scaled, masked softmax, written back in place as bf16
// probabilities p; and its backward, ds = scale·p·(dp − Σⱼ p·dp), in place in dp. The
// probabilities are kept for the backward, as the composition keeps them; the composition
// (attentionMath) makes them in six passes over (L, L) tensors (scale, mask, cast to float32,
// softmax, cast back) and its backward in as many.

// Rows [begin, end) of the scores s (rows × S, row r is query r % L of its head), softmaxed in place.
// row: a float32 buffer of S rounded up to 16.
KILN_VECTOR_LOOP(softmaxRowsBf16,
                 (uint16_t* s, int64_t L, int64_t S, bool causal, float scale, int64_t begin, int64_t end, float* row), {
  for (int64_t r = begin; r < end; ++r) {
    uint16_t* x = s + r * S;
    const int64_t n = causal ? r % L + 1 : S;  // the keys this query sees
    const int64_t np = roundUp(n, kLanes);
    for (int64_t j = 0; j < n; ++j) row[j] = bf16ToFloat(x[j]) * scale;
    for (int64_t j = n; j < np; ++j) row[j] = -std::numeric_limits<float>::infinity();
    const float m = maxLanes(row, np);
    for (int64_t j = 0; j < np; ++j) row[j] = expApprox(row[j] - m);
    const float inv = 1.0f / sumLanes(row, np);
    for (int64_t j = 0; j < n; ++j) x[j] = floatToBf16(row[j] * inv);
    for (int64_t j = n; j < S; ++j) x[j] = 0;
  }
})

// Rows [begin, end) of the probabilities p and their gradient dp, which becomes the scores'
// gradient ds in place. a, b: float32 buffers of S rounded up to 16.
KILN_VECTOR_LOOP(softmaxBackwardRowsBf16,
                 (const uint16_t* p, uint16_t* dp, int64_t L, int64_t S, bool causal, float scale, int64_t begin,
                  int64_t end, float* a, float* b), {
  for (int64_t r = begin; r < end; ++r) {
    const uint16_t* pr = p + r * S;
    uint16_t* gr = dp + r * S;
    const int64_t n = causal ? r % L + 1 : S;
    const int64_t np = roundUp(n, kLanes);
    for (int64_t j = 0; j < n; ++j) {
      a[j] = bf16ToFloat(pr[j]);
      b[j] = bf16ToFloat(gr[j]);
    }
    for (int64_t j = n; j < np; ++j) a[j] = b[j] = 0;
    Vec16 acc = {};
    for (int64_t j = 0; j < np; j += kLanes) acc += loadVec(a + j) * loadVec(b + j);
    float d = 0;
    for (int l = 0; l < kLanes; ++l) d += acc[l];
    for (int64_t j = 0; j < n; ++j) gr[j] = floatToBf16(scale * a[j] * (b[j] - d));
    for (int64_t j = n; j < S; ++j) gr[j] = 0;
  }
})

// Rows of (L, S) scores per parallel chunk: about 16K elements.
int64_t scoreRowGrain(int64_t S) { return std::max<int64_t>(1, 16384 / S); }

// out (…, L, E) and the probabilities p (…, L, S), both bf16
// q, k, v contiguous (heads split from a packed projection are strided views: made contiguous
// first, so that kᵀ reaches oneDNN as a transposed view rather than as a transposing copy)
std::pair<at::Tensor, at::Tensor> productAttentionForward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                          double scale, bool causal) {
  const c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);  // bf16 products, whatever its dtype
  at::Tensor p = at::matmul(q, k.transpose(-2, -1)).contiguous();
  const int64_t L = p.size(-2), S = p.size(-1);
  uint16_t* pp = typedMut<uint16_t>(p);
  {
    RECORD_FUNCTION("kiln::attention_softmax", std::vector<c10::IValue>());
    at::parallel_for(0, p.numel() / S, scoreRowGrain(S), [&](int64_t begin, int64_t end) {
      std::vector<float> row(roundUp(S, kLanes));
      vectorLoop<softmaxRowsBf16>()(pp, L, S, causal, static_cast<float>(scale), begin, end, row.data());
    });
  }
  return {at::matmul(p, v), p};
}

// q, k, v, p contiguous
std::vector<at::Tensor> productAttentionBackward(const at::Tensor& gradOut, const at::Tensor& q, const at::Tensor& k,
                                                 const at::Tensor& v, const at::Tensor& p, double scale, bool causal) {
  const c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);
  const at::Tensor g = gradOut.contiguous();
  at::Tensor ds = at::matmul(g, v.transpose(-2, -1)).contiguous();  // dp, then ds in place
  const int64_t L = ds.size(-2), S = ds.size(-1);
  const uint16_t* pp = typed<uint16_t>(p);
  uint16_t* dsp = typedMut<uint16_t>(ds);
  {
    RECORD_FUNCTION("kiln::attention_softmax_backward", std::vector<c10::IValue>());
    at::parallel_for(0, ds.numel() / S, scoreRowGrain(S), [&](int64_t begin, int64_t end) {
      std::vector<float> buffer(2 * roundUp(S, kLanes));
      vectorLoop<softmaxBackwardRowsBf16>()(pp, dsp, L, S, causal, static_cast<float>(scale), begin, end,
                                            buffer.data(), buffer.data() + roundUp(S, kLanes));
    });
  }
  return {at::matmul(ds, k), at::matmul(ds.transpose(-2, -1), q), at::matmul(p.transpose(-2, -1), g)};
}

// Whether the CPU has bf16 dot products (AVX512-BF16; every CPU with AMX has it too).
bool cpuHasBf16Products() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") != 0;
  }();
  return has;
#else
  return false;
#endif
}

// bf16 attention takes the products where the CPU has bf16 products, but for short causal
// sequences of narrow heads; float32, and bf16 elsewhere, take the fused kernel. Measured (Xeon
// with AMX, 2 threads, forward + backward as GPT's block calls it): the products 2.8–3.3× faster
// than the kernel and 1.3–2.2× faster than the composition at 64-wide heads (causal at 256 and 512
// positions, 128 without a mask), 1.2× the kernel without a mask at 65 positions × 32 and 1.15×
// causal at 128 × 32; the kernel 1.15× faster than the products causal at 64 × 32 (the nanoGPT
// recipe's shape).
bool attentionByProducts(const at::Tensor& q, bool causal) {
  return q.scalar_type() == at::kBFloat16 && cpuHasBf16Products() && !(causal && q.size(-2) < 128 && q.size(-1) < 64);
}

struct AttentionFunction : torch::autograd::Function<AttentionFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k,
                            const at::Tensor& v, double scale, bool causal) {
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["causal"] = causal;
    if (attentionByProducts(q, causal)) {
      const at::Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
      auto [out, p] = productAttentionForward(qc, kc, vc, scale, causal);
      ctx->save_for_backward({q, k, v});  // for a gradient of the gradient, through the composition
      // not inputs or outputs (the contiguous copies, which spare the backward copying them again, and
      // the probabilities): kept as data
      ctx->saved_data["q"] = qc;
      ctx->saved_data["k"] = kc;
      ctx->saved_data["v"] = vc;
      ctx->saved_data["p"] = p;
      return out;
    }
    auto [out, lse] = attentionForwardKernel(q, k, v, scale, causal);
    ctx->save_for_backward({q, k, v, out});
    ctx->saved_data["lse"] = lse;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const double scale = ctx->saved_data["scale"].toDouble();
    const bool causal = ctx->saved_data["causal"].toBool();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2];
    at::Tensor g = grads[0];
    if (at::GradMode::is_enabled()) {
      // create_graph: backpropagate through the composition, which autograd can differentiate again
      at::Tensor reference = attentionMath(q, k, v, c10::nullopt, 0.0, causal, scale);
      auto dqkv = torch::autograd::grad({reference}, {q, k, v}, {g}, true, true, true);
      return {dqkv[0], dqkv[1], dqkv[2], at::Tensor(), at::Tensor()};
    }
    if (g.scalar_type() != q.scalar_type()) g = g.to(q.scalar_type());
    if (ctx->saved_data.count("p") != 0) {
      auto d = productAttentionBackward(g, ctx->saved_data["q"].toTensor(), ctx->saved_data["k"].toTensor(),
                                        ctx->saved_data["v"].toTensor(), ctx->saved_data["p"].toTensor(), scale, causal);
      return {d[0], d[1], d[2], at::Tensor(), at::Tensor()};
    }
    auto d = attentionBackwardKernel(g, q, k, v, saved[3], ctx->saved_data["lse"].toTensor(), scale, causal);
    return {d[0], d[1], d[2], at::Tensor(), at::Tensor()};
  }
};

// ---- cross-entropy from logits, over the classes ----
// loss_i = logsumexp(x_i) − x_i[t_i], and in the backward ∂/∂x_ij = g_i·(softmax(x_i)_j − [j = t_i]):
// one read of the logits forward (each row copied once into a float32 buffer, where its max,
// exponentials and sum run in vector registers) and one read and one write backward, which
// recomputes the probabilities from the row's log-sum-exp kept by the forward. ATen's
// cross_entropy_loss is the reference: log_softmax writes a second logits-sized tensor, the
// NLL gathers from it, and the backward writes a zeroed one-hot-sized gradient, then reads both
// again in log_softmax's backward; under autocast the bf16 logits are also cast to fp32 first.

template <typename T>
KILN_VECTOR_LOOP(crossEntropyRows,
                 (const T* logits, int64_t rowStride, int64_t V, const int64_t* target, int64_t ignoreIndex,
                  int64_t begin, int64_t end, float* row, float* lse, float* loss), {
  const int64_t vp = roundUp(V, kLanes);
  for (int64_t i = begin; i < end; ++i) {
    const T* x = logits + i * rowStride;
    for (int64_t j = 0; j < V; ++j) row[j] = load(x, j);
    for (int64_t j = V; j < vp; ++j) row[j] = -std::numeric_limits<float>::infinity();
    const float m = maxLanes(row, vp);
    for (int64_t j = 0; j < vp; ++j) row[j] = expApprox(row[j] - m);
    const float l = m + std::log(sumLanes(row, vp));
    lse[i] = l;
    const int64_t t = target[i];
    loss[i] = t == ignoreIndex ? 0.0f : l - load(x, t);
  }
})

template <typename T>
KILN_VECTOR_LOOP(crossEntropyBackwardRows,
                 (const T* logits, int64_t rowStride, int64_t V, const int64_t* target, int64_t ignoreIndex,
                  const float* lse, const float* scale, int64_t scaleStride, int64_t begin, int64_t end, T* grad), {
  for (int64_t i = begin; i < end; ++i) {
    const T* x = logits + i * rowStride;
    T* gi = grad + i * V;
    const int64_t t = target[i];
    const float si = t == ignoreIndex ? 0.0f : scale[i * scaleStride];
    const float li = lse[i];
    for (int64_t j = 0; j < V; ++j) store(gi, j, si * expApprox(load(x, j) - li));
    if (t != ignoreIndex) store(gi, t, si * expApprox(load(x, t) - li) - si);
  }
})

// The rows whose target is not ignoreIndex (the mean's divisor); a target outside [0, V) other
// than ignoreIndex is an error, as in ATen.
int64_t countTargets(const at::Tensor& target, int64_t V, int64_t ignoreIndex) {
  const int64_t* t = target.data_ptr<int64_t>();
  int64_t counted = 0;
  for (int64_t i = 0; i < target.numel(); ++i) {
    if (t[i] == ignoreIndex) continue;
    if (t[i] < 0 || t[i] >= V) {
      throw ArgError("crossEntropy: target " + std::to_string(t[i]) + " at row " + std::to_string(i) +
                         " is out of bounds for " + std::to_string(V) + " classes",
                     false);
    }
    ++counted;
  }
  return counted;
}

struct CrossEntropyFunction : torch::autograd::Function<CrossEntropyFunction> {
  // logits (N, V) with unit column stride, target (N) int64 contiguous -> the loss, float32
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& target,
                            int64_t reduction, int64_t ignoreIndex) {
    RECORD_FUNCTION("kiln::cross_entropy", std::vector<c10::IValue>());
    const int64_t N = logits.size(0), V = logits.size(1);
    const int64_t counted = countTargets(target, V, ignoreIndex);
    at::Tensor lse = at::empty({N}, logits.options().dtype(at::kFloat));
    at::Tensor losses = at::empty({N}, logits.options().dtype(at::kFloat));
    const int64_t* tp = target.data_ptr<int64_t>();
    dispatchFloatOrBf16(logits.scalar_type(), [&](auto tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      const T* xp = typed<T>(logits);
      at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> row(roundUp(V, kLanes));
        vectorLoop<crossEntropyRows<T>>()(xp, logits.stride(0), V, tp, ignoreIndex, begin, end, row.data(),
                                          lse.data_ptr<float>(), losses.data_ptr<float>());
      });
    });
    ctx->save_for_backward({logits, target});
    ctx->saved_data["lse"] = lse;
    ctx->saved_data["reduction"] = reduction;
    ctx->saved_data["ignoreIndex"] = ignoreIndex;
    ctx->saved_data["counted"] = counted;
    if (reduction == at::Reduction::None) return losses;
    at::Tensor total = losses.sum();
    return reduction == at::Reduction::Sum ? total : total / static_cast<double>(counted);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &logits = saved[0], &target = saved[1];
    const int64_t reduction = ctx->saved_data["reduction"].toInt(), ignoreIndex = ctx->saved_data["ignoreIndex"].toInt();
    if (at::GradMode::is_enabled()) {
      // create_graph: through ATen's cross-entropy, which autograd can differentiate again
      at::Tensor reference = at::cross_entropy_loss(logits.to(at::kFloat), target, c10::nullopt, reduction, ignoreIndex, 0.0);
      return {torch::autograd::grad({reference}, {logits}, {grads[0]}, true, true)[0], at::Tensor(), at::Tensor(),
              at::Tensor()};
    }
    const int64_t N = logits.size(0), V = logits.size(1);
    at::Tensor g = grads[0].to(at::kFloat).contiguous();
    if (reduction == at::Reduction::Mean) g = g / static_cast<double>(ctx->saved_data["counted"].toInt());
    const int64_t scaleStride = reduction == at::Reduction::None ? 1 : 0;
    at::Tensor lse = ctx->saved_data["lse"].toTensor();
    at::Tensor grad = at::empty({N, V}, logits.options());
    const int64_t* tp = target.data_ptr<int64_t>();
    dispatchFloatOrBf16(logits.scalar_type(), [&](auto tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      const T* xp = typed<T>(logits);
      T* gp = typedMut<T>(grad);
      at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
        vectorLoop<crossEntropyBackwardRows<T>>()(xp, logits.stride(0), V, tp, ignoreIndex, lse.data_ptr<float>(),
                                                  g.data_ptr<float>(), scaleStride, begin, end, gp);
      });
    });
    return {grad, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// ---- bf16 copies of weights for CPU autocast ----
// Under bf16 autocast every linear layer's float32 weight is cast to bf16 each forward (autocast's
// cache lasts one region): at GPT's 12 × 768 shape, 85 M weights read and written each step, ~70
// ms of a ~1 s step (npm run bench:profile). Kiln keeps each cast between steps instead, and the
// fused AdamW writes it while updating the weight, from the same float32 it stores: the same bits
// as the cast (floatToBf16 is c10's rounding). A copy is used only while fresh — the weight's
// version counter, data pointer and sizes as they were when the copy was made or written — so
// any other change to a weight (an in-place op, loadStateDict, another optimizer) makes the next
// forward cast it afresh.

struct Bf16Copy {
  c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> owner;
  at::Tensor copy;
  int64_t version;
  const void* data;
};

std::mutex bf16CopiesMutex;
std::unordered_map<const c10::TensorImpl*, Bf16Copy> bf16Copies;

// Under bf16CopiesMutex: the fresh copy of w, or end().
std::unordered_map<const c10::TensorImpl*, Bf16Copy>::iterator freshCopy(const at::Tensor& w) {
  auto it = bf16Copies.find(w.unsafeGetTensorImpl());
  if (it == bf16Copies.end()) return it;
  const Bf16Copy& c = it->second;
  if (!c.owner.expired() && c.version == w._version() && c.data == w.data_ptr() && c.copy.sizes().equals(w.sizes())) {
    return it;
  }
  bf16Copies.erase(it);
  return bf16Copies.end();
}

at::Tensor bf16CopyOf(const at::Tensor& w) {
  std::lock_guard<std::mutex> lock(bf16CopiesMutex);
  auto it = freshCopy(w);
  if (it != bf16Copies.end()) return it->second.copy;
  for (auto e = bf16Copies.begin(); e != bf16Copies.end();) {  // forget freed weights
    e = e->second.owner.expired() ? bf16Copies.erase(e) : std::next(e);
  }
  at::Tensor copy = w.detach().to(at::kBFloat16, /*non_blocking=*/false, /*copy=*/true, at::MemoryFormat::Contiguous);
  bf16Copies.insert_or_assign(
      w.unsafeGetTensorImpl(),
      Bf16Copy{c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(w.getIntrusivePtr()), copy,
               w._version(), w.data_ptr()});
  return copy;
}

struct Bf16WeightFunction : torch::autograd::Function<Bf16WeightFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext*, const at::Tensor& w) {
    return bf16CopyOf(w).alias();  // a new tensor on the copy's storage: the graph's, not the cache's
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list grads) {
    return {grads[0].defined() ? grads[0].to(at::kFloat) : at::Tensor()};
  }
};

}  // namespace

c10::optional<at::Tensor> autocastBf16Weight(const at::Tensor& x, const at::Tensor& w) {
  if (!fusedKernelsEnabled.load(std::memory_order_relaxed) || !autocastEnabled(at::kCPU) ||
      autocastDtype(at::kCPU) != at::kBFloat16 || !w.device().is_cpu() || w.scalar_type() != at::kFloat || !w.is_leaf() ||
      !x.device().is_cpu() || (x.scalar_type() != at::kFloat && x.scalar_type() != at::kBFloat16)) {
    return c10::nullopt;
  }
  return Bf16WeightFunction::apply(w);
}

uint16_t* bf16CopyToWrite(const at::Tensor& p) {
  std::lock_guard<std::mutex> lock(bf16CopiesMutex);
  auto it = freshCopy(p);
  return it == bf16Copies.end() ? nullptr : static_cast<uint16_t*>(it->second.copy.data_ptr());
}

void bf16CopyWritten(const at::Tensor& p) {
  std::lock_guard<std::mutex> lock(bf16CopiesMutex);
  p.unsafeGetTensorImpl()->bump_version();
  auto it = bf16Copies.find(p.unsafeGetTensorImpl());
  if (it != bf16Copies.end()) it->second.version = p._version();
}

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
  if (!geluBackwardFusable(g, x)) return wrap(env, at::gelu_backward(g, x, "tanh"));
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

// cpuHasBf16Products() -> whether bf16 attention takes oneDNN's products (attentionByProducts)
KILN_OP(cpuHasBf16Products) { return Napi::Boolean::New(env, cpuHasBf16Products()); }

const OpEntry entries[] = {
    KILN_ENTRY(cpuHasBf16Products),
    KILN_ENTRY(geluTanhBackward),
    KILN_ENTRY(geluTanhBackwardReference),
    KILN_ENTRY(setFusedKernels),
    KILN_ENTRY(setVectorLevel),
};

}  // namespace

bool attentionFusable(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double dropoutP, bool causal) {
  if (!fusable(q) || dropoutP > 0 || q.dim() < 3) return false;
  if (k.scalar_type() != q.scalar_type() || v.scalar_type() != q.scalar_type() || !k.device().is_cpu() ||
      !v.device().is_cpu() || !q.sizes().equals(k.sizes()) || !q.sizes().equals(v.sizes())) {
    return false;
  }
  for (const at::Tensor* t : {&q, &k, &v}) {
    if (t->stride(-1) != 1) return false;
  }
  const int64_t L = q.size(-2), E = q.size(-1);
  if (L < 2) return false;
  // Measured (npm run bench:kernels, 2 cores, AVX-512): in float32 the fused kernel is 2.3–7×
  // faster than the composition causal (64 to 1024 positions) and 1.5–2.1× without a mask; in
  // bf16 1.8–2.5× causal and 1.2× without a mask for 32-wide heads — but with 64-wide heads the
  // composition's bf16 products (oneDNN, AVX512-BF16) outrun the kernel's float32 arithmetic
  // without a mask (0.69× at 128 positions) and causal at 256 to 512 positions (0.66–0.96×),
  // where its (L, L) scores still fit the caches. Those take the composition — on a CPU without bf16
  // products: with them, the fused op takes the same products and fuses the softmax between them
  // (attentionByProducts), 2–3× faster than the composition at those shapes (Xeon with AMX).
  if (q.scalar_type() == at::kBFloat16 && !cpuHasBf16Products() && E >= 64 && (!causal || (L >= 256 && L <= 512))) {
    return false;
  }
  return true;
}

at::Tensor fusedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, bool causal) {
  if (at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) {
    return AttentionFunction::apply(q, k, v, scale, causal);
  }
  if (attentionByProducts(q, causal)) return productAttentionForward(q.contiguous(), k.contiguous(), v.contiguous(), scale, causal).first;
  return attentionForwardKernel(q, k, v, scale, causal).first;
}

bool crossEntropyFusable(const at::Tensor& logits, const at::Tensor& target, const c10::optional<at::Tensor>& weight,
                         double labelSmoothing) {
  if (!fusable(logits) || weight || labelSmoothing != 0 || logits.dim() != 2 || target.dim() != 1 ||
      target.scalar_type() != at::kLong || !target.device().is_cpu() || target.size(0) != logits.size(0) ||
      logits.size(0) == 0 || logits.stride(1) != 1) {
    return false;
  }
  // bf16 logits only where ATen would compute in float32 too: under CPU autocast, which casts
  // them for the cross-entropy (outside it, ATen returns a bf16 loss)
  return logits.scalar_type() == at::kFloat || at::autocast::is_cpu_enabled();
}

at::Tensor crossEntropy(const at::Tensor& logits, const at::Tensor& target, int64_t reduction, int64_t ignoreIndex) {
  return CrossEntropyFunction::apply(logits, target.contiguous(), reduction, ignoreIndex);
}

void registerFusedOps(Napi::Env env, Napi::Object exports) {
  registerAll(env, exports, entries, sizeof(entries) / sizeof(entries[0]));
}

}  // namespace kiln
