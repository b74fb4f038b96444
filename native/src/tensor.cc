// Tensor creation, conversion, metadata, autograd and process settings.
#include "kiln.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/function.h>
#include <torch/version.h>

#include <cstring>

namespace kiln {
namespace {

// ---- creation ----

// fromBuffer(typedArray, shape, dtype, device): copies the array into a new tensor.
KILN_OP(fromBuffer) {
  if (info.Length() < 1 || !info[0].IsTypedArray()) throwArgError(info, 0, "a TypedArray");
  auto array = info[0].As<Napi::TypedArray>();
  at::ScalarType source;
  switch (array.TypedArrayType()) {
    case napi_float32_array: source = at::kFloat; break;
    case napi_float64_array: source = at::kDouble; break;
    case napi_int32_array: source = at::kInt; break;
    case napi_int16_array: source = at::kShort; break;
    case napi_int8_array: source = at::kChar; break;
    case napi_uint8_array: source = at::kByte; break;
    case napi_bigint64_array: source = at::kLong; break;
    default: throwArgError(info, 0, "a Float32/Float64/Int32/Int16/Int8/Uint8/BigInt64 array");
  }
  std::vector<int64_t> shape = intsArg(info, 1);
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) throw ArgError("shape has a negative dimension", false);
    numel *= d;
  }
  if (numel != static_cast<int64_t>(array.ElementLength())) {
    throw ArgError("shape holds " + std::to_string(numel) + " elements but the data has " +
                       std::to_string(array.ElementLength()),
                   false);
  }
  at::TensorOptions options = optionsArg(info, 2);
  auto* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  at::Tensor view = at::from_blob(data, shape, at::TensorOptions().dtype(source));
  // to(..., copy=true) always makes a tensor that owns its memory, never aliasing the JS buffer.
  return wrap(env, view.to(options.device(), options.dtype().toScalarType(), false, true));
}

KILN_OP(zeros) { return wrap(env, at::zeros(intsArg(info, 0), optionsArg(info, 1))); }
KILN_OP(ones) { return wrap(env, at::ones(intsArg(info, 0), optionsArg(info, 1))); }
KILN_OP(empty) { return wrap(env, at::empty(intsArg(info, 0), optionsArg(info, 1))); }
KILN_OP(full) { return wrap(env, at::full(intsArg(info, 0), scalarArg(info, 1), optionsArg(info, 2))); }
KILN_OP(scalarTensor) { return wrap(env, at::scalar_tensor(scalarArg(info, 0), optionsArg(info, 1))); }
KILN_OP(rand) { return wrap(env, at::rand(intsArg(info, 0), optionsArg(info, 1))); }
KILN_OP(randn) { return wrap(env, at::randn(intsArg(info, 0), optionsArg(info, 1))); }

KILN_OP(arange) {
  return wrap(env, at::arange(scalarArg(info, 0), scalarArg(info, 1), scalarArg(info, 2), optionsArg(info, 3)));
}

KILN_OP(linspace) {
  return wrap(env, at::linspace(scalarArg(info, 0), scalarArg(info, 1), intArg(info, 2), optionsArg(info, 3)));
}

KILN_OP(eye) { return wrap(env, at::eye(intArg(info, 0), intArg(info, 1), optionsArg(info, 2))); }

KILN_OP(randint) {
  return wrap(env, at::randint(intArg(info, 0), intArg(info, 1), intsArg(info, 2), optionsArg(info, 3)));
}

KILN_OP(manualSeed) {
  at::manual_seed(static_cast<uint64_t>(intArg(info, 0)));
  return env.Undefined();
}

// getRngState(): a copy of the CPU generator's state (a uint8 tensor), for exact resume.
KILN_OP(getRngState) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return wrap(env, generator.get_state());
}

// setRngState(state): restores a state from getRngState().
KILN_OP(setRngState) {
  const at::Tensor& state = tensorArg(info, 0);
  if (state.scalar_type() != at::kByte || state.dim() != 1) {
    throw ArgError("setRngState needs a uint8 vector from getRngState(), got " + describeTensor(state), false);
  }
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
  return env.Undefined();
}

// ---- conversion and metadata ----

KILN_OP(toBuffer) {
  at::Tensor t = tensorArg(info, 0).detach();
  at::ScalarType type = t.scalar_type();
  if (type == at::kHalf || type == at::kBFloat16) type = at::kFloat;
  if (type == at::kBool) type = at::kByte;
  t = t.to(at::kCPU, type).contiguous();
  size_t bytes = t.numel() * t.element_size();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), t.data_ptr(), bytes);
  return buffer;
}

