// SPDX-License-Identifier: MIT
// TaskHandle (task.hpp) on the kernel with the series: every backend on a forked target, verified
// from the target itself; all-threads retargeting, also of a process that keeps creating threads;
// targets that die or whose pid is recycled; typed permission and node errors; timing.
#include <taskmpol/task.hpp>

#include "mode_matrix.hpp"
#include "vm_support.hpp"

#include "../support/child.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include <linux/capability.h>

using namespace vmtest;
namespace mp = taskmpol;
using mp::Backend;
using mp::Mode;
using mp::Policy;
using mp::TaskHandle;

namespace {

constexpr unsigned long fixed_range = 0x300000000000UL;

unsigned long bytes(unsigned long npages) { return npages * static_cast<unsigned long>(page_size); }

// Drops one capability from the calling process's effective set (it stays permitted): root that
// lacks only that capability. 0 on success.
int drop_effective_capability(unsigned cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
  if (::syscall(SYS_capget, &header, data.data()) != 0) return errno;
  data[cap / 32].effective &= ~(1U << (cap % 32));
  return ::syscall(SYS_capset, &header, data.data()) == 0 ? 0 : errno;
}

Policy make(Mode mode, const NodeMask& nodes) {
  auto p = Policy::make(mode, {}, nodes);
  REQUIRE_MESSAGE(p.has_value(), "Policy::make: " << p.error().message());
  return p.value();
}

TaskHandle open_handle(pid_t pid) {
  auto h = TaskHandle::open(pid);
  REQUIRE_MESSAGE(h.has_value(), "TaskHandle::open(" << pid << "): " << h.error().message());
  return std::move(h.value());
}

// A process whose threads keep replacing themselves: `chains` threads each sleep a little, create
// their successor and exit, so the creators are always young threads. The main thread sleeps.
pid_t churning_process(int chains, unsigned sleep_us) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    static unsigned pause_us = sleep_us;
    struct Chain {
      static void* run(void*) {
        ::usleep(pause_us);
        pthread_t next;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        while (pthread_create(&next, &attr, run, nullptr) != 0) ::usleep(1000);
        return nullptr;
      }
    };
    for (int i = 0; i < chains; ++i) {
      pthread_t t;
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      if (pthread_create(&t, &attr, Chain::run, nullptr) != 0) ::_exit(5);
    }
    for (;;) ::pause();
  }
  return pid;
}

// The threads of pid whose policy is not `mode` right now (threads that exit meanwhile are skipped).
std::vector<pid_t> threads_without(pid_t pid, int mode, std::size_t* seen) {
  std::vector<pid_t> wrong;
  auto h = TaskHandle::open(pid);
  REQUIRE(h.has_value());
  std::vector<pid_t> tids;
  REQUIRE(h.value().list_threads(tids).has_value());
  *seen += tids.size();
  for (pid_t tid : tids) {
    auto fd = sys::pidfd_open(tid, sys::pidfd_thread);
    if (!fd && fd.error() == std::errc::no_such_process) continue;  // exited since the listing
    REQUIRE(fd.has_value());
    const Pidfd thread(fd.value());
    auto v = get_task(thread.get());
    if (!v && v.error() == std::errc::no_such_process) continue;
    REQUIRE(v.has_value());
    if ((v.value().mode & ~(mpol_f_static | mpol_f_relative | mpol_f_balancing)) != mode) wrong.push_back(tid);
  }
  return wrong;
}

}  // namespace

