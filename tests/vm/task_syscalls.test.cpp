// SPDX-License-Identifier: MIT
// The series' syscalls (ABI 2: every target is a pidfd), applied from outside and verified from the
// target itself (set_task_mempolicy, get_task_mempolicy, task_mbind, set_task_mempolicy_home_node).
#include "mode_matrix.hpp"
#include "vm_support.hpp"

#include "../support/child.hpp"

#include <algorithm>
#include <climits>
#include <thread>

using namespace vmtest;

namespace {

constexpr unsigned long fixed_range = 0x300000000000UL;  // where targets map their test ranges

unsigned long bytes(unsigned long npages) { return npages * static_cast<unsigned long>(page_size); }

// A pidfd of a child that has exited and been reaped.
Pidfd reaped_pidfd() {
  const pid_t pid = taskmpol_test::sleeping_child();
  REQUIRE(pid > 0);
  Pidfd fd = open_pidfd(pid);
  taskmpol_test::kill_and_reap(pid);
  return fd;
}

// The state letter of /proc/<pid>/stat.
char proc_state(pid_t pid) {
  auto stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return '?';
  const std::size_t close = stat.value().rfind(')');
  return close == std::string::npos || close + 2 >= stat.value().size() ? '?' : stat.value()[close + 2];
}

// Yama's ptrace_scope (0 when Yama is not built in: the classic rules apply).
int ptrace_scope() {
  auto text = read_text("/proc/sys/kernel/yama/ptrace_scope");
  return text && !text.value().empty() ? std::atoi(text.value().c_str()) : 0;
}

}  // namespace

TEST_SUITE("vm.syscalls" * doctest::skip(skip_all())) {

TEST_CASE("set_task_mempolicy: every mode through a process pidfd reaches the target and its libnuma and its pages") {
  run_mode_matrix(
      [](Target& t, std::size_t, const ModeCase& c) { return errno_of(set_task(t.pidfd(), c.mode, c.nodes)); });
}

TEST_CASE("set_task_mempolicy: every mode on one thread of three through its thread pidfd") {
  run_mode_matrix(
      [](Target& t, std::size_t worker, const ModeCase& c) {
        return errno_of(set_task(t.thread_pidfd(worker), c.mode, c.nodes));
      },
      3, 2);
}

TEST_CASE("set_task_mempolicy: static and relative flags are kept as the target would see them") {
  const Roles& r = roles();
  Target t;
  const NodeMask bm = node_set({r.b, r.m});
  REQUIRE(errno_of(set_task(t.pidfd(), mpol_bind | mpol_f_static, bm)) == 0);
  PolicyView own = t.policy();
  CHECK(own.mode == (mpol_bind | mpol_f_static));
  CHECK(own.nodes == bm);
  CHECK(read_text(proc_file(t.pid())).value() == "bind=static:" + to_list(bm) + "\n");

  // Relative: bit i is the i-th allowed node (the root cpuset allows a, b, m).
  REQUIRE(errno_of(set_task(t.pidfd(), mpol_interleave | mpol_f_relative, NodeMask::of<0, 1>())) == 0);
  own = t.policy();
  CHECK(own.mode == (mpol_interleave | mpol_f_relative));
  CHECK(to_list(own.nodes) == "0-1");  // relative: the bits as the caller gave them
  const NodeMask first_two = node_set({r.memory().first(), r.memory().next(r.memory().first())});
  CHECK(read_text(proc_file(t.pid())).value() == "interleave=relative:0-1\n");  // as given (ABI 2)
  const Reply pages = t.alloc(300);
  INFO("pages: " << pages.histogram());
  CHECK(pages.used() == first_two);

  REQUIRE(errno_of(set_task(t.pidfd(), mpol_bind | mpol_f_balancing, node_set({r.b}))) == 0);
  own = t.policy();
  CHECK(own.mode == (mpol_bind | mpol_f_balancing));
  CHECK(read_text(proc_file(t.pid())).value() == "bind=balancing:" + std::to_string(r.b) + "\n");
  auto remote = get_task(t.pidfd());
  REQUIRE(remote.has_value());
  CHECK(remote.value().mode == own.mode);
}

TEST_CASE("set_task_mempolicy: invalid requests fail like set_mempolicy and leave the target unchanged") {
  const Roles& r = roles();
  Target t;
  REQUIRE(errno_of(set_task(t.pidfd(), mpol_preferred, node_set({r.b}))) == 0);
  struct Bad {
    const char* what;
    int mode;
    NodeMask nodes;
  };
  const Bad bad[] = {
      {"node c has no memory", mpol_bind, node_set({r.c})},
      {"a node that does not exist", mpol_bind, NodeMask::of<63>()},
      {"empty bind", mpol_bind, {}},
      {"empty interleave", mpol_interleave, {}},
      {"mode 7", 7, node_set({r.b})},
      {"static and relative", mpol_bind | mpol_f_static | mpol_f_relative, node_set({r.b})},
      {"balancing with interleave", mpol_interleave | mpol_f_balancing, node_set({r.a, r.b})},
      {"local with nodes", mpol_local, node_set({r.b})},
      {"default with nodes", mpol_default, node_set({r.b})},
      {"prefer static without nodes", mpol_preferred | mpol_f_static, {}},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.what);
    CHECK(errno_of(set_task(t.pidfd(), b.mode, b.nodes)) == EINVAL);
    const PolicyView own = t.policy();
    CHECK(own.mode == mpol_preferred);
    CHECK(own.nodes == node_set({r.b}));
  }
  // maxnode beyond a page of bits, and a mask the kernel cannot read.
  const NodeMask one = node_set({r.b});
  CHECK(errno_of(sys::set_task_mempolicy(t.pidfd(), mpol_bind, one.kernel_arg().nmask, 4096UL * 8 + 2, 0)) ==
        EINVAL);
  CHECK(errno_of(sys::set_task_mempolicy(t.pidfd(), mpol_bind, reinterpret_cast<const unsigned long*>(8), maxnode,
                                         0)) == EFAULT);
  // flags must be 0 today: every other bit is EINVAL, reserved for later versions.
  for (unsigned bit = 0; bit < 32; ++bit) {
    CAPTURE(bit);
    CHECK(errno_of(sys::set_task_mempolicy(t.pidfd(), mpol_bind, one.kernel_arg().nmask, maxnode, 1U << bit)) ==
          EINVAL);
  }
  CHECK(t.policy().mode == mpol_preferred);
}

