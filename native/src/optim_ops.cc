// Fused optimizer steps: one pass over each parameter's elements instead of the eight to ten
// tensor ops of the composed update (src/optim/adam.ts keeps that composition as the reference).
#include "kiln.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace kiln {
namespace {

// The constants of one parameter's step.
struct AdamConstants {
  float sign, b1, b2, oneMinusB1, oneMinusB2, decay, l2, eps, negStepSize, bc2Sqrt, gradScale;
};

// Elements [begin, end) of one Adam/AdamW step, vectorised per CPU (KILN_VECTOR_LOOP); sqrt and
// division stay IEEE and the build does not contract to FMA (-std=c++17), so every width gives
// the same floats. (binding.gyp's -fno-math-errno lets sqrt vectorise: its errno path kept the
// loop scalar.)
// With Copy, the updated parameter is also written to bf (its bf16 copy, fused_ops.cc), rounded as
// a cast to bf16 rounds.
template <int Decay, bool Copy>  // Decay 0: none, 1: decoupled (AdamW), 2: L2 on the gradient (Adam)
KILN_VECTOR_LOOP(adamElements, (float* __restrict p, const float* __restrict g, float* __restrict m,
                                float* __restrict v, uint16_t* __restrict bf, int64_t begin, int64_t end,
                                const AdamConstants c), {
  for (int64_t k = begin; k < end; ++k) {
    float grad = c.sign * (g[k] * c.gradScale);  // × 1 is exact; × a clip coefficient rounds as grad.mul_ would
    float param = p[k];
    if (Decay == 1) param *= c.decay;
    if (Decay == 2) grad += c.l2 * param;
    const float mk = m[k] * c.b1 + c.oneMinusB1 * grad;
    const float vk = v[k] * c.b2 + c.oneMinusB2 * grad * grad;
    const float denominator = std::sqrt(vk) / c.bc2Sqrt + c.eps;
    const float updated = param + c.negStepSize * mk / denominator;
    p[k] = updated;
    if (Copy) bf[k] = floatToBf16(updated);
    m[k] = mk;
    v[k] = vk;
  }
})

// The loop for a decay kind, with or without a bf16 copy to write, at the CPU's vector width.
using AdamLoop = decltype(&adamElements<0, false>::base);
AdamLoop adamLoop(int decayKind, bool copy) {
  switch (decayKind * 2 + (copy ? 1 : 0)) {
    case 0: return vectorLoop<adamElements<0, false>>();
    case 1: return vectorLoop<adamElements<0, true>>();
    case 2: return vectorLoop<adamElements<1, false>>();
    case 3: return vectorLoop<adamElements<1, true>>();
    case 4: return vectorLoop<adamElements<2, false>>();
    default: return vectorLoop<adamElements<2, true>>();
  }
}

// adamStep(params[], grads[], expAvgs[], expAvgSqs[], steps[], lr, beta1, beta2, eps,
//          weightDecay, decoupled, maximize, gradScale = 1): one Adam (decoupled = false) or AdamW step of every
// parameter, its running averages updated in place, the same arithmetic as PyTorch's
// single-tensor Adam/AdamW (without AMSGrad) in float32; each gradient is read times gradScale
// (a clip coefficient: the same floats as grad.mul_(gradScale) before the step). steps[i] counts this step. Every tensor
// is float32, contiguous and on the CPU, and the four of a parameter have its shape.
KILN_OP(adamStep) {
  RECORD_FUNCTION("kiln::adam_step", std::vector<c10::IValue>());
  std::vector<at::Tensor> params = tensorsArg(info, 0), grads = tensorsArg(info, 1), expAvgs = tensorsArg(info, 2),
                          expAvgSqs = tensorsArg(info, 3);
  std::vector<int64_t> steps = intsArg(info, 4);
  const double lr = numberArg(info, 5), beta1 = numberArg(info, 6), beta2 = numberArg(info, 7), eps = numberArg(info, 8),
               weightDecay = numberArg(info, 9);
  const bool decoupled = boolArg(info, 10, true), maximize = boolArg(info, 11, false);
  const float gradScale = static_cast<float>(numberArg(info, 12, 1.0));
  size_t n = params.size();
  if (grads.size() != n || expAvgs.size() != n || expAvgSqs.size() != n || steps.size() != n) {
    throw ArgError("params, grads, expAvgs, expAvgSqs and steps must have one entry per parameter", false);
  }
  for (size_t i = 0; i < n; ++i) {
    for (const at::Tensor* t : {&params[i], &grads[i], &expAvgs[i], &expAvgSqs[i]}) {
      if (t->scalar_type() != at::kFloat || !t->device().is_cpu() || !t->is_contiguous() ||
          t->numel() != params[i].numel()) {
        throw ArgError("parameter " + std::to_string(i) + ": every tensor must be float32, contiguous, on the CPU and of the parameter's size; got " +
                           describeTensor(*t) + " for " + describeTensor(params[i]),
                       false);
      }
    }
    if (steps[i] < 1) throw ArgError("steps must count from 1", false);
  }
  const int decayKind = weightDecay == 0 ? 0 : decoupled ? 1 : 2;
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < n; ++i) {
    float* p = params[i].data_ptr<float>();
    const float* g = grads[i].data_ptr<float>();
    float* m = expAvgs[i].data_ptr<float>();
    float* v = expAvgSqs[i].data_ptr<float>();
    const double biasCorrection1 = 1 - std::pow(beta1, static_cast<double>(steps[i]));
    const double biasCorrection2 = 1 - std::pow(beta2, static_cast<double>(steps[i]));
    const AdamConstants c{maximize ? -1.0f : 1.0f, static_cast<float>(beta1), static_cast<float>(beta2),
                          static_cast<float>(1 - beta1), static_cast<float>(1 - beta2),
                          static_cast<float>(1 - lr * weightDecay), static_cast<float>(weightDecay),
                          static_cast<float>(eps), static_cast<float>(-(lr / biasCorrection1)),
                          static_cast<float>(std::sqrt(biasCorrection2)), gradScale};
    uint16_t* bf = bf16CopyToWrite(params[i]);
    const AdamLoop loop = adamLoop(decayKind, bf != nullptr);
    at::parallel_for(0, params[i].numel(), 32768,
                     [&](int64_t begin, int64_t end) { loop(p, g, m, v, bf, begin, end, c); });
    bf16CopyWritten(params[i]);
  }
  return env.Undefined();
}

