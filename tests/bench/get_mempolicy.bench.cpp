// SPDX-License-Identifier: MIT
// What the library costs on top of the kernel for the most frequent read: the calling thread's
// policy. Three ways, same arguments (the full 1024-node mask, maxnode 1025):
//   raw   syscall(SYS_get_mempolicy, ...)                      the floor
//   sys   taskmpol::sys::get_mempolicy                          + result<void>, EINTR loop
//   self  taskmpol::get_self_policy                             + mask decode, Policy validation
// Besides the usual one-benchmark-per-variant numbers, BM_paired alternates the three in blocks of
// 512 calls inside one benchmark, timed with the thread's CPU clock, so frequency changes and
// neighbours (kernel builds on the same 2 cores) hit all three alike; the medians and minima of the
// block means give the ratios printed at the end. Bar: self within 3 % of raw.
//
// Run: taskmpol_bench_get_mempolicy [--benchmark_repetitions=N] [--benchmark_report_aggregates_only=true]
// (default 5 repetitions; build with optimisation: the release preset). The summary is taken over
// every repetition of BM_paired: the median of the repetitions' block medians, the minimum of their
// minima. No colour when stdout is not a terminal.
#include <taskmpol/self.hpp>
#include <taskmpol/syscalls.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
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
};
std::vector<PairedResult> repetitions;  // one per run of BM_paired

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
  const PairedResult paired{median(raw_t),
                            median(sys_t),
                            median(self_t),
                            *std::min_element(raw_t.begin(), raw_t.end()),
                            *std::min_element(sys_t.begin(), sys_t.end()),
                            *std::min_element(self_t.begin(), self_t.end())};
  repetitions.push_back(paired);
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
  // Five repetitions unless told otherwise: the summary is taken over all of them.
  std::vector<char*> args(argv, argv + argc);
  bool repetitions_given = false;
  bool colour = ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
  for (char* a : args) {
    const std::string s(a);
    repetitions_given = repetitions_given || s.rfind("--benchmark_repetitions", 0) == 0;
    if (s.rfind("--benchmark_color", 0) == 0) colour = s == "--benchmark_color=true" || s == "--benchmark_color=yes";
  }
  static char default_repetitions[] = "--benchmark_repetitions=5";
  if (!repetitions_given) args.push_back(default_repetitions);
  argc = static_cast<int>(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // A reporter made here ignores --benchmark_color: colour only for a terminal.
  benchmark::ConsoleReporter reporter(colour ? benchmark::ConsoleReporter::OO_ColorTabular
                                             : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  (void)mp::set_self_policy(mp::Policy{});

  if (!repetitions.empty()) {
    const auto med = [](auto field) {
      std::vector<double> v;
      for (const PairedResult& r : repetitions) v.push_back(field(r));
      return median(v);
    };
    const auto least = [](auto field) {
      double m = field(repetitions.front());
      for (const PairedResult& r : repetitions) m = std::min(m, field(r));
      return m;
    };
    PairedResult paired;
    paired.raw_ns = med([](const PairedResult& r) { return r.raw_ns; });
    paired.sys_ns = med([](const PairedResult& r) { return r.sys_ns; });
    paired.self_ns = med([](const PairedResult& r) { return r.self_ns; });
    paired.raw_min = least([](const PairedResult& r) { return r.raw_min; });
    paired.sys_min = least([](const PairedResult& r) { return r.sys_min; });
    paired.self_min = least([](const PairedResult& r) { return r.self_min; });
    std::printf("\nover %zu repetition%s of BM_paired:\n", repetitions.size(), repetitions.size() == 1 ? "" : "s");
    std::printf("\npaired, thread CPU time per call (ns), median of blocks: raw %.1f  sys %.1f  self %.1f\n",
                paired.raw_ns, paired.sys_ns, paired.self_ns);
    std::printf("                                      minimum of blocks: raw %.1f  sys %.1f  self %.1f\n",
                paired.raw_min, paired.sys_min, paired.self_min);
    std::printf("minimum ratios: sys/raw %.4f  self/raw %.4f\n", paired.sys_min / paired.raw_min,
                paired.self_min / paired.raw_min);
    std::printf("sys::get_mempolicy / raw = %.4f (%+.2f %%)\n", paired.sys_ns / paired.raw_ns,
                100.0 * (paired.sys_ns / paired.raw_ns - 1.0));
    std::printf("get_self_policy / raw    = %.4f (%+.2f %%), bar: within 3 %%\n", paired.self_ns / paired.raw_ns,
                100.0 * (paired.self_ns / paired.raw_ns - 1.0));
  }
  return 0;
}
