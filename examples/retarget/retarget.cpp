// SPDX-License-Identifier: MIT
// retarget: a running, NUMA-unaware program is moved between memory policies from outside.
//
// The workload is a child process that knows nothing about NUMA: at start it maps and writes a
// 4 MiB region that it keeps, then every 20 ms it maps a new 4 MiB chunk, writes to every page,
// and reports (start time, address, length) through a pipe, the region first. This program
// changes the workload's policy through TaskHandle (set_policy_on_all_threads), then asks the
// kernel where the pages of the chunks the workload started *after* the change landed
// (move_pages(2) with no target nodes: a query). Phases:
//
//   1. bind to one node with memory               want 100 % there
//   2. interleave across the nodes with memory    want each node's share within 5 points of 1/n
//   3. weighted interleave across them, after giving the memory-only node a larger weight
//                                                  want each share within 5 points of w / sum(w)
//   4. move the region, populated before phase 1 and never touched since: TaskHandle::mbind with
//      MbindFlag::move binds it to a node that holds none of its pages
//                                                  want every page of the region there
//
// Phase 4 needs a series whose task_mbind moves another process's pages; one that refuses it
// (EINVAL, an earlier version of the series) fails the phase.
//
// Per phase it prints a table (node, pages, share, expected) and a one-line verdict; it exits 1
// when a verdict fails, 3 when the kernel lacks the taskmpol series, 2 on a setup error.
//
//   retarget [--chunks N] [--interval MS]     N chunks measured per phase (default 16)
#include <taskmpol/syscalls.hpp>
#include <taskmpol/task.hpp>
#include <taskmpol/topology.hpp>

#include <CLI/CLI.hpp>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mp = taskmpol;

namespace {

constexpr std::size_t chunk_bytes = 4u << 20;
constexpr std::size_t ring = 16;  // chunks the workload keeps mapped: bounded memory, time to measure
constexpr double tolerance_points = 5.0;

struct Report {
  std::int64_t start_ns;  // CLOCK_MONOTONIC when the workload began touching the chunk
  std::uintptr_t address;
  std::uint64_t length;   // bytes: chunk_bytes, or region_bytes for the first report (the region)
};

constexpr std::size_t region_bytes = 4u << 20;  // the region the workload populates at start and keeps

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The workload: plain allocation, no NUMA calls. It dies with its parent (PDEATHSIG) or when the
// report pipe is closed (SIGPIPE).
[[noreturn]] void workload(int report_fd, unsigned interval_ms) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_DFL);
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // The region: written once now, under the default policy (local allocation), then left alone.
  const Report begun{now_ns(), 0, region_bytes};
  void* region = ::mmap(nullptr, region_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) ::_exit(3);
  ::madvise(region, region_bytes, MADV_NOHUGEPAGE);  // base pages, as the chunks (see below)
  auto* resident = static_cast<volatile unsigned char*>(region);
  for (std::size_t off = 0; off < region_bytes; off += page) resident[off] = 1;
  const Report kept{begun.start_ns, reinterpret_cast<std::uintptr_t>(region), region_bytes};
  if (::write(report_fd, &kept, sizeof kept) != sizeof kept) ::_exit(0);

  std::array<void*, ring> mapped{};
  for (std::size_t i = 0;; ++i) {
    void*& slot = mapped[i % ring];
    if (slot != nullptr) ::munmap(slot, chunk_bytes);
    const Report r{now_ns(), 0, chunk_bytes};
    slot = ::mmap(nullptr, chunk_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slot == MAP_FAILED) ::_exit(3);
    // Not a NUMA call: with transparent huge pages a 4 MiB chunk is two 2 MiB pages, interleave
    // then steps per huge page, and a phase's few dozen steps are too coarse for a 5-point verdict.
    ::madvise(slot, chunk_bytes, MADV_NOHUGEPAGE);
    auto* bytes = static_cast<volatile unsigned char*>(slot);
    for (std::size_t off = 0; off < chunk_bytes; off += page) bytes[off] = 1;
    const Report done{r.start_ns, reinterpret_cast<std::uintptr_t>(slot), chunk_bytes};
    if (::write(report_fd, &done, sizeof done) != sizeof done) ::_exit(0);
    // A whole timespec: nanoseconds must stay below one second (interval 1000 would be invalid).
    const timespec pause{static_cast<time_t>(interval_ms / 1000), static_cast<long>(interval_ms % 1000) * 1'000'000};
    ::nanosleep(&pause, nullptr);
  }
}

