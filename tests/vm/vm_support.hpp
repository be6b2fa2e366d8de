// SPDX-License-Identifier: MIT
// Harness of the vm-labelled suite: runs inside the taskmpol QEMU guest on a kernel with the task
// mempolicy series. The guest has four NUMA nodes; the tests name them by role (Roles, from sysfs):
// a and b have CPUs and memory, m has memory only (a CXL-like expander), c has CPUs only.
//
// - readiness: decided once at static initialisation. Without the series (any stock kernel, the
//   development host) every case is skipped through doctest::skip, and the reason is printed; ctest
//   sees "taskmpol-vm: skipped:" and reports the test as skipped (vm-skip.cmake). With
//   TASKMPOL_VM_SKIP_EXIT=<code> in the environment the binary exits with that code instead (the
//   guest runner treats 77 as "skipped").
// - Target: a forked process that serves requests over pipes, one worker per thread, so that a test
//   can change a policy from outside and then ask the TARGET ITSELF what it sees: its own
//   get_mempolicy(2), libnuma's view, and the nodes of pages it allocates after the change. The
//   series' calls (ABI 2) address it through pidfds the Target holds: pidfd() for the process (the
//   kernel resolves it to the leader, worker 0) and thread_pidfd(w) for worker w's thread.
#pragma once

#include <taskmpol/node_mask.hpp>
#include <taskmpol/syscalls.hpp>
#include <taskmpol/topology.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if TASKMPOL_VM_HAVE_LIBNUMA
#include <numa.h>
#endif