TEST_CASE("set_task_mempolicy: PIDFD_SELF_THREAD is the calling thread") {
  const Roles& r = roles();
  REQUIRE(errno_of(set_task(sys::pidfd_self_thread, mpol_bind, node_set({r.b}))) == 0);
  auto self = get_self();
  auto via_task = get_task(sys::pidfd_self_thread);
  REQUIRE(errno_of(sys::set_mempolicy(mpol_default, nullptr, 0)) == 0);
  REQUIRE(self.has_value());
  REQUIRE(via_task.has_value());
  CHECK(self.value().mode == mpol_bind);
  CHECK(self.value().nodes == node_set({r.b}));
  CHECK(via_task.value().mode == mpol_bind);
  CHECK(via_task.value().nodes == node_set({r.b}));
}

TEST_CASE("set_task_mempolicy: PIDFD_SELF_THREAD_GROUP is the caller's leader and SELF_THREAD another thread itself") {
  // A second thread of this process names itself and its leader (the thread doctest runs on).
  const Roles& r = roles();
  REQUIRE(::getpid() == static_cast<pid_t>(::syscall(SYS_gettid)));  // the cases run on the main thread
  int group_set = -1, self_set = -1, group_read = -1;
  PolicyView own_seen, group_seen;
  std::thread([&] {
    group_set = errno_of(set_task(sys::pidfd_self_thread_group, mpol_preferred, node_set({r.m})));
    self_set = errno_of(set_task(sys::pidfd_self_thread, mpol_bind, node_set({r.b})));
    if (auto v = get_self()) own_seen = v.value();
    auto g = get_task(sys::pidfd_self_thread_group);
    group_read = errno_of(g);
    if (g) group_seen = g.value();
  }).join();
  auto leader = get_self();
  REQUIRE(errno_of(sys::set_mempolicy(mpol_default, nullptr, 0)) == 0);
  CHECK(group_set == 0);
  CHECK(self_set == 0);
  CHECK(group_read == 0);
  REQUIRE(leader.has_value());
  CHECK(leader.value().mode == mpol_preferred);  // the group sentinel reached the leader
  CHECK(leader.value().nodes == node_set({r.m}));
  CHECK(own_seen.mode == mpol_bind);  // the thread sentinel stayed in the thread
  CHECK(own_seen.nodes == node_set({r.b}));
  CHECK(group_seen.mode == mpol_preferred);
}

TEST_CASE("set_task_mempolicy: 0 is a descriptor number and not the caller") {
  // The series v1 read pid 0 as "the caller"; ABI 2 has no such rule. fd 0 is whatever this
  // process's stdin is, never a pidfd here: EBADF, and nothing changes.
  const Roles& r = roles();
  REQUIRE(get_self().value().mode == mpol_default);
  CHECK(errno_of(set_task(0, mpol_bind, node_set({r.b}))) == EBADF);
  CHECK(errno_of(get_task(0)) == EBADF);
  CHECK(get_self().value().mode == mpol_default);
}

