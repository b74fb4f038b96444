// Distributed training on PyTorch's c10d: stores (TCPStore, FileStore), process groups (Gloo
// when Gloo's headers were found, KILN_WITH_GLOO; NCCL when this libtorch has it,
// KILN_WITH_NCCL; native/libtorch.cjs decides both) and the collectives data-parallel
// training needs (all-reduce, broadcast, all-gather, barrier).
//
// Every call that can block (connecting a store, the group's rendezvous, waiting for a
// collective) returns a Promise and runs on libuv's thread pool, so the Node event loop stays
// free. Collectives are *enqueued* on the calling (main) thread, in call order, and only waited
// for on the pool: c10d matches the n-th collective of every rank, so the order must not depend
// on which pool thread runs first. A c10d error (a peer that closed its connection, a timeout)
// rejects the Promise with an Error naming the op.
#include "kiln.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#ifdef KILN_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#ifdef KILN_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <functional>
#include <mutex>
#include <memory>

namespace kiln {
namespace {

std::string trimmedMessage(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// A Promise whose body runs on the thread pool; `result` (optional) makes the resolved value on
// the main thread.
class Task : public Napi::AsyncWorker {
 public:
  Task(Napi::Env env, std::string op, std::function<void()> work,
       std::function<Napi::Value(Napi::Env)> result = nullptr)
      : Napi::AsyncWorker(env, "kiln.distributed"),
        deferred_(Napi::Promise::Deferred::New(env)),
        op_(std::move(op)),
        work_(std::move(work)),
        result_(std::move(result)) {}

  static Napi::Value start(Napi::Env env, std::string op, std::function<void()> work,
                           std::function<Napi::Value(Napi::Env)> result = nullptr) {
    auto* task = new Task(env, std::move(op), std::move(work), std::move(result));
    Napi::Promise promise = task->deferred_.Promise();
    task->Queue();  // the worker deletes itself after OnOK/OnError
    return promise;
  }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const c10::Error& e) {
      SetError(op_ + ": " + trimmedMessage(e.what_without_backtrace()));
    } catch (const std::exception& e) {
      SetError(op_ + ": " + trimmedMessage(e.what()));
    } catch (...) {
      SetError(op_ + ": unknown error");
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(result_ ? result_(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string op_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
};

// Store and group handles travel to JS as plain objects { kind, box } rather than bare
// Externals: the tensor helpers take any External for a tensor handle (describing a call's
// arguments in an error would read a store as a tensor).
template <typename Box>
Napi::Value wrapBox(Napi::Env env, const char* kind, Box* box) {
  Napi::Object handle = Napi::Object::New(env);
  handle.Set("kind", Napi::String::New(env, kind));
  handle.Set("box", Napi::External<Box>::New(env, box, [](Napi::BasicEnv, Box* b) { delete b; }));
  return handle;
}

template <typename Box>
Box* unwrapBox(const Napi::CallbackInfo& info, size_t i, const char* kind, const char* expected) {
  if (i >= info.Length() || !info[i].IsObject()) throwArgError(info, i, expected);
  Napi::Object handle = info[i].As<Napi::Object>();
  Napi::Value k = handle.Get("kind");
  Napi::Value box = handle.Get("box");
  if (!k.IsString() || k.As<Napi::String>().Utf8Value() != kind || !box.IsExternal()) throwArgError(info, i, expected);
  return box.As<Napi::External<Box>>().Data();
}

// ---- stores ----

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
};

StoreBox* storeArg(const Napi::CallbackInfo& info, size_t i) {
  auto* box = unwrapBox<StoreBox>(info, i, "store", "a store handle");
  if (!box->store) throw ArgError("the store was closed", false);
  return box;
}

Napi::Value wrapStore(Napi::Env env, std::shared_ptr<StoreBox> made) {
  return wrapBox(env, "store", new StoreBox{std::move(made->store)});
}

std::chrono::milliseconds timeoutArg(const Napi::CallbackInfo& info, size_t i) {
  int64_t ms = intArg(info, i);
  if (ms <= 0) throw ArgError("the timeout must be a positive number of milliseconds, got " + std::to_string(ms), false);
  return std::chrono::milliseconds(ms);
}

// tcpStore(host, port, isServer, worldSize, timeoutMs) → Promise<store>. The server (rank 0)
// listens on `port` and waits for all worldSize members to connect; the others connect to
// host:port, retrying until the timeout.
KILN_OP(distTcpStore) {
  std::string host = stringArg(info, 0);
  int64_t port = intArg(info, 1);
  if (port < 1 || port > 65535) throw ArgError("port must be in 1..65535, got " + std::to_string(port), false);
  bool isServer = boolArg(info, 2, false);
  int64_t worldSize = intArg(info, 3);
  if (worldSize < 1) throw ArgError("worldSize must be at least 1, got " + std::to_string(worldSize), false);
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(port);
  options.isServer = isServer;
  options.numWorkers = static_cast<std::size_t>(worldSize);
  options.waitWorkers = true;
  options.timeout = timeoutArg(info, 4);
  auto made = std::make_shared<StoreBox>();
  std::string op = "tcpStore(" + host + ":" + std::to_string(port) + (isServer ? ", server" : "") + ")";
  return Task::start(
      env, op, [made, host, options] { made->store = c10::make_intrusive<c10d::TCPStore>(host, options); },
      [made](Napi::Env e) { return wrapStore(e, made); });
}

// fileStore(path, worldSize, timeoutMs) → Promise<store>: ranks meet through a file on a shared
// file system.
KILN_OP(distFileStore) {
  std::string path = stringArg(info, 0);
  int64_t worldSize = intArg(info, 1);
  if (worldSize < 1) throw ArgError("worldSize must be at least 1, got " + std::to_string(worldSize), false);
  auto timeout = timeoutArg(info, 2);
  auto made = std::make_shared<StoreBox>();
  return Task::start(
      env, "fileStore(" + path + ")",
      [made, path, worldSize, timeout] {
        made->store = c10::make_intrusive<c10d::FileStore>(path, static_cast<int>(worldSize));
        made->store->setTimeout(timeout);
      },
      [made](Napi::Env e) { return wrapStore(e, made); });
}

// storeSet(store, key, value: string) → Promise<void>.
KILN_OP(distStoreSet) {
  auto store = storeArg(info, 0)->store;
  std::string key = stringArg(info, 1);
  std::string value = stringArg(info, 2);
  return Task::start(env, "storeSet('" + key + "')", [store, key, value] {
    store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  });
}

// storeGet(store, key) → Promise<string>: waits (up to the store's timeout) for the key.
KILN_OP(distStoreGet) {
  auto store = storeArg(info, 0)->store;
  std::string key = stringArg(info, 1);
  auto value = std::make_shared<std::vector<uint8_t>>();
  return Task::start(
      env, "storeGet('" + key + "')", [store, key, value] { *value = store->get(key); },
      [value](Napi::Env e) -> Napi::Value {
        return Napi::String::New(e, reinterpret_cast<const char*>(value->data()), value->size());
      });
}

// storeAdd(store, key, amount) → Promise<number>: the counter after adding.
KILN_OP(distStoreAdd) {
  auto store = storeArg(info, 0)->store;
  std::string key = stringArg(info, 1);
  int64_t amount = intArg(info, 2);
  auto value = std::make_shared<int64_t>(0);
  return Task::start(
      env, "storeAdd('" + key + "')", [store, key, amount, value] { *value = store->add(key, amount); },
      [value](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, static_cast<double>(*value)); });
}

KILN_OP(distStoreClose) {
  unwrapBox<StoreBox>(info, 0, "store", "a store handle")->store.reset();
  return env.Undefined();
}

// ---- process groups ----

// One interface over the group types: in libtorch 1.x they derive from c10d::ProcessGroup, in
// 2.x from c10d::Backend; the collectives have the same signatures in both.
struct Group {
  std::string backend;
  int rank = 0;
  int size = 1;
  virtual ~Group() = default;
  virtual c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& t, const c10d::AllreduceOptions& o) = 0;
  virtual c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& t, const c10d::BroadcastOptions& o) = 0;
  virtual c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) = 0;
  virtual c10::intrusive_ptr<c10d::Work> barrier() = 0;
};