// Per node, the pages of the workload's [address, address + length) (move_pages(2) as a query:
// nodes=NULL). Pages the kernel cannot report (unmapped meanwhile: -ENOENT/-EFAULT) are counted
// in `lost`.
bool count_pages(pid_t pid, std::uintptr_t address, std::size_t length, std::vector<std::size_t>& per_node,
                 std::size_t& lost) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t n = length / page;
  std::vector<void*> pages(n);
  std::vector<int> status(n, -1);
  for (std::size_t i = 0; i < n; ++i) pages[i] = reinterpret_cast<void*>(address + i * page);
  // move_pages(2) through the library's seam; nodes == nullptr makes it a query.
  if (auto r = mp::sys::move_pages(pid, n, pages.data(), nullptr, status.data(), 0); !r) {
    std::fprintf(stderr, "retarget: move_pages(%d): %s\n", pid, r.error().message().c_str());
    return false;
  }
  for (int s : status) {
    if (s >= 0 && static_cast<std::size_t>(s) < per_node.size()) {
      ++per_node[static_cast<std::size_t>(s)];
    } else {
      ++lost;
    }
  }
  return true;
}

struct Phase {
  std::string name;           // "bind 1", "interleave 0-1,3", ...
  mp::Policy policy;
  std::vector<double> expect;  // expected share (0..100) per node id; bind: 100 on its node
  bool exact = false;          // bind / preferred: all pages on the node, no tolerance
};

class Workload {
 public:
  // Starts the workload and waits for its first report, the region it populated.
  bool start(unsigned interval_ms) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      ::close(fds[0]);
      workload(fds[1], interval_ms);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    if (!next(region_) || region_.length != region_bytes) {
      errno = ECHILD;  // it died before reporting its region
      return false;
    }
    return true;
  }
  ~Workload() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  [[nodiscard]] pid_t pid() const { return pid_; }
  // The region the workload wrote at start, before any policy change, and keeps mapped.
  [[nodiscard]] mp::AddressRange region() const { return {region_.address, static_cast<std::size_t>(region_.length)}; }
  // The next report, or false after 10 s without one (the workload died or stalls).
  bool next(Report& r) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) return false;
    return ::read(fd_, &r, sizeof r) == static_cast<ssize_t>(sizeof r);
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  Report region_{};
};

std::string percent(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", v);
  return buf;
}

