// SPDX-License-Identifier: MIT
// TaskHandle on the running kernel. On a kernel without the series (the development host) the
// calling thread is served by the stock syscalls and every other thread is errc::unsupported_kernel;
// pinning (pidfds, task directories, pid reuse) works on any kernel with PIDFD_THREAD (6.9+). The
// vm suite covers the series' backends (tests/vm/task_handle.test.cpp); series_guard.test.cpp
// proves that no unknown syscall is issued here.
#include <taskmpol/task.hpp>

#include <doctest/doctest.h>

#include "../support/skip.hpp"

#include <ostream>  // doctest prints std::error_code with operator<<, declared there

#include <atomic>
#include <cerrno>
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

Policy prefer0() { return Policy::make(Mode::preferred, {}, NodeMask::of<0>()).value(); }

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

// A sleeping child that has named itself `name` (prctl PR_SET_NAME) before the call returns.
pid_t named_child(const char* name) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return -1;
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_NAME, name, 0, 0, 0);
    // SIGUSR1 renames it "renamed" (prctl is a plain syscall: safe in a handler).
    struct sigaction on_usr1 {};
    on_usr1.sa_handler = [](int) { ::prctl(PR_SET_NAME, "renamed", 0, 0, 0); };
    ::sigaction(SIGUSR1, &on_usr1, nullptr);
    (void)!::write(ready[1], "x", 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  const bool named = pid > 0 && ::read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  return named ? pid : -1;
}