TEST_CASE("set_task_mempolicy: a thread pidfd changes exactly that thread and a process pidfd the leader") {
  const Roles& r = roles();
  Target t(TargetOptions{.threads = 3});
  REQUIRE(errno_of(set_task(t.thread_pidfd(2), mpol_bind, node_set({r.b}))) == 0);
  CHECK(t.policy(2).mode == mpol_bind);
  CHECK(t.policy(0).mode == mpol_default);
  CHECK(t.policy(1).mode == mpol_default);
  CHECK(get_task(t.thread_pidfd(2)).value().mode == mpol_bind);
  CHECK(get_task(t.thread_pidfd(1)).value().mode == mpol_default);
  CHECK(get_task(t.pidfd()).value().mode == mpol_default);  // the process pidfd reads the leader
  const Reply on2 = t.alloc(64, 2);
  const Reply on1 = t.alloc(64, 1);
  INFO("thread 2: " << on2.histogram() << "; thread 1: " << on1.histogram());
  CHECK(on2.counts[r.b] == 64);
  CHECK(on1.counts[r.a] == 64);

  REQUIRE(errno_of(set_task(t.pidfd(), mpol_preferred, node_set({r.m}))) == 0);
  CHECK(t.policy(0).mode == mpol_preferred);
  CHECK(t.policy(1).mode == mpol_default);
  CHECK(t.policy(2).mode == mpol_bind);
  CHECK(read_text(proc_file(t.pid())).value() == "prefer:" + std::to_string(r.m) + "\n");
  CHECK(read_text(proc_file(t.pid(), t.tid(2))).value() == "bind:" + std::to_string(r.b) + "\n");
  CHECK(read_text(proc_file(t.pid(), t.tid(1))).value() == "default\n");
  // The leader's own thread pidfd names the same thread as the process pidfd.
  REQUIRE(errno_of(set_task(t.thread_pidfd(0), mpol_bind, node_set({r.m}))) == 0);
  CHECK(get_task(t.pidfd()).value().mode == mpol_bind);
  CHECK(t.policy(0).mode == mpol_bind);
}

TEST_CASE("set_task_mempolicy: the thread pidfd of a thread that exited is ESRCH while its process lives") {
  const Roles& r = roles();
  // A forked child with a second thread that ends when the test writes to `go`.
  int go[2];
  int tid_pipe[2];
  REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(tid_pipe, O_CLOEXEC) == 0);
  std::fflush(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::thread([&] {
      const auto tid = static_cast<pid_t>(::syscall(SYS_gettid));
      (void)!::write(tid_pipe[1], &tid, sizeof(tid));
      char c = 0;
      (void)!::read(go[0], &c, 1);  // ends when the test says so
    }).join();
    for (;;) ::pause();
  }
  pid_t tid = 0;
  REQUIRE(detail::read_full(tid_pipe[0], &tid, sizeof(tid)));
  Pidfd thread_fd = open_pidfd(tid, sys::pidfd_thread);
  Pidfd process_fd = open_pidfd(child);
  REQUIRE(errno_of(set_task(thread_fd.get(), mpol_bind, node_set({r.b}))) == 0);
  REQUIRE(::write(go[1], "x", 1) == 1);  // the thread exits; the process stays
  for (int i = 0; i < 500 && errno_of(get_task(thread_fd.get())) == 0; ++i) ::usleep(10'000);
  CHECK(errno_of(get_task(thread_fd.get())) == ESRCH);
  CHECK(errno_of(set_task(thread_fd.get(), mpol_bind, node_set({r.b}))) == ESRCH);
  CHECK(errno_of(get_task(process_fd.get())) == 0);  // the leader is untouched by it
  CHECK(get_task(process_fd.get()).value().mode == mpol_default);
  for (int fd : {go[0], go[1], tid_pipe[0], tid_pipe[1]}) ::close(fd);
  taskmpol_test::kill_and_reap(child);
}

TEST_CASE("set_task_mempolicy: only new allocations follow and existing pages stay") {
  const Roles& r = roles();
  Target t;
  const unsigned long range = t.map(64);
  const Reply before = t.touch(range, 64);
  INFO("before: " << before.histogram());
  REQUIRE(before.counts[r.a] == 64);
  REQUIRE(errno_of(set_task(t.pidfd(), mpol_bind, node_set({r.m}))) == 0);
  const Reply old_pages = t.query(range, 64);
  const Reply new_pages = t.alloc(64);
  INFO("old pages after: " << old_pages.histogram() << "; new pages: " << new_pages.histogram());
  CHECK(old_pages.counts[r.a] == 64);
  CHECK(new_pages.counts[r.m] == 64);
}

