// SPDX-License-Identifier: MIT
// TaskHandle on the running kernel. On a kernel without the series (the development host) the
// calling thread is served by the stock syscalls and every other thread is errc::unsupported_kernel;
// pinning (pidfds, task directories, pid reuse) works on any kernel with PIDFD_THREAD (6.9+). The
// vm suite covers the series' backends (tests/vm/task_handle.test.cpp); series_guard.test.cpp
// proves that no unknown syscall is issued here.
#include <taskmpol/task.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code with operator<<, declared there

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "../support/child.hpp"

namespace mp = taskmpol;
using mp::Backend;
using mp::Mode;
using mp::NodeMask;
using mp::Policy;
using mp::TaskHandle;

namespace {

bool series_present() { return mp::sys::task_mempolicy_available(); }

// What a call that needs the series answers for a target that has exited: the kernel's verdict
// (target_exited) with the series, and without it the reason no call was made -- the handle makes
// no liveness check of its own before a call.
std::error_code exited_or_no_series() {
  if (auto support = mp::sys::task_mempolicy_support(); !support) return support.error();
  return mp::errc::target_exited;
}

// Restores the calling thread's default policy when a case ends.
struct PolicyRestorer {
  PolicyRestorer() = default;
  PolicyRestorer(const PolicyRestorer&) = delete;
  PolicyRestorer& operator=(const PolicyRestorer&) = delete;
  ~PolicyRestorer() { (void)mp::set_self_policy(Policy{}); }
};

// A thread of this process that waits until released, and reports its tid.
class ParkedThread {
 public:
  ParkedThread() : thread_([this] { run(); }) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return tid_ != 0; });
  }
  ParkedThread(const ParkedThread&) = delete;
  ParkedThread& operator=(const ParkedThread&) = delete;
  ~ParkedThread() { release(); }

  [[nodiscard]] pid_t tid() const { return tid_; }
  void release() {
    {
      const std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    tid_ = mp::sys::gettid();
    cv_.notify_all();
    cv_.wait(lock, [this] { return done_; });
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  pid_t tid_ = 0;
  bool done_ = false;
  std::thread thread_;
};

Policy prefer0() { return Policy::make(Mode::preferred, {}, NodeMask{0}).value(); }

}  // namespace