// A sleeping child made with clone3(CLONE_PIDFD): its pid, and its pidfd in *pidfd (-1 on failure).
pid_t clone3_child(int* pidfd) {
  *pidfd = -1;
#if defined(SYS_clone3)
  std::fflush(nullptr);
  int fd = -1;
  clone_args args{};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<std::uintptr_t>(&fd);
  args.exit_signal = SIGCHLD;
  const long r = ::syscall(SYS_clone3, &args, sizeof(args));
  if (r == 0) {
    for (;;) ::pause();
  }
  if (r > 0) *pidfd = fd;
  return static_cast<pid_t>(r);
#else
  return -1;
#endif
}

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
    auto r = h.value().set_policy(Policy::make(Mode::bind, {}, NodeMask::make({missing}).value()).value(), &diag);
    REQUIRE_FALSE(r);
    CHECK(r.error() == mp::errc::node_without_memory);
    CHECK(diag.node == missing);
    CHECK_FALSE(diag.node_exists);
    CHECK(diag.allowed_known);
    const std::string text = diag.message();
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
    if (series_present()) TASKMPOL_SKIP("this kernel has the series; the vm suite covers the cross-task calls");
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
    CHECK(h.value().migrate_pages(NodeMask::of<0>(), NodeMask::of<0>()).error() == mp::errc::target_exited);
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
    if (again < 0)
      TASKMPOL_SKIP("cannot create a process at a chosen pid here (clone3 set_tid: " << std::strerror(errno)
                                                                                     << "); the vm suite runs it");
    REQUIRE(again == child);
    CHECK(::kill(child, 0) == 0);  // the number names a live process again
    CHECK_FALSE(h.value().alive());
    CHECK(h.value().policy().error() == exited_or_no_series());
    CHECK(h.value().set_policy(prefer0()).error() == exited_or_no_series());
    std::vector<pid_t> tids;
    CHECK(h.value().list_threads(tids).error() == mp::errc::target_exited);
    CHECK(h.value().migrate_pages(NodeMask::of<0>(), NodeMask::of<0>()).error() == mp::errc::target_exited);
    taskmpol_test::kill_and_reap(again);
  }

  TEST_CASE("task handle: adopt takes a process pidfd and learns its process") {
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    auto fd = mp::sys::pidfd_open(child, 0);
    REQUIRE(fd);
    auto h = TaskHandle::adopt(fd.value());
    REQUIRE(h);
    CHECK(h.value().pid() == child);
    CHECK(h.value().tid() == child);
    CHECK(h.value().native_handle() == fd.value());
    CHECK(h.value().pidfd() == fd.value());
    CHECK(h.value().alive());
    CHECK_FALSE(h.value().is_caller());
    std::vector<pid_t> tids;
    REQUIRE(h.value().list_threads(tids));
    CHECK(tids == std::vector<pid_t>{child});
    taskmpol_test::kill_and_reap(child);
    CHECK_FALSE(h.value().alive());
  }

  TEST_CASE("task handle: adopt takes a clone3 CLONE_PIDFD pidfd") {
    int pidfd = -1;
    const pid_t child = clone3_child(&pidfd);
    REQUIRE_MESSAGE(child > 0, "clone3: " << std::strerror(errno));
    REQUIRE(pidfd >= 0);
    auto h = TaskHandle::adopt(pidfd);
    REQUIRE(h);
    CHECK(h.value().pid() == child);
    CHECK(h.value().tid() == child);
    CHECK(h.value().native_handle() == pidfd);
    taskmpol_test::kill_and_reap(child);
  }

  TEST_CASE("task handle: adopt of a thread pidfd pins exactly that thread") {
    ParkedThread t;
    auto fd = mp::sys::pidfd_open(t.tid(), mp::sys::pidfd_thread);
    REQUIRE(fd);
    auto h = TaskHandle::adopt(fd.value());
    REQUIRE(h);
    CHECK(h.value().tid() == t.tid());
    CHECK(h.value().pid() == ::getpid());
    CHECK_FALSE(h.value().is_caller());
    CHECK(h.value().alive());
    // The leader's own thread pidfd is a thread handle of the leader.
    auto leader_fd = mp::sys::pidfd_open(::getpid(), mp::sys::pidfd_thread);
    REQUIRE(leader_fd);
    auto leader = TaskHandle::adopt(leader_fd.value());
    REQUIRE(leader);
    CHECK(leader.value().tid() == ::getpid());
    CHECK(leader.value().is_caller());  // doctest runs the cases on the main thread
    t.release();
    CHECK_FALSE(h.value().alive());
  }

  TEST_CASE("task handle: pidfd_info reads the kind and the number of a pidfd") {
    ParkedThread t;
    auto process = mp::sys::pidfd_open(::getpid(), 0);
    auto thread = mp::sys::pidfd_open(t.tid(), mp::sys::pidfd_thread);
    REQUIRE(process);
    REQUIRE(thread);
    auto p = mp::sys::pidfd_info(process.value());
    auto q = mp::sys::pidfd_info(thread.value());
    REQUIRE(p);
    REQUIRE(q);
    CHECK(p.value().pid == ::getpid());
    CHECK_FALSE(p.value().thread);
    CHECK(q.value().pid == t.tid());
    CHECK(q.value().thread);
    ::close(process.value());
    ::close(thread.value());
    // A reaped child: the pidfd still exists, its number does not.
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    auto gone = mp::sys::pidfd_open(child, 0);
    REQUIRE(gone);
    taskmpol_test::kill_and_reap(child);
    auto r = mp::sys::pidfd_info(gone.value());
    REQUIRE(r);
    CHECK(r.value().pid == -1);
    ::close(gone.value());
  }

  TEST_CASE("task handle: adopt refuses what is not a live pidfd and leaves the descriptor to the caller") {
    CHECK(TaskHandle::adopt(-1).error() == std::errc::bad_file_descriptor);
    CHECK(TaskHandle::adopt(mp::sys::pidfd_self_thread).error() == std::errc::bad_file_descriptor);
    // Not open.
    const int closed = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(closed >= 0);
    ::close(closed);
    CHECK(TaskHandle::adopt(closed).error() == std::errc::bad_file_descriptor);
    // Open, but not a pidfd: a file, a pipe and a /proc/<pid> directory.
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    const int file = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const std::string own_dir = "/proc/" + std::to_string(::getpid());
    const int dir = ::open(own_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(file >= 0);
    REQUIRE(dir >= 0);
    for (int fd : {file, pipe_fds[0], dir}) {
      CAPTURE(fd);
      CHECK(TaskHandle::adopt(fd).error() == std::errc::bad_file_descriptor);
      CHECK(fd_open(fd));  // still the caller's
    }
    for (int fd : {file, pipe_fds[0], pipe_fds[1], dir}) ::close(fd);

    // A zombie and a reaped child: their task has exited.
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    auto zombie_fd = mp::sys::pidfd_open(child, 0);
    REQUIRE(zombie_fd);
    ::kill(child, SIGKILL);
    siginfo_t info{};
    REQUIRE(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) == 0);  // a zombie now
    CHECK(TaskHandle::adopt(zombie_fd.value()).error() == mp::errc::target_exited);
    CHECK(fd_open(zombie_fd.value()));
    taskmpol_test::kill_and_reap(child);
    CHECK(TaskHandle::adopt(zombie_fd.value()).error() == mp::errc::target_exited);
    CHECK(fd_open(zombie_fd.value()));
    ::close(zombie_fd.value());
  }

  TEST_CASE("task handle: release hands the pidfd back and empties the handle") {
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    auto h = TaskHandle::open(child);
    REQUIRE(h);
    const int fd = h.value().pidfd();
    REQUIRE(fd >= 0);
    CHECK(h.value().release() == fd);
    CHECK(fd_open(fd));  // the caller's now
    CHECK(h.value().pidfd() == -1);
    CHECK(h.value().native_handle() == -1);
    CHECK(h.value().pid() == 0);
    CHECK(h.value().tid() == 0);
    CHECK_FALSE(h.value().alive());
    CHECK(h.value().release() == -1);
    // An empty handle pins nothing: its calls fail without reaching a kernel.
    CHECK(h.value().policy().error() == std::errc::bad_file_descriptor);
    CHECK(h.value().set_policy(prefer0()).error() == std::errc::bad_file_descriptor);
    CHECK(h.value().migrate_pages(NodeMask::of<0>(), NodeMask::of<0>()).error() == std::errc::bad_file_descriptor);
    std::vector<pid_t> tids;
    CHECK_FALSE(h.value().list_threads(tids));
    // The released pidfd can be adopted again.
    auto again = TaskHandle::adopt(fd);
    REQUIRE(again);
    CHECK(again.value().pid() == child);
    taskmpol_test::kill_and_reap(child);
  }

  TEST_CASE("process stat: the identity of a process from /proc/<pid>/stat") {
    auto self = mp::sys::read_process_stat(::getpid());
    REQUIRE(self);
    CHECK(self.value().pid == ::getpid());
    CHECK(self.value().state == 'R');
    CHECK(self.value().start_time > 0);
    CHECK_FALSE(self.value().kernel_thread());
    std::ifstream comm("/proc/self/comm");
    std::string name;
    std::getline(comm, name);
    CHECK(self.value().name() == name);
    // kthreadd, where there is one (not in every container), is a kernel thread.
    if (auto k = mp::sys::read_process_stat(2); k && k.value().name() == "kthreadd") CHECK(k.value().kernel_thread());
  }

  TEST_CASE("process stat: names with blanks and parentheses are read whole") {
    const pid_t child = named_child("a b) (c");
    REQUIRE(child > 0);
    auto st = mp::sys::read_process_stat(child);
    // It reaches pause(2) a moment after it said it was ready: running until then.
    for (int i = 0; i < 1000 && st && st.value().state != 'S'; ++i) {
      ::usleep(1000);
      st = mp::sys::read_process_stat(child);
    }
    REQUIRE(st);
    CHECK(st.value().name() == "a b) (c");
    CHECK(st.value().state == 'S');  // the field after the name, found past the last ')'
    taskmpol_test::kill_and_reap(child);
  }

  TEST_CASE("process stat: no such process") {
    CHECK(mp::sys::read_process_stat(0).error() == std::errc::invalid_argument);
    CHECK(mp::sys::read_process_stat(-3).error() == std::errc::invalid_argument);
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    taskmpol_test::kill_and_reap(child);
    CHECK(mp::sys::read_process_stat(child).error() == std::errc::no_such_process);
  }

  TEST_CASE("open_matched: pins the process the scan saw") {
    const pid_t child = named_child("matched");
    REQUIRE(child > 0);
    std::vector<pid_t> pids;
    REQUIRE(mp::sys::list_processes(pids));
    REQUIRE(std::find(pids.begin(), pids.end(), child) != pids.end());
    auto seen = mp::sys::read_process_stat(child);
    REQUIRE(seen);
    auto h = TaskHandle::open_matched(seen.value());
    REQUIRE(h);
    CHECK(h.value().pid() == child);
    CHECK(h.value().tid() == child);
    CHECK(h.value().alive());
    CHECK(h.value().pidfd() >= 0);
    taskmpol_test::kill_and_reap(child);
    CHECK_FALSE(h.value().alive());
  }

  TEST_CASE("open_matched: another name or start time is not the process that was seen") {
    const pid_t child = named_child("matched");
    REQUIRE(child > 0);
    auto seen = mp::sys::read_process_stat(child);
    REQUIRE(seen);
    mp::sys::ProcessStat renamed = seen.value();
    renamed.name_bytes = {'o', 't', 'h', 'e', 'r'};
    CHECK(TaskHandle::open_matched(renamed).error() == mp::errc::target_changed);
    mp::sys::ProcessStat later = seen.value();
    ++later.start_time;
    CHECK(TaskHandle::open_matched(later).error() == mp::errc::target_exited);
    // The process renames itself after the scan: the same process, no longer what was matched.
    REQUIRE(::kill(child, SIGUSR1) == 0);
    for (int i = 0; i < 1000; ++i) {
      auto now = mp::sys::read_process_stat(child);
      if (now && now.value().name() == "renamed") break;
      ::usleep(1000);
    }
    CHECK(mp::sys::read_process_stat(child).value().name() == "renamed");
    CHECK(TaskHandle::open_matched(seen.value()).error() == mp::errc::target_changed);
    taskmpol_test::kill_and_reap(child);
    CHECK(TaskHandle::open_matched(seen.value()).error() == mp::errc::target_exited);
    mp::sys::ProcessStat nobody;
    CHECK(TaskHandle::open_matched(nobody).error() == std::errc::invalid_argument);
  }

  TEST_CASE("open_matched: a zombie is target_exited") {
    const pid_t child = named_child("zombie");
    REQUIRE(child > 0);
    auto seen = mp::sys::read_process_stat(child);
    REQUIRE(seen);
    ::kill(child, SIGKILL);
    siginfo_t info{};
    REQUIRE(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) == 0);
    CHECK(TaskHandle::open_matched(seen.value()).error() == mp::errc::target_exited);
    taskmpol_test::kill_and_reap(child);
  }

  TEST_CASE("open_matched: a recycled pid is never pinned") {
    // Both processes are forks of this test under its name: only the start time tells them apart.
    const pid_t child = taskmpol_test::sleeping_child();
    REQUIRE(child > 0);
    auto seen = mp::sys::read_process_stat(child);
    REQUIRE(seen);
    // The start time counts clock ticks (10 ms): let some pass so that the new process differs.
    ::usleep(50'000);
    taskmpol_test::kill_and_reap(child);
    const pid_t again = taskmpol_test::sleeping_child_at(child);
    REQUIRE_MESSAGE(again == child, "clone3 set_tid (needs CAP_SYS_ADMIN): " << std::strerror(errno));
    auto now = mp::sys::read_process_stat(again);
    REQUIRE(now);
    CHECK(now.value().name() == seen.value().name());
    CHECK(now.value().start_time != seen.value().start_time);
    CHECK(TaskHandle::open_matched(seen.value()).error() == mp::errc::target_exited);
    CHECK(TaskHandle::open_matched(now.value()));  // the new process is pinned as itself
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

  TEST_CASE("task handle: const calls from several threads on one handle") {
    // issue 10, defect 1: const members once wrote a `mutable` field, a data race under
    // ThreadSanitizer (./check's tsan stage builds and runs this). The handle names the main
    // thread: it serves itself through the stock calls; the other threads get the kernel's
    // answer for another thread, and the diagnostic each call fills is its own.
    auto made = TaskHandle::self();
    REQUIRE(made);
    const TaskHandle& h = made.value();
    const mp::result<Policy> own = h.policy();
    REQUIRE(own);
    std::atomic<int> mismatches{0};
    auto other = [&] {
      for (int i = 0; i < 300; ++i) {
        mp::TaskDiagnostic diag;
        const auto p = h.policy(&diag);
        const auto allowed = h.mems_allowed(&diag);
        if (p.has_value() != allowed.has_value()) ++mismatches;
        if (diag.tid != h.tid()) ++mismatches;
        if (!h.alive()) ++mismatches;
      }
    };
    std::thread a(other);
    std::thread b(other);
    for (int i = 0; i < 300; ++i) {
      mp::TaskDiagnostic diag;
      const auto p = h.policy(&diag);
      if (!p || p.value() != own.value() || diag.backend == Backend::automatic) ++mismatches;
    }
    a.join();
    b.join();
    CHECK(mismatches.load() == 0);
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
    if (series_present()) TASKMPOL_SKIP("this kernel has the series; the vm suite covers it");
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
