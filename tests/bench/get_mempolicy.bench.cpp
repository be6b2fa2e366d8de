// SPDX-License-Identifier: MIT
// What the library costs on top of the kernel for the most frequent read: the calling thread's
// policy. Three ways, same arguments (the full 1024-node mask, maxnode 1025):
//   raw   syscall(SYS_get_mempolicy, ...)                      the floor
//   sys   taskmpol::sys::get_mempolicy                          + result<void>, EINTR loop
//   self  taskmpol::get_self_policy                             + mask decode, Policy validation
// Besides the usual one-benchmark-per-variant numbers, BM_paired alternates the three in blocks of
// 512 calls inside one benchmark, timed with the thread's CPU clock, so frequency changes and
// neighbours (kernel builds on the same 2 cores) hit all three alike; the medians and minima of the
// block means give the ratios printed at the end. Target: self <= 1.02 x raw.
//
// Run: taskmpol_bench_get_mempolicy [--benchmark_repetitions=N] (build with optimisation).
#include <taskmpol/self.hpp>
#include <taskmpol/syscalls.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace mp = taskmpol;
using mp::NodeMask;

namespace {

using words_t = std::array<NodeMask::word_type, NodeMask::word_count>;

// The floor: what a careful C caller writes.
inline long raw_call(int* mode, words_t& words) {
  return ::syscall(SYS_get_mempolicy, mode, words.data(), NodeMask::kernel_maxnode, nullptr, 0UL);
}

void BM_raw_syscall(benchmark::State& state) {
  words_t words{};
  int mode = 0;
  for (auto _ : state) {
    long r = raw_call(&mode, words);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(words);
  }
}

void BM_sys_get_mempolicy(benchmark::State& state) {
  words_t words{};
  int mode = 0;
  for (auto _ : state) {
    auto r = mp::sys::get_mempolicy(&mode, words.data(), NodeMask::kernel_maxnode, nullptr, 0);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(words);
  }
}

void BM_get_self_policy(benchmark::State& state) {
  for (auto _ : state) {
    auto p = mp::get_self_policy();
    benchmark::DoNotOptimize(p);
  }
}

struct PairedResult {
  double raw_ns = 0;  // medians of the per-block means
  double sys_ns = 0;
  double self_ns = 0;
  double raw_min = 0;  // minima: the least disturbed block of each
  double sys_min = 0;
  double self_min = 0;
  bool valid = false;
};
PairedResult paired;

// Thread CPU time (user + system) of a block of calls: unlike wall time it does not grow while
// the thread waits for a CPU, which on a shared, loaded machine is most of the noise.
double thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

template <class F>
double block_ns(F&& call) {
  constexpr int calls = 512;
  const double start = thread_cpu_ns();
  for (int i = 0; i < calls; ++i) call();
  return (thread_cpu_ns() - start) / calls;
}

double median(std::vector<double>& v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

void BM_paired(benchmark::State& state) {
  words_t words{};
  int mode = 0;
  auto raw = [&] {
    long r = raw_call(&mode, words);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(words);
  };
  auto sys = [&] {
    auto r = mp::sys::get_mempolicy(&mode, words.data(), NodeMask::kernel_maxnode, nullptr, 0);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(words);
  };
  auto self = [] {
    auto p = mp::get_self_policy();
    benchmark::DoNotOptimize(p);
  };
  std::vector<double> raw_t, sys_t, self_t;
  unsigned turn = 0;
  for (auto _ : state) {
    // Rotate the order so none of the three always runs first (warm caches, branch predictors).
    switch (turn++ % 3) {
      case 0: raw_t.push_back(block_ns(raw)); sys_t.push_back(block_ns(sys)); self_t.push_back(block_ns(self)); break;
      case 1: sys_t.push_back(block_ns(sys)); self_t.push_back(block_ns(self)); raw_t.push_back(block_ns(raw)); break;
      default: self_t.push_back(block_ns(self)); raw_t.push_back(block_ns(raw)); sys_t.push_back(block_ns(sys)); break;
    }
  }
  if (raw_t.empty()) return;
  paired = {median(raw_t),
            median(sys_t),
            median(self_t),
            *std::min_element(raw_t.begin(), raw_t.end()),
            *std::min_element(sys_t.begin(), sys_t.end()),
            *std::min_element(self_t.begin(), self_t.end()),
            true};
  state.counters["raw_ns"] = paired.raw_ns;
  state.counters["sys_ns"] = paired.sys_ns;
  state.counters["self_ns"] = paired.self_ns;
  state.counters["sys/raw"] = paired.sys_ns / paired.raw_ns;
  state.counters["self/raw"] = paired.self_ns / paired.raw_ns;
}

}  // namespace

BENCHMARK(BM_raw_syscall);
BENCHMARK(BM_sys_get_mempolicy);
BENCHMARK(BM_get_self_policy);
BENCHMARK(BM_paired);

int main(int argc, char** argv) {
  // Measure with a non-trivial policy: bind to the first allowed node, restored at the end.
  const auto allowed = mp::self_mems_allowed();
  if (!allowed) {
    std::fprintf(stderr, "cannot read the allowed nodes: %s\n", allowed.error().message().c_str());
    return 1;
  }
  const auto bind = mp::Policy::make(mp::Mode::bind, {}, NodeMask::make({allowed.value().first()}).value());
  if (!bind || !mp::set_self_policy(bind.value())) {
    std::fprintf(stderr, "cannot set a bind policy to measure with\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  (void)mp::set_self_policy(mp::Policy{});

  if (paired.valid) {
    std::printf("\npaired, thread CPU time per call (ns), median of blocks: raw %.1f  sys %.1f  self %.1f\n",
                paired.raw_ns, paired.sys_ns, paired.self_ns);
    std::printf("                                      minimum of blocks: raw %.1f  sys %.1f  self %.1f\n",
                paired.raw_min, paired.sys_min, paired.self_min);
    std::printf("minimum ratios: sys/raw %.4f  self/raw %.4f\n", paired.sys_min / paired.raw_min,
                paired.self_min / paired.raw_min);
    std::printf("sys::get_mempolicy / raw = %.4f (%+.2f %%)\n", paired.sys_ns / paired.raw_ns,
                100.0 * (paired.sys_ns / paired.raw_ns - 1.0));
    std::printf("get_self_policy / raw    = %.4f (%+.2f %%), target <= +2 %%\n", paired.self_ns / paired.raw_ns,
                100.0 * (paired.self_ns / paired.raw_ns - 1.0));
  }
  return 0;
}