TEST_CASE("every call: descriptors that are not pidfds are EBADF") {
  const Roles& r = roles();
  const NodeMask b = node_set({r.b});
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  const int root_dir = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(root_dir >= 0);
  const std::string own_dir = "/proc/" + std::to_string(::getpid());
  const int proc_dir = ::open(own_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // pidfd-like, but not one
  REQUIRE(proc_dir >= 0);
  const int file = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  REQUIRE(file >= 0);
  // INT_MAX and -1 are not open; -10001 is negative and not a sentinel.
  for (int fd : {INT_MAX, -1, -10001, -19999, pipe_fds[0], root_dir, proc_dir, file}) {
    CAPTURE(fd);
    CHECK(errno_of(set_task(fd, mpol_bind, b)) == EBADF);
    CHECK(errno_of(get_task(fd)) == EBADF);
    CHECK(errno_of(task_mbind(fd, fixed_range, bytes(1), mpol_bind, b)) == EBADF);
    CHECK(errno_of(sys::set_task_mempolicy_home_node(fd, fixed_range, bytes(1), r.b, 0)) == EBADF);
  }
  for (int fd : {pipe_fds[0], pipe_fds[1], root_dir, proc_dir, file}) ::close(fd);
  CHECK(get_self().value().mode == mpol_default);
}

TEST_CASE("every call: exited and zombie and hidden and kernel tasks are refused") {
  const NodeMask b = node_set({roles().b});
  SUBCASE("the pidfd of a reaped child is ESRCH") {
    const Pidfd gone = reaped_pidfd();
    CHECK(errno_of(set_task(gone.get(), mpol_bind, b)) == ESRCH);
    CHECK(errno_of(get_task(gone.get())) == ESRCH);
    CHECK(errno_of(task_mbind(gone.get(), fixed_range, bytes(1), mpol_bind, b)) == ESRCH);
    CHECK(errno_of(sys::set_task_mempolicy_home_node(gone.get(), fixed_range, bytes(1), roles().b, 0)) == ESRCH);
  }
  SUBCASE("the pidfd of a zombie is ESRCH") {
    const pid_t zombie = ::fork();
    REQUIRE(zombie >= 0);
    if (zombie == 0) {
      ::usleep(50'000);
      ::_exit(0);
    }
    const Pidfd fd = open_pidfd(zombie);  // opened while it still lives (or is a zombie already)
    for (int i = 0; i < 500 && proc_state(zombie) != 'Z'; ++i) ::usleep(10'000);
    REQUIRE(proc_state(zombie) == 'Z');
    CHECK(errno_of(set_task(fd.get(), mpol_bind, b)) == ESRCH);
    CHECK(errno_of(get_task(fd.get())) == ESRCH);
    int status = 0;
    ::waitpid(zombie, &status, 0);
  }
  SUBCASE("a task outside the caller's pid namespace is EINVAL") {
    // A grandchild in a new pid namespace holds a pidfd of this test process, which it cannot see.
    const int err = in_child(0, [&] {
      auto outside = sys::pidfd_open(::getppid(), 0);
      if (!outside) return 1000;
      if (::unshare(CLONE_NEWPID) != 0) return 1001;
      const pid_t inner = ::fork();  // pid 1 of the new namespace
      if (inner < 0) return 1002;
      if (inner == 0) ::_exit(errno_of(set_task(outside.value(), mpol_bind, b)));
      int status = 0;
      while (::waitpid(inner, &status, 0) < 0 && errno == EINTR) {
      }
      return WIFEXITED(status) ? WEXITSTATUS(status) : 1003;
    });
    CHECK(err == EINVAL);
    CHECK(get_self().value().mode == mpol_default);
  }
  SUBCASE("kthreadd is a kernel thread: a change is EINVAL") {
    const Pidfd kthreadd = open_pidfd(2);
    CHECK(errno_of(set_task(kthreadd.get(), mpol_bind, b)) == EINVAL);
    CHECK(errno_of(task_mbind(kthreadd.get(), fixed_range, bytes(1), mpol_bind, b)) == EINVAL);
    CHECK(errno_of(sys::set_task_mempolicy_home_node(kthreadd.get(), fixed_range, bytes(1), roles().b, 0)) ==
          EINVAL);
    // The contract refuses changes only; a read (like the procfs file's) may answer "default".
    const auto seen = get_task(kthreadd.get());
    if (seen) {
      CHECK(seen.value().mode == mpol_default);
    } else {
      CHECK(err_of(seen.error()) == EINVAL);
    }
  }
}

TEST_CASE("every call: a recycled pid leaves the old pidfd with ESRCH and the new process unchanged") {
  const Roles& r = roles();
  const NodeMask b = node_set({r.b});
  const pid_t pid = taskmpol_test::sleeping_child();
  REQUIRE(pid > 0);
  const Pidfd old_fd = open_pidfd(pid);
  REQUIRE(errno_of(set_task(old_fd.get(), mpol_bind, b)) == 0);
  taskmpol_test::kill_and_reap(pid);
  // A new process at the very same pid (clone3 set_tid, as root).
  const pid_t again = taskmpol_test::sleeping_child_at(pid);
  REQUIRE_MESSAGE(again == pid, "clone3 set_tid: " << std::strerror(errno));
  CHECK(errno_of(set_task(old_fd.get(), mpol_preferred, node_set({r.m}))) == ESRCH);
  CHECK(errno_of(get_task(old_fd.get())) == ESRCH);
  CHECK(errno_of(task_mbind(old_fd.get(), fixed_range, bytes(1), mpol_bind, b)) == ESRCH);
  CHECK(errno_of(sys::set_task_mempolicy_home_node(old_fd.get(), fixed_range, bytes(1), r.b, 0)) == ESRCH);
  // The new process: its own pidfd, procfs and its policy show nothing of it.
  const Pidfd new_fd = open_pidfd(again);
  auto theirs = get_task(new_fd.get());
  REQUIRE(theirs.has_value());
  CHECK(theirs.value().mode == mpol_default);
  CHECK(read_text(proc_file(again)).value() == "default\n");
  taskmpol_test::kill_and_reap(again);
}

TEST_CASE("get_task_mempolicy: every flag of get_mempolicy is answered for the target") {
  const Roles& r = roles();
  Target t;
  const unsigned long range = t.map(16, fixed_range);
  REQUIRE(errno_of(task_mbind(t.pidfd(), range, bytes(16), mpol_bind, node_set({r.m}))) == 0);
  const Reply touched = t.touch(range, 4);
  REQUIRE(touched.counts[r.m] == 4);

  SUBCASE("MPOL_F_MEMS_ALLOWED") {
    auto allowed = get_task(t.pidfd(), 0, sys::mpol_f_mems_allowed);
    REQUIRE(allowed.has_value());
    CHECK(allowed.value().nodes == t.mems_allowed());
  }
  SUBCASE("MPOL_F_ADDR: the policy of a range of the target") {
    auto at = get_task(t.pidfd(), range + bytes(3), sys::mpol_f_addr);
    REQUIRE(at.has_value());
    CHECK(at.value().mode == mpol_bind);
    CHECK(at.value().nodes == node_set({r.m}));
    const PolicyView own = t.policy_at(range + bytes(3));
    CHECK(own.mode == at.value().mode);
    CHECK(own.nodes == at.value().nodes);
    // The task policy is untouched by task_mbind.
    CHECK(get_task(t.pidfd()).value().mode == mpol_default);
  }
  SUBCASE("MPOL_F_NODE | MPOL_F_ADDR: the node of a page of the target") {
    int node = -1;
    REQUIRE(errno_of(sys::get_task_mempolicy(t.pidfd(), &node, nullptr, 0, range + bytes(1),
                                             sys::mpol_f_node | sys::mpol_f_addr)) == 0);
    CHECK(node == static_cast<int>(r.m));
    const Reply own = t.ask({Op::node_at, range + bytes(1), 0});
    CHECK(own.mode == node);
  }
  SUBCASE("MPOL_F_NODE: the target's next interleave node") {
    REQUIRE(errno_of(set_task(t.pidfd(), mpol_interleave, node_set({r.b, r.m}))) == 0);
    // The target installs a policy set from outside itself, at its next return to user mode, and
    // resets its interleave position (il_prev) then; until then a remote MPOL_F_NODE answers from
    // the position it had (a documented snapshot). One round trip makes the target return to user
    // mode; after it, both views must agree exactly.
    const Reply settled = t.ask({Op::next_node, 0, 0});
    REQUIRE(settled.ok == 1);
    int node = -1;
    REQUIRE(errno_of(sys::get_task_mempolicy(t.pidfd(), &node, nullptr, 0, 0, sys::mpol_f_node)) == 0);
    const Reply own = t.ask({Op::next_node, 0, 0});
    REQUIRE(own.ok == 1);
    CHECK(settled.mode == own.mode);
    CHECK(node == own.mode);
    CHECK(node == static_cast<int>(std::min(r.b, r.m)));
  }
  SUBCASE("MPOL_F_NODE on a non-interleave policy is EINVAL as for get_mempolicy") {
    int node = -1;
    CHECK(errno_of(sys::get_task_mempolicy(t.pidfd(), &node, nullptr, 0, 0, sys::mpol_f_node)) == EINVAL);
  }
  SUBCASE("invalid flag combinations") {
    CHECK(errno_of(get_task(t.pidfd(), 0, 1UL << 3)) == EINVAL);
    CHECK(errno_of(get_task(t.pidfd(), range, 0)) == EINVAL);
    CHECK(errno_of(get_task(t.pidfd(), 0, sys::mpol_f_mems_allowed | sys::mpol_f_node)) == EINVAL);
    CHECK(errno_of(get_task(t.pidfd(), 0, sys::mpol_f_mems_allowed | sys::mpol_f_addr)) == EINVAL);
  }
  SUBCASE("MPOL_F_ADDR on an address the target has not mapped") {
    CHECK(errno_of(get_task(t.pidfd(), fixed_range + bytes(4096), sys::mpol_f_addr)) == EFAULT);
  }
  SUBCASE("a mask too small for the possible nodes") {
    int mode = -1;
    Words w{};
    CHECK(errno_of(sys::get_task_mempolicy(t.pidfd(), &mode, w.data(), 2, 0, 0)) == EINVAL);
  }
}

TEST_CASE("task_mbind: bind a range of the target and its pages there land on the node") {
  const Roles& r = roles();
  Target t;
  const unsigned long range = t.map(64, fixed_range);
  REQUIRE(errno_of(task_mbind(t.pidfd(), range, bytes(64), mpol_bind, node_set({r.m}))) == 0);
  const PolicyView own = t.policy_at(range);
  CHECK(own.mode == mpol_bind);
  CHECK(own.nodes == node_set({r.m}));
  CHECK(t.policy().mode == mpol_default);  // the task policy is not the VMA policy
  const Reply in_range = t.touch(range, 64);
  const Reply elsewhere = t.alloc(64);
  INFO("in range: " << in_range.histogram() << "; elsewhere: " << elsewhere.histogram());
  CHECK(in_range.counts[r.m] == 64);
  CHECK(elsewhere.counts[r.a] == 64);
}

TEST_CASE("task_mbind: interleave a range of the target page by page") {
  const Roles& r = roles();
  Target t;
  const unsigned long range = t.map(60, fixed_range);
  REQUIRE(errno_of(task_mbind(t.pidfd(), range, bytes(60), mpol_interleave, r.memory())) == 0);
  const Reply pages = t.touch(range, 60);
  INFO("pages: " << pages.histogram());
  CHECK(pages.counts[r.a] == 20);
  CHECK(pages.counts[r.b] == 20);
  CHECK(pages.counts[r.m] == 20);
  for (std::size_t i = 0; i + 1 < 60; ++i) {
    CAPTURE(i);
    CHECK(pages.status[i] != pages.status[i + 1]);
  }
}

TEST_CASE("task_mbind: part of a range splits the target's mapping like mbind") {
  const Roles& r = roles();
  Target t;
  const unsigned long range = t.map(12, fixed_range);
  REQUIRE(errno_of(task_mbind(t.pidfd(), range + bytes(4), bytes(4), mpol_preferred, node_set({r.b}))) == 0);
  CHECK(t.policy_at(range).mode == mpol_default);
  CHECK(t.policy_at(range + bytes(4)).mode == mpol_preferred);
  CHECK(t.policy_at(range + bytes(8)).mode == mpol_default);
  const Reply pages = t.touch(range, 12);
  for (int i = 0; i < 12; ++i) {
    CAPTURE(i);
    CHECK(pages.status[static_cast<std::size_t>(i)] == static_cast<int>(i >= 4 && i < 8 ? r.b : r.a));
  }
}

TEST_CASE("task_mbind: argument block and flag checks") {
  const Roles& r = roles();
  Target t;
  const unsigned long range = t.map(8, fixed_range);
  const NodeMask one = node_set({r.b});
  sys::task_mbind_args a{};
  a.pidfd = t.pidfd();
  a.mode = mpol_bind;
  a.start = range;
  a.len = bytes(8);
  a.nmask = reinterpret_cast<std::uintptr_t>(one.kernel_arg().nmask);
  a.maxnode = one.kernel_arg().maxnode;

  SUBCASE("the published size works") {
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == 0);
    CHECK(t.policy_at(range).mode == mpol_bind);
  }
  SUBCASE("MPOL_MF_MOVE and MPOL_MF_MOVE_ALL on another task are accepted (pages: task_handle.test.cpp)") {
    a.flags = sys::mpol_mf_move;
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == 0);
    CHECK(t.policy_at(range).mode == mpol_bind);
    a.flags = sys::mpol_mf_move_all | sys::mpol_mf_strict;  // root: CAP_SYS_NICE
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == 0);
  }
  SUBCASE("unknown flags are EINVAL") {
    a.flags = 1U << 3;
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == EINVAL);
  }
  SUBCASE("a size below the first version is EINVAL") {
    CHECK(errno_of(sys::task_mbind(&a, 40)) == EINVAL);
    CHECK(errno_of(sys::task_mbind(&a, 0)) == EINVAL);
  }
  SUBCASE("a larger size with a zero tail is accepted and with a non-zero tail E2BIG") {
    struct {
      sys::task_mbind_args args;
      std::uint64_t tail;
    } big{a, 0};
    CHECK(errno_of(sys::task_mbind(&big.args, sizeof(big))) == 0);
    big.tail = 1;
    CHECK(errno_of(sys::task_mbind(&big.args, sizeof(big))) == E2BIG);
  }
  SUBCASE("reserved must be zero") {
    a.reserved = 1;
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == EINVAL);
  }
  SUBCASE("an unaligned start is EINVAL") {
    a.start = range + 16;
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == EINVAL);
  }
  SUBCASE("a range the target has not mapped is EFAULT") {
    a.start = range + bytes(4096);
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == EFAULT);
  }
  SUBCASE("a node without memory is EINVAL") {
    const NodeMask nomem = node_set({r.c});
    a.nmask = reinterpret_cast<std::uintptr_t>(nomem.kernel_arg().nmask);
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == EINVAL);
  }
  SUBCASE("a size above the page size is E2BIG even with a zero tail") {
    std::vector<unsigned char> block(static_cast<std::size_t>(page_size) + 8, 0);
    std::memcpy(block.data(), &a, sizeof(a));
    CHECK(errno_of(sys::task_mbind(reinterpret_cast<const sys::task_mbind_args*>(block.data()), block.size())) ==
          E2BIG);
    // A whole page with a zero tail is still a valid (grown) block.
    CHECK(errno_of(sys::task_mbind(reinterpret_cast<const sys::task_mbind_args*>(block.data()),
                                   static_cast<std::size_t>(page_size))) == 0);
    CHECK(t.policy_at(range).mode == mpol_bind);
  }
  SUBCASE("the pidfd of a missing task is ESRCH") {
    const Pidfd gone = reaped_pidfd();
    a.pidfd = gone.get();
    CHECK(errno_of(sys::task_mbind(&a, sizeof(a))) == ESRCH);
  }
  SUBCASE("an unreadable argument block is EFAULT") {
    CHECK(errno_of(sys::task_mbind(reinterpret_cast<const sys::task_mbind_args*>(8), sizeof(a))) == EFAULT);
  }
}