KILN_OP(item) {
  const at::Tensor& t = tensorArg(info, 0);
  if (t.numel() != 1) {
    throw ArgError("item() needs a tensor with exactly one element, this one has " +
                       std::to_string(t.numel()),
                   false);
  }
  at::Scalar s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
  if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
  return Napi::Number::New(env, s.toDouble());
}

KILN_OP(shape) {
  const at::Tensor& t = tensorArg(info, 0);
  Napi::Array out = Napi::Array::New(env, t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) out.Set(static_cast<uint32_t>(d), Napi::Number::New(env, t.size(d)));
  return out;
}

KILN_OP(strides) {
  const at::Tensor& t = tensorArg(info, 0);
  Napi::Array out = Napi::Array::New(env, t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) out.Set(static_cast<uint32_t>(d), Napi::Number::New(env, t.stride(d)));
  return out;
}

KILN_OP(dtype) { return Napi::String::New(env, dtypeName(tensorArg(info, 0).scalar_type())); }
KILN_OP(device) { return Napi::String::New(env, tensorArg(info, 0).device().str()); }
KILN_OP(numel) { return Napi::Number::New(env, static_cast<double>(tensorArg(info, 0).numel())); }
KILN_OP(isContiguous) { return Napi::Boolean::New(env, tensorArg(info, 0).is_contiguous()); }

KILN_OP(nbytes) {
  const at::Tensor& t = tensorArg(info, 0);
  return Napi::Number::New(env, static_cast<double>(t.numel() * t.element_size()));
}

// to(t, dtype | null, device | null, copy)
KILN_OP(to) {
  const at::Tensor& t = tensorArg(info, 0);
  at::ScalarType type = isMissing(info, 1) ? t.scalar_type() : dtypeArg(info, 1);
  at::Device device = isMissing(info, 2) ? t.device() : parseDevice(env, stringArg(info, 2));
  return wrap(env, t.to(device, type, false, boolArg(info, 3, false)));
}

KILN_OP(contiguous) { return wrap(env, tensorArg(info, 0).contiguous()); }
KILN_OP(clone) { return wrap(env, tensorArg(info, 0).clone()); }
KILN_OP(detach) { return wrap(env, tensorArg(info, 0).detach()); }

// setData(t, source): t keeps its identity (and autograd leaf status) but now holds source's
// data, dtype and device, as PyTorch's `param.data = source`.
KILN_OP(setData) {
  tensorArg(info, 0).set_data(tensorArg(info, 1));
  return env.Undefined();
}

// dispose(h): frees the tensor now. A handle without a finalizer is freed too, so the JS side
// must never pass it again (Tensor guards every use after dispose()).
KILN_OP(dispose) {
  Handle* handle = info.Length() > 0 ? handleOf(info[0]) : nullptr;
  if (handle == nullptr) throwArgError(info, 0, "a Tensor");
  disposeHandle(handle);
  return env.Undefined();
}

// adopt(h): for a tensor made inside a scope that outlives it, returns a new GC-finalized handle
// (an External) to the same Handle; the caller stops using the scoped one.
KILN_OP(adopt) {
  Handle* handle = info.Length() > 0 ? handleOf(info[0]) : nullptr;
  if (handle == nullptr) throwArgError(info, 0, "a Tensor");
  if (handle->finalizable) return info[0];
  handle->finalizable = true;
  return Napi::External<Handle>::New(env, handle, [](Napi::BasicEnv, Handle* h) { deleteHandle(h); });
}

// deferredReleases(): how many disposed small tensors wait to be freed (see disposeHandle).
KILN_OP(deferredReleases) {
  return Napi::Number::New(env, static_cast<double>(deferredCount()));
}

// setOpenScopes(n): how many JS scopes are open (see Handle::finalizable).
KILN_OP(setOpenScopes) {
  openScopes = static_cast<int>(intArg(info, 0));
  return env.Undefined();
}

// ---- autograd ----

KILN_OP(requiresGrad) { return Napi::Boolean::New(env, tensorArg(info, 0).requires_grad()); }

KILN_OP(setRequiresGrad) {
  at::Tensor& t = tensorArg(info, 0);
  bool flag = boolArg(info, 1, true);
  if (flag && !at::isFloatingType(t.scalar_type()) && !at::isComplexType(t.scalar_type())) {
    throw ArgError("only floating-point tensors can require gradients; this one is " +
                       dtypeName(t.scalar_type()),
                   false);
  }
  t.set_requires_grad(flag);
  return env.Undefined();
}

KILN_OP(isLeaf) { return Napi::Boolean::New(env, tensorArg(info, 0).is_leaf()); }

