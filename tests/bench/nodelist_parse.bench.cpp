// SPDX-License-Identifier: MIT
// taskmpol's NodeMask::parse against libnuma's numa_parse_nodestring on the same strings, in the
// same run, for several list shapes; prints ns/op of both and the ratio (target: taskmpol >= 5x
// faster) and counts taskmpol's heap allocations per parse (target: 0).
//
// Both parsers must accept every string and produce the same mask, so the comparison is fair:
// libnuma validates nodes against numa_all_nodes_ptr, which the benchmark sets to all 1024 nodes
// for the duration (on a one-node host it would otherwise refuse everything but node 0).
// libnuma is loaded with dlopen(): tests/bench/CMakeLists.txt links Google Benchmark only, and the
// benchmark should not make libnuma a build dependency of every bench binary.
//
// Run: taskmpol_bench_nodelist_parse [--benchmark_repetitions=N] (default 5; build with optimisation).
// Two summaries follow the usual table: the median CPU time per parse of each benchmark, and a
// paired measurement (blocks of both parsers alternating under the thread CPU clock), which
// holds up better on the shared, busy development VM.
#include <taskmpol/node_mask.hpp>

#include <benchmark/benchmark.h>

#include <dlfcn.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

// ---- allocation counter (taskmpol's side; libnuma allocates with malloc, two blocks per mask) --
namespace {
std::atomic<std::size_t> new_calls{0};
}
void* operator new(std::size_t size) {
  new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  std::abort();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

// The slice of <numa.h> the benchmark needs, resolved at run time.
struct bitmask_view {
  unsigned long size;
  unsigned long* maskp;
};
struct Libnuma {
  int (*available)() = nullptr;
  bitmask_view* (*parse)(const char*) = nullptr;
  void (*free_mask)(bitmask_view*) = nullptr;
  int (*isbitset)(const bitmask_view*, unsigned int) = nullptr;
  bitmask_view** all_nodes = nullptr;  // &numa_all_nodes_ptr
  std::string error;

  Libnuma() {
    void* h = dlopen("libnuma.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      error = dlerror();
      return;
    }
    available = reinterpret_cast<int (*)()>(dlsym(h, "numa_available"));
    parse = reinterpret_cast<bitmask_view* (*)(const char*)>(dlsym(h, "numa_parse_nodestring"));
    free_mask = reinterpret_cast<void (*)(bitmask_view*)>(dlsym(h, "numa_bitmask_free"));
    isbitset = reinterpret_cast<int (*)(const bitmask_view*, unsigned int)>(dlsym(h, "numa_bitmask_isbitset"));
    all_nodes = static_cast<bitmask_view**>(dlsym(h, "numa_all_nodes_ptr"));
    if (!available || !parse || !free_mask || !isbitset || !all_nodes) error = "libnuma lacks a needed symbol";
    else if (available() < 0) error = "numa_available() < 0";
  }
  bool ok() const { return error.empty(); }
};

Libnuma& libnuma() {
  static Libnuma instance;
  return instance;
}

struct Shape {
  const char* name;
  std::string text;
};

std::vector<Shape> shapes() {
  // (append, not "," + std::to_string(): GCC 12 -O2 raises a false -Wrestrict on the latter)
  std::string singles;  // 32 single nodes
  for (int n = 0; n < 64; n += 2) {
    if (!singles.empty()) singles.push_back(',');
    singles.append(std::to_string(n));
  }
  std::string pairs;  // 64 runs of two
  for (int n = 0; n < 192; n += 3) {
    if (!pairs.empty()) pairs.push_back(',');
    pairs.append(std::to_string(n)).append("-").append(std::to_string(n + 1));
  }
  return {
      {"single", "5"},
      {"range_64", "0-63"},
      {"range_1024", "0-1023"},
      {"short_list", "0-3,8-11,16,20-23"},
      {"singles_32", singles},
      {"pairs_64", pairs},
      {"sparse_high", "1000,1010,1023"},
  };
}

taskmpol::NodeMask from_libnuma(const bitmask_view* b) {
  taskmpol::NodeMask m;
  for (unsigned int i = 0; i < b->size && i < taskmpol::NodeMask::capacity; ++i)
    if (libnuma().isbitset(b, i)) static_cast<void>(m.set(i));  // i < capacity
  return m;
}

void bm_taskmpol(benchmark::State& state, const std::string& text) {
  const std::size_t before = new_calls.load();
  for (auto _ : state) {
    taskmpol::result<taskmpol::NodeMask> r = taskmpol::NodeMask::parse(text);
    benchmark::DoNotOptimize(r);
  }
  const std::size_t allocations = new_calls.load() - before;
  state.counters["allocs/op"] = static_cast<double>(allocations) / static_cast<double>(state.iterations());
}

void bm_libnuma(benchmark::State& state, const std::string& text) {
  if (!libnuma().ok()) {
    state.SkipWithError(libnuma().error.c_str());
    return;
  }
  for (auto _ : state) {
    bitmask_view* b = libnuma().parse(text.c_str());
    benchmark::DoNotOptimize(b);
    libnuma().free_mask(b);
  }
}

// Collects the CPU time of every repetition, to print the medians side by side after the usual
// table. CPU time rather than wall time: the machine is shared (kernel builds on the same cores),
// and preemption inflates wall time of whichever benchmark it hits.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs)
      if (!run.error_occurred && run.run_type == Run::RT_Iteration)
        times_[run.run_name.function_name].push_back(run.GetAdjustedCPUTime());
    ConsoleReporter::ReportRuns(runs);
  }
  double median(const std::string& name) const {
    const auto it = times_.find(name);
    if (it == times_.end() || it->second.empty()) return 0.0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  std::map<std::string, std::vector<double>> times_;
};