TEST_CASE("task_mbind: PIDFD_SELF_THREAD with MPOL_MF_MOVE moves the caller's own pages") {
  const Roles& r = roles();
  const unsigned long len = bytes(16);
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  ::madvise(p, len, MADV_NOHUGEPAGE);
  std::memset(p, 1, len);
  const auto start = reinterpret_cast<unsigned long>(p);
  const int err =
      errno_of(task_mbind(sys::pidfd_self_thread, start, len, mpol_bind, node_set({r.m}),
                          sys::mpol_mf_move | sys::mpol_mf_strict));
  std::array<void*, 16> pages{};
  std::array<int, 16> status{};
  for (std::size_t i = 0; i < 16; ++i) pages[i] = static_cast<char*>(p) + i * static_cast<std::size_t>(page_size);
  const auto q = sys::move_pages(0, 16, pages.data(), nullptr, status.data(), 0);
  ::munmap(p, len);
  CHECK(err == 0);
  REQUIRE(q.has_value());
  for (int s : status) CHECK(s == static_cast<int>(r.m));
}

TEST_CASE("set_task_mempolicy_home_node: the target's bind and prefer (many) ranges") {
  const Roles& r = roles();
  Target t;
  const unsigned long bind_range = t.map(32, fixed_range);
  const unsigned long many_range = t.map(32, fixed_range + bytes(64));
  const unsigned long il_range = t.map(8, fixed_range + bytes(128));
  const unsigned long bare_range = t.map(8, fixed_range + bytes(192));
  REQUIRE(errno_of(task_mbind(t.pidfd(), bind_range, bytes(32), mpol_bind, r.memory())) == 0);
  REQUIRE(errno_of(task_mbind(t.pidfd(), many_range, bytes(32), mpol_preferred_many, node_set({r.a, r.b}))) == 0);
  REQUIRE(errno_of(task_mbind(t.pidfd(), il_range, bytes(8), mpol_interleave, node_set({r.a, r.b}))) == 0);

  CHECK(errno_of(sys::set_task_mempolicy_home_node(t.pidfd(), bind_range, bytes(32), r.m, 0)) == 0);
  CHECK(errno_of(sys::set_task_mempolicy_home_node(t.pidfd(), many_range, bytes(32), r.b, 0)) == 0);
  const Reply bound = t.touch(bind_range, 32);
  const Reply many = t.touch(many_range, 32);
  INFO("bind a+b+m home m: " << bound.histogram() << "; prefer (many) a+b home b: " << many.histogram());
  CHECK(bound.counts[r.m] == 32);
  CHECK(many.counts[r.b] == 32);
  // The home node does not show in the policy.
  const PolicyView at = get_task(t.pidfd(), bind_range, sys::mpol_f_addr).value();
  CHECK(at.mode == mpol_bind);
  CHECK(at.nodes == r.memory());

  CHECK(errno_of(sys::set_task_mempolicy_home_node(t.pidfd(), il_range, bytes(8), r.b, 0)) == EOPNOTSUPP);
  CHECK(errno_of(sys::set_task_mempolicy_home_node(t.pidfd(), bare_range, bytes(8), r.b, 0)) == ENOENT);
  CHECK(errno_of(sys::set_task_mempolicy_home_node(t.pidfd(), bind_range, bytes(32), r.b, 1)) == EINVAL);
  CHECK(errno_of(sys::set_task_mempolicy_home_node(t.pidfd(), bind_range, bytes(32), 4, 0)) == EINVAL);
  CHECK(errno_of(sys::set_task_mempolicy_home_node(t.pidfd(), bind_range + 8, bytes(32), r.b, 0)) == EINVAL);
  CHECK(errno_of(sys::set_task_mempolicy_home_node(INT_MAX, bind_range, bytes(32), r.b, 0)) == EBADF);
  const Pidfd gone = reaped_pidfd();
  CHECK(errno_of(sys::set_task_mempolicy_home_node(gone.get(), bind_range, bytes(32), r.b, 0)) == ESRCH);
}

