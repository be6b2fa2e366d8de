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
// the reported repetitions of BM_paired (Google Benchmark's median and min aggregates of the
// counters each repetition sets). No colour when stdout is not a terminal.
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
  // Each repetition's result travels as counters, so that Google Benchmark's aggregates (median,
  // and the min statistic below) summarise the repetitions it reports -- not the runs it makes to
  // size the iteration count.
  state.counters["raw_ns"] = median(raw_t);
  state.counters["sys_ns"] = median(sys_t);
  state.counters["self_ns"] = median(self_t);
  state.counters["raw_min"] = *std::min_element(raw_t.begin(), raw_t.end());
  state.counters["sys_min"] = *std::min_element(sys_t.begin(), sys_t.end());
  state.counters["self_min"] = *std::min_element(self_t.begin(), self_t.end());
  state.counters["self/raw"] = state.counters["self_ns"] / state.counters["raw_ns"];
}

// The paired results of the reported runs of BM_paired: the "median" and "min" aggregates when
// there are repetitions (with or without --benchmark_report_aggregates_only), else the one run.
class PairedReporter : public benchmark::ConsoleReporter {
 public:
  explicit PairedReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred || run.run_name.function_name != "BM_paired") continue;
      const auto c = [&run](const char* name) {
        const auto it = run.counters.find(name);
        return it == run.counters.end() ? 0.0 : static_cast<double>(it->second);
      };
      if (run.run_type == Run::RT_Iteration) {
        ++runs_;
        if (!aggregated_) {
          result_ = {c("raw_ns"), c("sys_ns"), c("self_ns"), c("raw_min"), c("sys_min"), c("self_min")};
          valid_ = true;
        }
      } else if (run.aggregate_name == "median") {
        aggregated_ = valid_ = true;
        result_.raw_ns = c("raw_ns");
        result_.sys_ns = c("sys_ns");
        result_.self_ns = c("self_ns");
        repetitions_ = static_cast<std::size_t>(run.repetitions);
      } else if (run.aggregate_name == "min") {
        result_.raw_min = c("raw_min");
        result_.sys_min = c("sys_min");
        result_.self_min = c("self_min");
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  [[nodiscard]] bool valid() const { return valid_; }
  [[nodiscard]] const PairedResult& result() const { return result_; }
  [[nodiscard]] std::size_t repetitions() const { return aggregated_ ? repetitions_ : runs_; }

 private:
  PairedResult result_;
  bool valid_ = false;
  bool aggregated_ = false;
  std::size_t repetitions_ = 0;
  std::size_t runs_ = 0;
};

}  // namespace

BENCHMARK(BM_raw_syscall);
BENCHMARK(BM_sys_get_mempolicy);
BENCHMARK(BM_get_self_policy);
BENCHMARK(BM_paired)->ComputeStatistics("min", [](const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
});

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
  PairedReporter reporter(colour ? benchmark::ConsoleReporter::OO_ColorTabular : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  (void)mp::set_self_policy(mp::Policy{});

  if (reporter.valid()) {
    const PairedResult& paired = reporter.result();
    std::printf("\nover %zu repetition%s of BM_paired (medians of the repetitions' block medians, least minimum):\n",
                reporter.repetitions(), reporter.repetitions() == 1 ? "" : "s");
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