namespace vmtest {

using taskmpol::NodeMask;
namespace sys = taskmpol::sys;

// uapi values (Linux 6.12).
inline constexpr int mpol_default = 0;
inline constexpr int mpol_preferred = 1;
inline constexpr int mpol_bind = 2;
inline constexpr int mpol_interleave = 3;
inline constexpr int mpol_local = 4;
inline constexpr int mpol_preferred_many = 5;
inline constexpr int mpol_weighted_interleave = 6;
inline constexpr int mpol_f_static = 1 << 15;
inline constexpr int mpol_f_relative = 1 << 14;
inline constexpr int mpol_f_balancing = 1 << 13;

inline constexpr unsigned long maxnode = NodeMask::kernel_maxnode;
inline constexpr std::size_t max_nodes_counted = 64;  // per-node page counters
inline constexpr std::size_t max_status = 512;        // per-page statuses returned by touch/query
inline const long page_size = ::sysconf(_SC_PAGESIZE);

using Words = std::array<NodeMask::word_type, NodeMask::word_count>;

inline NodeMask mask_from(const Words& w) { return NodeMask::from_kernel(w, maxnode); }

// A mask of nodes known at run time (the roles below): NodeMask{...} takes literals only, checked
// when compiled; NodeMask::make() refuses a node beyond the capacity, which fails the case here.
inline NodeMask node_set(std::initializer_list<std::size_t> nodes) {
  auto m = NodeMask::make(nodes);
  REQUIRE_MESSAGE(m.has_value(), "a node beyond NodeMask::capacity");
  return m.value();
}

// "0-2,5" for messages.
inline std::string to_list(const NodeMask& m) {
  std::string out;
  std::size_t n = m.first();
  while (n != NodeMask::npos) {
    std::size_t end = n;
    while (end + 1 < NodeMask::capacity && m.test(end + 1)) ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(n);
    if (end > n) out += '-' + std::to_string(end);
    n = m.next(end);
  }
  return out.empty() ? "none" : out;
}

inline int err_of(const std::error_code& ec) { return ec.category() == std::system_category() ? ec.value() : -1; }

// ------------------------------------------------------------------------------------------------
// Node roles.

struct Roles {
  std::size_t a = 0, b = 1;  // CPUs and memory
  std::size_t m = 3;         // memory, no CPU
  std::size_t c = 2;         // CPUs, no memory
  int cpu_a = 0;             // the first CPU of node a: targets run there, so "local" is node a
  bool ok = false;
  [[nodiscard]] NodeMask memory() const { return node_set({a, b, m}); }
};

namespace detail {

inline int first_cpu_of(std::size_t node) {
  const std::string path = "/sys/devices/system/node/node" + std::to_string(node) + "/cpulist";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[64] = {};
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  return n > 0 && buf[0] >= '0' && buf[0] <= '9' ? std::atoi(buf) : -1;
}

inline Roles detect_roles() {
  Roles r;
  auto topo = taskmpol::read_topology();
  if (!topo) return r;
  const NodeMask& mem = topo.value().with_memory;
  const NodeMask& cpu = topo.value().with_cpus;
  const NodeMask both = mem & cpu;
  const NodeMask mem_only = mem & ~cpu;
  const NodeMask cpu_only = topo.value().online & ~mem;
  if (both.count() < 2 || mem_only.empty() || cpu_only.empty()) return r;
  r.a = both.first();
  r.b = both.next(r.a);
  r.m = mem_only.first();
  r.c = cpu_only.first();
  r.cpu_a = first_cpu_of(r.a);
  r.ok = r.cpu_a >= 0;
  return r;
}

}  // namespace detail

inline const Roles& roles() {
  static const Roles r = detail::detect_roles();
  return r;
}

// ------------------------------------------------------------------------------------------------
// Small kernel helpers for the caller side.

// A pidfd that closes itself. Move-only.
class Pidfd {
 public:
  Pidfd() = default;
  explicit Pidfd(int fd) : fd_(fd) {}
  Pidfd(Pidfd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Pidfd& operator=(Pidfd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Pidfd(const Pidfd&) = delete;
  Pidfd& operator=(const Pidfd&) = delete;
  ~Pidfd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// pidfd_open(pid, flags), which must succeed (flags: 0 for a process, sys::pidfd_thread for a thread).
inline Pidfd open_pidfd(pid_t pid, unsigned flags = 0) {
  auto fd = sys::pidfd_open(pid, flags);
  REQUIRE_MESSAGE(fd.has_value(), "pidfd_open(" << pid << ", " << flags << "): " << fd.error().message());
  return Pidfd(fd.value());
}

struct PolicyView {
  int mode = -1;
  NodeMask nodes;
};

inline taskmpol::result<PolicyView> get_task(int pidfd, unsigned long addr = 0, unsigned long flags = 0) {
  PolicyView v;
  Words w{};
  TASKMPOL_TRYV(sys::get_task_mempolicy(pidfd, &v.mode, w.data(), maxnode, addr, flags));
  v.nodes = mask_from(w);
  return v;
}

inline taskmpol::result<void> set_task(int pidfd, int mode, const NodeMask& nodes) {
  const auto arg = nodes.kernel_arg();
  return sys::set_task_mempolicy(pidfd, mode, arg.nmask, arg.maxnode, 0);
}

inline taskmpol::result<void> task_mbind(int pidfd, unsigned long start, unsigned long len, int mode,
                                         const NodeMask& nodes, unsigned flags = 0) {
  sys::task_mbind_args a{};
  a.pidfd = pidfd;
  a.mode = static_cast<__u32>(mode);
  a.start = start;
  a.len = len;
  a.nmask = reinterpret_cast<std::uintptr_t>(nodes.kernel_arg().nmask);
  a.maxnode = nodes.kernel_arg().maxnode;
  a.flags = flags;
  return sys::task_mbind(&a, sizeof(a));
}

inline taskmpol::result<PolicyView> get_self(unsigned long addr = 0, unsigned long flags = 0) {
  PolicyView v;
  Words w{};
  TASKMPOL_TRYV(sys::get_mempolicy(&v.mode, w.data(), maxnode, reinterpret_cast<const void*>(addr), flags));
  v.nodes = mask_from(w);
  return v;
}

// The whole content of a (procfs) file; errno on failure.
inline taskmpol::result<std::string> read_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return taskmpol::detail::posix_error(errno);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return taskmpol::detail::posix_error(e);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// One write(2) of text, as `echo -n text > path` would do. Returns the byte count written.
inline taskmpol::result<std::size_t> write_text(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return taskmpol::detail::posix_error(errno);
  ssize_t n = -1;
  do {
    n = ::write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  const int e = errno;
  ::close(fd);
  if (n < 0) return taskmpol::detail::posix_error(e);
  return static_cast<std::size_t>(n);
}

inline std::string proc_file(pid_t pid) { return "/proc/" + std::to_string(pid) + "/mempolicy"; }
inline std::string proc_file(pid_t pid, pid_t tid) {
  return "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/mempolicy";
}

// ------------------------------------------------------------------------------------------------
// Readiness (static initialisation).

namespace detail {

// doctest lists test cases only when they are not skipped. ctest discovers the cases by listing
// them at build time on the host, where they must be skipped at run time: so a listing run never
// skips.
inline bool listing_run() {
  const int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string all;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::size_t pos = 0;
  while (pos < all.size()) {
    const std::string_view arg(all.c_str() + pos);
    for (std::string_view opt : {"--list-test-cases", "-ltc", "--dt-list-test-cases", "--dt-ltc",
                                 "--list-test-suites", "-lts", "--dt-list-test-suites", "--dt-lts", "--count",
                                 "--dt-count"}) {
      if (arg.substr(0, opt.size()) == opt) return true;
    }
    if (arg == "-c") return true;
    pos += arg.size() + 1;
  }
  return false;
}

struct Readiness {
  bool ready = false;
  std::string reason;
};

inline Readiness assess() {
  Readiness r;
  const int abi = sys::probe_task_mempolicy_abi();
  if (abi == 0) {
    r.reason = "the running kernel lacks the task mempolicy series (no /proc/self/mempolicy); "
               "these cases run in the taskmpol VM: tests/vm/build-payload.sh + kernel/vm run";
    return r;
  }
  if (abi != sys::task_mempolicy_abi) {
    r.reason = "the running kernel has the task mempolicy series with ABI " + std::to_string(abi) +
               " (-1: unknown), these cases need ABI " + std::to_string(sys::task_mempolicy_abi) +
               ": boot a kernel built from this checkout's kernel/patches";
    return r;
  }
  if (!roles().ok) {
    r.reason = "the cases assume the taskmpol VM topology: two nodes with CPUs and memory, one with memory "
               "only, one with CPUs only";
    return r;
  }
  if (::geteuid() != 0) {
    r.reason = "the cases need root (cgroups, interleave weights, privilege drops)";
    return r;
  }
  r.ready = true;
  return r;
}

}  // namespace detail

namespace detail {

// Automatic NUMA balancing migrates pages behind a test's back (the page counts would drift), so
// it is off while the suite runs and restored at exit.
inline std::string saved_numa_balancing;

inline void restore_numa_balancing() {
  if (!saved_numa_balancing.empty()) (void)write_text("/proc/sys/kernel/numa_balancing", saved_numa_balancing);
}

inline void quiesce_numa_balancing() {
  auto old = read_text("/proc/sys/kernel/numa_balancing");
  if (!old || old.value().empty() || old.value()[0] == '0') return;
  if (write_text("/proc/sys/kernel/numa_balancing", "0")) {
    saved_numa_balancing = old.value();
    std::atexit(restore_numa_balancing);
  }
}

}  // namespace detail

// True when every vm case must be skipped. The first call prints the reason.
inline bool skip_all() {
  static const bool skip = [] {
    const detail::Readiness r = detail::assess();
    if (r.ready && !detail::listing_run()) detail::quiesce_numa_balancing();
    if (r.ready || detail::listing_run()) return false;
    std::fprintf(stdout, "taskmpol-vm: skipped: %s\n", r.reason.c_str());
    std::fflush(stdout);
    if (const char* code = std::getenv("TASKMPOL_VM_SKIP_EXIT"); code != nullptr && *code != '\0') {
      std::_Exit(std::atoi(code));
    }
    return true;
  }();
  return skip;
}

// ------------------------------------------------------------------------------------------------
// Target: a forked process that answers requests about itself.

enum class Op : int {
  policy,        // get_mempolicy(mode, nodes, ..., 0, 0)
  policy_at,     // get_mempolicy(..., addr, MPOL_F_ADDR)
  node_at,       // get_mempolicy(&node, ..., addr, MPOL_F_NODE | MPOL_F_ADDR) -> mode
  next_node,     // get_mempolicy(&node, ..., 0, MPOL_F_NODE) -> mode
  mems_allowed,  // get_mempolicy(..., MPOL_F_MEMS_ALLOWED) -> nodes
  alloc,         // mmap npages, touch them, count their nodes, unmap
  map,           // mmap npages at addr (0: anywhere), untouched -> addr
  touch,         // write each page of [addr, addr + npages) and report their nodes
  query,         // report the nodes of [addr, addr + npages) (move_pages status)
  libnuma,       // numa_get_membind(), numa_get_interleave_mask(), numa_preferred()
};

struct Request {
  Op op = Op::policy;
  unsigned long addr = 0;
  unsigned long npages = 0;
};

struct Reply {
  int ok = 0;  // 1: the request was carried out (err says why not)
  int err = 0;
  int mode = -1;
  pid_t tid = 0;
  unsigned long addr = 0;
  Words nodes{};
  std::array<long, max_nodes_counted> counts{};
  long unplaced = 0;  // pages with no node (not present, errors)
  std::array<int, max_status> status{};
  int have_libnuma = 0;
  int numa_preferred = -1;
  Words numa_membind{};
  Words numa_interleave{};

  [[nodiscard]] NodeMask mask() const { return mask_from(nodes); }
  [[nodiscard]] long total() const {
    long t = unplaced;
    for (long c : counts) t += c;
    return t;
  }
  // Nodes that received at least one page.
  [[nodiscard]] NodeMask used() const {
    NodeMask m;
    for (std::size_t n = 0; n < counts.size(); ++n)
      if (counts[n] > 0) REQUIRE(m.set(n));
    return m;
  }
  // Appended piece by piece: `(cond ? "" : " ") + std::to_string(n)` makes GCC 12 at -O3 raise a
  // false -Wrestrict (GCC bug 105329), an error in a Release build of the tests.
  [[nodiscard]] std::string histogram() const {
    std::string s;
    for (std::size_t n = 0; n < counts.size(); ++n) {
      if (counts[n] == 0) continue;
      if (!s.empty()) s.push_back(' ');
      s.append(std::to_string(n)).append(":").append(std::to_string(counts[n]));
    }
    if (unplaced > 0) {
      if (!s.empty()) s.push_back(' ');
      s.append("unplaced:").append(std::to_string(unplaced));
    }
    return s.empty() ? "no pages" : s;
  }
};

namespace detail {

inline bool read_full(int fd, void* buf, std::size_t len) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    const ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

inline bool write_full(int fd, const void* buf, std::size_t len) {
  const auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    const ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

inline void count_nodes(unsigned long addr, unsigned long npages, Reply& rp) {
  std::vector<void*> pages(npages);
  std::vector<int> status(npages, -1);
  for (unsigned long i = 0; i < npages; ++i)
    pages[i] = reinterpret_cast<void*>(addr + i * static_cast<unsigned long>(page_size));
  auto r = sys::move_pages(0, npages, pages.data(), nullptr, status.data(), 0);
  if (!r) {
    rp.err = err_of(r.error());
    return;
  }
  for (unsigned long i = 0; i < npages; ++i) {
    const int s = status[i];
    if (i < max_status) rp.status[i] = s;
    if (s >= 0 && static_cast<std::size_t>(s) < max_nodes_counted)
      ++rp.counts[static_cast<std::size_t>(s)];
    else
      ++rp.unplaced;
  }
  rp.ok = 1;
}

inline void touch_pages(unsigned long addr, unsigned long npages) {
  for (unsigned long i = 0; i < npages; ++i)
    *reinterpret_cast<volatile char*>(addr + i * static_cast<unsigned long>(page_size)) = 1;
}

inline void get_policy(Reply& rp, unsigned long addr, unsigned long flags) {
  auto r = sys::get_mempolicy(&rp.mode, rp.nodes.data(), maxnode, reinterpret_cast<const void*>(addr), flags);
  rp.ok = r ? 1 : 0;
  if (!r) rp.err = err_of(r.error());
}

#if TASKMPOL_VM_HAVE_LIBNUMA
inline void copy_bitmask(const struct bitmask* b, Words& out) {
  if (b == nullptr) return;
  for (unsigned long n = 0; n < b->size && n < NodeMask::capacity; ++n)
    if (numa_bitmask_isbitset(b, static_cast<unsigned>(n)) != 0)
      out[n / NodeMask::word_bits] |= NodeMask::word_type{1} << (n % NodeMask::word_bits);
}
#endif

inline Reply handle(const Request& rq) {
  Reply rp;
  rp.tid = static_cast<pid_t>(::syscall(SYS_gettid));
  const unsigned long len = rq.npages * static_cast<unsigned long>(page_size);
  switch (rq.op) {
    case Op::policy: get_policy(rp, 0, 0); break;
    case Op::policy_at: get_policy(rp, rq.addr, sys::mpol_f_addr); break;
    case Op::node_at: {
      auto r = sys::get_mempolicy(&rp.mode, nullptr, 0, reinterpret_cast<const void*>(rq.addr),
                                  sys::mpol_f_node | sys::mpol_f_addr);
      rp.ok = r ? 1 : 0;
      if (!r) rp.err = err_of(r.error());
      break;
    }
    case Op::next_node: {
      auto r = sys::get_mempolicy(&rp.mode, nullptr, 0, nullptr, sys::mpol_f_node);
      rp.ok = r ? 1 : 0;
      if (!r) rp.err = err_of(r.error());
      break;
    }
    case Op::mems_allowed: get_policy(rp, 0, sys::mpol_f_mems_allowed); break;
    case Op::alloc: {
      void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        rp.err = errno;
        break;
      }
      ::madvise(p, len, MADV_NOHUGEPAGE);
      touch_pages(reinterpret_cast<unsigned long>(p), rq.npages);
      count_nodes(reinterpret_cast<unsigned long>(p), rq.npages, rp);
      ::munmap(p, len);
      break;
    }
    case Op::map: {
      const int flags = MAP_PRIVATE | MAP_ANONYMOUS | (rq.addr != 0 ? MAP_FIXED_NOREPLACE : 0);
      void* p = ::mmap(reinterpret_cast<void*>(rq.addr), len, PROT_READ | PROT_WRITE, flags, -1, 0);
      if (p == MAP_FAILED) {
        rp.err = errno;
        break;
      }
      ::madvise(p, len, MADV_NOHUGEPAGE);
      rp.addr = reinterpret_cast<unsigned long>(p);
      rp.ok = 1;
      break;
    }
    case Op::touch:
      touch_pages(rq.addr, rq.npages);
      count_nodes(rq.addr, rq.npages, rp);
      break;
    case Op::query: count_nodes(rq.addr, rq.npages, rp); break;
    case Op::libnuma:
#if TASKMPOL_VM_HAVE_LIBNUMA
      if (numa_available() >= 0) {
        rp.have_libnuma = 1;
        struct bitmask* membind = numa_get_membind();
        struct bitmask* interleave = numa_get_interleave_mask();
        copy_bitmask(membind, rp.numa_membind);
        copy_bitmask(interleave, rp.numa_interleave);
        numa_bitmask_free(membind);
        numa_bitmask_free(interleave);
        // numa_preferred() complains (numa_error) about multi-node policies: ask only when the
        // policy is prefer, the one mode whose answer is checked.
        int mode = -1;
        Words ignored{};
        if (sys::get_mempolicy(&mode, ignored.data(), maxnode, nullptr, 0) && mode == mpol_preferred)
          rp.numa_preferred = numa_preferred();
      }
#endif
      rp.ok = 1;
      break;
  }
  return rp;
}

struct WorkerPipes {
  int in = -1;   // requests (worker reads)
  int out = -1;  // replies (worker writes)
};

[[noreturn]] inline void serve(WorkerPipes p) {
  Reply hello;
  hello.ok = 1;
  hello.tid = static_cast<pid_t>(::syscall(SYS_gettid));
  if (!write_full(p.out, &hello, sizeof(hello))) ::_exit(3);
  for (;;) {
    Request rq;
    if (!read_full(p.in, &rq, sizeof(rq))) ::_exit(0);
    const Reply rp = handle(rq);
    if (!write_full(p.out, &rp, sizeof(rp))) ::_exit(3);
  }
}

inline void* serve_thread(void* arg) {
  serve(*static_cast<WorkerPipes*>(arg));
}

}  // namespace detail

struct TargetOptions {
  std::size_t threads = 1;  // workers: the main thread plus threads - 1 pthreads
  int cpu = -2;             // pin to this CPU; -2: the first CPU of node a; -1: leave the affinity alone
  uid_t uid = 0;            // run as this uid/gid (0: stay root)
};

class Target {
 public:
  explicit Target(TargetOptions opt = {}) {
    std::vector<std::array<int, 2>> req(opt.threads), rep(opt.threads);
    for (std::size_t i = 0; i < opt.threads; ++i) {
      if (::pipe2(req[i].data(), O_CLOEXEC) != 0 || ::pipe2(rep[i].data(), O_CLOEXEC) != 0) {
        FAIL("pipe2: " << std::strerror(errno));
      }
    }
    std::fflush(nullptr);
    pid_ = ::fork();
    REQUIRE_MESSAGE(pid_ >= 0, "fork: " << std::strerror(errno));
    if (pid_ == 0) child(opt, req, rep);
    for (std::size_t i = 0; i < opt.threads; ++i) {
      ::close(req[i][0]);
      ::close(rep[i][1]);
      to_.push_back(req[i][1]);
      from_.push_back(rep[i][0]);
    }
    for (std::size_t i = 0; i < opt.threads; ++i) {
      Reply hello;
      REQUIRE_MESSAGE(receive(i, hello), "the target's worker " << i << " did not start");
      tids_.push_back(hello.tid);
    }
    // The target is our unreaped child: its numbers cannot be recycled while these are opened.
    pidfd_ = open_pidfd(pid_);
    for (pid_t tid : tids_) thread_pidfds_.push_back(open_pidfd(tid, sys::pidfd_thread));
  }

  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  ~Target() { stop(); }

  // Ends the target (SIGKILL) and reaps it. Its pidfds stay open (and now name an exited task).
  void stop() {
    if (pid_ <= 0) return;
    for (int fd : to_) ::close(fd);
    for (int fd : from_) ::close(fd);
    to_.clear();
    from_.clear();
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] pid_t tid(std::size_t worker) const { return tids_.at(worker); }
  // A process pidfd of the target (the series resolves it to worker 0, the leader).
  [[nodiscard]] int pidfd() const { return pidfd_.get(); }
  // A thread pidfd (PIDFD_THREAD) of worker `worker`'s thread.
  [[nodiscard]] int thread_pidfd(std::size_t worker) const { return thread_pidfds_.at(worker).get(); }
  [[nodiscard]] std::size_t workers() const { return tids_.size(); }

  Reply ask(Request rq, std::size_t worker = 0) {
    Reply rp;
    REQUIRE(worker < to_.size());
    REQUIRE_MESSAGE(detail::write_full(to_[worker], &rq, sizeof(rq)), "the target is gone");
    REQUIRE_MESSAGE(receive(worker, rp), "the target did not answer (op " << static_cast<int>(rq.op) << ")");
    return rp;
  }

  // What the target (one of its threads) says its own policy is.
  PolicyView policy(std::size_t worker = 0) {
    const Reply rp = ask({Op::policy, 0, 0}, worker);
    REQUIRE_MESSAGE(rp.ok == 1, "the target's get_mempolicy failed: " << std::strerror(rp.err));
    return {rp.mode, rp.mask()};
  }
  PolicyView policy_at(unsigned long addr, std::size_t worker = 0) {
    const Reply rp = ask({Op::policy_at, addr, 0}, worker);
    REQUIRE_MESSAGE(rp.ok == 1, "the target's get_mempolicy(MPOL_F_ADDR) failed: " << std::strerror(rp.err));
    return {rp.mode, rp.mask()};
  }
  NodeMask mems_allowed() {
    const Reply rp = ask({Op::mems_allowed, 0, 0});
    REQUIRE(rp.ok == 1);
    return rp.mask();
  }
  // The target allocates npages fresh pages and reports their nodes.
  Reply alloc(unsigned long npages, std::size_t worker = 0) {
    const Reply rp = ask({Op::alloc, 0, npages}, worker);
    REQUIRE_MESSAGE(rp.ok == 1, "the target could not allocate: " << std::strerror(rp.err));
    return rp;
  }
  unsigned long map(unsigned long npages, unsigned long addr = 0) {
    const Reply rp = ask({Op::map, addr, npages});
    REQUIRE_MESSAGE(rp.ok == 1, "the target could not map: " << std::strerror(rp.err));
    return rp.addr;
  }
  Reply touch(unsigned long addr, unsigned long npages, std::size_t worker = 0) {
    const Reply rp = ask({Op::touch, addr, npages}, worker);
    REQUIRE(rp.ok == 1);
    return rp;
  }
  Reply query(unsigned long addr, unsigned long npages) {
    const Reply rp = ask({Op::query, addr, npages});
    REQUIRE(rp.ok == 1);
    return rp;
  }

 private:
  [[noreturn]] static void child(const TargetOptions& opt, std::vector<std::array<int, 2>>& req,
                                 std::vector<std::array<int, 2>>& rep) {
    for (std::size_t i = 0; i < req.size(); ++i) {
      ::close(req[i][1]);
      ::close(rep[i][0]);
    }
    const int cpu = opt.cpu == -2 ? roles().cpu_a : opt.cpu;
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(static_cast<std::size_t>(cpu), &set);
      ::sched_setaffinity(0, sizeof(set), &set);
    }
    if (opt.uid != 0) {
      if (::setresgid(opt.uid, opt.uid, opt.uid) != 0 || ::setresuid(opt.uid, opt.uid, opt.uid) != 0) ::_exit(4);
      // A uid change clears "dumpable", which hands /proc/<pid>/* to root; an ordinary process of
      // that user is dumpable.
      ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
    static std::vector<detail::WorkerPipes> pipes;
    pipes.resize(req.size());
    for (std::size_t i = 0; i < req.size(); ++i) pipes[i] = {req[i][0], rep[i][1]};
    for (std::size_t i = 1; i < pipes.size(); ++i) {
      pthread_t t;
      if (::pthread_create(&t, nullptr, detail::serve_thread, &pipes[i]) != 0) ::_exit(5);
    }
    detail::serve(pipes[0]);
  }

  bool receive(std::size_t worker, Reply& rp) {
    pollfd pfd{from_[worker], POLLIN, 0};
    int n = 0;
    do {
      n = ::poll(&pfd, 1, 60'000);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    return detail::read_full(from_[worker], &rp, sizeof(rp));
  }

  pid_t pid_ = -1;
  std::vector<int> to_, from_;
  std::vector<pid_t> tids_;
  Pidfd pidfd_;
  std::vector<Pidfd> thread_pidfds_;
};

// ------------------------------------------------------------------------------------------------
// Runs fn() in a forked child (optionally as another uid) and returns the int it produced, e.g. an
// errno. Lets a test act as an unprivileged caller without changing its own credentials.
template <class Fn>
int in_child(uid_t uid, Fn fn) {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(p[0]);
    if (uid != 0 && (::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)) ::_exit(4);
    const int v = fn();
    detail::write_full(p[1], &v, sizeof(v));
    ::_exit(0);
  }
  ::close(p[1]);
  int v = -12345;
  const bool got = detail::read_full(p[0], &v, sizeof(v));
  ::close(p[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  REQUIRE_MESSAGE(got, "the helper child died");
  return v;
}

// 0 on success, else the errno (or -1 for a library error).
inline int errno_of(const taskmpol::result<void>& r) { return r ? 0 : err_of(r.error()); }
template <class T>
int errno_of(const taskmpol::result<T>& r) {
  return r ? 0 : err_of(r.error());
}

// ------------------------------------------------------------------------------------------------
// Environment guards.

// Sets the weighted-interleave weights of some nodes and restores the old ones afterwards.
class WeightsGuard {
 public:
  explicit WeightsGuard(std::initializer_list<std::pair<std::size_t, unsigned>> weights) {
    for (auto [node, w] : weights) {
      auto old = taskmpol::read_interleave_weight(node);
      REQUIRE_MESSAGE(old.has_value(), "cannot read the interleave weight of node " << node);
      saved_.push_back({node, old.value()});
      auto r = taskmpol::write_interleave_weight(node, w);
      REQUIRE_MESSAGE(r.has_value(), "cannot write the interleave weight of node " << node << ": "
                                                                                   << r.error().message());
    }
  }
  WeightsGuard(const WeightsGuard&) = delete;
  WeightsGuard& operator=(const WeightsGuard&) = delete;
  ~WeightsGuard() {
    for (auto [node, w] : saved_) (void)taskmpol::write_interleave_weight(node, w);
  }

 private:
  std::vector<std::pair<std::size_t, unsigned>> saved_;
};

// A child cgroup (v2) of the root with its own cpuset.mems.
class Cgroup {
 public:
  explicit Cgroup(const NodeMask& nodes) {
    const std::string mems = to_list(nodes);
    static int seq = 0;
    path_ = "/sys/fs/cgroup/taskmpol-vm-" + std::to_string(::getpid()) + "-" + std::to_string(++seq);
    auto controllers = read_text("/sys/fs/cgroup/cgroup.subtree_control");
    REQUIRE_MESSAGE(controllers.has_value(), "cgroup v2 is not mounted at /sys/fs/cgroup");
    if (controllers.value().find("cpuset") == std::string::npos) {
      auto r = write_text("/sys/fs/cgroup/cgroup.subtree_control", "+cpuset");
      REQUIRE_MESSAGE(r.has_value(), "cannot enable the cpuset controller: " << r.error().message());
    }
    REQUIRE_MESSAGE(::mkdir(path_.c_str(), 0755) == 0, "mkdir " << path_ << ": " << std::strerror(errno));
    auto r = write_text(path_ + "/cpuset.mems", mems);
    REQUIRE_MESSAGE(r.has_value(), "cannot set cpuset.mems: " << r.error().message());
  }
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup() {
    // Members leave when their process exits; the caller stops its targets first.
    for (int i = 0; i < 100 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(10'000);
  }

  void add(pid_t pid) {
    auto r = write_text(path_ + "/cgroup.procs", std::to_string(pid));
    REQUIRE_MESSAGE(r.has_value(), "cannot move " << pid << " into " << path_ << ": " << r.error().message());
  }
  [[nodiscard]] std::string effective_mems() const {
    auto t = read_text(path_ + "/cpuset.mems.effective");
    REQUIRE(t.has_value());
    std::string s = t.value();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

 private:
  std::string path_;
};

}  // namespace vmtest