template <typename PG>
struct GroupOf : Group {
  c10::intrusive_ptr<PG> pg;
  c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& t, const c10d::AllreduceOptions& o) override {
    return pg->allreduce(t, o);
  }
  c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& t, const c10d::BroadcastOptions& o) override {
    return pg->broadcast(t, o);
  }
  c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) override {
    return pg->allgather(out, in);
  }
  c10::intrusive_ptr<c10d::Work> barrier() override { return pg->barrier(); }
};

struct GroupBox {
  std::shared_ptr<Group> group;
};

std::shared_ptr<Group> groupArg(const Napi::CallbackInfo& info, size_t i) {
  auto* box = unwrapBox<GroupBox>(info, i, "group", "a process group handle");
  if (!box->group) throw ArgError("the process group was destroyed; create a new one with initProcessGroup()", false);
  return box->group;
}

// The local address this machine uses to reach host:port (a connected UDP socket sends
// nothing): the address Gloo should listen on so that the other ranks can reach it.
[[maybe_unused]] std::string localAddressToward(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) throw std::runtime_error("cannot resolve '" + host + "': " + gai_strerror(rc));
  std::string address;
  for (addrinfo* a = found; a != nullptr && address.empty(); a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
      char text[INET6_ADDRSTRLEN] = {0};
      const void* raw = local.ss_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
      if (inet_ntop(local.ss_family, raw, text, sizeof text) != nullptr) address = text;
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (address.empty()) throw std::runtime_error("no local address can reach '" + host + "'");
  return address;
}

