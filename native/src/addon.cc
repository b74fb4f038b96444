// Module entry point and the shared helpers declared in kiln.h.
#include "kiln.h"

#include <ATen/ScalarOps.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace kiln {

namespace {
// Bytes released by finalizers since the last report to V8. Finalizers only count here; the
// adjustment is made on the next wrap(), from ordinary JS-calling context.
thread_local int64_t pendingReleasedBytes = 0;
}  // namespace

void release(Handle* handle) {
  if (handle->reportedBytes != 0) {
    pendingReleasedBytes += handle->reportedBytes;
    handle->reportedBytes = 0;
  }
  handle->tensor.reset();
}

// Per thread: each worker_thread has its own JS scopes and its own V8 heap.
thread_local int openScopes = 0;

void deleteHandle(Handle* handle) {
  release(handle);
  delete handle;
}

namespace {
// Small tensors released by dispose() (a scope's end disposes every tensor the scope made) are
// freed one per new tensor, in wrap(), rather than all at once. glibc's per-thread cache keeps
// only 7 free blocks of a size, so after a scope freed 100 results the next scope's allocations
// took malloc's slow path; freed in step with new allocations, the blocks go back through that
// cache (a small op in a scope: 1.09 → 1.04 µs). Only tensors without autograd history (a graph
// can hold large saved tensors) and with at most kDeferBytes of CPU storage wait, at most
// kMaxDeferred of them.
constexpr int64_t kDeferBytes = 4096;
constexpr size_t kMaxDeferred = 4096;
thread_local std::vector<Handle*> deferred;

bool deferrable(const at::Tensor& t) {
  return deferred.size() < kMaxDeferred && t.defined() && t.device().is_cpu() && !t.requires_grad() &&
         t.has_storage() && static_cast<int64_t>(t.storage().nbytes()) <= kDeferBytes;
}
}  // namespace

size_t deferredCount() {
  return deferred.size();
}

void disposeHandle(Handle* handle) {
  if (handle->finalizable) {
    release(handle);  // the GC frees the handle itself later
  } else if (deferrable(handle->tensor)) {
    deferred.push_back(handle);
  } else {
    deleteHandle(handle);
  }
}

Napi::Value wrap(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  if (!deferred.empty()) {
    deleteHandle(deferred.back());
    deferred.pop_back();
  }
  auto* handle = new Handle{std::move(tensor), 0, openScopes == 0};
  // Report a storage only when this handle is its sole owner (a fresh result); views share
  // storage that was already reported.
  const at::Tensor& t = handle->tensor;
  if (t.has_storage() && t.storage().use_count() == 1) {
    handle->reportedBytes = static_cast<int64_t>(t.storage().nbytes());
  }
  int64_t delta = handle->reportedBytes - pendingReleasedBytes;
  pendingReleasedBytes = 0;
  if (delta != 0) Napi::MemoryManagement::AdjustExternalMemory(env, delta);
  if (!handle->finalizable) return Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(handle)));
  // A basic (pure) finalizer: it touches no JS, so Node runs it during GC itself rather than
  // deferring it to the event loop. A synchronous training loop that never yields still gets
  // its tensors freed.
  return Napi::External<Handle>::New(env, handle, [](Napi::BasicEnv, Handle* h) { deleteHandle(h); });
}

std::string dtypeName(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(type);
  }
}

at::ScalarType parseDtype(Napi::Env, const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "float64") return at::kDouble;
  if (name == "float16") return at::kHalf;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "int64") return at::kLong;
  if (name == "int32") return at::kInt;
  if (name == "int16") return at::kShort;
  if (name == "int8") return at::kChar;
  if (name == "uint8") return at::kByte;
  if (name == "bool") return at::kBool;
  throw ArgError("unknown dtype '" + name +
                     "'; expected float32, float64, float16, bfloat16, int64, int32, int16, "
                     "int8, uint8 or bool",
                 true);
}

at::Device parseDevice(Napi::Env, const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!at::hasCUDA()) {
      throw ArgError("device '" + name +
                         "' is not available: this libtorch was built without CUDA or no GPU "
                         "is visible; rebuild Kiln with LIBTORCH pointing at a CUDA libtorch",
                     false);
    }
    return at::Device(name);
  }
  throw ArgError("unknown device '" + name + "'; expected 'cpu', 'cuda' or 'cuda:N'", true);
}

std::string describeTensor(const at::Tensor& t) {
  std::ostringstream out;
  out << dtypeName(t.scalar_type()) << "[";
  for (int64_t d = 0; d < t.dim(); ++d) out << (d ? ", " : "") << t.size(d);
  out << "]";
  if (!t.device().is_cpu()) out << "@" << t.device().str();
  return out.str();
}

