// Neural-network functional ops: activations over a dim, losses, normalisation, convolution,
// pooling, embedding, attention and the recurrent kernels.
#include "kiln.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

namespace kiln {

// The plain composition of scaled dot-product attention; the reference for the fused kernel.
at::Tensor attentionMath(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const c10::optional<at::Tensor>& mask, double dropoutP, bool causal, double scale) {
  // q: (..., L, E), k: (..., S, E), v: (..., S, Ev)
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;  // (..., L, S)
  const double negInf = -std::numeric_limits<double>::infinity();
  if (causal) {
    int64_t L = q.size(-2), S = k.size(-2);
    at::Tensor keep = at::ones({L, S}, q.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), negInf);
  }
  if (mask) {
    if (mask->scalar_type() == at::kBool) scores = scores.masked_fill(mask->logical_not(), negInf);
    else scores = scores + *mask;
  }
  at::Tensor weights = at::softmax(scores, -1);
  if (dropoutP > 0) weights = at::dropout(weights, dropoutP, true);
  return at::matmul(weights, v);  // (..., L, Ev)
}

namespace {

int64_t reductionArg(const Napi::CallbackInfo& info, size_t i) {
  if (isMissing(info, i)) return at::Reduction::Mean;
  std::string r = stringArg(info, i);
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw ArgError("reduction must be 'mean', 'sum' or 'none', got '" + r + "'", true);
}

// A number or an array of numbers, expanded to `n` entries (kernel sizes, strides, padding).
std::vector<int64_t> sizesArg(const Napi::CallbackInfo& info, size_t i, size_t n, int64_t fallback) {
  if (isMissing(info, i)) return std::vector<int64_t>(n, fallback);
  if (info[i].IsNumber()) return std::vector<int64_t>(n, intArg(info, i));
  std::vector<int64_t> v = intsArg(info, i);
  if (v.size() != n) {
    throw ArgError("argument " + std::to_string(i) + " must have " + std::to_string(n) + " entries, got " +
                       std::to_string(v.size()),
                   false);
  }
  return v;
}

KILN_OP(softmax) { return wrap(env, at::softmax(tensorArg(info, 0), intArg(info, 1, -1), optDtypeArg(info, 2))); }
KILN_OP(logSoftmax) {
  return wrap(env, at::log_softmax(tensorArg(info, 0), intArg(info, 1, -1), optDtypeArg(info, 2)));
}

// crossEntropy(logits, target, weight?, reduction, ignoreIndex, labelSmoothing): the fused kernel
// where it applies (fused_ops.cc), else ATen's cross_entropy_loss; crossEntropyReference(...) is
// always ATen's, the kernel's reference.
at::Tensor crossEntropyArgs(const Napi::CallbackInfo& info, bool mayFuse) {
  const at::Tensor& logits = tensorArg(info, 0);
  const at::Tensor& target = tensorArg(info, 1);
  auto weight = optTensorArg(info, 2);
  const int64_t reduction = reductionArg(info, 3), ignoreIndex = intArg(info, 4, -100);
  const double smoothing = numberArg(info, 5, 0.0);
  if (mayFuse && crossEntropyFusable(logits, target, weight, smoothing)) return kiln::crossEntropy(logits, target, reduction, ignoreIndex);
  return at::cross_entropy_loss(logits, target, weight, reduction, ignoreIndex, smoothing);
}

KILN_OP(crossEntropy) { return wrap(env, crossEntropyArgs(info, true)); }
KILN_OP(crossEntropyReference) { return wrap(env, crossEntropyArgs(info, false)); }

// nllLoss(logProbs, target, weight?, reduction, ignoreIndex)
KILN_OP(nllLoss) {
  return wrap(env, at::nll_loss_nd(tensorArg(info, 0), tensorArg(info, 1), optTensorArg(info, 2),
                                   reductionArg(info, 3), intArg(info, 4, -100)));
}

KILN_OP(mseLoss) { return wrap(env, at::mse_loss(tensorArg(info, 0), tensorArg(info, 1), reductionArg(info, 2))); }
KILN_OP(l1Loss) { return wrap(env, at::l1_loss(tensorArg(info, 0), tensorArg(info, 1), reductionArg(info, 2))); }

KILN_OP(smoothL1Loss) {
  return wrap(env, at::smooth_l1_loss(tensorArg(info, 0), tensorArg(info, 1), reductionArg(info, 2),
                                      numberArg(info, 3, 1.0)));
}

// bceWithLogits(logits, target, weight?, posWeight?, reduction)
KILN_OP(bceWithLogits) {
  return wrap(env, at::binary_cross_entropy_with_logits(tensorArg(info, 0), tensorArg(info, 1), optTensorArg(info, 2),
                                                         optTensorArg(info, 3), reductionArg(info, 4)));
}

// layerNorm(x, normalizedShape, weight?, bias?, eps)
KILN_OP(layerNorm) {
  return wrap(env, at::layer_norm(tensorArg(info, 0), intsArg(info, 1), optTensorArg(info, 2), optTensorArg(info, 3),
                                  numberArg(info, 4, 1e-5)));
}

// groupNorm(x, groups, weight?, bias?, eps)
KILN_OP(groupNorm) {
  return wrap(env, at::group_norm(tensorArg(info, 0), intArg(info, 1), optTensorArg(info, 2), optTensorArg(info, 3),
                                  numberArg(info, 4, 1e-5)));
}

// batchNorm(x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps); running stats
// are updated in place when training.
KILN_OP(batchNorm) {
  return wrap(env, at::batch_norm(tensorArg(info, 0), optTensorArg(info, 1), optTensorArg(info, 2),
                                  optTensorArg(info, 3), optTensorArg(info, 4), boolArg(info, 5, false),
                                  numberArg(info, 6, 0.1), numberArg(info, 7, 1e-5), true));
}

KILN_OP(dropout) {
  double p = numberArg(info, 1, 0.5);
  if (p < 0 || p > 1) throw ArgError("dropout probability must be in [0, 1], got " + std::to_string(p), false);
  return wrap(env, at::dropout(tensorArg(info, 0), p, boolArg(info, 2, true)));
}

// embedding(weight, indices, paddingIdx | null)
KILN_OP(embedding) {
  return wrap(env, at::embedding(tensorArg(info, 0), tensorArg(info, 1), intArg(info, 2, -1)));
}

// One input row (a cached generation step, a single example): a matrix-vector product. BLAS's
// gemm with one row runs 1.5–3.4x slower than its gemv on the same weight (OpenBLAS, 2 threads:
// GPT-2's MLP weights 316 vs 124 us, an 8,192-token head 1,073 vs 416 us), and PyTorch eager's
// linear takes gemm. float32/float64 on the CPU outside autocast, with the fused kernels on
// (setFusedKernels(false) makes every linear at::linear, its reference); the rest is at::linear.
at::Tensor linearForward(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b) {
  const bool oneRow = x.dim() >= 1 && w.dim() == 2 && x.numel() == w.size(1) && x.size(-1) == w.size(1);
  const bool plain = x.device().is_cpu() && w.device().is_cpu() && x.scalar_type() == w.scalar_type() &&
                     (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble) && !at::autocast::is_cpu_enabled() &&
                     (!b || (b->dim() == 1 && b->size(0) == w.size(0) && b->scalar_type() == x.scalar_type() && b->device().is_cpu()));
  if (auto wb = autocastBf16Weight(x, w)) return at::linear(x, *wb, b);
  if (!oneRow || !plain || !fusedKernelsEnabled.load(std::memory_order_relaxed)) return at::linear(x, w, b);
  at::Tensor v = x.reshape({w.size(1)});
  at::Tensor y = b ? at::addmv(*b, w, v) : at::mv(w, v);
  std::vector<int64_t> sizes = x.sizes().vec();
  sizes.back() = w.size(0);
  return y.view(sizes);
}

KILN_OP(linear) { return wrap(env, linearForward(tensorArg(info, 0), tensorArg(info, 1), optTensorArg(info, 2))); }

// conv1d/conv2d(x, weight, bias?, stride, padding (number | number[] | 'same' | 'valid'), dilation, groups)
template <size_t N>
at::Tensor conv(const Napi::CallbackInfo& info) {
  const at::Tensor& x = tensorArg(info, 0);
  const at::Tensor& w = tensorArg(info, 1);
  auto bias = optTensorArg(info, 2);
  auto stride = sizesArg(info, 3, N, 1);
  auto dilation = sizesArg(info, 5, N, 1);
  int64_t groups = intArg(info, 6, 1);
  if (info.Length() > 4 && info[4].IsString()) {
    std::string padding = stringArg(info, 4);
    if (padding != "same" && padding != "valid") {
      throw ArgError("padding must be a number, an array, 'same' or 'valid', got '" + padding + "'", true);
    }
    if (N == 1) return at::conv1d(x, w, bias, stride, padding, dilation, groups);
    return at::conv2d(x, w, bias, stride, padding, dilation, groups);
  }
  auto padding = sizesArg(info, 4, N, 0);
  if (N == 1) return at::conv1d(x, w, bias, stride, padding, dilation, groups);
  return at::conv2d(x, w, bias, stride, padding, dilation, groups);
}

KILN_OP(conv1d) { return wrap(env, conv<1>(info)); }
KILN_OP(conv2d) { return wrap(env, conv<2>(info)); }

// maxPool2d(x, kernel, stride | null (= kernel), padding, dilation, ceilMode)
KILN_OP(maxPool2d) {
  auto kernel = sizesArg(info, 1, 2, 1);
  auto stride = isMissing(info, 2) ? kernel : sizesArg(info, 2, 2, 1);
  return wrap(env, at::max_pool2d(tensorArg(info, 0), kernel, stride, sizesArg(info, 3, 2, 0), sizesArg(info, 4, 2, 1),
                                  boolArg(info, 5, false)));
}

KILN_OP(maxPool1d) {
  auto kernel = sizesArg(info, 1, 1, 1);
  auto stride = isMissing(info, 2) ? kernel : sizesArg(info, 2, 1, 1);
  return wrap(env, at::max_pool1d(tensorArg(info, 0), kernel, stride, sizesArg(info, 3, 1, 0), sizesArg(info, 4, 1, 1),
                                  boolArg(info, 5, false)));
}

// avgPool2d(x, kernel, stride | null, padding, ceilMode, countIncludePad)
KILN_OP(avgPool2d) {
  auto kernel = sizesArg(info, 1, 2, 1);
  auto stride = isMissing(info, 2) ? kernel : sizesArg(info, 2, 2, 1);
  return wrap(env, at::avg_pool2d(tensorArg(info, 0), kernel, stride, sizesArg(info, 3, 2, 0), boolArg(info, 4, false),
                                  boolArg(info, 5, true)));
}

KILN_OP(adaptiveAvgPool2d) { return wrap(env, at::adaptive_avg_pool2d(tensorArg(info, 0), sizesArg(info, 1, 2, 1))); }

KILN_OP(oneHot) { return wrap(env, at::one_hot(tensorArg(info, 0), intArg(info, 1, -1))); }

// scaledDotProductAttention(q, k, v, mask?, dropoutP, isCausal, scale?)
KILN_OP(scaledDotProductAttention) {
  const at::Tensor& q = tensorArg(info, 0);
  const at::Tensor& k = tensorArg(info, 1);
  const at::Tensor& v = tensorArg(info, 2);
  auto mask = optTensorArg(info, 3);
  double dropoutP = numberArg(info, 4, 0.0);
  bool causal = boolArg(info, 5, false);
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2) throw ArgError("q, k and v need at least 2 dims (..., T, E)", false);
  if (causal && mask) throw ArgError("pass either a mask or isCausal, not both", false);
  double scale = isMissing(info, 6) ? 1.0 / std::sqrt(static_cast<double>(q.size(-1))) : numberArg(info, 6);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  return wrap(env, at::scaled_dot_product_attention(q, k, v, mask, dropoutP, causal, scale));
#else
  if (!mask && attentionFusable(q, k, v, dropoutP, causal)) return wrap(env, fusedAttention(q, k, v, scale, causal));
  return wrap(env, attentionMath(q, k, v, mask, dropoutP, causal, scale));
#endif
}