TEST_SUITE("vm.task_handle" * doctest::skip(skip_all())) {

TEST_CASE("task handle: every backend sets and reads a policy on a forked target") {
  const Roles& r = roles();
  const Policy bind_b = make(Mode::bind, node_set({r.b}));
  const Policy interleave_ab = make(Mode::interleave, node_set({r.a, r.b}));
  for (Backend b : {Backend::automatic, Backend::syscalls, Backend::procfs}) {
    CAPTURE(mp::backend_name(b));
    const Backend expected = b == Backend::automatic ? Backend::syscalls : b;
    Target t(TargetOptions{.threads = 2});
    TaskHandle h = open_handle(t.pid());
    h.set_backend(b);
    CHECK(h.tid() == t.tid(0));
    mp::TaskDiagnostic diag;
    REQUIRE(h.set_policy(bind_b, &diag).has_value());
    CHECK(diag.backend == expected);
    CHECK(t.policy(0).mode == mpol_bind);
    CHECK(t.policy(0).nodes == node_set({r.b}));
    CHECK(t.policy(1).mode == mpol_default);  // the policy is per thread
    auto seen = h.policy(&diag);
    REQUIRE(seen.has_value());
    CHECK(seen.value() == bind_b);
    CHECK(diag.backend == expected);
    auto allowed = h.mems_allowed();
    REQUIRE(allowed.has_value());
    CHECK(allowed.value() == t.mems_allowed());
    CHECK(t.alloc(64).counts[r.b] == 64);

    // One thread by TID.
    auto th = TaskHandle::thread(t.tid(1));
    REQUIRE(th.has_value());
    CHECK(th.value().pid() == t.pid());
    th.value().set_backend(b);
    REQUIRE(th.value().set_policy(interleave_ab).has_value());
    CHECK(t.policy(1).mode == mpol_interleave);
    CHECK(t.policy(1).nodes == node_set({r.a, r.b}));
    CHECK(t.policy(0).mode == mpol_bind);
    CHECK(th.value().policy().value() == interleave_ab);
  }
  // The self-only backend serves the calling thread, on this kernel too.
  auto self = TaskHandle::self();
  REQUIRE(self.has_value());
  self.value().set_backend(Backend::self_only);
  mp::TaskDiagnostic self_diag;
  REQUIRE(self.value().set_policy(bind_b, &self_diag).has_value());
  CHECK(get_self().value().mode == mpol_bind);
  CHECK(self_diag.backend == Backend::self_only);
  REQUIRE(self.value().set_policy(Policy{}).has_value());
  // Forced self-only on another task is refused, not silently applied to the caller.
  Target t;
  TaskHandle other = open_handle(t.pid());
  other.set_backend(Backend::self_only);
  CHECK(other.set_policy(bind_b).error() == mp::errc::backend_unavailable);
  other.set_backend(Backend::procfs);
  CHECK(other.mbind({fixed_range, 4096}, bind_b).error() == mp::errc::backend_unavailable);
  CHECK(t.policy().mode == mpol_default);
}

TEST_CASE("task handle: an adopted thread pidfd reaches exactly that thread") {
  const Roles& r = roles();
  Target t(TargetOptions{.threads = 3});
  const int fd = ::fcntl(t.thread_pidfd(2), F_DUPFD_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  auto h = TaskHandle::adopt(fd);
  REQUIRE_MESSAGE(h.has_value(), "adopt: " << h.error().message());
  CHECK(h.value().tid() == t.tid(2));
  CHECK(h.value().pid() == t.pid());
  mp::TaskDiagnostic diag;
  REQUIRE(h.value().set_policy(make(Mode::bind, node_set({r.m})), &diag).has_value());
  CHECK(diag.backend == Backend::syscalls);
  CHECK(t.policy(2).mode == mpol_bind);
  CHECK(t.policy(0).mode == mpol_default);
  CHECK(t.policy(1).mode == mpol_default);
  CHECK(t.alloc(32, 2).counts[r.m] == 32);
  // The process pidfd, adopted, reaches the leader.
  const int pfd = ::fcntl(t.pidfd(), F_DUPFD_CLOEXEC, 0);
  REQUIRE(pfd >= 0);
  auto process = TaskHandle::adopt(pfd);
  REQUIRE(process.has_value());
  REQUIRE(process.value().set_policy(make(Mode::preferred, node_set({r.b}))).has_value());
  CHECK(t.policy(0).mode == mpol_preferred);
  CHECK(t.policy(1).mode == mpol_default);
  t.stop();
  CHECK(h.value().policy().error() == mp::errc::target_exited);
}

TEST_CASE("task handle: ranges and nodes and the interleave position of a target") {
  const Roles& r = roles();
  Target t;
  TaskHandle h = open_handle(t.pid());
  const unsigned long range = t.map(8, fixed_range);
  mp::TaskDiagnostic served;
  REQUIRE(h.mbind({range, bytes(8)}, make(Mode::bind, node_set({r.m})), {}, &served).has_value());
  CHECK(served.backend == Backend::syscalls);
  CHECK(t.touch(range, 8).counts[r.m] == 8);
  auto node = h.node_of(range);
  REQUIRE(node.has_value());
  CHECK(node.value() == r.m);
  auto at = h.policy_at(range);
  REQUIRE(at.has_value());
  CHECK(at.value() == make(Mode::bind, node_set({r.m})));
  CHECK(h.set_home_node({range, bytes(8)}, r.m).has_value());
  // No policy of its own on the range: the typed error.
  const unsigned long plain = t.map(4, fixed_range + bytes(64));
  CHECK(h.set_home_node({plain, bytes(4)}, r.m).error() == mp::errc::home_node_needs_bind);

  REQUIRE(h.set_policy(make(Mode::interleave, node_set({r.a, r.b}))).has_value());
  auto next = h.interleave_next();
  REQUIRE(next.has_value());
  CHECK((next.value() == r.a || next.value() == r.b));
  REQUIRE(h.set_policy(Policy{}).has_value());
  CHECK(h.interleave_next().error() == mp::errc::not_interleaved);
}

// task_mbind with a move on another process does what mbind(2) with the flag run by the target
// does: every page of the range that the target alone maps ends up on the policy's nodes.
TEST_CASE("task handle: MbindFlag::move moves every page of another process's range") {
  const Roles& r = roles();
  constexpr unsigned long npages = 64;
  Target t;
  TaskHandle h = open_handle(t.pid());
  const unsigned long range = t.map(npages, fixed_range);
  const Reply first = t.touch(range, npages);
  REQUIRE_MESSAGE(first.counts[r.a] == static_cast<long>(npages), first.histogram());  // local to node a

  mp::TaskDiagnostic diag;
  auto moved = h.mbind({range, bytes(npages)}, make(Mode::bind, node_set({r.m})),
                       mp::MbindFlag::move | mp::MbindFlag::strict, &diag);
  REQUIRE_MESSAGE(moved.has_value(), diag.message());
  CHECK(diag.backend == Backend::syscalls);
  const Reply on_m = t.query(range, npages);  // move_pages(2) as a query, by the target itself
  CHECK_MESSAGE(on_m.counts[r.m] == static_cast<long>(npages), on_m.histogram());
  CHECK(on_m.unplaced == 0);
  CHECK(t.policy_at(range).mode == mpol_bind);
  CHECK(t.policy_at(range).nodes == node_set({r.m}));
  // The caller's view agrees (move_pages(2) on the target's pid).
  std::vector<void*> pages(npages);
  std::vector<int> status(npages, -1);
  for (unsigned long i = 0; i < npages; ++i) pages[i] = reinterpret_cast<void*>(range + bytes(i));
  REQUIRE(sys::move_pages(t.pid(), npages, pages.data(), nullptr, status.data(), 0).has_value());
  for (int s : status) CHECK(s == static_cast<int>(r.m));

  // move_all as root (CAP_SYS_NICE): every page again, to node b.
  REQUIRE(h.mbind({range, bytes(npages)}, make(Mode::bind, node_set({r.b})), mp::MbindFlag::move_all).has_value());
  const Reply on_b = t.query(range, npages);
  CHECK_MESSAGE(on_b.counts[r.b] == static_cast<long>(npages), on_b.histogram());
}

TEST_CASE("task handle: MbindFlag::move_all on another process needs CAP_SYS_NICE") {
  const Roles& r = roles();
  Target t;  // root's: the helper below, root without CAP_SYS_NICE, still owns it
  const pid_t pid = t.pid();
  const unsigned long range = t.map(8, fixed_range);
  REQUIRE(t.touch(range, 8).counts[r.a] == 8);
  // Returns the errno of the call, 1000 + what went wrong before it, or 2000 for advice that
  // does not name the capability.
  const auto without_sys_nice = [&](mp::MbindFlags flags) {
    return in_child(0, [&] {
      if (drop_effective_capability(CAP_SYS_NICE) != 0) return 1001;
      auto h = TaskHandle::open(pid);
      if (!h) return 1002;
      mp::TaskDiagnostic diag;
      auto moved = h.value().mbind({range, bytes(8)}, Policy::make(Mode::bind, {}, node_set({r.m})).value(), flags,
                                   &diag);
      if (moved) return 0;
      const int err = err_of(moved.error());
      const std::string advice = "MbindFlag::move_all, which also moves pages that other processes map, needs CAP_SYS_NICE";
      if (err == EPERM && flags.has(mp::MbindFlag::move_all) && diag.message().find(advice) == std::string::npos)
        return 2000;
      return err;
    });
  };
  CHECK(without_sys_nice(mp::MbindFlag::move_all) == EPERM);
  CHECK(t.query(range, 8).counts[r.a] == 8);  // nothing moved
  // The plain move needs no CAP_SYS_NICE: the owner (with CAP_SYS_PTRACE for Yama's scopes 1 and 2).
  auto scope = read_text("/proc/sys/kernel/yama/ptrace_scope");
  const bool attach_allowed = !scope || scope.value().empty() || scope.value()[0] != '3';
  CHECK(without_sys_nice(mp::MbindFlag::move) == (attach_allowed ? 0 : EPERM));
  if (attach_allowed) CHECK(t.query(range, 8).counts[r.m] == 8);
}

TEST_CASE("task handle: weighted interleave set on another task follows the global weights") {
  const Roles& r = roles();
  const WeightsGuard weights({{r.a, 1}, {r.b, 2}, {r.m, 3}});
  auto read = mp::read_interleave_weights(r.memory());
  REQUIRE(read.has_value());
  CHECK(read.value()[r.a] == 1);
  CHECK(read.value()[r.b] == 2);
  CHECK(read.value()[r.m] == 3);
  Target t;
  TaskHandle h = open_handle(t.pid());
  REQUIRE(h.set_policy(make(Mode::weighted_interleave, r.memory())).has_value());
  CHECK(t.policy().mode == mpol_weighted_interleave);
  ModeCase c{"weighted", mpol_weighted_interleave, r.memory(), "", "", mpol_weighted_interleave, r.memory(),
             Placement::spread, r.memory(), {1, 2, 3}, 600};
  check_placement(t.alloc(600), c);
}

TEST_CASE("all threads: every thread of a process changes and the pages can follow") {
  const Roles& r = roles();
  Target t(TargetOptions{.threads = 4});
  const unsigned long range = t.map(32, fixed_range);
  REQUIRE(t.touch(range, 32).counts[r.a] == 32);  // default policy: local to node a
  TaskHandle h = open_handle(t.pid());
  mp::AllThreadsOptions options;
  options.migrate_pages = true;
  auto report = mp::set_policy_on_all_threads(h, make(Mode::bind, node_set({r.b})), options);
  REQUIRE_MESSAGE(report.has_value(), report.error().message());
  CHECK(report.value().ok());
  CHECK(report.value().threads_set == 4);
  CHECK(report.value().pages_not_moved == 0);
  for (std::size_t w = 0; w < t.workers(); ++w) {
    CAPTURE(w);
    CHECK(t.policy(w).mode == mpol_bind);
    CHECK(t.policy(w).nodes == node_set({r.b}));
  }
  CHECK(t.query(range, 32).counts[r.b] == 32);
}

TEST_CASE("all threads: threads created during the walk are caught") {
  const Roles& r = roles();
  const pid_t pid = churning_process(8, 2000);
  ::usleep(200'000);  // let the chains run
  TaskHandle h = open_handle(pid);
  auto report = mp::set_policy_on_all_threads(h, make(Mode::bind, node_set({r.b})));
  REQUIRE_MESSAGE(report.has_value(), report.error().message());
  const auto& rep = report.value();
  MESSAGE("churning process: " << rep.rounds << " rounds, " << rep.threads_set << " set, " << rep.threads_already
                               << " already had it, " << rep.threads_exited << " exited, stable " << rep.stable);
  CHECK(rep.stable);
  CHECK(rep.failures.empty());
  CHECK(rep.rounds >= 2);
  // Every thread alive afterwards -- including the generations created since -- has the policy.
  std::size_t seen = 0;
  for (int i = 0; i < 10; ++i) {
    const std::vector<pid_t> wrong = threads_without(pid, mpol_bind, &seen);
    CHECK_MESSAGE(wrong.empty(), wrong.size() << " threads kept the old policy, e.g. "
                                               << (wrong.empty() ? 0 : wrong.front()));
    ::usleep(20'000);
  }
  MESSAGE("checked " << seen << " thread observations afterwards");
  taskmpol_test::kill_and_reap(pid);
}

TEST_CASE("task handle: a target that dies mid-operation is target_exited") {
  const Roles& r = roles();
  const Policy bind_b = make(Mode::bind, node_set({r.b}));
  SUBCASE("a target that exits on its own while being retargeted") {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::usleep(50'000);
      ::_exit(0);
    }
    TaskHandle h = open_handle(pid);
    std::size_t calls = 0;
    mp::result<void> last = mp::success();
    while (last.has_value() && calls < 1'000'000) {
      last = h.set_policy(bind_b);
      ++calls;
    }
    MESSAGE(calls << " successful sets before the target exited");
    REQUIRE_FALSE(last.has_value());
    CHECK(last.error() == mp::errc::target_exited);
    taskmpol_test::kill_and_reap(pid);
    CHECK(h.policy().error() == mp::errc::target_exited);
  }
  SUBCASE("a 64-thread target killed during an all-threads walk") {
    for (unsigned delay_us : {0u, 2'000u, 10'000u}) {
      CAPTURE(delay_us);
      Target t(TargetOptions{.threads = 64});
      TaskHandle h = open_handle(t.pid());
      const pid_t victim = t.pid();
      std::thread killer([victim, delay_us] {
        ::usleep(delay_us);
        ::kill(victim, SIGKILL);
      });
      auto report = mp::set_policy_on_all_threads(h, bind_b);
      killer.join();
      // SIGKILL is sent, not yet delivered to all 64 threads: wait until the process is gone.
      for (int i = 0; i < 5000 && h.alive(); ++i) ::usleep(1000);
      if (report.has_value()) {
        MESSAGE("finished first: " << report.value().threads_set << " set, " << report.value().threads_exited
                                   << " exited");
        for (const mp::ThreadFailure& f : report.value().failures) MESSAGE("thread " << f.tid << ": " << f.message());
        CHECK(report.value().failures.empty());  // dying threads are "exited", never failures
      } else {
        CHECK(report.error() == mp::errc::target_exited);
      }
      CHECK(h.set_policy(bind_b).error() == mp::errc::target_exited);
    }
  }
}

TEST_CASE("task handle: a recycled pid cannot confuse a handle") {
  const Roles& r = roles();
  const pid_t pid = taskmpol_test::sleeping_child();
  REQUIRE(pid > 0);
  TaskHandle h = open_handle(pid);
  REQUIRE(h.set_policy(make(Mode::bind, node_set({r.b}))).has_value());
  taskmpol_test::kill_and_reap(pid);
  const pid_t again = taskmpol_test::sleeping_child_at(pid);
  REQUIRE_MESSAGE(again == pid, "clone3 set_tid: " << std::strerror(errno));
  for (Backend b : {Backend::automatic, Backend::syscalls, Backend::procfs}) {
    CAPTURE(mp::backend_name(b));
    h.set_backend(b);
    CHECK(h.set_policy(make(Mode::bind, node_set({r.m}))).error() == mp::errc::target_exited);
    CHECK(h.policy().error() == mp::errc::target_exited);
  }
  // The new process with the same pid was never touched.
  const Pidfd new_fd = open_pidfd(again);
  auto theirs = get_task(new_fd.get());
  REQUIRE(theirs.has_value());
  CHECK(theirs.value().mode == mpol_default);
  taskmpol_test::kill_and_reap(again);
}

TEST_CASE("task handle: permission denied is a typed error that names the privilege") {
  constexpr uid_t nobody = 65534;
  const Roles& r = roles();
  Target root_target;
  const pid_t pid = root_target.pid();
  const int bad = in_child(nobody, [&] {
    int out = 0;
    auto h = TaskHandle::open(pid);
    if (!h) return 1 << 10;
    for (Backend b : {Backend::automatic, Backend::syscalls, Backend::procfs}) {
      h.value().set_backend(b);
      mp::TaskDiagnostic diag;
      auto set = h.value().set_policy(Policy::make(Mode::bind, {}, node_set({r.b})).value(), &diag);
      if (set || !(set.error() == std::errc::operation_not_permitted || set.error() == std::errc::permission_denied))
        out |= 1;
      if (diag.message().find("CAP_SYS_NICE") == std::string::npos) out |= 2;
    }
    h.value().set_backend(Backend::automatic);
    auto all = mp::set_policy_on_all_threads(h.value(), Policy::make(Mode::bind, {}, node_set({r.b})).value());
    if (all || all.error() != std::errc::operation_not_permitted) out |= 4;
    return out;
  });
  CHECK(bad == 0);
  CHECK(root_target.policy().mode == mpol_default);
}

TEST_CASE("task handle: bad nodes are typed errors naming the node and the allowed nodes") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m});
  Cgroup cg(bm);
  Target t;
  cg.add(t.pid());
  TaskHandle h = open_handle(t.pid());
  for (Backend b : {Backend::syscalls, Backend::procfs}) {
    CAPTURE(mp::backend_name(b));
    h.set_backend(b);
    {
      mp::TaskDiagnostic diag;
      auto e = h.set_policy(make(Mode::bind, node_set({r.a})), &diag);
      REQUIRE_FALSE(e.has_value());
      CHECK(e.error() == mp::errc::nodes_not_allowed);
      CHECK(diag.node == r.a);
      CHECK(diag.allowed == bm);
      const std::string text = diag.message();
      MESSAGE(text);
      CHECK(text.find("node " + std::to_string(r.a)) != std::string::npos);
      CHECK(text.find("may allocate from nodes " + to_list(bm)) != std::string::npos);
    }
    {
      mp::TaskDiagnostic diag;
      auto e = h.set_policy(make(Mode::bind, node_set({r.c})), &diag);
      REQUIRE_FALSE(e.has_value());
      CHECK(e.error() == mp::errc::node_without_memory);
      CHECK(diag.node == r.c);
      CHECK(diag.node_exists);
      const std::string text = diag.message();
      MESSAGE(text);
      CHECK(text.find("node " + std::to_string(r.c) + " (nodes with memory") != std::string::npos);
    }
    {
      mp::TaskDiagnostic diag;
      auto e = h.set_policy(make(Mode::bind, NodeMask::of<7>()), &diag);  // the VM has nodes 0-3
      REQUIRE_FALSE(e.has_value());
      CHECK(e.error() == mp::errc::node_without_memory);
      CHECK(diag.node == 7);
      CHECK_FALSE(diag.node_exists);
      CHECK(diag.message().find("node 7 does not exist") != std::string::npos);
    }
  }
  // procfs parses strictly: a node without memory next to good ones is refused and named.
  h.set_backend(Backend::procfs);
  mp::TaskDiagnostic diag;
  auto e = h.set_policy(make(Mode::bind, node_set({r.b, r.c})), &diag);
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error() == mp::errc::node_without_memory);
  CHECK(diag.node == r.c);
  // The syscalls narrow the same nodes to the ones that have memory.
  h.set_backend(Backend::syscalls);
  CHECK(h.set_policy(make(Mode::bind, node_set({r.b, r.c}))).has_value());
  CHECK(t.policy().nodes == node_set({r.b}));
  t.stop();
}

TEST_CASE("all threads: timing of retargeting a 64-thread process") {
  const Roles& r = roles();
  Target t(TargetOptions{.threads = 64});
  TaskHandle h = open_handle(t.pid());
  const auto start = std::chrono::steady_clock::now();
  auto report = mp::set_policy_on_all_threads(h, make(Mode::interleave, node_set({r.a, r.b})));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_MESSAGE(report.has_value(), report.error().message());
  CHECK(report.value().ok());
  CHECK(report.value().threads_set == 64);
  const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
  MESSAGE("retargeting 64 threads: " << ms << " ms (" << report.value().rounds << " rounds, QEMU TCG)");
  for (std::size_t w = 0; w < t.workers(); ++w) {
    CAPTURE(w);
    CHECK(t.policy(w).mode == mpol_interleave);
  }
}

}  // TEST_SUITE