KILN_OP(gradFn) {
  const auto& fn = tensorArg(info, 0).grad_fn();
  if (!fn) return env.Null();
  return Napi::String::New(env, fn->name());
}

KILN_OP(grad) { return wrap(env, tensorArg(info, 0).grad()); }

KILN_OP(setGrad) {
  at::Tensor& t = tensorArg(info, 0);
  if (isMissing(info, 1)) {
    t.mutable_grad().reset();
  } else {
    const at::Tensor& g = tensorArg(info, 1);
    if (!g.sizes().equals(t.sizes()) || g.scalar_type() != t.scalar_type()) {
      throw ArgError("grad must have the tensor's shape and dtype: tensor " + describeTensor(t) +
                         ", grad " + describeTensor(g),
                     false);
    }
    t.mutable_grad() = g;
  }
  return env.Undefined();
}

KILN_OP(retainGrad) {
  tensorArg(info, 0).retain_grad();
  return env.Undefined();
}

// backward(t, gradient | null, retainGraph, createGraph)
KILN_OP(backward) {
  const at::Tensor& t = tensorArg(info, 0);
  if (!t.requires_grad()) {
    throw ArgError("backward() on a tensor that does not require grad and has no grad_fn; "
                   "set requiresGrad on the inputs before computing it",
                   false);
  }
  std::vector<at::Tensor> grads;
  if (!isMissing(info, 1)) {
    grads.push_back(tensorArg(info, 1));
  } else if (t.numel() != 1) {
    throw ArgError("backward() without a gradient needs a scalar output; this one is " +
                       describeTensor(t) + ", pass a gradient of the same shape",
                   false);
  }
  c10::optional<bool> retain = c10::nullopt;
  if (!isMissing(info, 2)) retain = boolArg(info, 2, false);
  torch::autograd::backward({t}, grads, retain, boolArg(info, 3, false));
  return env.Undefined();
}

// grad(outputs[], inputs[], gradOutputs[] | null, retainGraph, createGraph, allowUnused)
KILN_OP(autogradGrad) {
  std::vector<at::Tensor> outputs = tensorsArg(info, 0);
  std::vector<at::Tensor> inputs = tensorsArg(info, 1);
  std::vector<at::Tensor> gradOutputs;
  if (!isMissing(info, 2)) gradOutputs = tensorsArg(info, 2);
  c10::optional<bool> retain = c10::nullopt;
  if (!isMissing(info, 3)) retain = boolArg(info, 3, false);
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, boolArg(info, 4, false),
                                     boolArg(info, 5, false));
  return tensorList(env, grads);
}

}  // namespace

// ---- autocast state, per device type ----

