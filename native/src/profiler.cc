// Where a piece of work spends its time, op by op: libtorch's own (legacy, CPU) profiler, whose
// ranges are the dispatcher's ops (aten::mm, aten::to, …), autograd's backward nodes and Kiln's
// fused kernels (each marks itself with RECORD_FUNCTION, "kiln::…"). profilerStop folds the
// events into one row per name — calls, total time and self time (total less the ranges opened
// inside it) — as torch.profiler's key_averages() table does.
#include "kiln.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace kiln {
namespace {

namespace legacy = torch::autograd::profiler;
namespace impl = torch::profiler::impl;

bool profiling = false;

// profilerStart(): records every op from now on
KILN_OP(profilerStart) {
  if (profiling) throw ArgError("profile: a profile is already running; profiles do not nest", false);
  legacy::enableProfilerLegacy(impl::ProfilerConfig(impl::ProfilerState::CPU));
  profiling = true;
  return env.Undefined();
}

struct Totals {
  int64_t calls = 0;
  double totalUs = 0, selfUs = 0;
};

// profilerStop() -> [[name, calls, total µs, self µs], …] in the order first seen
KILN_OP(profilerStop) {
  if (!profiling) throw ArgError("profile: no profile is running", false);
  profiling = false;
  const legacy::thread_event_lists lists = legacy::disableProfilerLegacy();
  std::unordered_map<std::string, Totals> byName;
  std::vector<std::string> order;
  for (const auto& events : lists) {
    struct Open {
      const legacy::LegacyEvent* push;
      double childUs;
    };
    std::vector<Open> open;  // ranges nest within a thread
    for (const auto& e : events) {
      if (e.kind() == legacy::EventKind::PushRange) {
        open.push_back({&e, 0.0});
      } else if (e.kind() == legacy::EventKind::PopRange && !open.empty()) {
        const Open range = open.back();
        open.pop_back();
        const double us = range.push->cpuElapsedUs(e);
        auto [it, fresh] = byName.try_emplace(range.push->name());
        if (fresh) order.push_back(it->first);
        it->second.calls += 1;
        it->second.totalUs += us;
        it->second.selfUs += us - range.childUs;
        if (!open.empty()) open.back().childUs += us;
      }
    }
  }
  Napi::Array rows = Napi::Array::New(env, order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const Totals& t = byName[order[i]];
    Napi::Array row = Napi::Array::New(env, 4);
    row.Set(0u, Napi::String::New(env, order[i]));
    row.Set(1u, Napi::Number::New(env, static_cast<double>(t.calls)));
    row.Set(2u, Napi::Number::New(env, t.totalUs));
    row.Set(3u, Napi::Number::New(env, t.selfUs));
    rows.Set(static_cast<uint32_t>(i), row);
  }
  return rows;
}

const OpEntry entries[] = {
    KILN_ENTRY(profilerStart),
    KILN_ENTRY(profilerStop),
};

}  // namespace

void registerProfilerOps(Napi::Env env, Napi::Object exports) {
  registerAll(env, exports, entries, sizeof(entries) / sizeof(entries[0]));
}

}  // namespace kiln