// newGroup(store, backend, rank, worldSize, timeoutMs, device) → Promise<group>. `device`
// says where Gloo listens: 'iface:NAME' (a network interface), 'host:ADDRESS', or
// 'toward:HOST:PORT' (the local address on the route to HOST, normally the master).
KILN_OP(distNewGroup) {
  auto store = storeArg(info, 0)->store;
  std::string backend = stringArg(info, 1);
  int64_t rank = intArg(info, 2);
  int64_t size = intArg(info, 3);
  if (size < 1 || rank < 0 || rank >= size) {
    throw ArgError("rank must be in 0..worldSize-1, got rank " + std::to_string(rank) + " of " + std::to_string(size), false);
  }
  auto timeout = timeoutArg(info, 4);
  std::string device = stringArg(info, 5);
  auto made = std::make_shared<GroupBox>();
  std::function<void()> work;
  if (backend == "gloo") {
#ifdef KILN_WITH_GLOO
    work = [=] {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      if (device.rfind("iface:", 0) == 0) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(device.substr(6)));
      } else if (device.rfind("host:", 0) == 0) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(device.substr(5)));
      } else if (device.rfind("toward:", 0) == 0) {
        std::string rest = device.substr(7);
        size_t colon = rest.rfind(':');
        std::string host = rest.substr(0, colon);
        int port = colon == std::string::npos ? 29500 : std::stoi(rest.substr(colon + 1));
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(localAddressToward(host, port)));
      } else {
        throw std::runtime_error("device must be 'iface:NAME', 'host:ADDRESS' or 'toward:HOST:PORT', got '" + device + "'");
      }
      options->threads = 2;
      auto group = std::make_shared<GroupOf<c10d::ProcessGroupGloo>>();
      group->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(rank), static_cast<int>(size), options);
      made->group = group;
    };