// Elements [begin, end) of a sum of squares, in eight double lanes (the same lanes at every
// vector width, so every width gives the same sum).
typedef float Vec8f __attribute__((vector_size(32)));
typedef double Vec8d __attribute__((vector_size(64)));
KILN_VECTOR_LOOP(squaresElements, (const float* __restrict x, int64_t begin, int64_t end, double* out), {
  Vec8d acc = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = begin;
  for (; k + 8 <= end; k += 8) {
    Vec8f f;
    std::memcpy(&f, x + k, sizeof f);
    const Vec8d d = __builtin_convertvector(f, Vec8d);
    acc += d * d;
  }
  double sum = 0;
  for (int lane = 0; lane < 8; ++lane) sum += acc[lane];
  for (; k < end; ++k) sum += static_cast<double>(x[k]) * static_cast<double>(x[k]);
  *out = sum;
})

// sumOfSquares(tensors[]): Σ x² over every element of float32, contiguous CPU tensors, in double:
// one read of each (a gradient norm for clipping without ATen's per-tensor norms). Chunks of a
// fixed size, summed in order, so the result does not depend on the thread count.
KILN_OP(sumOfSquares) {
  RECORD_FUNCTION("kiln::sum_of_squares", std::vector<c10::IValue>());
  std::vector<at::Tensor> tensors = tensorsArg(info, 0);
  constexpr int64_t chunk = 65536;
  double total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor& t = tensors[i];
    if (t.scalar_type() != at::kFloat || !t.device().is_cpu() || !t.is_contiguous()) {
      throw ArgError("tensor " + std::to_string(i) + " must be float32, contiguous and on the CPU; got " + describeTensor(t), false);
    }
    const float* x = t.data_ptr<float>();
    const int64_t n = t.numel(), chunks = (n + chunk - 1) / chunk;
    std::vector<double> partial(static_cast<size_t>(chunks));
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) vectorLoop<squaresElements>()(x, c * chunk, std::min(n, (c + 1) * chunk), &partial[c]);
    });
    for (double p : partial) total += p;
  }
  return Napi::Number::New(env, total);
}

const OpEntry entries[] = {
    KILN_ENTRY(adamStep),
    KILN_ENTRY(sumOfSquares),
};

}  // namespace

void registerOptimOps(Napi::Env env, Napi::Object exports) {
  registerAll(env, exports, entries, sizeof(entries) / sizeof(entries[0]));
}

}  // namespace kiln