// Runs one phase: changes the policy, measures `chunks` chunks begun after the change, prints the
// table and the verdict. Returns whether the verdict holds.
bool run_phase(const Workload& w, const mp::TaskHandle& target, const Phase& phase, const mp::NodeMask& memory,
               std::size_t chunks, bool& setup_failed) {
  std::printf("\n== phase: %s (policy %s)\n", phase.name.c_str(), mp::to_string(phase.policy).c_str());
  auto report = mp::set_policy_on_all_threads(target, phase.policy);
  if (!report || !report.value().ok()) {
    std::fprintf(stderr, "retarget: setting %s on pid %d failed: %s\n", mp::to_string(phase.policy).c_str(),
                 w.pid(), (report ? std::string("not on every thread") : report.error().message()).c_str());
    setup_failed = true;
    return false;
  }
  // Pages of a chunk begun before this instant may follow the old policy: only later chunks count.
  const std::int64_t changed = now_ns();
  if (auto back = target.policy()) std::printf("   read back through TaskHandle: %s\n", mp::to_string(back.value()).c_str());

  std::vector<std::size_t> per_node(mp::NodeMask::capacity, 0);
  std::size_t lost = 0;
  std::size_t counted = 0;
  std::size_t skipped = 0;
  while (counted < chunks) {
    Report r{};
    if (!w.next(r)) {
      std::fprintf(stderr, "retarget: the workload (pid %d) stopped reporting\n", w.pid());
      setup_failed = true;
      return false;
    }
    if (r.start_ns <= changed) {
      ++skipped;
      continue;
    }
    if (!count_pages(w.pid(), r.address, static_cast<std::size_t>(r.length), per_node, lost)) {
      setup_failed = true;
      return false;
    }
    ++counted;
  }
  std::size_t total = 0;
  for (std::size_t n : per_node) total += n;
  std::printf("   %zu chunks of 4 MiB begun after the change (%zu earlier ones skipped), %zu pages%s\n", counted,
              skipped, total, lost > 0 ? (" (" + std::to_string(lost) + " not reported)").c_str() : "");
  std::printf("   %4s %8s %7s %9s\n", "node", "pages", "share", "expected");
  bool ok = total > 0;
  std::string shares;
  std::string nodes_text;
  for (std::size_t node = 0; node < per_node.size(); ++node) {
    if (!memory.test(node) && per_node[node] == 0) continue;
    const double share = total > 0 ? 100.0 * static_cast<double>(per_node[node]) / static_cast<double>(total) : 0.0;
    const double want = phase.expect[node];
    const bool node_ok = phase.exact ? (want == 100.0 ? per_node[node] == total : per_node[node] == 0)
                                     : std::fabs(share - want) <= tolerance_points;
    ok = ok && node_ok;
    std::printf("   %4zu %8zu %6.1f%% %8.1f%%%s\n", node, per_node[node], share, want, node_ok ? "" : "  <- off");
    shares += (shares.empty() ? "" : "/") + percent(share);
    nodes_text += (nodes_text.empty() ? "" : "/") + std::to_string(node);
  }
  std::printf("   %s: pages per node %s = %s  %s (%s)\n", phase.name.c_str(), nodes_text.c_str(), shares.c_str(),
              ok ? "OK" : "FAILED",
              phase.exact ? "tolerance: all pages on the bound node" : "tolerance: +-5 points of the expected share");
  return ok;
}