// libtorch 2.4 replaced the per-device autocast functions (is_cpu_enabled, …) with ones that
// take the device type; 1.13 has only the former.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocastEnabled(at::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
void setAutocastEnabled(at::DeviceType d, bool on) { at::autocast::set_autocast_enabled(d, on); }
at::ScalarType autocastDtype(at::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
void setAutocastDtype(at::DeviceType d, at::ScalarType t) { at::autocast::set_autocast_dtype(d, t); }
#else
bool autocastEnabled(at::DeviceType d) { return d == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void setAutocastEnabled(at::DeviceType d, bool on) {
  if (d == at::kCUDA) at::autocast::set_enabled(on);
  else at::autocast::set_cpu_enabled(on);
}
at::ScalarType autocastDtype(at::DeviceType d) {
  return d == at::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void setAutocastDtype(at::DeviceType d, at::ScalarType t) {
  if (d == at::kCUDA) at::autocast::set_autocast_gpu_dtype(t);
  else at::autocast::set_autocast_cpu_dtype(t);
}
#endif

namespace {

// The autocast state of the device types Kiln runs on, to save and put back.
struct AutocastState {
  bool cpu, cuda;
  at::ScalarType cpuDtype, cudaDtype;
  static AutocastState now() {
    return {autocastEnabled(at::kCPU), autocastEnabled(at::kCUDA), autocastDtype(at::kCPU), autocastDtype(at::kCUDA)};
  }
  void apply() const {
    setAutocastEnabled(at::kCPU, cpu);
    setAutocastEnabled(at::kCUDA, cuda);
    setAutocastDtype(at::kCPU, cpuDtype);
    setAutocastDtype(at::kCUDA, cudaDtype);
  }
};

// ---- activation checkpointing (torch.utils.checkpoint, reentrant form) ----

// The JS function a checkpointed region runs, kept alive by the autograd node that needs it.
struct JsRegion : torch::CustomClassHolder {
  explicit JsRegion(Napi::Function fn) : fn(Napi::Persistent(fn)) {}
  Napi::FunctionReference fn;

  // Calls fn(handles) and returns the tensor it hands back.
  at::Tensor run(const std::vector<at::Tensor>& inputs) {
    Napi::Env env = fn.Env();
    Napi::HandleScope scope(env);
    Napi::Array handles = Napi::Array::New(env, inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) handles.Set(static_cast<uint32_t>(i), wrap(env, inputs[i]));
    Napi::Value result = fn.Call({handles});
    Handle* h = handleOf(result);
    if (h == nullptr || !h->tensor.defined()) {
      throw ArgError("the checkpointed function must return one (undisposed) Tensor", true);
    }
    // A fresh alias made for this call (autograd.ts): let go of it, or its JS object would keep
    // a recomputed region's graph alive until the GC collects it.
    at::Tensor output = h->tensor;
    release(h);
    return output;
  }
};

// Runs a region without keeping its activations; backward runs it again, with the random state
// and autocast state it had, and backpropagates through the recomputation.
struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::TensorList inputs,
                                                c10::intrusive_ptr<JsRegion> region) {
    ctx->saved_data["region"] = c10::IValue::make_capsule(region);
    ctx->saved_data["rng"] = at::detail::getDefaultCPUGenerator().get_state();
    AutocastState autocast = AutocastState::now();
    ctx->saved_data["autocast"] = c10::List<bool>({autocast.cpu, autocast.cuda});
    ctx->saved_data["autocastCpuDtype"] = autocast.cpuDtype;
    ctx->saved_data["autocastCudaDtype"] = autocast.cudaDtype;
    ctx->save_for_backward(inputs.vec());
    return {region->run(inputs.vec())};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list gradOutputs) {
    auto region = c10::static_intrusive_pointer_cast<JsRegion>(ctx->saved_data["region"].toCapsule());
    std::vector<at::Tensor> inputs;
    for (const at::Tensor& saved : ctx->get_saved_variables()) {
      at::Tensor input = saved.detach();
      input.set_requires_grad(saved.requires_grad());
      inputs.push_back(input);
    }
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    at::Tensor rngNow = generator.get_state();
    AutocastState autocastNow = AutocastState::now();
    auto restore = [&]() {
      generator.set_state(rngNow);
      autocastNow.apply();
    };
    at::Tensor output;
    // The rerun is an autocast region of its own (as torch.autocast around PyTorch's rerun): the
    // weights it casts are cached only until it ends, not into the next step, where the
    // optimizer will have changed them.
    at::autocast::increment_nesting();
    try {
      generator.set_state(ctx->saved_data["rng"].toTensor());
      c10::List<bool> enabled = ctx->saved_data["autocast"].toBoolList();
      AutocastState{enabled.get(0), enabled.get(1), ctx->saved_data["autocastCpuDtype"].toScalarType(),
                    ctx->saved_data["autocastCudaDtype"].toScalarType()}
          .apply();
      at::AutoGradMode enable(true);
      output = region->run(inputs);
    } catch (...) {
      restore();
      if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
      throw;
    }
    restore();
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (output.requires_grad()) torch::autograd::backward({output}, {gradOutputs[0]});
    torch::autograd::variable_list grads;
    for (const at::Tensor& input : inputs) grads.push_back(input.requires_grad() ? input.grad() : at::Tensor());
    grads.emplace_back();  // the region
    return grads;
  }
};

// checkpoint(fn, inputs[]): fn(handles[]) -> handle, run without keeping activations for
// backward (it runs again there). Outside grad mode it is a plain call.
KILN_OP(checkpoint) {
  if (info.Length() < 1 || !info[0].IsFunction()) throwArgError(info, 0, "a function");
  std::vector<at::Tensor> inputs = tensorsArg(info, 1);
  auto region = c10::make_intrusive<JsRegion>(info[0].As<Napi::Function>());
  if (!at::GradMode::is_enabled()) return wrap(env, region->run(inputs));
  return wrap(env, CheckpointFunction::apply(at::TensorList(inputs), region)[0]);
}

KILN_OP(setGradEnabled) {
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(boolArg(info, 0, true));
  return Napi::Boolean::New(env, previous);
}

KILN_OP(isGradEnabled) { return Napi::Boolean::New(env, at::GradMode::is_enabled()); }

// ---- process settings ----

KILN_OP(setNumThreads) {
  int64_t n = intArg(info, 0);
  if (n < 1) throw ArgError("thread count must be at least 1, got " + std::to_string(n), false);
  at::set_num_threads(static_cast<int>(n));
  return env.Undefined();
}

KILN_OP(getNumThreads) { return Napi::Number::New(env, at::get_num_threads()); }

// ---- autocast (mixed precision on the CPU, as torch.autocast('cpu', dtype)) ----

// enterAutocast(deviceType 'cpu' | 'cuda', dtype): autocast on for this thread's tensors of that
// device type in `dtype` (torch.autocast(deviceType, dtype)); returns the state it replaced
// ({enabled, dtype}) for exitAutocast.
at::DeviceType autocastDeviceArg(const Napi::CallbackInfo& info, size_t i) {
  std::string name = stringArg(info, i);
  if (name == "cpu") return at::kCPU;
  if (name == "cuda") return at::kCUDA;
  throw ArgError("autocast device type must be 'cpu' or 'cuda', got '" + name + "'", true);
}

KILN_OP(enterAutocast) {
  at::DeviceType device = autocastDeviceArg(info, 0);
  Napi::Object previous = Napi::Object::New(env);
  previous.Set("enabled", autocastEnabled(device));
  previous.Set("dtype", dtypeName(autocastDtype(device)));
  setAutocastDtype(device, dtypeArg(info, 1));
  at::autocast::increment_nesting();
  setAutocastEnabled(device, true);
  return previous;
}

// exitAutocast(deviceType, enabled, dtype): puts back the state enterAutocast returned; leaving
// the outermost region clears the cache of weights cast for it.
KILN_OP(exitAutocast) {
  at::DeviceType device = autocastDeviceArg(info, 0);
  setAutocastEnabled(device, boolArg(info, 1, false));
  setAutocastDtype(device, dtypeArg(info, 2));
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  return env.Undefined();
}

KILN_OP(isAutocastEnabled) { return Napi::Boolean::New(env, autocastEnabled(autocastDeviceArg(info, 0))); }
KILN_OP(cudaAvailable) { return Napi::Boolean::New(env, at::hasCUDA()); }
// The GPUs libtorch sees (0 without a CUDA build, or with one and no visible GPU).
KILN_OP(cudaDeviceCount) { return Napi::Number::New(env, at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0); }

KILN_OP(buildInfo) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("torchVersion", TORCH_VERSION);
#ifdef KILN_WITH_CUDA
  out.Set("cuda", true);  // linked against libtorch's CUDA libraries, GPU or not
#else
  out.Set("cuda", false);
#endif
  out.Set("parallelInfo", at::get_parallel_info());
  return out;
}

const OpEntry entries[] = {
    KILN_ENTRY(fromBuffer), KILN_ENTRY(zeros), KILN_ENTRY(ones), KILN_ENTRY(empty),
    KILN_ENTRY(full), KILN_ENTRY(scalarTensor), KILN_ENTRY(rand), KILN_ENTRY(randn),
    KILN_ENTRY(arange), KILN_ENTRY(linspace), KILN_ENTRY(eye), KILN_ENTRY(randint),
    KILN_ENTRY(manualSeed), KILN_ENTRY(getRngState), KILN_ENTRY(setRngState), KILN_ENTRY(toBuffer), KILN_ENTRY(item), KILN_ENTRY(shape),
    KILN_ENTRY(strides), KILN_ENTRY(dtype), KILN_ENTRY(device), KILN_ENTRY(numel),
    KILN_ENTRY(isContiguous), KILN_ENTRY(nbytes), KILN_ENTRY(to), KILN_ENTRY(contiguous),
    KILN_ENTRY(clone), KILN_ENTRY(detach), KILN_ENTRY(setData), KILN_ENTRY(dispose), KILN_ENTRY(adopt), KILN_ENTRY(setOpenScopes), KILN_ENTRY(deferredReleases),
    KILN_ENTRY(requiresGrad), KILN_ENTRY(setRequiresGrad), KILN_ENTRY(isLeaf),
    KILN_ENTRY(gradFn), KILN_ENTRY(grad), KILN_ENTRY(setGrad), KILN_ENTRY(retainGrad),
    KILN_ENTRY(backward), KILN_ENTRY(autogradGrad), KILN_ENTRY(checkpoint), KILN_ENTRY(setGradEnabled),
    KILN_ENTRY(isGradEnabled), KILN_ENTRY(setNumThreads), KILN_ENTRY(getNumThreads),
    KILN_ENTRY(cudaAvailable), KILN_ENTRY(cudaDeviceCount), KILN_ENTRY(buildInfo), KILN_ENTRY(enterAutocast), KILN_ENTRY(exitAutocast), KILN_ENTRY(isAutocastEnabled),
};

}  // namespace

void registerTensorOps(Napi::Env env, Napi::Object exports) {
  registerAll(env, exports, entries, sizeof(entries) / sizeof(entries[0]));
}

}  // namespace kiln