namespace {
std::string describeValue(const Napi::Value& v) {
  if (Handle* h = handleOf(v)) {
    return h->tensor.defined() ? describeTensor(h->tensor) : "<disposed tensor>";
  }
  if (v.IsArray()) {
    auto arr = v.As<Napi::Array>();
    std::string s = "[";
    uint32_t n = arr.Length();
    for (uint32_t k = 0; k < n && k < 8; ++k) {
      s += (k ? ", " : "") + describeValue(arr.Get(k));
    }
    if (n > 8) s += ", ...";
    return s + "]";
  }
  if (v.IsNumber()) {
    std::ostringstream out;
    out << v.As<Napi::Number>().DoubleValue();
    return out.str();
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsUndefined() || v.IsNull()) return "_";
  return "<object>";
}

std::string describeCall(const Napi::CallbackInfo& info, const char* op) {
  std::string s = std::string(op) + "(";
  size_t last = info.Length();
  while (last > 0 && (info[last - 1].IsUndefined() || info[last - 1].IsNull())) --last;
  for (size_t k = 0; k < last; ++k) s += (k ? ", " : "") + describeValue(info[k]);
  return s + ")";
}

std::string trimmed(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}
}  // namespace

Napi::Value guard(const Napi::CallbackInfo& info, const char* op, OpBody body) {
  Napi::Env env = info.Env();
  try {
    return body(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgError& e) {
    std::string message = describeCall(info, op) + ": " + e.what();
    if (e.typeError) throw Napi::TypeError::New(env, message);
    throw Napi::Error::New(env, message);
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, describeCall(info, op) + ": " + trimmed(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, describeCall(info, op) + ": " + trimmed(e.what()));
  }
}

void throwArgError(const Napi::CallbackInfo& info, size_t i, const char* expected) {
  std::string got = "nothing";
  if (i < info.Length()) {
    got = info[i].IsUndefined() ? "undefined" : info[i].IsNull() ? "null" : describeValue(info[i]);
  }
  throw ArgError("argument " + std::to_string(i) + " must be " + expected + ", got " + got, true);
}

std::vector<int64_t> intsArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throwArgError(info, i, "an array of integers");
  auto arr = info[i].As<Napi::Array>();
  uint32_t n = arr.Length();
  std::vector<int64_t> out(n);
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value v = arr.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.5;
    if (d != static_cast<double>(static_cast<int64_t>(d))) {
      throwArgError(info, i, "an array of integers");
    }
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

std::vector<at::Tensor> tensorsArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throwArgError(info, i, "an array of Tensors");
  auto arr = info[i].As<Napi::Array>();
  uint32_t n = arr.Length();
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value v = arr.Get(k);
    Handle* h = handleOf(v);
    if (h == nullptr) throwArgError(info, i, "an array of Tensors");
    if (!h->tensor.defined()) {
      throw ArgError("element " + std::to_string(k) + " of argument " + std::to_string(i) +
                         " is a disposed Tensor",
                     false);
    }
    out.push_back(h->tensor);
  }
  return out;
}

at::Scalar scalarArg(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  double v = numberArg(info, i);
  if (v == static_cast<double>(static_cast<int64_t>(v)) && std::abs(v) < 9.007199254740992e15) {
    return at::Scalar(static_cast<int64_t>(v));
  }
  return at::Scalar(v);
}

at::Tensor tensorOrScalarArg(const Napi::CallbackInfo& info, size_t i, const at::Tensor& like) {
  if (isTensor(info, i)) return tensorArg(info, i);
  // A wrapped number takes part in type promotion as a Python scalar does: int64 tensor with
  // 2.5 gives float32, not int64.
  return at::native::wrapped_scalar_tensor(scalarArg(info, i), like.device());
}

at::TensorOptions optionsArg(const Napi::CallbackInfo& info, size_t i) {
  at::TensorOptions options = at::TensorOptions().dtype(isMissing(info, i) ? at::kFloat : dtypeArg(info, i));
  if (!isMissing(info, i + 1)) options = options.device(parseDevice(info.Env(), stringArg(info, i + 1)));
  return options;
}

Napi::Array tensorList(Napi::Env env, const std::vector<at::Tensor>& tensors) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t k = 0; k < tensors.size(); ++k) out.Set(static_cast<uint32_t>(k), wrap(env, tensors[k]));
  return out;
}

void registerAll(Napi::Env env, Napi::Object exports, const OpEntry* entries, size_t count) {
  for (size_t k = 0; k < count; ++k) {
    exports.Set(entries[k].name, Napi::Function::New(env, entries[k].fn, entries[k].name));
  }
}

}  // namespace kiln

// glibc's malloc serves blocks above a dynamic threshold (128 KiB at first) with mmap and hands
// the top of the heap back to the kernel once more than twice that is free. A training step
// allocates and frees the same activation-sized blocks (hundreds of KiB to MiBs) every step, so
// by default the pages are unmapped and faulted in again each time: 520k minor page faults in
// 400 steps of the nanoGPT char recipe against PyTorch's 60k, and about 10% of its throughput.
// Keeping blocks up to 32 MiB on the heap and up to 128 MiB of free top in the process removes
// that churn. Left alone when the user tuned malloc through the environment.
static void keepFreedMemoryForReuse() {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr ||
      (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr)) {
    return;
  }
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static const bool mallocTuned = (keepFreedMemoryForReuse(), true);
  (void)mallocTuned;
  kiln::registerTensorOps(env, exports);
  kiln::registerMathOps(env, exports);
  kiln::registerNnOps(env, exports);
  kiln::registerOptimOps(env, exports);
  kiln::registerFusedOps(env, exports);
  kiln::registerProfilerOps(env, exports);
  kiln::registerDistributedOps(env, exports);
  return exports;
}

NODE_API_MODULE(kiln, Init)