KILN_OP(attentionReference) {
  const at::Tensor& q = tensorArg(info, 0);
  double scale = isMissing(info, 6) ? 1.0 / std::sqrt(static_cast<double>(q.size(-1))) : numberArg(info, 6);
  return wrap(env, attentionMath(q, tensorArg(info, 1), tensorArg(info, 2), optTensorArg(info, 3),
                                 numberArg(info, 4, 0.0), boolArg(info, 5, false), scale));
}

// lstm(input, [h0, c0], params[], hasBiases, numLayers, dropout, train, bidirectional, batchFirst)
//   -> [output, hN, cN]; params per layer and direction: w_ih, w_hh, b_ih, b_hh (PyTorch order).
KILN_OP(lstm) {
  auto result = at::lstm(tensorArg(info, 0), tensorsArg(info, 1), tensorsArg(info, 2), boolArg(info, 3, true),
                         intArg(info, 4, 1), numberArg(info, 5, 0.0), boolArg(info, 6, false), boolArg(info, 7, false),
                         boolArg(info, 8, false));
  return tensorList(env, {std::get<0>(result), std::get<1>(result), std::get<2>(result)});
}

// gru(input, h0, params[], hasBiases, numLayers, dropout, train, bidirectional, batchFirst) -> [output, hN]
KILN_OP(gru) {
  auto result = at::gru(tensorArg(info, 0), tensorArg(info, 1), tensorsArg(info, 2), boolArg(info, 3, true),
                        intArg(info, 4, 1), numberArg(info, 5, 0.0), boolArg(info, 6, false), boolArg(info, 7, false),
                        boolArg(info, 8, false));
  return tensorList(env, {std::get<0>(result), std::get<1>(result)});
}