// Phase 4: pages that exist already. The region was written before phase 1 and stays where it was
// first touched (a task policy moves no page). task_mbind with MbindFlag::move binds it to a node
// that holds none of its pages, as mbind(2) with MPOL_MF_MOVE run by the workload would; then
// every page of the region must be on that node.
bool run_move_phase(const Workload& w, const mp::TaskHandle& target, const mp::NodeMask& memory,
                    std::size_t preferred_node) {
  const mp::AddressRange region = w.region();
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t pages = region.length / page;
  std::printf("\n== phase: move an existing region (TaskHandle::mbind with MbindFlag::move)\n");
  std::vector<std::size_t> before(mp::NodeMask::capacity, 0);
  std::size_t lost_before = 0;
  if (!count_pages(w.pid(), region.start, region.length, before, lost_before)) return false;
  // The destination: a node with memory that holds none of the region's pages, the memory-only
  // node if it qualifies; failing that, the one that holds the fewest.
  std::size_t to = mp::NodeMask::npos;
  if (memory.test(preferred_node) && before[preferred_node] == 0) to = preferred_node;
  for (std::size_t n : memory) {
    if (to == mp::NodeMask::npos && before[n] == 0) to = n;
  }
  if (to == mp::NodeMask::npos) {
    to = memory.first();
    for (std::size_t n : memory) {
      if (before[n] < before[to]) to = n;
    }
  }
  const mp::Policy bind = mp::Policy::make(mp::Mode::bind, {}, mp::NodeMask::make({to}).value()).value();
  std::printf("   region 0x%llx, %zu pages, written by the workload before phase 1; binding it to node %zu (%s) "
              "with MbindFlag::move\n",
              static_cast<unsigned long long>(region.start), pages, to, mp::to_string(bind).c_str());

  mp::TaskDiagnostic diag;
  if (auto r = target.mbind(region, bind, mp::MbindFlag::move, &diag); !r) {
    if (r.error() == std::errc::invalid_argument) {
      std::fprintf(stderr, "retarget: task_mbind refused MbindFlag::move on the workload (EINVAL): this kernel's "
                           "taskmpol series lacks remote page moves (task_mbind cannot move another process's "
                           "pages)\nretarget: %s\n",
                   diag.message().c_str());
    } else {
      std::fprintf(stderr, "retarget: moving the region of pid %d failed: %s\n", w.pid(), diag.message().c_str());
    }
    std::printf("   move to node %zu: FAILED (task_mbind refused the move)\n", to);
    return false;
  }
  if (auto back = target.policy_at(region.start))
    std::printf("   range policy read back through TaskHandle: %s\n", mp::to_string(back.value()).c_str());

  std::vector<std::size_t> after(mp::NodeMask::capacity, 0);
  std::size_t lost = 0;
  if (!count_pages(w.pid(), region.start, region.length, after, lost)) return false;
  std::printf("   %4s %8s %8s %9s\n", "node", "before", "after", "expected");
  bool ok = lost == 0 && lost_before == 0 && after[to] == pages;
  std::string shares;
  std::string nodes_text;
  for (std::size_t node = 0; node < after.size(); ++node) {
    if (!memory.test(node) && before[node] == 0 && after[node] == 0) continue;
    const std::size_t want = node == to ? pages : 0;
    const bool node_ok = after[node] == want;
    ok = ok && node_ok;
    std::printf("   %4zu %8zu %8zu %9zu%s\n", node, before[node], after[node], want, node_ok ? "" : "  <- off");
    const double share = 100.0 * static_cast<double>(after[node]) / static_cast<double>(pages);
    shares += (shares.empty() ? "" : "/") + percent(share);
    nodes_text += (nodes_text.empty() ? "" : "/") + std::to_string(node);
  }
  if (lost > 0 || lost_before > 0)
    std::printf("   %zu pages not reported (before: %zu)\n", lost, lost_before);
  std::printf("   move to node %zu: pages per node %s = %s  %s (tolerance: every page of the region on node %zu)\n",
              to, nodes_text.c_str(), shares.c_str(), ok ? "OK" : "FAILED", to);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t chunks = 16;
  unsigned interval_ms = 20;
  CLI::App app{"retarget: a NUMA-unaware workload moved between memory policies from outside, and where its pages "
               "landed; then a region it populated at start is moved to another node (needs the taskmpol kernel "
               "series with remote task_mbind moves and two nodes with memory)"};
  app.name("retarget");
  app.add_option("--chunks", chunks, "4 MiB chunks measured per phase (1 to 4096)")->check(CLI::Range(1, 4096));
  app.add_option("--interval", interval_ms, "Milliseconds between the workload's chunks (1 to 60000)")
      ->check(CLI::Range(1U, 60'000U))
      ->type_name("MS");
  app.footer("Exit status: 0 every phase as expected; 1 a phase failed; 2 usage or setup error; 3 the kernel lacks "
             "the taskmpol series (task mempolicy ABI 2).\n");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "retarget: %s (retarget --help)\n", e.what());
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  mp::SysfsDiagnostic sdiag;
  const auto topology = mp::read_topology(mp::system_root, &sdiag);
  if (!topology) {
    std::fprintf(stderr, "retarget: %s\n", sdiag.message().c_str());
    return 2;
  }
  const mp::NodeMask memory = topology.value().with_memory;
  if (memory.count() < 2) {
    std::fprintf(stderr, "retarget: needs at least two nodes with memory (this system: %s)\n", memory.to_string().c_str());
    return 2;
  }
  // Bind to a node other than the first, so that the change is visible against local allocation.
  const std::size_t bind_node = memory.next(memory.first());
  const mp::NodeMask memory_only = topology.value().memory_only();
  const std::size_t heavy = memory_only.any() ? memory_only.first() : memory.last();

  Workload w;
  if (!w.start(interval_ms)) {
    std::fprintf(stderr, "retarget: cannot start the workload: %s\n", std::strerror(errno));
    return 2;
  }
  auto target = mp::TaskHandle::open(w.pid());
  if (!target) {
    std::fprintf(stderr, "retarget: cannot open the workload: %s\n", target.error().message().c_str());
    return 2;
  }
  if (auto p = target.value().policy(); !p) {
    if (p.error() == mp::errc::unsupported_kernel) {
      std::fprintf(stderr, "retarget: this kernel lacks task mempolicy support (needs the taskmpol kernel series: "
                           "see kernel/README.md)\n");
      return 3;
    }
    if (p.error() == mp::errc::series_abi_1 || p.error() == mp::errc::series_abi_unknown) {
      std::fprintf(stderr, "retarget: %s\n", p.error().message().c_str());  // the series, another ABI
      return 3;
    }
    std::fprintf(stderr, "retarget: cannot read the workload's policy: %s\n", p.error().message().c_str());
    return 2;
  }
  std::printf("workload: pid %d, a 4 MiB region written at start, then a new 4 MiB chunk every %u ms; nodes with "
              "memory %s, memory-only node %s\n",
              w.pid(), interval_ms, memory.to_string().c_str(),
              memory_only.any() ? std::to_string(heavy).c_str() : "none");

  std::vector<Phase> phases;
  {
    Phase p;
    p.name = "bind " + std::to_string(bind_node);
    p.policy = mp::Policy::make(mp::Mode::bind, {}, mp::NodeMask::make({bind_node}).value()).value();
    p.expect.assign(mp::NodeMask::capacity, 0.0);
    p.expect[bind_node] = 100.0;
    p.exact = true;
    phases.push_back(std::move(p));
  }
  {
    Phase p;
    p.name = "interleave " + memory.to_string();
    p.policy = mp::Policy::make(mp::Mode::interleave, {}, memory).value();
    p.expect.assign(mp::NodeMask::capacity, 0.0);
    for (std::size_t n : memory) p.expect[n] = 100.0 / static_cast<double>(memory.count());
    phases.push_back(std::move(p));
  }

  // Weighted interleave: the memory-only node gets weight 4, the others 1. The weights are global
  // (sysfs): the old ones are put back at the end.
  const auto old_weights = mp::read_interleave_weights(memory);
  bool weights_set = false;
  if (old_weights) {
    bool ok = true;
    for (std::size_t n : memory) {
      mp::SysfsDiagnostic wdiag;
      if (auto r = mp::write_interleave_weight(n, n == heavy ? 4u : 1u, mp::system_root, &wdiag); !r) {
        std::fprintf(stderr, "retarget: %s\n", wdiag.message().c_str());
        ok = false;
        break;
      }
    }
    weights_set = ok;
  }
  const auto weights = mp::read_interleave_weights(memory);
  if (!weights_set || !weights) {
    std::fprintf(stderr, "retarget: cannot set the interleave weights (needs root and Linux 6.9+): the weighted "
                         "phase fails\n");
  } else {
    Phase p;
    p.name = "weighted interleave " + memory.to_string();
    p.policy = mp::Policy::make(mp::Mode::weighted_interleave, {}, memory).value();
    p.expect.assign(mp::NodeMask::capacity, 0.0);
    unsigned sum = 0;
    std::string text;
    for (std::size_t n : memory) {
      sum += weights.value()[n];
      text += (text.empty() ? "" : " ") + std::to_string(n) + "=" + std::to_string(weights.value()[n]);
    }
    for (std::size_t n : memory) p.expect[n] = 100.0 * weights.value()[n] / sum;
    p.name += " (weights " + text + ")";
    phases.push_back(std::move(p));
  }

  bool all_ok = weights_set && weights;
  bool setup_failed = false;
  for (const Phase& phase : phases) {
    all_ok = run_phase(w, target.value(), phase, memory, chunks, setup_failed) && all_ok;
    if (setup_failed) break;
  }
  if (!setup_failed) all_ok = run_move_phase(w, target.value(), memory, heavy) && all_ok;
  if (weights_set && old_weights) {
    for (std::size_t n : memory) (void)mp::write_interleave_weight(n, old_weights.value()[n]);
  }
  std::printf("\nretarget: %s\n", all_ok ? "every phase landed where the policy said" : "FAILED");
  return all_ok ? 0 : 1;
}