TEST_SUITE("task handle") {
  TEST_CASE("task handle: self sets and reads the calling thread's policy") {
    const PolicyRestorer restore;
    auto h = TaskHandle::self();
    REQUIRE(h);
    CHECK(h.value().pid() == ::getpid());
    CHECK(h.value().tid() == mp::sys::gettid());
    CHECK(h.value().is_caller());
    CHECK(h.value().alive());

    mp::TaskDiagnostic diag;
    REQUIRE(h.value().set_policy(prefer0(), &diag));
    CHECK(diag.backend == (series_present() ? Backend::syscalls : Backend::self_only));
    auto own = mp::get_self_policy();
    REQUIRE(own);
    CHECK(own.value() == prefer0());
    auto seen = h.value().policy();
    REQUIRE(seen);
    CHECK(seen.value() == prefer0());

    auto allowed = h.value().mems_allowed();
    REQUIRE(allowed);
    CHECK(allowed.value() == mp::self_mems_allowed().value());

    // Forcing the stock syscalls works for the caller on every kernel.
    h.value().set_backend(Backend::self_only);
    CHECK(h.value().backend() == Backend::self_only);
    REQUIRE(h.value().set_policy(Policy{}, &diag));
    CHECK(diag.backend == Backend::self_only);
    CHECK(h.value().policy().value() == Policy{});
  }

  TEST_CASE("task handle: self handle ranges and nodes through the stock syscalls") {
    auto h = TaskHandle::self();
    REQUIRE(h);
    h.value().set_backend(Backend::self_only);
    const long page = ::sysconf(_SC_PAGESIZE);
    std::vector<char> buffer(static_cast<std::size_t>(page) * 4);
    auto* aligned = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(buffer.data()) +
                                             static_cast<std::uintptr_t>(page) - 1) &
                                            ~(static_cast<std::uintptr_t>(page) - 1));
    aligned[0] = 1;
    auto node = h.value().node_of(reinterpret_cast<std::uintptr_t>(aligned));
    REQUIRE(node);
    CHECK(mp::self_mems_allowed().value().test(node.value()));
    auto at = h.value().policy_at(reinterpret_cast<std::uintptr_t>(aligned));
    REQUIRE(at);
    CHECK(h.value().interleave_next().error() == mp::errc::not_interleaved);
    // Unaligned start: the kernel's EINVAL, unchanged.
    CHECK(h.value().mbind({reinterpret_cast<std::uintptr_t>(aligned) + 1, 16}, prefer0()).error() ==
          std::errc::invalid_argument);
  }

  TEST_CASE("task handle: a node without memory is named with the allowed nodes") {
    const PolicyRestorer restore;
    auto topo = mp::read_topology();
    REQUIRE(topo);
    const std::size_t missing = topo.value().possible.last() + 1;  // a node this system does not have
    REQUIRE(missing < NodeMask::capacity);
    auto h = TaskHandle::self();
    REQUIRE(h);
    mp::TaskDiagnostic diag;
    auto r = h.value().set_policy(Policy::make(Mode::bind, {}, NodeMask{missing}).value(), &diag);
    REQUIRE_FALSE(r);
    CHECK(r.error() == mp::errc::node_without_memory);
    CHECK(diag.node == missing);
    CHECK_FALSE(diag.node_exists);
    CHECK(diag.allowed_known);
    const std::string text = mp::describe(r.error(), diag);
    INFO(text);
    CHECK(text.find("node " + std::to_string(missing) + " does not exist") != std::string::npos);
    CHECK(text.find(diag.allowed.to_string() + " (its Mems_allowed)") != std::string::npos);
  }

  TEST_CASE("task handle: open and thread refuse what is not a task") {
    CHECK(TaskHandle::open(0).error() == std::errc::invalid_argument);
    CHECK(TaskHandle::open(-5).error() == std::errc::invalid_argument);
    CHECK(TaskHandle::thread(0).error() == std::errc::invalid_argument);
    const pid_t gone = taskmpol_test::sleeping_child();
    REQUIRE(gone > 0);
    taskmpol_test::kill_and_reap(gone);
    CHECK(TaskHandle::open(gone).error() == std::errc::no_such_process);
    CHECK(TaskHandle::thread(gone).error() == std::errc::no_such_process);
  }

  TEST_CASE("task handle: open of a thread that is not the leader pins that thread") {
    ParkedThread t;
    auto h = TaskHandle::open(t.tid());
    REQUIRE(h);
    CHECK(h.value().tid() == t.tid());
    CHECK(h.value().pid() == ::getpid());
    CHECK_FALSE(h.value().is_caller());
    CHECK(h.value().alive());
    auto th = TaskHandle::thread(t.tid());
    REQUIRE(th);
    CHECK(th.value().pid() == ::getpid());
    t.release();
    CHECK_FALSE(h.value().alive());
    CHECK_FALSE(th.value().alive());
    CHECK(h.value().policy().error() == exited_or_no_series());
    CHECK(th.value().set_policy(prefer0()).error() == exited_or_no_series());
  }

  TEST_CASE("task handle: other threads and processes need the series") {
    if (series_present()) {
      MESSAGE("skipped: this kernel has the series; the vm suite covers the cross-task calls");
      return;
    }
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    ParkedThread sibling;
    auto process = TaskHandle::open(child);
    auto thread = TaskHandle::thread(sibling.tid());
    REQUIRE(process);
    REQUIRE(thread);
    CHECK(process.value().pid() == child);
    CHECK(process.value().tid() == child);
    CHECK(process.value().pidfd() >= 0);
    for (TaskHandle* h : {&process.value(), &thread.value()}) {
      CAPTURE(h->tid());
      CHECK_FALSE(h->is_caller());
      CHECK(h->policy().error() == mp::errc::unsupported_kernel);
      CHECK(h->set_policy(prefer0()).error() == mp::errc::unsupported_kernel);
      CHECK(h->mbind({0x10000, 4096}, prefer0()).error() == mp::errc::unsupported_kernel);
      CHECK(h->set_home_node({0x10000, 4096}, 0).error() == mp::errc::unsupported_kernel);
      CHECK(h->mems_allowed().error() == mp::errc::unsupported_kernel);
      CHECK(h->node_of(0x10000).error() == mp::errc::unsupported_kernel);
      CHECK(h->interleave_next().error() == mp::errc::unsupported_kernel);
      CHECK(h->policy_at(0x10000).error() == mp::errc::unsupported_kernel);
      h->set_backend(Backend::procfs);
      CHECK(h->policy().error() == mp::errc::unsupported_kernel);
      h->set_backend(Backend::syscalls);
      CHECK(h->policy().error() == mp::errc::unsupported_kernel);
      h->set_backend(Backend::self_only);
      CHECK(h->policy().error() == mp::errc::backend_unavailable);
    }
    // A self handle used from another thread names its creator, not the user.
    std::error_code from_other_thread;
    {
      auto mine = TaskHandle::self();
      REQUIRE(mine);
      std::thread([&] { from_other_thread = mine.value().policy().error(); }).join();
    }
    CHECK(from_other_thread == mp::errc::unsupported_kernel);
    taskmpol_test::kill_and_reap(child);
  }

  TEST_CASE("task handle: a dead target is target_exited before and after it is reaped") {
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    auto h = TaskHandle::open(child);
    REQUIRE(h);
    CHECK(h.value().alive());
    ::kill(child, SIGKILL);
    // A zombie: its pid still exists, the pidfd polls readable.
    for (int i = 0; i < 1000 && h.value().alive(); ++i) ::usleep(1000);
    CHECK_FALSE(h.value().alive());
    CHECK(h.value().policy().error() == exited_or_no_series());
    CHECK(h.value().set_policy(prefer0()).error() == exited_or_no_series());
    // migrate_pages(2) and the thread listing need no series and know at once.
    CHECK(h.value().migrate_pages(NodeMask{0}, NodeMask{0}).error() == mp::errc::target_exited);
    std::vector<pid_t> tids;
    CHECK(h.value().list_threads(tids).error() == mp::errc::target_exited);
    taskmpol_test::kill_and_reap(child);
    CHECK(h.value().policy().error() == exited_or_no_series());
    CHECK(h.value().list_threads(tids).error() == mp::errc::target_exited);
    CHECK(mp::set_policy_on_all_threads(h.value(), prefer0()).error() == mp::errc::target_exited);
    // The error reads as "no such process" for code that only knows std::errc.
    CHECK(h.value().list_threads(tids).error() == std::errc::no_such_process);
  }

  TEST_CASE("task handle: a recycled pid cannot confuse a handle") {
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    auto h = TaskHandle::open(child);
    REQUIRE(h);
    taskmpol_test::kill_and_reap(child);
    const pid_t again = taskmpol_test::sleeping_child_at(child);
    if (again < 0) {
      MESSAGE("skipped: cannot create a process at a chosen pid here (clone3 set_tid: " << std::strerror(errno)
                                                                                   << "); the vm suite runs it");
      return;
    }
    REQUIRE(again == child);
    CHECK(::kill(child, 0) == 0);  // the number names a live process again
    CHECK_FALSE(h.value().alive());
    CHECK(h.value().policy().error() == exited_or_no_series());
    CHECK(h.value().set_policy(prefer0()).error() == exited_or_no_series());
    std::vector<pid_t> tids;
    CHECK(h.value().list_threads(tids).error() == mp::errc::target_exited);
    CHECK(h.value().migrate_pages(NodeMask{0}, NodeMask{0}).error() == mp::errc::target_exited);
    taskmpol_test::kill_and_reap(again);
  }

  TEST_CASE("task handle: moving transfers the pins") {
    auto h = TaskHandle::self();
    REQUIRE(h);
    const int fd = h.value().pidfd();
    TaskHandle moved(std::move(h.value()));
    CHECK(moved.pidfd() == fd);
    CHECK(moved.tid() == mp::sys::gettid());
    CHECK(h.value().pidfd() == -1);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    auto other = TaskHandle::self();
    REQUIRE(other);
    other.value() = std::move(moved);
    CHECK(other.value().pidfd() == fd);
  }

  TEST_CASE("task handle: list_threads sees this process's threads") {
    ParkedThread a;
    ParkedThread b;
    auto h = TaskHandle::open(::getpid());
    REQUIRE(h);
    CHECK(h.value().is_caller());  // doctest runs the cases on the main thread
    std::vector<pid_t> tids;
    REQUIRE(h.value().list_threads(tids));
    CHECK(std::find(tids.begin(), tids.end(), a.tid()) != tids.end());
    CHECK(std::find(tids.begin(), tids.end(), b.tid()) != tids.end());
    CHECK(std::find(tids.begin(), tids.end(), ::getpid()) != tids.end());
    auto th = h.value().open_thread(a.tid());
    REQUIRE(th);
    CHECK(th.value().tid() == a.tid());
    CHECK(h.value().open_thread(1).error() == std::errc::no_such_process);  // init is not our thread
  }

  TEST_CASE("all threads: without the series only the calling thread changes") {
    if (series_present()) {
      MESSAGE("skipped: this kernel has the series; the vm suite covers it");
      return;
    }
    const PolicyRestorer restore;
    ParkedThread a;
    ParkedThread b;
    auto h = TaskHandle::open(::getpid());
    REQUIRE(h);
    auto report = mp::set_policy_on_all_threads(h.value(), prefer0());
    REQUIRE(report);
    CHECK(report.value().threads_set == 1);
    CHECK(report.value().stable);
    CHECK_FALSE(report.value().ok());
    CHECK(report.value().failures.size() >= 2);
    for (const mp::ThreadFailure& f : report.value().failures) {
      CAPTURE(f.tid);
      CHECK(f.error == mp::errc::unsupported_kernel);
    }
    CHECK(mp::get_self_policy().value() == prefer0());

    // Another process: nothing can change, so the error itself comes back.
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    auto other = TaskHandle::open(child);
    REQUIRE(other);
    CHECK(mp::set_policy_on_all_threads(other.value(), prefer0()).error() == mp::errc::unsupported_kernel);
    taskmpol_test::kill_and_reap(child);
  }

  TEST_CASE("all threads: migrate_pages on the caller's own process") {
    const PolicyRestorer restore;
    auto h = TaskHandle::open(::getpid());
    REQUIRE(h);
    const NodeMask allowed = mp::self_mems_allowed().value();
    auto left = h.value().migrate_pages(allowed, allowed);
    REQUIRE(left);
    mp::AllThreadsOptions options;
    options.migrate_pages = true;
    auto report = mp::set_policy_on_all_threads(h.value(), Policy::make(Mode::bind, {}, allowed).value(), options);
    REQUIRE(report);
    CHECK_FALSE(report.value().migrate_error);
  }
}
