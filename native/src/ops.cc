// Tensor math: elementwise, reductions, linear algebra, shape ops, in-place updates, sampling.
// Each op is a thin call into ATen; argument order follows the TypeScript API.
#include "kiln.h"

namespace kiln {
namespace {

inline Napi::Value pair(Napi::Env env, const std::tuple<at::Tensor, at::Tensor>& t) {
  return tensorList(env, {std::get<0>(t), std::get<1>(t)});
}

// Optional dims argument: missing = reduce over all dims.
inline std::vector<int64_t> dimsArg(const Napi::CallbackInfo& info, size_t i) {
  if (isMissing(info, i)) return {};
  if (info[i].IsNumber()) return {intArg(info, i)};
  return intsArg(info, i);
}

inline std::vector<int64_t> allDims(const at::Tensor& a) {
  std::vector<int64_t> dims(a.dim());
  for (int64_t d = 0; d < a.dim(); ++d) dims[d] = d;
  return dims;
}

// The dims to reduce: the given ones, or every dim when none are given (so keepdim still keeps
// one size-1 dim per input dim, as torch.sum(x, dim=all, keepdim=True)).
inline std::vector<int64_t> dimsOrAll(const Napi::CallbackInfo& info, size_t i, const at::Tensor& a) {
  return isMissing(info, i) ? allDims(a) : dimsArg(info, i);
}

// A full reduction `r` of `a` reshaped to keep a's rank when keepdim is set.
inline at::Tensor keepRank(const at::Tensor& r, const at::Tensor& a, bool keepdim) {
  return keepdim ? r.reshape(std::vector<int64_t>(a.dim(), 1)) : r;
}

#define KILN_UNARY(name, expr)                 \
  KILN_OP(name) {                              \
    const at::Tensor& a = tensorArg(info, 0);  \
    return wrap(env, expr);                    \
  }

// Binary op whose second argument is a Tensor or a JS number.
#define KILN_BINARY(name, fn)                                              \
  KILN_OP(name) {                                                          \
    const at::Tensor& a = tensorArg(info, 0);                              \
    if (const at::Tensor* b = tensorIfAny(info, 1)) return wrap(env, fn(a, *b)); \
    return wrap(env, fn(a, scalarArg(info, 1)));                           \
  }

// In-place binary op; returns nothing (the JS side returns `this`).
#define KILN_INPLACE_BINARY(name, method)                              \
  KILN_OP(name) {                                                      \
    at::Tensor& a = tensorArg(info, 0);                                \
    if (isTensor(info, 1)) a.method(tensorArg(info, 1));               \
    else a.method(scalarArg(info, 1));                                 \
    return env.Undefined();                                            \
  }

// ---- elementwise ----

KILN_OP(add) {
  const at::Tensor& a = tensorArg(info, 0);
  at::Scalar alpha = isMissing(info, 2) ? at::Scalar(1) : scalarArg(info, 2);
  if (const at::Tensor* b = tensorIfAny(info, 1)) return wrap(env, at::add(a, *b, alpha));
  return wrap(env, at::add(a, scalarArg(info, 1), alpha));
}

KILN_OP(sub) {
  const at::Tensor& a = tensorArg(info, 0);
  at::Scalar alpha = isMissing(info, 2) ? at::Scalar(1) : scalarArg(info, 2);
  if (const at::Tensor* b = tensorIfAny(info, 1)) return wrap(env, at::sub(a, *b, alpha));
  return wrap(env, at::sub(a, scalarArg(info, 1), alpha));
}

// rsub(a, s) = s - a
KILN_OP(rsub) { return wrap(env, at::rsub(tensorArg(info, 0), scalarArg(info, 1))); }

KILN_BINARY(mul, at::mul)
KILN_BINARY(remainder, at::remainder)
KILN_BINARY(eq, at::eq)
KILN_BINARY(ne, at::ne)
KILN_BINARY(lt, at::lt)
KILN_BINARY(le, at::le)
KILN_BINARY(gt, at::gt)
KILN_BINARY(ge, at::ge)

// div(a, b, roundingMode?) with roundingMode 'trunc' | 'floor'
KILN_OP(div) {
  const at::Tensor& a = tensorArg(info, 0);
  at::Tensor b = tensorOrScalarArg(info, 1, a);
  if (isMissing(info, 2)) return wrap(env, at::div(a, b));
  std::string mode = stringArg(info, 2);
  if (mode != "trunc" && mode != "floor") {
    throw ArgError("rounding mode must be 'trunc' or 'floor', got '" + mode + "'", true);
  }
  return wrap(env, at::div(a, b, mode));
}

KILN_OP(pow) {
  const at::Tensor& a = tensorArg(info, 0);
  if (isTensor(info, 1)) return wrap(env, at::pow(a, tensorArg(info, 1)));
  return wrap(env, at::pow(a, scalarArg(info, 1)));
}

// rpow(a, s) = s ** a
KILN_OP(rpow) { return wrap(env, at::pow(scalarArg(info, 1), tensorArg(info, 0))); }

KILN_OP(maximum) {
  const at::Tensor& a = tensorArg(info, 0);
  return wrap(env, at::maximum(a, tensorOrScalarArg(info, 1, a)));
}

KILN_OP(minimum) {
  const at::Tensor& a = tensorArg(info, 0);
  return wrap(env, at::minimum(a, tensorOrScalarArg(info, 1, a)));
}

KILN_OP(logicalAnd) { return wrap(env, at::logical_and(tensorArg(info, 0), tensorArg(info, 1))); }
KILN_OP(logicalOr) { return wrap(env, at::logical_or(tensorArg(info, 0), tensorArg(info, 1))); }
KILN_OP(logicalXor) { return wrap(env, at::logical_xor(tensorArg(info, 0), tensorArg(info, 1))); }

KILN_UNARY(neg, at::neg(a))
KILN_UNARY(abs, at::abs(a))
KILN_UNARY(exp, at::exp(a))
KILN_UNARY(expm1, at::expm1(a))
KILN_UNARY(log, at::log(a))
KILN_UNARY(log2, at::log2(a))
KILN_UNARY(log1p, at::log1p(a))
KILN_UNARY(sqrt, at::sqrt(a))
KILN_UNARY(rsqrt, at::rsqrt(a))
KILN_UNARY(square, at::square(a))
KILN_UNARY(reciprocal, at::reciprocal(a))
KILN_UNARY(sin, at::sin(a))
KILN_UNARY(cos, at::cos(a))
KILN_UNARY(tanh, at::tanh(a))
KILN_UNARY(sigmoid, at::sigmoid(a))
KILN_UNARY(logSigmoid, at::log_sigmoid(a))
KILN_UNARY(relu, at::relu(a))
KILN_UNARY(silu, at::silu(a))
KILN_UNARY(erf, at::erf(a))
KILN_UNARY(sign, at::sign(a))
KILN_UNARY(floor, at::floor(a))
KILN_UNARY(ceil, at::ceil(a))
KILN_UNARY(round, at::round(a))
KILN_UNARY(trunc, at::trunc(a))
KILN_UNARY(logicalNot, at::logical_not(a))
KILN_UNARY(isnan, at::isnan(a))
KILN_UNARY(isinf, at::isinf(a))
KILN_UNARY(isfinite, at::isfinite(a))

// gelu(a, approximate: 'none' | 'tanh')
KILN_OP(gelu) {
  const at::Tensor& a = tensorArg(info, 0);
  std::string approximate = isMissing(info, 1) ? "none" : stringArg(info, 1);
  if (approximate != "none" && approximate != "tanh") {
    throw ArgError("gelu approximate must be 'none' or 'tanh', got '" + approximate + "'", true);
  }
  return wrap(env, approximate == "tanh" ? geluTanh(a) : at::gelu(a, approximate));
}

// geluReference(a, approximate): ATen's GELU, the reference of the fused tanh form.
KILN_OP(geluReference) { return wrap(env, at::gelu(tensorArg(info, 0), stringArg(info, 1))); }

KILN_OP(softplus) {
  return wrap(env, at::softplus(tensorArg(info, 0), numberArg(info, 1, 1.0), numberArg(info, 2, 20.0)));
}

KILN_OP(leakyRelu) { return wrap(env, at::leaky_relu(tensorArg(info, 0), numberArg(info, 1, 0.01))); }
KILN_OP(elu) { return wrap(env, at::elu(tensorArg(info, 0), numberArg(info, 1, 1.0))); }

// clamp(a, min | null, max | null): numbers or tensors
KILN_OP(clamp) {
  const at::Tensor& a = tensorArg(info, 0);
  if (isMissing(info, 1) && isMissing(info, 2)) {
    throw ArgError("clamp needs at least one of min and max", false);
  }
  if (isTensor(info, 1) || isTensor(info, 2)) {
    c10::optional<at::Tensor> lo, hi;
    if (!isMissing(info, 1)) lo = tensorOrScalarArg(info, 1, a);
    if (!isMissing(info, 2)) hi = tensorOrScalarArg(info, 2, a);
    return wrap(env, at::clamp(a, lo, hi));
  }
  c10::optional<at::Scalar> lo, hi;
  if (!isMissing(info, 1)) lo = scalarArg(info, 1);
  if (!isMissing(info, 2)) hi = scalarArg(info, 2);
  return wrap(env, at::clamp(a, lo, hi));
}

// where(condition, a, b): a and b may be numbers
KILN_OP(where) {
  const at::Tensor& condition = tensorArg(info, 0);
  if (!isTensor(info, 1) && !isTensor(info, 2)) {
    return wrap(env, at::where(condition, scalarArg(info, 1), scalarArg(info, 2)));
  }
  const at::Tensor& like = isTensor(info, 1) ? tensorArg(info, 1) : tensorArg(info, 2);
  return wrap(env, at::where(condition, tensorOrScalarArg(info, 1, like), tensorOrScalarArg(info, 2, like)));
}

KILN_OP(lerp) {
  const at::Tensor& a = tensorArg(info, 0);
  if (isTensor(info, 2)) return wrap(env, at::lerp(a, tensorArg(info, 1), tensorArg(info, 2)));
  return wrap(env, at::lerp(a, tensorArg(info, 1), scalarArg(info, 2)));
}

// ---- reductions ----

// sum(a, dims | null, keepdim, dtype?)
KILN_OP(sum) {
  const at::Tensor& a = tensorArg(info, 0);
  auto dtype = optDtypeArg(info, 3);
  bool keepdim = boolArg(info, 2, false);
  if (isMissing(info, 1)) return wrap(env, keepRank(at::sum(a, dtype), a, keepdim));
  return wrap(env, at::sum(a, dimsArg(info, 1), keepdim, dtype));
}

KILN_OP(mean) {
  const at::Tensor& a = tensorArg(info, 0);
  bool keepdim = boolArg(info, 2, false);
  if (isMissing(info, 1)) return wrap(env, keepRank(at::mean(a), a, keepdim));
  return wrap(env, at::mean(a, dimsArg(info, 1), keepdim));
}

KILN_OP(prod) {
  const at::Tensor& a = tensorArg(info, 0);
  bool keepdim = boolArg(info, 2, false);
  if (isMissing(info, 1)) return wrap(env, keepRank(at::prod(a), a, keepdim));
  return wrap(env, at::prod(a, intArg(info, 1), keepdim));
}

KILN_UNARY(maxAll, at::max(a))
KILN_UNARY(minAll, at::min(a))

KILN_OP(maxDim) {
  return pair(env, at::max(tensorArg(info, 0), intArg(info, 1), boolArg(info, 2, false)));
}

KILN_OP(minDim) {
  return pair(env, at::min(tensorArg(info, 0), intArg(info, 1), boolArg(info, 2, false)));
}

KILN_OP(amax) { return wrap(env, at::amax(tensorArg(info, 0), dimsArg(info, 1), boolArg(info, 2, false))); }
KILN_OP(amin) { return wrap(env, at::amin(tensorArg(info, 0), dimsArg(info, 1), boolArg(info, 2, false))); }

KILN_OP(argmax) {
  return wrap(env, at::argmax(tensorArg(info, 0), optIntArg(info, 1), boolArg(info, 2, false)));
}

KILN_OP(argmin) {
  return wrap(env, at::argmin(tensorArg(info, 0), optIntArg(info, 1), boolArg(info, 2, false)));
}

// var(a, dims | null, correction (0 or 1), keepdim); std likewise
KILN_OP(var) {
  const at::Tensor& a = tensorArg(info, 0);
  int64_t correction = intArg(info, 2, 1);
  if (correction != 0 && correction != 1) throw ArgError("correction must be 0 or 1", false);
  return wrap(env, at::var(a, at::IntArrayRef(dimsOrAll(info, 1, a)), correction == 1, boolArg(info, 3, false)));
}

KILN_OP(std) {
  const at::Tensor& a = tensorArg(info, 0);
  int64_t correction = intArg(info, 2, 1);
  if (correction != 0 && correction != 1) throw ArgError("correction must be 0 or 1", false);
  return wrap(env, at::std(a, at::IntArrayRef(dimsOrAll(info, 1, a)), correction == 1, boolArg(info, 3, false)));
}

KILN_OP(logsumexp) {
  return wrap(env, at::logsumexp(tensorArg(info, 0), dimsArg(info, 1), boolArg(info, 2, false)));
}

// norm(a, ord, dims | null, keepdim): vector norm
KILN_OP(norm) {
  const at::Tensor& a = tensorArg(info, 0);
  at::Scalar ord = isMissing(info, 1) ? at::Scalar(2.0) : at::Scalar(numberArg(info, 1));
  bool keepdim = boolArg(info, 3, false);
  if (isMissing(info, 2)) return wrap(env, keepRank(at::linalg_vector_norm(a, ord), a, keepdim));
  return wrap(env, at::linalg_vector_norm(a, ord, at::IntArrayRef(dimsArg(info, 2)), keepdim));
}

KILN_OP(all) {
  const at::Tensor& a = tensorArg(info, 0);
  bool keepdim = boolArg(info, 2, false);
  if (isMissing(info, 1)) return wrap(env, keepRank(at::all(a), a, keepdim));
  return wrap(env, at::all(a, intArg(info, 1), keepdim));
}

KILN_OP(any) {
  const at::Tensor& a = tensorArg(info, 0);
  bool keepdim = boolArg(info, 2, false);
  if (isMissing(info, 1)) return wrap(env, keepRank(at::any(a), a, keepdim));
  return wrap(env, at::any(a, intArg(info, 1), keepdim));
}

KILN_OP(cumsum) { return wrap(env, at::cumsum(tensorArg(info, 0), intArg(info, 1))); }

KILN_OP(equal) { return Napi::Boolean::New(env, at::equal(tensorArg(info, 0), tensorArg(info, 1))); }

// ---- linear algebra ----

KILN_OP(matmul) { return wrap(env, at::matmul(tensorArg(info, 0), tensorArg(info, 1))); }
KILN_OP(mm) { return wrap(env, at::mm(tensorArg(info, 0), tensorArg(info, 1))); }
KILN_OP(bmm) { return wrap(env, at::bmm(tensorArg(info, 0), tensorArg(info, 1))); }
KILN_OP(outer) { return wrap(env, at::outer(tensorArg(info, 0), tensorArg(info, 1))); }
KILN_OP(dot) { return wrap(env, at::dot(tensorArg(info, 0), tensorArg(info, 1))); }

// addmm(input, mat1, mat2, beta, alpha) = beta * input + alpha * mat1 @ mat2
KILN_OP(addmm) {
  at::Scalar beta = isMissing(info, 3) ? at::Scalar(1) : scalarArg(info, 3);
  at::Scalar alpha = isMissing(info, 4) ? at::Scalar(1) : scalarArg(info, 4);
  return wrap(env, at::addmm(tensorArg(info, 0), tensorArg(info, 1), tensorArg(info, 2), beta, alpha));
}

KILN_OP(einsum) { return wrap(env, at::einsum(stringArg(info, 0), tensorsArg(info, 1))); }

// ---- shape ----

KILN_OP(view) { return wrap(env, tensorArg(info, 0).view(intsArg(info, 1))); }
KILN_OP(reshape) { return wrap(env, tensorArg(info, 0).reshape(intsArg(info, 1))); }
KILN_OP(transpose) { return wrap(env, tensorArg(info, 0).transpose(intArg(info, 1), intArg(info, 2))); }
KILN_OP(permute) { return wrap(env, tensorArg(info, 0).permute(intsArg(info, 1))); }
KILN_OP(expand) { return wrap(env, tensorArg(info, 0).expand(intsArg(info, 1))); }

KILN_OP(squeeze) {
  const at::Tensor& a = tensorArg(info, 0);
  if (isMissing(info, 1)) return wrap(env, a.squeeze());
  return wrap(env, a.squeeze(intArg(info, 1)));
}

KILN_OP(unsqueeze) { return wrap(env, tensorArg(info, 0).unsqueeze(intArg(info, 1))); }

KILN_OP(flatten) {
  return wrap(env, tensorArg(info, 0).flatten(intArg(info, 1, 0), intArg(info, 2, -1)));
}

KILN_OP(cat) { return wrap(env, at::cat(tensorsArg(info, 0), intArg(info, 1, 0))); }
KILN_OP(stack) { return wrap(env, at::stack(tensorsArg(info, 0), intArg(info, 1, 0))); }

// split(a, size | sizes[], dim)
KILN_OP(split) {
  const at::Tensor& a = tensorArg(info, 0);
  int64_t dim = intArg(info, 2, 0);
  if (info.Length() > 1 && info[1].IsArray()) return tensorList(env, at::split_with_sizes(a, intsArg(info, 1), dim));
  int64_t size = intArg(info, 1);
  if (size <= 0) throw ArgError("split size must be positive, got " + std::to_string(size), false);
  return tensorList(env, at::split(a, size, dim));
}

KILN_OP(chunk) {
  int64_t chunks = intArg(info, 1);
  if (chunks <= 0) throw ArgError("chunk count must be positive, got " + std::to_string(chunks), false);
  return tensorList(env, at::chunk(tensorArg(info, 0), chunks, intArg(info, 2, 0)));
}

KILN_OP(unbind) { return tensorList(env, at::unbind(tensorArg(info, 0), intArg(info, 1, 0))); }

KILN_OP(narrow) {
  return wrap(env, tensorArg(info, 0).narrow(intArg(info, 1), intArg(info, 2), intArg(info, 3)));
}

// slice(a, dim, start | null, end | null, step)
KILN_OP(slice) {
  int64_t step = intArg(info, 4, 1);
  if (step <= 0) throw ArgError("slice step must be positive, got " + std::to_string(step), false);
  return wrap(env, at::slice(tensorArg(info, 0), intArg(info, 1), optIntArg(info, 2), optIntArg(info, 3), step));
}

KILN_OP(select) { return wrap(env, tensorArg(info, 0).select(intArg(info, 1), intArg(info, 2))); }

KILN_OP(indexSelect) {
  return wrap(env, at::index_select(tensorArg(info, 0), intArg(info, 1), tensorArg(info, 2)));
}

KILN_OP(gather) { return wrap(env, at::gather(tensorArg(info, 0), intArg(info, 1), tensorArg(info, 2))); }

KILN_OP(scatter) {
  const at::Tensor& a = tensorArg(info, 0);
  if (isTensor(info, 3)) return wrap(env, at::scatter(a, intArg(info, 1), tensorArg(info, 2), tensorArg(info, 3)));
  return wrap(env, at::scatter(a, intArg(info, 1), tensorArg(info, 2), scalarArg(info, 3)));
}

KILN_OP(scatterAdd) {
  return wrap(env, at::scatter_add(tensorArg(info, 0), intArg(info, 1), tensorArg(info, 2), tensorArg(info, 3)));
}

KILN_OP(indexAdd) {
  return wrap(env, at::index_add(tensorArg(info, 0), intArg(info, 1), tensorArg(info, 2), tensorArg(info, 3)));
}

KILN_OP(maskedFill) {
  const at::Tensor& a = tensorArg(info, 0);
  if (isTensor(info, 2)) return wrap(env, at::masked_fill(a, tensorArg(info, 1), tensorArg(info, 2)));
  return wrap(env, at::masked_fill(a, tensorArg(info, 1), scalarArg(info, 2)));
}

KILN_OP(tril) { return wrap(env, at::tril(tensorArg(info, 0), intArg(info, 1, 0))); }
KILN_OP(triu) { return wrap(env, at::triu(tensorArg(info, 0), intArg(info, 1, 0))); }
KILN_OP(repeat) { return wrap(env, tensorArg(info, 0).repeat(intsArg(info, 1))); }
KILN_OP(flip) { return wrap(env, at::flip(tensorArg(info, 0), intsArg(info, 1))); }
KILN_OP(roll) { return wrap(env, at::roll(tensorArg(info, 0), intsArg(info, 1), intsArg(info, 2))); }

KILN_OP(repeatInterleave) {
  return wrap(env, at::repeat_interleave(tensorArg(info, 0), intArg(info, 1), optIntArg(info, 2)));
}

// pad(a, pads [last dim first, as torch.nn.functional.pad], value)
KILN_OP(pad) {
  return wrap(env, at::constant_pad_nd(tensorArg(info, 0), intsArg(info, 1),
                                       isMissing(info, 2) ? at::Scalar(0) : scalarArg(info, 2)));
}

// ---- in-place (the JS side returns `this`) ----

KILN_OP(add_) {
  at::Tensor& a = tensorArg(info, 0);
  at::Scalar alpha = isMissing(info, 2) ? at::Scalar(1) : scalarArg(info, 2);
  if (isTensor(info, 1)) a.add_(tensorArg(info, 1), alpha);
  else a.add_(scalarArg(info, 1), alpha);
  return env.Undefined();
}

KILN_OP(sub_) {
  at::Tensor& a = tensorArg(info, 0);
  at::Scalar alpha = isMissing(info, 2) ? at::Scalar(1) : scalarArg(info, 2);
  if (isTensor(info, 1)) a.sub_(tensorArg(info, 1), alpha);
  else a.sub_(scalarArg(info, 1), alpha);
  return env.Undefined();
}

KILN_INPLACE_BINARY(mul_, mul_)
KILN_INPLACE_BINARY(div_, div_)
KILN_INPLACE_BINARY(pow_, pow_)

KILN_OP(addcmul_) {
  at::Scalar value = isMissing(info, 3) ? at::Scalar(1) : scalarArg(info, 3);
  tensorArg(info, 0).addcmul_(tensorArg(info, 1), tensorArg(info, 2), value);
  return env.Undefined();
}

KILN_OP(addcdiv_) {
  at::Scalar value = isMissing(info, 3) ? at::Scalar(1) : scalarArg(info, 3);
  tensorArg(info, 0).addcdiv_(tensorArg(info, 1), tensorArg(info, 2), value);
  return env.Undefined();
}

KILN_OP(lerp_) {
  at::Tensor& a = tensorArg(info, 0);
  if (isTensor(info, 2)) a.lerp_(tensorArg(info, 1), tensorArg(info, 2));
  else a.lerp_(tensorArg(info, 1), scalarArg(info, 2));
  return env.Undefined();
}

KILN_OP(zero_) {
  tensorArg(info, 0).zero_();
  return env.Undefined();
}

KILN_OP(fill_) {
  at::Tensor& a = tensorArg(info, 0);
  if (isTensor(info, 1)) a.fill_(tensorArg(info, 1));
  else a.fill_(scalarArg(info, 1));
  return env.Undefined();
}

KILN_OP(copy_) {
  tensorArg(info, 0).copy_(tensorArg(info, 1));
  return env.Undefined();
}

KILN_OP(clamp_) {
  at::Tensor& a = tensorArg(info, 0);
  if (isMissing(info, 1) && isMissing(info, 2)) throw ArgError("clamp_ needs at least one of min and max", false);
  c10::optional<at::Scalar> lo, hi;
  if (!isMissing(info, 1)) lo = scalarArg(info, 1);
  if (!isMissing(info, 2)) hi = scalarArg(info, 2);
  a.clamp_(lo, hi);
  return env.Undefined();
}

KILN_OP(sqrt_) {
  tensorArg(info, 0).sqrt_();
  return env.Undefined();
}

KILN_OP(maskedFill_) {
  at::Tensor& a = tensorArg(info, 0);
  if (isTensor(info, 2)) a.masked_fill_(tensorArg(info, 1), tensorArg(info, 2));
  else a.masked_fill_(tensorArg(info, 1), scalarArg(info, 2));
  return env.Undefined();
}

KILN_OP(uniform_) {
  tensorArg(info, 0).uniform_(numberArg(info, 1, 0.0), numberArg(info, 2, 1.0));
  return env.Undefined();
}

KILN_OP(normal_) {
  tensorArg(info, 0).normal_(numberArg(info, 1, 0.0), numberArg(info, 2, 1.0));
  return env.Undefined();
}

// ---- sorting and sampling ----

// topk(a, k, dim, largest, sorted) -> [values, indices]
KILN_OP(topk) {
  return pair(env, at::topk(tensorArg(info, 0), intArg(info, 1), intArg(info, 2, -1), boolArg(info, 3, true),
                            boolArg(info, 4, true)));
}

// sort(a, dim, descending) -> [values, indices]
KILN_OP(sort) {
  return pair(env, at::sort(tensorArg(info, 0), intArg(info, 1, -1), boolArg(info, 2, false)));
}

KILN_OP(argsort) {
  return wrap(env, at::argsort(tensorArg(info, 0), intArg(info, 1, -1), boolArg(info, 2, false)));
}

// multinomial(probs, numSamples, replacement)
KILN_OP(multinomial) {
  return wrap(env, at::multinomial(tensorArg(info, 0), intArg(info, 1), boolArg(info, 2, false)));
}

KILN_OP(bernoulli) { return wrap(env, at::bernoulli(tensorArg(info, 0))); }

KILN_OP(randperm) {
  return wrap(env, at::randperm(intArg(info, 0), isMissing(info, 1) ? optionsArg(info, 1).dtype(at::kLong)
                                                                    : optionsArg(info, 1)));
}

const OpEntry entries[] = {
    KILN_ENTRY(add), KILN_ENTRY(sub), KILN_ENTRY(rsub), KILN_ENTRY(mul), KILN_ENTRY(div),
    KILN_ENTRY(remainder), KILN_ENTRY(pow), KILN_ENTRY(rpow), KILN_ENTRY(eq), KILN_ENTRY(ne),
    KILN_ENTRY(lt), KILN_ENTRY(le), KILN_ENTRY(gt), KILN_ENTRY(ge), KILN_ENTRY(maximum),
    KILN_ENTRY(minimum), KILN_ENTRY(logicalAnd), KILN_ENTRY(logicalOr), KILN_ENTRY(logicalXor),
    KILN_ENTRY(neg), KILN_ENTRY(abs), KILN_ENTRY(exp), KILN_ENTRY(expm1), KILN_ENTRY(log),
    KILN_ENTRY(log2), KILN_ENTRY(log1p), KILN_ENTRY(sqrt), KILN_ENTRY(rsqrt), KILN_ENTRY(square),
    KILN_ENTRY(reciprocal), KILN_ENTRY(sin), KILN_ENTRY(cos), KILN_ENTRY(tanh), KILN_ENTRY(sigmoid),
    KILN_ENTRY(logSigmoid), KILN_ENTRY(relu), KILN_ENTRY(silu), KILN_ENTRY(erf), KILN_ENTRY(sign),
    KILN_ENTRY(floor), KILN_ENTRY(ceil), KILN_ENTRY(round), KILN_ENTRY(trunc),
    KILN_ENTRY(logicalNot), KILN_ENTRY(isnan), KILN_ENTRY(isinf), KILN_ENTRY(isfinite),
    KILN_ENTRY(gelu), KILN_ENTRY(geluReference), KILN_ENTRY(softplus), KILN_ENTRY(leakyRelu), KILN_ENTRY(elu),
    KILN_ENTRY(clamp), KILN_ENTRY(where), KILN_ENTRY(lerp), KILN_ENTRY(sum), KILN_ENTRY(mean),
    KILN_ENTRY(prod), KILN_ENTRY(maxAll), KILN_ENTRY(minAll), KILN_ENTRY(maxDim), KILN_ENTRY(minDim),
    KILN_ENTRY(amax), KILN_ENTRY(amin), KILN_ENTRY(argmax), KILN_ENTRY(argmin), KILN_ENTRY(var),
    KILN_ENTRY(std), KILN_ENTRY(logsumexp), KILN_ENTRY(norm), KILN_ENTRY(all), KILN_ENTRY(any),
    KILN_ENTRY(cumsum), KILN_ENTRY(equal), KILN_ENTRY(matmul), KILN_ENTRY(mm), KILN_ENTRY(bmm),
    KILN_ENTRY(outer), KILN_ENTRY(dot), KILN_ENTRY(addmm), KILN_ENTRY(einsum), KILN_ENTRY(view),
    KILN_ENTRY(reshape), KILN_ENTRY(transpose), KILN_ENTRY(permute), KILN_ENTRY(expand),
    KILN_ENTRY(squeeze), KILN_ENTRY(unsqueeze), KILN_ENTRY(flatten), KILN_ENTRY(cat),
    KILN_ENTRY(stack), KILN_ENTRY(split), KILN_ENTRY(chunk), KILN_ENTRY(unbind), KILN_ENTRY(narrow),
    KILN_ENTRY(slice), KILN_ENTRY(select), KILN_ENTRY(indexSelect), KILN_ENTRY(gather),
    KILN_ENTRY(scatter), KILN_ENTRY(scatterAdd), KILN_ENTRY(indexAdd), KILN_ENTRY(maskedFill),
    KILN_ENTRY(tril), KILN_ENTRY(triu), KILN_ENTRY(repeat), KILN_ENTRY(flip), KILN_ENTRY(roll),
    KILN_ENTRY(repeatInterleave), KILN_ENTRY(pad), KILN_ENTRY(add_), KILN_ENTRY(sub_),
    KILN_ENTRY(mul_), KILN_ENTRY(div_), KILN_ENTRY(pow_), KILN_ENTRY(addcmul_), KILN_ENTRY(addcdiv_),
    KILN_ENTRY(lerp_), KILN_ENTRY(zero_), KILN_ENTRY(fill_), KILN_ENTRY(copy_), KILN_ENTRY(clamp_),
    KILN_ENTRY(sqrt_), KILN_ENTRY(maskedFill_), KILN_ENTRY(uniform_), KILN_ENTRY(normal_),
    KILN_ENTRY(topk), KILN_ENTRY(sort), KILN_ENTRY(argsort), KILN_ENTRY(multinomial),
    KILN_ENTRY(bernoulli), KILN_ENTRY(randperm),
};

}  // namespace

void registerMathOps(Napi::Env env, Napi::Object exports) {
  registerAll(env, exports, entries, sizeof(entries) / sizeof(entries[0]));
}

}  // namespace kiln