#else
    throw ArgError("backend 'gloo' is not in this build: Gloo's headers were not found when the addon was built "
                   "(Debian: apt install libgloo-dev, then npm run build:native)", false);
#endif
  } else if (backend == "nccl") {
#ifdef KILN_WITH_NCCL
    work = [=] {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      auto group = std::make_shared<GroupOf<c10d::ProcessGroupNCCL>>();
      group->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, static_cast<int>(rank), static_cast<int>(size), options);
      made->group = group;
    };
#else
    throw ArgError(
        "backend 'nccl' is not in this build: the libtorch Kiln was built against has no NCCL (a CPU build). "
        "Use backend 'gloo', or rebuild with LIBTORCH pointing at an official CUDA libtorch and NCCL's nccl.h installed",
        false);
#endif
  } else {
    throw ArgError("unknown backend '" + backend + "'; expected 'gloo' or 'nccl'", true);
  }
  return Task::start(
      env, backend + " process group (rank " + std::to_string(rank) + " of " + std::to_string(size) + ")",
      [made, work, backend, rank, size] {
        work();
        made->group->backend = backend;
        made->group->rank = static_cast<int>(rank);
        made->group->size = static_cast<int>(size);
      },
      [made](Napi::Env e) -> Napi::Value {
        return wrapBox(e, "group", new GroupBox{made->group});
      });
}

// destroyGroup(group) → Promise<void>: waits for pending work, then releases the group.
KILN_OP(distDestroyGroup) {
  auto* box = unwrapBox<GroupBox>(info, 0, "group", "a process group handle");
  auto group = std::make_shared<std::shared_ptr<Group>>(std::move(box->group));
  return Task::start(env, "destroyGroup", [group] { group->reset(); });
}

KILN_OP(distBackends) {
  Napi::Array out = Napi::Array::New(env);
#ifdef KILN_WITH_GLOO
  out.Set(out.Length(), Napi::String::New(env, "gloo"));
#endif
#ifdef KILN_WITH_NCCL
  out.Set(out.Length(), Napi::String::New(env, "nccl"));
#endif
  return out;
}

// ---- collectives ----

void checkCollectiveTensor(const at::Tensor& t, const char* what) {
  if (!t.is_contiguous()) {
    throw ArgError(std::string(what) + " must be contiguous, got a strided view " + describeTensor(t) + "; pass t.contiguous()", false);
  }
}

std::string opName(const char* op, const Group& g) {
  return std::string(op) + " (" + g.backend + ", rank " + std::to_string(g.rank) + " of " + std::to_string(g.size) + ")";
}

Napi::Value waitFor(Napi::Env env, std::string op, c10::intrusive_ptr<c10d::Work> work,
                    std::function<void()> after = nullptr) {
  return Task::start(env, std::move(op), [work, after] {
    work->wait();
    if (after) after();
  });
}

// allReduce(group, tensor, op) → Promise<void>: reduces in place over all ranks; op is 'sum',
// 'avg' (sum, then divided by the world size), 'max', 'min' or 'product'.
KILN_OP(distAllReduce) {
  auto group = groupArg(info, 0);
  at::Tensor tensor = tensorArg(info, 1);
  checkCollectiveTensor(tensor, "the all-reduce tensor");
  std::string op = stringArg(info, 2);
  c10d::AllreduceOptions options;
  bool average = false;
  if (op == "sum") options.reduceOp = c10d::ReduceOp::SUM;
  else if (op == "avg") { options.reduceOp = c10d::ReduceOp::SUM; average = true; }
  else if (op == "max") options.reduceOp = c10d::ReduceOp::MAX;
  else if (op == "min") options.reduceOp = c10d::ReduceOp::MIN;
  else if (op == "product") options.reduceOp = c10d::ReduceOp::PRODUCT;
  else throw ArgError("unknown reduction '" + op + "'; expected sum, avg, max, min or product", true);
  if (average && !at::isFloatingType(tensor.scalar_type())) {
    throw ArgError("'avg' needs a floating-point tensor, got " + describeTensor(tensor) + "; use 'sum' and divide", false);
  }
  std::vector<at::Tensor> tensors{tensor};
  auto work = group->allreduce(tensors, options);
  int size = group->size;
  return waitFor(env, opName("allReduce", *group), work, [tensor, average, size]() mutable {
    if (average) tensor.div_(size);
  });
}