const OpEntry entries[] = {
    KILN_ENTRY(softmax), KILN_ENTRY(logSoftmax), KILN_ENTRY(crossEntropy), KILN_ENTRY(crossEntropyReference), KILN_ENTRY(nllLoss),
    KILN_ENTRY(mseLoss), KILN_ENTRY(l1Loss), KILN_ENTRY(smoothL1Loss), KILN_ENTRY(bceWithLogits),
    KILN_ENTRY(layerNorm), KILN_ENTRY(groupNorm), KILN_ENTRY(batchNorm), KILN_ENTRY(dropout),
    KILN_ENTRY(embedding), KILN_ENTRY(linear), KILN_ENTRY(conv1d), KILN_ENTRY(conv2d),
    KILN_ENTRY(maxPool2d), KILN_ENTRY(maxPool1d), KILN_ENTRY(avgPool2d), KILN_ENTRY(adaptiveAvgPool2d),
    KILN_ENTRY(oneHot), KILN_ENTRY(scaledDotProductAttention), KILN_ENTRY(attentionReference),
    KILN_ENTRY(lstm), KILN_ENTRY(gru),
};

}  // namespace

void registerNnOps(Napi::Env env, Napi::Object exports) {
  registerAll(env, exports, entries, sizeof(entries) / sizeof(entries[0]));
}

}  // namespace kiln