// The paired comparison: for each shape, blocks of calls to each parser alternate, each block
// timed with the thread's CPU clock, so frequency changes and neighbours on the shared cores hit
// both parsers alike; the ratio is taken between the median block means.
struct Paired {
  double ours_ns;
  double theirs_ns;
};
double thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
Paired paired(const std::string& text, int rounds, int block) {
  std::vector<double> ours, theirs;
  for (int r = 0; r < rounds; ++r) {
    double t0 = thread_cpu_ns();
    for (int i = 0; i < block; ++i) {
      taskmpol::result<taskmpol::NodeMask> m = taskmpol::NodeMask::parse(text);
      benchmark::DoNotOptimize(m);
    }
    double t1 = thread_cpu_ns();
    ours.push_back((t1 - t0) / block);
    t0 = thread_cpu_ns();
    for (int i = 0; i < block; ++i) {
      bitmask_view* b = libnuma().parse(text.c_str());
      benchmark::DoNotOptimize(b);
      libnuma().free_mask(b);
    }
    t1 = thread_cpu_ns();
    theirs.push_back((t1 - t0) / block);
  }
  return {median_of(ours), median_of(theirs)};
}

}  // namespace

int main(int argc, char** argv) {
  // Five repetitions unless told otherwise: the ratio is taken from the medians.
  std::vector<char*> args(argv, argv + argc);
  bool repetitions_given = false;
  for (char* a : args) repetitions_given = repetitions_given || std::string(a).rfind("--benchmark_repetitions", 0) == 0;
  static char default_repetitions[] = "--benchmark_repetitions=5";
  if (!repetitions_given) args.push_back(default_repetitions);
  argc = static_cast<int>(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const std::vector<Shape> all_shapes = shapes();
  Libnuma& numa = libnuma();
  if (numa.ok()) {
    // Every node allowed, for the whole run; then check both parsers agree on every string.
    bitmask_view* allowed = *numa.all_nodes;
    for (unsigned long w = 0; w < (allowed->size + 63) / 64; ++w) allowed->maskp[w] = ~0UL;
    for (const Shape& s : all_shapes) {
      bitmask_view* b = numa.parse(s.text.c_str());
      const taskmpol::result<taskmpol::NodeMask> ours = taskmpol::NodeMask::parse(s.text);
      if (b == nullptr || !ours || from_libnuma(b) != ours.value()) {
        std::fprintf(stderr, "parsers disagree on %s: '%s'\n", s.name, s.text.c_str());
        return 1;
      }
      numa.free_mask(b);
    }
  } else {
    std::fprintf(stderr, "libnuma unavailable (%s): only taskmpol is measured\n", numa.error.c_str());
  }

  for (const Shape& s : all_shapes) {
    benchmark::RegisterBenchmark((std::string("taskmpol/") + s.name).c_str(), bm_taskmpol, s.text);
    benchmark::RegisterBenchmark((std::string("libnuma/") + s.name).c_str(), bm_libnuma, s.text);
  }
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf("\nmedian CPU time per parse\n%-12s %6s %14s %14s %9s\n", "shape", "chars", "taskmpol ns", "libnuma ns", "ratio");
  for (const Shape& s : all_shapes) {
    const double ours = reporter.median(std::string("taskmpol/") + s.name);
    const double theirs = reporter.median(std::string("libnuma/") + s.name);
    if (ours <= 0.0) continue;  // filtered out by --benchmark_filter
    if (theirs > 0.0)
      std::printf("%-12s %6zu %14.1f %14.1f %8.1fx\n", s.name, s.text.size(), ours, theirs, theirs / ours);
    else
      std::printf("%-12s %6zu %14.1f %14s %9s\n", s.name, s.text.size(), ours, "-", "-");
  }
  if (numa.ok()) {
    std::printf("\npaired blocks (alternating, thread CPU clock), median ns per parse\n%-12s %14s %14s %9s\n", "shape",
                "taskmpol ns", "libnuma ns", "ratio");
    for (const Shape& s : all_shapes) {
      const Paired p = paired(s.text, 31, s.text.size() > 100 ? 200 : 2000);
      std::printf("%-12s %14.1f %14.1f %8.1fx\n", s.name, p.ours_ns, p.theirs_ns, p.theirs_ns / p.ours_ns);
    }
  }
  benchmark::Shutdown();
  return 0;
}
