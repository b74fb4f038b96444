// Shared helpers for Kiln's libtorch addon: tensor handles, argument parsing, error translation.
//
// A JS Tensor owns one `Handle` (a napi External). The handle holds an at::Tensor; dispose()
// resets it, and the External's finalizer deletes the handle when V8 collects it. Every op is
// declared with KILN_OP so that a libtorch exception becomes a JS Error naming the op and the
// shapes/dtypes of its tensor arguments, never an abort.
#pragma once

#include <atomic>
#include <napi.h>
#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

struct Handle {
  at::Tensor tensor;
  int64_t reportedBytes = 0;  // storage bytes reported to V8 for this handle
  // Whether the GC owns this handle (a finalizer deletes it). Handles made inside a JS scope()
  // have no finalizer: the scope disposes them, or hands them to the GC with adopt() when they
  // outlive it. Skipping the finalizer saves a weak reference per op on the hot path.
  bool finalizable = true;
};

// Wraps a tensor in a new handle. An undefined tensor becomes JS null.
Napi::Value wrap(Napi::Env env, at::Tensor tensor);
// Releases the tensor held by a handle (dispose()); safe to call twice.
void release(Handle* handle);
// Releases the handle's tensor and frees the handle itself.
void deleteHandle(Handle* handle);
// dispose(): releases the tensor (a GC-owned handle stays for its finalizer) and frees a
// scoped handle, now or, for a small tensor, on a later wrap().
void disposeHandle(Handle* handle);
// How many disposed small tensors wait for a later wrap() to free them (for tests).
size_t deferredCount();
// Number of JS scopes open; wrap() makes finalizer-less handles while it is positive.
extern thread_local int openScopes;

std::string describeTensor(const at::Tensor& t);
std::string dtypeName(at::ScalarType type);
at::ScalarType parseDtype(Napi::Env env, const std::string& name);
at::Device parseDevice(Napi::Env env, const std::string& name);

// Translates any exception thrown by `body` into a JS Error naming the op and its arguments.
Napi::Value guard(const Napi::CallbackInfo& info, const char* op,
                  Napi::Value (*body)(const Napi::CallbackInfo&));

// ---- argument parsing (throw Napi::TypeError on a wrong JS type) ----

inline bool isMissing(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length()) return true;
  napi_valuetype t = info[i].Type();
  return t == napi_undefined || t == napi_null;
}

// The handle a JS value carries, or null when it carries none. A handle travels as an External
// (GC-finalized) or, for a tensor made inside a scope, as a BigInt holding its address: creating
// an External costs ~0.25 µs, a BigInt almost nothing, and a scope needs no finalizer. Only the
// Tensor class passes handles, so a BigInt here is always one the addon made.
inline Handle* handleOf(const Napi::Value& value) {
  napi_valuetype type = value.Type();
  if (type == napi_external) return value.As<Napi::External<Handle>>().Data();
  if (type == napi_bigint) {
    bool lossless = false;
    uint64_t address = value.As<Napi::BigInt>().Uint64Value(&lossless);
    return lossless ? reinterpret_cast<Handle*>(static_cast<uintptr_t>(address)) : nullptr;
  }
  return nullptr;
}

inline bool isTensor(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length()) return false;
  napi_valuetype type = info[i].Type();
  return type == napi_external || type == napi_bigint;
}

// Thrown by the argument parsers; guard() turns it into a JS TypeError (or Error) naming the op.
struct ArgError : std::runtime_error {
  bool typeError;
  ArgError(const std::string& message, bool isTypeError)
      : std::runtime_error(message), typeError(isTypeError) {}
};

[[noreturn]] void throwArgError(const Napi::CallbackInfo& info, size_t i, const char* expected);

inline at::Tensor& tensorArg(const Napi::CallbackInfo& info, size_t i) {
  Handle* h = i < info.Length() ? handleOf(info[i]) : nullptr;
  if (h == nullptr) throwArgError(info, i, "a Tensor");
  if (!h->tensor.defined()) {
    throw ArgError("argument " + std::to_string(i) +
                       " is a disposed Tensor; a Tensor cannot be used after dispose()",
                   false);
  }
  return h->tensor;
}

// The tensor at argument i when it is one (a disposed one throws), else null: for operands
// that may be a Tensor or a number, with one type check.
inline const at::Tensor* tensorIfAny(const Napi::CallbackInfo& info, size_t i) {
  Handle* h = i < info.Length() ? handleOf(info[i]) : nullptr;
  if (h == nullptr) return nullptr;
  if (!h->tensor.defined()) {
    throw ArgError("argument " + std::to_string(i) + " is a disposed Tensor; a Tensor cannot be used after dispose()",
                   false);
  }
  return &h->tensor;
}

