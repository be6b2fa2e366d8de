// SPDX-License-Identifier: MIT
// taskmpol's NodeMask::parse against libnuma's numa_parse_nodestring on the same strings, in the
// same run, for several list shapes; prints ns/op of both and the ratio (bar: taskmpol at least 2x
// faster on every shape) and counts taskmpol's heap allocations per parse (bar: 0).
//
// Both parsers must accept every string and produce the same mask, so the comparison is fair:
// libnuma validates nodes against numa_all_nodes_ptr, which the benchmark sets to all 1024 nodes
// for the duration (on a one-node host it would otherwise refuse everything but node 0).
// libnuma is loaded with dlopen(): tests/bench/CMakeLists.txt links Google Benchmark only, and the
// benchmark should not make libnuma a build dependency of every bench binary.
//
// Run: taskmpol_bench_nodelist_parse [--benchmark_repetitions=N] [--benchmark_report_aggregates_only=true]
// (default 5 repetitions; build with optimisation: the release preset). Two summaries follow the
// table: the median over all repetitions of the CPU time per parse of each benchmark (taken from
// the "median" aggregate when Google Benchmark reports aggregates, else from every repetition),
// and a paired measurement (blocks of both parsers alternating under the thread CPU clock), which
// holds up better on a shared, busy machine. No colour when stdout is not a terminal.
#include <taskmpol/node_mask.hpp>

#include <benchmark/benchmark.h>

#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

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
// table: Google Benchmark's own "median" aggregate when it computes aggregates (repetitions > 1;
// with --benchmark_report_aggregates_only it reports nothing else), else the median of the
// repetitions seen. CPU time rather than wall time: the machine is shared (kernel builds on the
// same cores), and preemption inflates wall time of whichever benchmark it hits.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const std::string& name = run.run_name.function_name;
      if (run.run_type == Run::RT_Iteration) times_[name].push_back(run.GetAdjustedCPUTime());
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") medians_[name] = run.GetAdjustedCPUTime();
      if (const auto c = run.counters.find("allocs/op"); c != run.counters.end())
        allocs_[name] = std::max(allocs_[name], static_cast<double>(c->second));
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double median(const std::string& name) const {
    if (const auto m = medians_.find(name); m != medians_.end()) return m->second;
    const auto it = times_.find(name);
    if (it == times_.end() || it->second.empty()) return 0.0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  std::map<std::string, std::vector<double>> times_;
  std::map<std::string, double> medians_;
  std::map<std::string, double> allocs_;

 public:
  double allocs(const std::string& name) const {
    const auto it = allocs_.find(name);
    return it == allocs_.end() ? 0.0 : it->second;
  }
};

// Colour only for a terminal, and never when --benchmark_color says no or NO_COLOR is set: a
// reporter made by the program ignores --benchmark_color, so it is read here.
benchmark::ConsoleReporter::OutputOptions output_options(int argc, char** argv) {
  bool colour = ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--benchmark_color=false" || a == "--benchmark_color=no" || a == "--benchmark_color=0") colour = false;
    if (a == "--benchmark_color=true" || a == "--benchmark_color=yes" || a == "--benchmark_color=1") colour = true;
  }
  return colour ? benchmark::ConsoleReporter::OO_ColorTabular : benchmark::ConsoleReporter::OO_Tabular;
}

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
  const benchmark::ConsoleReporter::OutputOptions options = output_options(argc, argv);
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
  RatioReporter reporter(options);
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf("\nmedian CPU time per parse over all repetitions (bar: ratio >= 2 on every shape, 0 allocations)\n"
              "%-12s %6s %14s %14s %9s %8s\n",
              "shape", "chars", "taskmpol ns", "libnuma ns", "ratio", "allocs");
  for (const Shape& s : all_shapes) {
    const std::string ours_name = std::string("taskmpol/") + s.name;
    const double ours = reporter.median(ours_name);
    const double theirs = reporter.median(std::string("libnuma/") + s.name);
    if (ours <= 0.0) continue;  // filtered out by --benchmark_filter
    if (theirs > 0.0)
      std::printf("%-12s %6zu %14.1f %14.1f %8.1fx %8.2f\n", s.name, s.text.size(), ours, theirs, theirs / ours,
                  reporter.allocs(ours_name));
    else
      std::printf("%-12s %6zu %14.1f %14s %9s %8.2f\n", s.name, s.text.size(), ours, "-", "-", reporter.allocs(ours_name));
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