// broadcast(group, tensor, root) → Promise<void>: every rank's tensor becomes root's.
KILN_OP(distBroadcast) {
  auto group = groupArg(info, 0);
  at::Tensor tensor = tensorArg(info, 1);
  checkCollectiveTensor(tensor, "the broadcast tensor");
  int64_t root = intArg(info, 2);
  if (root < 0 || root >= group->size) {
    throw ArgError("root must be in 0.." + std::to_string(group->size - 1) + ", got " + std::to_string(root), false);
  }
  c10d::BroadcastOptions options;
  options.rootRank = root;
  options.rootTensor = 0;
  // an in-place write, as ATen's would be: the version moves on (a bf16 copy of a broadcast weight,
  // autocastBf16Weight, is then made afresh)
  tensor.unsafeGetTensorImpl()->bump_version();
  std::vector<at::Tensor> tensors{tensor};
  return waitFor(env, opName("broadcast", *group), group->broadcast(tensors, options));
}

// allGather(group, outputs: Tensor[worldSize], input) → Promise<void>: outputs[r] receives
// rank r's input; each output must have the input's shape and dtype.
KILN_OP(distAllGather) {
  auto group = groupArg(info, 0);
  std::vector<at::Tensor> outputs = tensorsArg(info, 1);
  at::Tensor input = tensorArg(info, 2);
  checkCollectiveTensor(input, "the all-gather input");
  if (static_cast<int>(outputs.size()) != group->size) {
    throw ArgError("all-gather needs one output per rank (" + std::to_string(group->size) + "), got " + std::to_string(outputs.size()), false);
  }
  for (const at::Tensor& o : outputs) {
    checkCollectiveTensor(o, "each all-gather output");
    if (o.sizes() != input.sizes() || o.scalar_type() != input.scalar_type()) {
      throw ArgError("each all-gather output must match the input " + describeTensor(input) + ", got " + describeTensor(o), false);
    }
  }
  std::vector<std::vector<at::Tensor>> out{outputs};
  std::vector<at::Tensor> in{input};
  return waitFor(env, opName("allGather", *group), group->allgather(out, in));
}

// barrier(group) → Promise<void>: resolves once every rank has reached its barrier.
KILN_OP(distBarrier) {
  auto group = groupArg(info, 0);
  return waitFor(env, opName("barrier", *group), group->barrier());
}

// ---- gradient buckets (DistributedDataParallel) ----
//
// The parameters are split into buckets, each with one flat buffer. While armed, a hook on
// each parameter copies its gradient (plus any gradient already accumulated, as AccumulateGrad
// will add it) into its bucket's slot as backward produces it; when a bucket's last gradient
// arrives the hook starts that bucket's all-reduce, so communication overlaps the rest of
// backward. finish() starts the buckets that did not fill (parameters without a gradient this
// step), waits for all, averages, and writes the averages into the parameters' gradients.
struct Buckets {
  std::shared_ptr<Group> group;
  std::vector<at::Tensor> params;
  std::vector<int> bucketOf;
  std::vector<int64_t> offsetOf;
  std::vector<at::Tensor> flats;
  std::vector<int> members;
  std::vector<unsigned> hooks;
  std::mutex mutex;
  bool armed = false;
  std::vector<char> seen;
  std::vector<int> arrived;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;