// Every pidfd below is opened by root (the Target) and inherited by the unprivileged helper
// child: the rights are checked against the caller of each call, whoever opened the pidfd.
TEST_CASE("permissions: owner or CAP_SYS_NICE to change and ptrace read access to look") {
  constexpr uid_t nobody = 65534;
  constexpr uid_t other_user = 65533;
  const Roles& r = roles();
  const NodeMask b = node_set({r.b});
  const std::string bind_b = "bind:" + std::to_string(r.b);

  SUBCASE("an unprivileged caller cannot touch a root task") {
    Target root_target;
    const int fd = root_target.pidfd();
    const pid_t pid = root_target.pid();
    const unsigned long range = root_target.map(4, fixed_range);
    CHECK(in_child(nobody, [&] { return errno_of(set_task(fd, mpol_bind, b)); }) == EPERM);
    CHECK(in_child(nobody, [&] { return errno_of(task_mbind(fd, range, bytes(4), mpol_bind, b)); }) == EPERM);
    CHECK(in_child(nobody, [&] {
            return errno_of(sys::set_task_mempolicy_home_node(fd, range, bytes(4), r.b, 0));
          }) == EPERM);
    CHECK(in_child(nobody, [&] { return errno_of(get_task(fd)); }) == EPERM);
    const int write_err = in_child(nobody, [&] { return errno_of(write_text(proc_file(pid), bind_b)); });
    CHECK((write_err == EPERM || write_err == EACCES));
    CHECK(root_target.policy().mode == mpol_default);
    CHECK(root_target.policy_at(range).mode == mpol_default);
  }
  SUBCASE("the same user may change and read its own other process") {
    Target mine(TargetOptions{.uid = nobody});
    const int fd = mine.pidfd();
    const pid_t pid = mine.pid();
    CHECK(in_child(nobody, [&] { return errno_of(set_task(fd, mpol_bind, b)); }) == 0);
    CHECK(mine.policy().mode == mpol_bind);
    CHECK(in_child(nobody, [&] { return errno_of(get_task(fd)); }) == 0);
    CHECK(in_child(nobody, [&] { return errno_of(write_text(proc_file(pid), "prefer:" + std::to_string(r.m))); }) ==
          0);
    CHECK(mine.policy().mode == mpol_preferred);
    CHECK(in_child(nobody, [&] { return errno_of(read_text(proc_file(pid))); }) == 0);
  }
  SUBCASE("a range of the same user's process also needs ptrace attach rights") {
    // The helper is the target's sibling, not its ancestor: Yama's scope 1 (descendants only),
    // 2 (CAP_SYS_PTRACE only) and 3 (no attach) refuse it, scope 0 or no Yama allow it.
    Target mine(TargetOptions{.uid = nobody});
    const int fd = mine.pidfd();
    const unsigned long range = mine.map(4, fixed_range);
    const int scope = ptrace_scope();
    const int expected = scope == 0 ? 0 : EPERM;
    CAPTURE(scope);
    CHECK(in_child(nobody, [&] { return errno_of(task_mbind(fd, range, bytes(4), mpol_bind, b)); }) == expected);
    CHECK(in_child(nobody, [&] { return errno_of(sys::set_task_mempolicy_home_node(fd, range, bytes(4), r.m, 0)); }) ==
          expected);
    CHECK(mine.policy_at(range).mode == (expected == 0 ? mpol_bind : mpol_default));
    // set_task_mempolicy needs no ptrace right: the owner may, whatever the scope.
    CHECK(in_child(nobody, [&] { return errno_of(set_task(fd, mpol_bind, b)); }) == 0);
  }
  SUBCASE("another unprivileged user may not") {
    Target theirs(TargetOptions{.uid = nobody});
    const int fd = theirs.pidfd();
    const pid_t pid = theirs.pid();
    CHECK(in_child(other_user, [&] { return errno_of(set_task(fd, mpol_bind, b)); }) == EPERM);
    const int write_err = in_child(other_user, [&] { return errno_of(write_text(proc_file(pid), bind_b)); });
    CHECK((write_err == EPERM || write_err == EACCES));
    CHECK(theirs.policy().mode == mpol_default);
  }
  SUBCASE("root (CAP_SYS_NICE) may change anyone's") {
    Target theirs(TargetOptions{.uid = nobody});
    CHECK(errno_of(set_task(theirs.pidfd(), mpol_interleave, node_set({r.a, r.b}))) == 0);
    CHECK(theirs.policy().mode == mpol_interleave);
  }
}

}  // TEST_SUITE