inline c10::optional<at::Tensor> optTensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (isMissing(info, i)) return c10::nullopt;
  return tensorArg(info, i);
}

inline double numberArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throwArgError(info, i, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline int64_t intArg(const Napi::CallbackInfo& info, size_t i) {
  double v = numberArg(info, i);
  if (v != static_cast<double>(static_cast<int64_t>(v))) throwArgError(info, i, "an integer");
  return static_cast<int64_t>(v);
}

inline int64_t intArg(const Napi::CallbackInfo& info, size_t i, int64_t fallback) {
  return isMissing(info, i) ? fallback : intArg(info, i);
}

inline double numberArg(const Napi::CallbackInfo& info, size_t i, double fallback) {
  return isMissing(info, i) ? fallback : numberArg(info, i);
}

inline c10::optional<int64_t> optIntArg(const Napi::CallbackInfo& info, size_t i) {
  if (isMissing(info, i)) return c10::nullopt;
  return intArg(info, i);
}

inline c10::optional<double> optNumberArg(const Napi::CallbackInfo& info, size_t i) {
  if (isMissing(info, i)) return c10::nullopt;
  return numberArg(info, i);
}

inline bool boolArg(const Napi::CallbackInfo& info, size_t i, bool fallback) {
  if (isMissing(info, i)) return fallback;
  if (!info[i].IsBoolean()) throwArgError(info, i, "a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

inline std::string stringArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) throwArgError(info, i, "a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> intsArg(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> tensorsArg(const Napi::CallbackInfo& info, size_t i);
// A JS number (integral → int64, else double) or boolean as an at::Scalar.
at::Scalar scalarArg(const Napi::CallbackInfo& info, size_t i);
// A Tensor argument, or a number as a wrapped scalar tensor on `like`'s device (promoted like a
// Python scalar).
at::Tensor tensorOrScalarArg(const Napi::CallbackInfo& info, size_t i, const at::Tensor& like);

inline at::ScalarType dtypeArg(const Napi::CallbackInfo& info, size_t i) {
  return parseDtype(info.Env(), stringArg(info, i));
}

inline c10::optional<at::ScalarType> optDtypeArg(const Napi::CallbackInfo& info, size_t i) {
  if (isMissing(info, i)) return c10::nullopt;
  return dtypeArg(info, i);
}

// Tensor options from (dtype, device) arguments at i and i+1; dtype defaults to float32.
at::TensorOptions optionsArg(const Napi::CallbackInfo& info, size_t i);

Napi::Array tensorList(Napi::Env env, const std::vector<at::Tensor>& tensors);

// ---- vectorised loops ----
// The addon is built for baseline x86-64; a hot loop is compiled three times — AVX-512, AVX2 +
// FMA, baseline — as the static members avx512, avx2 and base of a struct, and vectorLoop<Loop>()
// returns the widest the CPU has. (GCC's target_clones("arch=skylake-avx512") picked the
// baseline clone on AMD's AVX-512 EPYC: it tests the CPU model, not its features.) Helpers the
// loop calls must be always_inline (KILN_INLINE): GCC does not inline a baseline function into
// a target function otherwise, and the call keeps the loop scalar.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KILN_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define KILN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define KILN_TARGET_AVX512
#define KILN_TARGET_AVX2
#endif
#if defined(__GNUC__) || defined(__clang__)
#define KILN_INLINE inline __attribute__((always_inline))
#else
#define KILN_INLINE inline
#endif

#define KILN_VECTOR_LOOP(name, params, ...)                  \
  struct name {                                              \
    KILN_TARGET_AVX512 static void avx512 params __VA_ARGS__ \
    KILN_TARGET_AVX2 static void avx2 params __VA_ARGS__     \
    static void base params __VA_ARGS__                      \
  };

// bf16 <-> float32 in plain integer arithmetic the vectoriser handles: c10::BFloat16's conversions.
KILN_INLINE float bf16ToFloat(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest even, NaN to the quiet NaN.
KILN_INLINE uint16_t floatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nanMask = 0u - static_cast<uint32_t>((u & 0x7FFFFFFFu) > 0x7F800000u);  // all ones for NaN
  return static_cast<uint16_t>((rounded & ~nanMask) | (0x7FC0u & nanMask));
}

// 2: AVX-512 (F, BW, VL, DQ), 1: AVX2 + FMA, 0: baseline; what the CPU has unless lowered by
// setVectorLevel (tests run every level on one machine).
int vectorLevel();

// Whether the fused kernels (and the single-row linear) are on: setFusedKernels(false) routes every op to its ATen reference.
extern std::atomic<bool> fusedKernelsEnabled;

template <typename Loop>
auto vectorLoop() -> decltype(&Loop::base) {
  switch (vectorLevel()) {
    case 2: return &Loop::avx512;
    case 1: return &Loop::avx2;
    default: return &Loop::base;
  }
}

// autocast's state per device type, across libtorch versions (tensor.cc)
bool autocastEnabled(at::DeviceType d);
void setAutocastEnabled(at::DeviceType d, bool on);
at::ScalarType autocastDtype(at::DeviceType d);
void setAutocastDtype(at::DeviceType d, at::ScalarType t);

// ---- fused kernels (fused_ops.cc) ----

// The weight a linear layer multiplies by under bf16 CPU autocast: a bf16 copy of the float32
// leaf w kept from one forward to the next — made when missing or stale (w's version or data
// changed), written by the fused AdamW in the pass that updates w — through an autograd node
// that casts the gradient back to float32, as autocast's own cast does, without reading the
// float32 weight again each forward. nullopt where that does not apply (no bf16 CPU autocast,
// fused kernels off, w not a float32 CPU leaf, x not float32/bf16).
c10::optional<at::Tensor> autocastBf16Weight(const at::Tensor& x, const at::Tensor& w);
// For the fused AdamW: where p has a fresh bf16 copy, its data, to write in the same pass (a
// stale copy is dropped: nullptr); after writing, bf16CopyWritten(p) bumps p's version (an
// in-place update, as ATen's would) and marks the copy fresh for it.
uint16_t* bf16CopyToWrite(const at::Tensor& p);
void bf16CopyWritten(const at::Tensor& p);

// GELU, tanh approximation: the fused kernel on float32/bf16 CPU tensors, else at::gelu.
at::Tensor geluTanh(const at::Tensor& x);
// Whether fusedAttention takes these (float32/bf16 CPU, equal shapes, no dropout, the shapes where
// it was measured faster).
bool attentionFusable(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double dropoutP, bool causal);
// softmax(scale·q kᵀ) v, causal or not, without a mask, by the fused kernel; q, k, v (…, L, E)
// of one shape.
at::Tensor fusedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, bool causal);
// Whether crossEntropy takes these: (N, V) float32 logits (bf16 under autocast) with unit column
// stride, (N) int64 targets, no class weights, no label smoothing.
bool crossEntropyFusable(const at::Tensor& logits, const at::Tensor& target, const c10::optional<at::Tensor>& weight,
                         double labelSmoothing);
// Cross-entropy from logits by the fused kernel (float32 loss); reduction is at::Reduction's.
at::Tensor crossEntropy(const at::Tensor& logits, const at::Tensor& target, int64_t reduction, int64_t ignoreIndex);
// The plain composition of scaled dot-product attention (nn_ops.cc): the fused kernel's reference.
at::Tensor attentionMath(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const c10::optional<at::Tensor>& mask, double dropoutP, bool causal, double scale);

// ---- registration ----

using OpBody = Napi::Value (*)(const Napi::CallbackInfo&);
struct OpEntry {
  const char* name;
  Napi::Value (*fn)(const Napi::CallbackInfo&);
};

void registerTensorOps(Napi::Env env, Napi::Object exports);
void registerMathOps(Napi::Env env, Napi::Object exports);
void registerNnOps(Napi::Env env, Napi::Object exports);
void registerDistributedOps(Napi::Env env, Napi::Object exports);
void registerOptimOps(Napi::Env env, Napi::Object exports);
void registerFusedOps(Napi::Env env, Napi::Object exports);
void registerProfilerOps(Napi::Env env, Napi::Object exports);

void registerAll(Napi::Env env, Napi::Object exports, const OpEntry* entries, size_t count);

}  // namespace kiln

// Declares an op `name` whose body runs under kiln::guard. Inside the body `info` and `env` are
// in scope; the body returns a Napi::Value.
#define KILN_OP(name)                                                            \
  static Napi::Value name##_body(const Napi::CallbackInfo& info, Napi::Env env); \
  static Napi::Value name##_entry(const Napi::CallbackInfo& info) {             \
    return name##_body(info, info.Env());                                        \
  }                                                                              \
  static Napi::Value name(const Napi::CallbackInfo& info) {                      \
    return kiln::guard(info, #name, name##_entry);                               \
  }                                                                              \
  static Napi::Value name##_body(const Napi::CallbackInfo& info, Napi::Env env)

#define KILN_ENTRY(name) \
  { #name, name }