  at::Tensor slot(size_t i) { return flats[bucketOf[i]].narrow(0, offsetOf[i], params[i].numel()); }

  // Called with the mutex held.
  void start(int b) {
    std::vector<at::Tensor> tensors{flats[b]};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    works[b] = group->allreduce(tensors, options);
  }

  void onGrad(size_t i, const at::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || seen[i]) return;
    seen[i] = 1;
    at::NoGradGuard noGrad;
    const at::Tensor& accumulated = params[i].grad();
    at::Tensor s = slot(i);
    if (accumulated.defined()) s.copy_(accumulated.reshape(-1) + grad.reshape(-1));
    else s.copy_(grad.reshape(-1));
    int b = bucketOf[i];
    if (++arrived[b] == members[b]) start(b);
  }

  void removeHooks() {
    for (size_t i = 0; i < hooks.size(); ++i) params[i].remove_hook(hooks[i]);
    hooks.clear();
  }
};

struct BucketsBox {
  std::shared_ptr<Buckets> buckets;
};

std::shared_ptr<Buckets> bucketsArg(const Napi::CallbackInfo& info, size_t i) {
  auto* box = unwrapBox<BucketsBox>(info, i, "buckets", "a gradient-buckets handle");
  if (!box->buckets) throw ArgError("the gradient buckets were released", false);
  return box->buckets;
}

// newBuckets(group, params: Tensor[], bucketOf: number[], overlap) → buckets. `bucketOf[i]` is
// parameter i's bucket (0, 1, ...); buckets are all-reduced in index order when not overlapped.
KILN_OP(distNewBuckets) {
  auto group = groupArg(info, 0);
  std::vector<at::Tensor> params = tensorsArg(info, 1);
  std::vector<int64_t> bucketOf = intsArg(info, 2);
  bool overlap = boolArg(info, 3, true);
  if (bucketOf.size() != params.size()) throw ArgError("bucketOf needs one entry per parameter", false);
  auto state = std::make_shared<Buckets>();
  state->group = group;
  state->params = params;
  int count = 0;
  for (int64_t b : bucketOf) {
    if (b < 0 || b > static_cast<int64_t>(params.size())) throw ArgError("bucket indices must be in 0..parameters-1", false);
    count = std::max(count, static_cast<int>(b) + 1);
  }
  std::vector<int64_t> sizes(count, 0);
  state->members.assign(count, 0);
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& p = params[i];
    if (!p.is_leaf() || !p.requires_grad()) throw ArgError("parameter " + std::to_string(i) + " is not a leaf that requires grad", false);
    int b = static_cast<int>(bucketOf[i]);
    state->bucketOf.push_back(b);
    state->offsetOf.push_back(sizes[b]);
    sizes[b] += p.numel();
    state->members[b] += 1;
  }
  for (int b = 0; b < count; ++b) {
    if (state->members[b] == 0) throw ArgError("bucket " + std::to_string(b) + " has no parameters", false);
    at::Tensor first;
    for (size_t i = 0; i < params.size() && !first.defined(); ++i) if (state->bucketOf[i] == b) first = params[i];
    for (size_t i = 0; i < params.size(); ++i) {
      if (state->bucketOf[i] == b && (params[i].scalar_type() != first.scalar_type() || params[i].device() != first.device())) {
        throw ArgError("the parameters of bucket " + std::to_string(b) + " differ in dtype or device", false);
      }
    }
    state->flats.push_back(at::zeros({sizes[b]}, first.options().requires_grad(false)));
  }
  state->seen.assign(params.size(), 0);
  state->arrived.assign(count, 0);
  state->works.assign(count, c10::intrusive_ptr<c10d::Work>());
  if (overlap) {
    std::weak_ptr<Buckets> weak = state;
    for (size_t i = 0; i < params.size(); ++i) {
      state->hooks.push_back(params[i].register_hook([weak, i](const at::Tensor& grad) {
        if (auto live = weak.lock()) live->onGrad(i, grad);
      }));
    }
  }
  return wrapBox(env, "buckets", new BucketsBox{state});
}

// armBuckets(buckets): the next backward's gradients are the step's last; start communicating
// them as they arrive.
KILN_OP(distArmBuckets) {
  auto state = bucketsArg(info, 0);
  std::lock_guard<std::mutex> lock(state->mutex);
  std::fill(state->seen.begin(), state->seen.end(), 0);
  std::fill(state->arrived.begin(), state->arrived.end(), 0);
  std::fill(state->works.begin(), state->works.end(), c10::intrusive_ptr<c10d::Work>());
  state->armed = true;
  return env.Undefined();
}

// finishBuckets(buckets) → Promise<number>: every parameter's gradient becomes its average
// over the ranks. Resolves to the number of buckets whose all-reduce had started during backward.
KILN_OP(distFinishBuckets) {
  auto state = bucketsArg(info, 0);
  int early = 0;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (!state->armed) {  // no overlap, or arm() was not called: take the gradients as they are
      std::fill(state->seen.begin(), state->seen.end(), 0);
      std::fill(state->arrived.begin(), state->arrived.end(), 0);
      std::fill(state->works.begin(), state->works.end(), c10::intrusive_ptr<c10d::Work>());
    }
    state->armed = false;
    for (auto& work : state->works) early += work.defined() ? 1 : 0;
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < state->params.size(); ++i) {
      if (state->seen[i]) continue;
      const at::Tensor& grad = state->params[i].grad();
      at::Tensor s = state->slot(i);
      if (grad.defined()) s.copy_(grad.reshape(-1));
      else s.zero_();
    }
    for (size_t b = 0; b < state->works.size(); ++b) if (!state->works[b].defined()) state->start(static_cast<int>(b));
  }
  return Task::start(env, opName("gradient all-reduce", *state->group), [state] {
    for (auto& work : state->works) work->wait();
    at::NoGradGuard noGrad;
    double size = state->group->size;
    for (auto& flat : state->flats) flat.div_(size);
    for (size_t i = 0; i < state->params.size(); ++i) {
      at::Tensor& p = state->params[i];
      at::Tensor average = state->slot(i).view(p.sizes());
      if (p.grad().defined()) p.mutable_grad().copy_(average);
      else p.mutable_grad() = average.clone();
    }
  }, [early](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, early); });
}

// releaseBuckets(buckets): removes the hooks.
KILN_OP(distReleaseBuckets) {
  auto* box = unwrapBox<BucketsBox>(info, 0, "buckets", "a gradient-buckets handle");
  if (box->buckets) {
    std::lock_guard<std::mutex> lock(box->buckets->mutex);
    box->buckets->armed = false;
    box->buckets->removeHooks();
  }
  box->buckets.reset();
  return env.Undefined();
}

const OpEntry kEntries[] = {
    KILN_ENTRY(distNewBuckets), KILN_ENTRY(distArmBuckets), KILN_ENTRY(distFinishBuckets), KILN_ENTRY(distReleaseBuckets),
    KILN_ENTRY(distTcpStore),   KILN_ENTRY(distFileStore),  KILN_ENTRY(distStoreSet),
    KILN_ENTRY(distStoreGet),   KILN_ENTRY(distStoreAdd),   KILN_ENTRY(distStoreClose),
    KILN_ENTRY(distNewGroup),   KILN_ENTRY(distDestroyGroup), KILN_ENTRY(distBackends),
    KILN_ENTRY(distAllReduce),  KILN_ENTRY(distBroadcast),  KILN_ENTRY(distAllGather),
    KILN_ENTRY(distBarrier),
};

}  // namespace

void registerDistributedOps(Napi::Env env, Napi::Object exports) {
  registerAll(env, exports, kEntries, sizeof(kEntries) / sizeof(kEntries[0]));
}

}  // namespace kiln
