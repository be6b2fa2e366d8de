// SPDX-License-Identifier: MIT
// The library against a fake kernel behind its one seam (tests/support/fake_kernel.hpp): the paths
// that only fail in production -- EINTR, short writes, files that do not fit, ENOSYS from a seccomp
// profile, a thread that exits in the middle of a walk, the fallback from the series' syscalls to
// its procfs file -- and the guard that keeps the series' numbers away from kernels without its
// ABI 2. The seccomp cases at the end put a fake ABI file in front of the real kernel to show that
// the guard is what stops the calls (the control experiments of tests/system/series_guard).
#include <taskmpol/task.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code with operator<<, declared there

#include <atomic>
#include <cerrno>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/child.hpp"
#include "../support/fake_kernel.hpp"
#include "../support/grammar_printers.hpp"
#include "../support/skip.hpp"

namespace mp = taskmpol;
namespace sys = taskmpol::sys;
using mp::Mode;
using mp::ModeFlag;
using mp::NodeMask;
using mp::Policy;
using taskmpol_test::Call;
using taskmpol_test::FakeKernel;
using taskmpol_test::FakeKernelScope;

namespace {

constexpr long set_task_nr = 463;
constexpr long get_task_nr = 464;
constexpr long home_node_nr = 465;
constexpr long task_mbind_nr = 466;

std::size_t series_calls(const FakeKernel& k) {
  return k.count(set_task_nr) + k.count(get_task_nr) + k.count(home_node_nr) + k.count(task_mbind_nr);
}

Policy make(Mode m, const NodeMask& nodes, mp::ModeFlags flags = {}) { return Policy::make(m, flags, nodes).value(); }

// The task a pidfd argument of the fake names (call under the fake's lock: from on_syscall).
pid_t target_of(FakeKernel& k, long pidfd) {
  if (pidfd == sys::pidfd_self_thread) return k.tid;
  const auto it = k.fds.find(static_cast<int>(pidfd));
  return it == k.fds.end() ? 0 : it->second.task;
}

// A process 2000 with threads 2000, 2001, 2002, on a kernel with the series' ABI 2.
void three_threads(FakeKernel& k) {
  k.series(2);
  k.add_task(k.pid, k.tid);
  for (pid_t t : {2000, 2001, 2002}) k.add_task(2000, t);
}

}  // namespace

TEST_SUITE("kernel seam") {
  TEST_CASE("kernel seam: read_file retries EINTR") {
    FakeKernelScope k;
    k->add_file("/sys/a", "abc\n");
    k->inject(Call::openat, EINTR, 2);
    k->inject(Call::read, EINTR, 3);
    std::array<char, 16> buf{};
    const auto r = sys::read_file(AT_FDCWD, "/sys/a", buf);
    REQUIRE(r);
    CHECK(std::string(buf.data(), r.value()) == "abc\n");
    CHECK(k->faults.empty());
  }

  TEST_CASE("kernel seam: read_file reports a file larger than its buffer as EFBIG") {
    FakeKernelScope k;
    k->add_file("/sys/fits", std::string(16, 'x'));
    k->add_file("/sys/big", std::string(17, 'x'));
    std::array<char, 16> buf{};
    const auto fits = sys::read_file(AT_FDCWD, "/sys/fits", buf);
    REQUIRE(fits);
    CHECK(fits.value() == 16);
    const auto big = sys::read_file(AT_FDCWD, "/sys/big", buf);
    REQUIRE_FALSE(big);
    CHECK(big.error() == std::errc::file_too_large);
    CHECK(k->fds.empty());  // closed on every path
  }

  TEST_CASE("kernel seam: read_file passes the errno of open and read") {
    FakeKernelScope k;
    k->add_file("/sys/a", "1\n");
    std::array<char, 16> buf{};
    CHECK(sys::read_file(AT_FDCWD, "/sys/missing", buf).error() == std::errc::no_such_file_or_directory);
    k->inject(Call::read, EIO, 1);
    CHECK(sys::read_file(AT_FDCWD, "/sys/a", buf).error() == std::errc::io_error);
    CHECK(k->fds.empty());
  }

  TEST_CASE("kernel seam: write_file writes once and calls a short write EIO") {
    FakeKernelScope k;
    k->add_file("/proc/1/mempolicy", "default\n");
    k->inject(Call::write, EINTR, 2);
    REQUIRE(sys::write_file(AT_FDCWD, "/proc/1/mempolicy", "bind:0"));
    REQUIRE(k->writes.size() == 1);
    CHECK(k->writes[0].second == "bind:0");

    k->inject(Call::write, 0, 1);  // the kernel takes one byte less
    const auto short_write = sys::write_file(AT_FDCWD, "/proc/1/mempolicy", "bind:1");
    REQUIRE_FALSE(short_write);
    CHECK(short_write.error() == std::errc::io_error);
    CHECK(k->writes.size() == 2);  // never a second write to finish the text
    CHECK(k->fds.empty());
  }

  TEST_CASE("kernel seam: getpid and gettid go through the seam") {
    FakeKernelScope k;
    k->pid = 4242;
    k->tid = 4243;
    CHECK(sys::getpid() == 4242);
    CHECK(sys::gettid() == 4243);
  }
}

TEST_SUITE("series guard on a fake kernel") {
  TEST_CASE("series guard: a stock kernel gets no call of the series") {
    FakeKernelScope k;
    k->series(0);
    k->add_task(k->pid, k->tid);
    k->add_task(2000, 2000);
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    const Policy bind0 = make(Mode::bind, NodeMask::of<0>());
    CHECK(h.value().policy().error() == mp::errc::unsupported_kernel);
    CHECK(h.value().set_policy(bind0).error() == mp::errc::unsupported_kernel);
    CHECK(h.value().mbind({0x10000, 4096}, bind0).error() == mp::errc::unsupported_kernel);
    CHECK(h.value().set_home_node({0x10000, 4096}, 0).error() == mp::errc::unsupported_kernel);
    CHECK(h.value().mems_allowed().error() == mp::errc::unsupported_kernel);
    CHECK(mp::set_policy_on_all_threads(h.value(), bind0).error() == mp::errc::unsupported_kernel);
    CHECK(series_calls(*k) == 0);
    CHECK(k->writes.empty());  // nor the procfs file
  }

  TEST_CASE("series guard: a kernel with the series ABI 1 gets no call of the series") {
    FakeKernelScope k;
    k->series(1);
    k->add_task(k->pid, k->tid);
    k->add_task(2000, 2000);
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    CHECK(h.value().policy().error() == mp::errc::series_abi_1);
    CHECK(h.value().set_policy(make(Mode::bind, NodeMask::of<0>())).error() == mp::errc::series_abi_1);
    CHECK(sys::set_task_mempolicy(sys::pidfd_self_thread, 0, nullptr, 0, 0).error() == mp::errc::series_abi_1);
    CHECK(series_calls(*k) == 0);
    CHECK(k->writes.empty());
  }

  TEST_CASE("series guard: an unreadable ABI file is no licence to call") {
    FakeKernelScope k;
    k->series(1);
    k->add_file(sys::series_abi_path, "two\n");
    k->add_task(2000, 2000);
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    CHECK(h.value().policy().error() == mp::errc::series_abi_unknown);
    CHECK(series_calls(*k) == 0);
  }

  TEST_CASE("series guard: ABI 2 calls address the handle's pidfd") {
    FakeKernelScope k;
    three_threads(*k);
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    REQUIRE(h.value().set_policy(make(Mode::interleave, NodeMask::of<0, 1>())));
    REQUIRE(k->count(set_task_nr) == 1);
    CHECK(k->syscalls.back().second[0] == h.value().pidfd());
    const auto back = h.value().policy();
    REQUIRE(back);
    CHECK(back.value() == make(Mode::interleave, NodeMask::of<0, 1>()));
  }

  TEST_CASE("kernel seam: a syscall interrupted by a signal is issued again") {
    FakeKernelScope k;
    three_threads(*k);
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    k->inject(Call::syscall, EINTR, 3, set_task_nr);
    REQUIRE(h.value().set_policy(make(Mode::bind, NodeMask::of<1>())));
    CHECK(k->faults.empty());               // all three EINTRs were seen ...
    CHECK(k->count(set_task_nr) == 1);      // ... and the fourth call got through
    k->inject(Call::syscall, EINTR, 1, get_task_nr);
    k->inject(Call::syscall, EPERM, 1, get_task_nr);
    CHECK(h.value().policy().error() == std::errc::operation_not_permitted);  // only EINTR is retried
    CHECK(k->faults.empty());
  }
}

TEST_SUITE("backends") {
  TEST_CASE("backends: series syscalls refused by seccomp fall back to the procfs file") {
    FakeKernelScope k;
    three_threads(*k);
    k->add_task(2000, 2000, "interleave:0-1");
    k->on_syscall = [](long nr, const std::array<long, 6>&) -> std::optional<long> {
      if (nr >= set_task_nr && nr <= task_mbind_nr) return -ENOSYS;
      return std::nullopt;
    };
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    mp::TaskDiagnostic diag;
    const auto p = h.value().policy(&diag);
    REQUIRE(p);
    CHECK(p.value() == make(Mode::interleave, NodeMask::of<0, 1>()));
    CHECK(diag.backend == mp::Backend::procfs);
    CHECK(k->count(get_task_nr) == 1);  // tried first

    REQUIRE(h.value().set_policy(make(Mode::bind, NodeMask::of<1>(), ModeFlag::static_nodes), &diag));
    CHECK(diag.backend == mp::Backend::procfs);
    REQUIRE_FALSE(k->writes.empty());
    CHECK(k->writes.back().first == "/proc/2000/task/2000/mempolicy");
    CHECK(k->writes.back().second == "bind=static:1");

    // A range has no procfs file: the ENOSYS stands.
    const auto r = h.value().mbind({0x10000, 4096}, make(Mode::bind, NodeMask::of<0>()));
    CHECK(r.error() == std::errc::function_not_supported);
  }

  TEST_CASE("backends: any other answer of the syscalls is final") {
    FakeKernelScope k;
    three_threads(*k);
    k->on_syscall = [](long nr, const std::array<long, 6>&) -> std::optional<long> {
      if (nr == get_task_nr) return -EPERM;
      return std::nullopt;
    };
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    mp::TaskDiagnostic diag;
    CHECK(h.value().policy(&diag).error() == std::errc::operation_not_permitted);
    CHECK(diag.backend == mp::Backend::syscalls);
    CHECK(diag.error == std::errc::operation_not_permitted);
    CHECK(diag.message().find("CAP_SYS_NICE") != std::string::npos);
  }

  TEST_CASE("backends: the procfs backend reads the longest policy text") {
    // The longest node list (runs of two separated by one gap) under the longest mode and flags:
    // 2,706 characters, far beyond a fixed 512-byte buffer.
    NodeMask longest_list;
    for (std::size_t n = 0; n < NodeMask::capacity; ++n)
      if (n % 3 != 2) REQUIRE(longest_list.set(n));
    REQUIRE(longest_list.list_length() == NodeMask::max_list_chars);
    const Policy longest =
        make(Mode::preferred_many, longest_list, ModeFlag::relative_nodes | ModeFlag::numa_balancing);
    const std::string text = mp::to_string(longest);
    CHECK(text.size() > 2700);
    CHECK(text.size() <= mp::max_policy_chars);

    FakeKernelScope k;
    three_threads(*k);
    k->add_task(2000, 2001, text);
    auto h = mp::TaskHandle::thread(2001);
    REQUIRE(h);
    h.value().set_backend(mp::Backend::procfs);
    const auto p = h.value().policy();
    REQUIRE(p);
    CHECK(p.value() == longest);
  }

  TEST_CASE("backends: a forced backend out of range is refused") {
    FakeKernelScope k;
    three_threads(*k);
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    h.value().set_backend(static_cast<mp::Backend>(77));
    CHECK(h.value().policy().error() == mp::errc::backend_unavailable);
    CHECK(series_calls(*k) == 0);
  }
}

TEST_SUITE("mbind") {
  // task_mbind on another process passes the move flags through (the series moves its pages, as
  // mbind(2) run by it), and its refusals get advice for the cause: a remote move's EINVAL names
  // both possible causes, since a series without remote moves answers so too with the same ABI.
  TEST_CASE("mbind: move flags reach task_mbind and refusals name their causes") {
    FakeKernelScope k;
    three_threads(*k);
    k->add_task(k->pid, 1001);  // another thread of the caller's own process
    unsigned seen_flags = ~0U;
    int answer = 0;
    k->on_syscall = [&](long nr, const std::array<long, 6>& a) -> std::optional<long> {
      if (nr != task_mbind_nr) return std::nullopt;
      seen_flags = reinterpret_cast<const sys::task_mbind_args*>(a[0])->flags;
      return -answer;
    };
    auto other = mp::TaskHandle::open(2000);
    REQUIRE(other);
    const Policy bind0 = make(Mode::bind, NodeMask::of<0>());
    const mp::AddressRange range{0x10000, 4096};
    mp::TaskDiagnostic d;

    REQUIRE(other.value().mbind(range, bind0, mp::MbindFlag::move, &d));
    CHECK(seen_flags == sys::mpol_mf_move);
    REQUIRE(other.value().mbind(range, bind0, mp::MbindFlag::move_all | mp::MbindFlag::strict, &d));
    CHECK(seen_flags == (sys::mpol_mf_move_all | sys::mpol_mf_strict));
    CHECK(d.backend == mp::Backend::syscalls);

    answer = EINVAL;
    CHECK(other.value().mbind(range, bind0, mp::MbindFlag::move, &d).error() == std::errc::invalid_argument);
    CHECK(d.advice == mp::detail::advice_move);
    const std::string text = d.message();
    CHECK(text.find("cannot move another process's pages yet") != std::string::npos);
    CHECK(text.find("nodes that have memory") != std::string::npos);
    CHECK(text.find("TaskHandle::migrate_pages") != std::string::npos);
    CHECK(other.value().mbind(range, bind0, mp::MbindFlag::move_all, &d).error() == std::errc::invalid_argument);
    CHECK(d.advice == mp::detail::advice_move);
    // A node outside the target's cpuset (its Mems_allowed: 0-1) is named, and so is the kernel.
    const auto outside = other.value().mbind(range, make(Mode::bind, NodeMask::of<5>()), mp::MbindFlag::move, &d);
    CHECK(outside.error() == mp::errc::nodes_not_allowed);
    CHECK(d.node == 5);
    CHECK(d.advice == mp::detail::advice_move);
    // Without a move, an EINVAL is the policy's alone.
    CHECK(other.value().mbind(range, bind0, {}, &d).error() == std::errc::invalid_argument);
    CHECK(d.advice != mp::detail::advice_move);
    // The caller's own process: the series always moved its pages, so EINVAL is not about moving.
    auto sibling = mp::TaskHandle::thread(1001);
    REQUIRE(sibling);
    CHECK(sibling.value().mbind(range, bind0, mp::MbindFlag::move, &d).error() == std::errc::invalid_argument);
    CHECK(d.advice != mp::detail::advice_move);

    answer = EPERM;
    CHECK(other.value().mbind(range, bind0, mp::MbindFlag::move_all, &d).error() == std::errc::operation_not_permitted);
    CHECK(d.advice == mp::detail::advice_move_all);
    CHECK(d.message().find("needs CAP_SYS_NICE (run as root), as mbind(2)'s MPOL_MF_MOVE_ALL") != std::string::npos);
    CHECK(other.value().mbind(range, bind0, mp::MbindFlag::move, &d).error() == std::errc::operation_not_permitted);
    CHECK(d.advice == mp::detail::advice_permission_range);

    answer = EIO;
    CHECK(other.value().mbind(range, bind0, mp::MbindFlag::move | mp::MbindFlag::strict, &d).error() ==
          std::errc::io_error);
    CHECK(d.advice == mp::detail::advice_strict);
    CHECK(d.error == std::errc::io_error);
  }
}

TEST_SUITE("all threads") {
  TEST_CASE("all threads: a thread that exits in mid-walk is counted as exited") {
    FakeKernelScope k;
    three_threads(*k);
    FakeKernel& fake = *k;
    k->on_syscall = [&fake](long nr, const std::array<long, 6>& a) -> std::optional<long> {
      if (nr == set_task_nr && target_of(fake, a[0]) == 2001) {
        fake.exit_task(2001);
        return -ESRCH;
      }
      return std::nullopt;
    };
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    const auto report = mp::set_policy_on_all_threads(h.value(), make(Mode::bind, NodeMask::of<1>()));
    REQUIRE(report);
    CHECK(report.value().threads_set == 2);
    CHECK(report.value().threads_exited == 1);
    CHECK(report.value().failures.empty());
    CHECK(report.value().ok());
  }

  // 6.12's pidfd_open() finds the number of a thread that is being released but no task behind
  // it: EINVAL (pidfd_prepare()), the errno that also means "no PIDFD_THREAD before 6.9".
  TEST_CASE("all threads: a thread released before its pidfd is opened is counted as exited") {
    FakeKernelScope k;
    three_threads(*k);
    FakeKernel& fake = *k;
    k->on_syscall = [&fake](long nr, const std::array<long, 6>& a) -> std::optional<long> {
      if (nr == SYS_pidfd_open && a[0] == 2001 && (a[1] & sys::pidfd_thread) != 0) {
        fake.exit_task(2001);
        return -EINVAL;
      }
      return std::nullopt;
    };
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    const auto report = mp::set_policy_on_all_threads(h.value(), make(Mode::bind, NodeMask::of<1>()));
    REQUIRE(report);
    CHECK(report.value().threads_set == 2);
    CHECK(report.value().threads_exited == 1);
    CHECK(report.value().failures.empty());
  }

  TEST_CASE("all threads: a kernel without PIDFD_THREAD is unsupported, not an exited thread") {
    FakeKernelScope k;
    three_threads(*k);
    k->on_syscall = [](long nr, const std::array<long, 6>& a) -> std::optional<long> {
      if (nr == SYS_pidfd_open && (a[1] & sys::pidfd_thread) != 0) return -EINVAL;
      return std::nullopt;
    };
    CHECK(mp::TaskHandle::thread(2001).error() == mp::errc::unsupported_kernel);
  }

  TEST_CASE("all threads: a refusal carries its diagnostic and is never asked again") {
    FakeKernelScope k;
    three_threads(*k);
    FakeKernel& fake = *k;
    k->on_syscall = [&fake](long nr, const std::array<long, 6>& a) -> std::optional<long> {
      if (nr == set_task_nr && target_of(fake, a[0]) == 2002) return -EPERM;
      return std::nullopt;
    };
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    const auto report = mp::set_policy_on_all_threads(h.value(), make(Mode::bind, NodeMask::of<1>()));
    REQUIRE(report);
    REQUIRE(report.value().failures.size() == 1);
    const mp::ThreadFailure& f = report.value().failures.front();
    CHECK(f.tid == 2002);
    CHECK(f.error == std::errc::operation_not_permitted);
    CHECK(f.diagnostic.error == f.error);
    CHECK(f.diagnostic.tid == 2002);
    CHECK(f.message().find("CAP_SYS_NICE") != std::string::npos);
    CHECK(k->count(set_task_nr) == 3);  // one call per thread: the reason came with the answer
  }

  TEST_CASE("all threads: when no thread takes the policy the diagnostic says why") {
    FakeKernelScope k;
    three_threads(*k);
    k->on_syscall = [](long nr, const std::array<long, 6>&) -> std::optional<long> {
      if (nr == set_task_nr) return -EPERM;
      return std::nullopt;
    };
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    mp::TaskDiagnostic diag;
    const auto report = mp::set_policy_on_all_threads(h.value(), make(Mode::bind, NodeMask::of<1>()), {}, &diag);
    REQUIRE_FALSE(report);
    CHECK(report.error() == std::errc::operation_not_permitted);
    CHECK(diag.error == report.error());
    CHECK(diag.message().find("CAP_SYS_NICE") != std::string::npos);
    CHECK(k->count(set_task_nr) == 3);
  }

  TEST_CASE("all threads: threads listed while the walk runs are reached") {
    FakeKernelScope k;
    three_threads(*k);
    FakeKernel& fake = *k;
    // The first change makes the process create another thread (which inherits the old policy,
    // as the kernel would have it when its creator had not been reached yet).
    bool spawned = false;
    k->on_syscall = [&fake, &spawned](long nr, const std::array<long, 6>&) -> std::optional<long> {
      if (nr == set_task_nr && !spawned) {
        spawned = true;
        fake.add_task(2000, 2003);
      }
      return std::nullopt;
    };
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    const auto report = mp::set_policy_on_all_threads(h.value(), make(Mode::bind, NodeMask::of<1>()));
    REQUIRE(report);
    CHECK(report.value().threads_set == 4);
    CHECK(report.value().stable);
    CHECK(fake.policies.count(2003) == 1);
  }
}

TEST_SUITE("threads") {
  TEST_CASE("threads: const calls on one handle from several threads") {
    // Run under ThreadSanitizer by ./check (the tsan stage): a handle keeps no state that its
    // const calls write, so this must report nothing.
    FakeKernelScope k;
    three_threads(*k);
    auto h = mp::TaskHandle::open(2000);
    REQUIRE(h);
    const mp::TaskHandle& handle = h.value();
    std::atomic<int> failures{0};
    auto work = [&] {
      for (int i = 0; i < 200; ++i) {
        mp::TaskDiagnostic diag;
        if (!handle.mems_allowed(&diag)) ++failures;
        if (!handle.policy(&diag)) ++failures;
        if (diag.backend != mp::Backend::syscalls) ++failures;
      }
    };
    std::thread a(work);
    std::thread b(work);
    a.join();
    b.join();
    CHECK(failures.load() == 0);
  }
}

// ---- the guard against the real kernel, with a fake ABI file in front of it ----------------------

namespace {

constexpr std::array<long, 4> task_numbers{set_task_nr, get_task_nr, home_node_nr, task_mbind_nr};
constexpr unsigned marker_base = 4000;  // errno values end well below; seccomp allows up to 4095

bool install_task_filter(std::uint32_t action_kind) {
  std::array<taskmpol_test::SeccompRule, 4> rules{};
  for (std::size_t i = 0; i < task_numbers.size(); ++i) {
    const std::uint32_t action =
        action_kind == SECCOMP_RET_ERRNO
            ? taskmpol_test::seccomp_errno(marker_base + static_cast<unsigned>(task_numbers[i] - 460))
            : action_kind;
    rules[i] = taskmpol_test::SeccompRule{task_numbers[i], action};
  }
  return taskmpol_test::install_seccomp(rules);
}

// A fake that shows the real kernel with the series' ABI `abi` (1 or 2) as far as detection goes.
void pretend_series(FakeKernel& k, int abi) {
  k.passthrough = true;
  k.add_dir("/sys/kernel/mm");
  k.add_file(sys::series_probe_path, "default\n");
  if (abi == 2) k.add_file(sys::series_abi_path, "2\n");
  else k.hide(sys::series_abi_path);
}

// Calls every series wrapper; bit i is set when wrapper i did not fail with expected(its number).
template <class Expected>
int call_every_task_wrapper(Expected expected) {
  const NodeMask nodes = NodeMask::of<0>();
  const mp::KernelMaskArg arg = nodes.kernel_arg();
  NodeMask out;
  const mp::KernelMaskOut o = out.kernel_out();
  int mode = 0;
  const sys::task_mbind_args margs{sys::pidfd_self_thread, 2, 0, 4096, reinterpret_cast<std::uintptr_t>(arg.nmask),
                                   arg.maxnode, 0, 0};
  int bad = 0;
  auto check = [&](int bit, const mp::result<void>& r, long nr) {
    if (r || r.error() != expected(nr)) bad |= 1 << bit;
  };
  check(0, sys::set_task_mempolicy(sys::pidfd_self_thread, 2, arg.nmask, arg.maxnode, 0), set_task_nr);
  check(1, sys::get_task_mempolicy(sys::pidfd_self_thread, &mode, o.nmask, o.maxnode, 0, 0), get_task_nr);
  check(2, sys::set_task_mempolicy_home_node(sys::pidfd_self_thread, 0, 4096, 0, 0), home_node_nr);
  check(3, sys::task_mbind(&margs, sys::task_mbind_args_size_v0), task_mbind_nr);
  return bad;
}

bool seccomp_usable() { return taskmpol_test::have_seccomp_arch; }

}  // namespace

TEST_SUITE("series guard on the real kernel") {
  TEST_CASE("series guard: with ABI 1 detected no wrapper reaches the kernel") {
    if (!seccomp_usable()) TASKMPOL_SKIP("the seccomp helper knows only x86_64 and i386");
    const int status = taskmpol_test::run_in_child([] {
      FakeKernelScope k;
      pretend_series(*k, 1);
      if (!install_task_filter(SECCOMP_RET_KILL_PROCESS)) return 100;
      return call_every_task_wrapper([](long) { return std::error_code(mp::errc::series_abi_1); });
    });
    INFO("child wait status " << status);
    REQUIRE(WIFEXITED(status));  // SIGSYS would mean a series number was issued
    CHECK(WEXITSTATUS(status) == 0);
  }

  TEST_CASE("series guard: with ABI 2 detected the filter kills a wrapper") {
    if (!seccomp_usable()) TASKMPOL_SKIP("the seccomp helper knows only x86_64 and i386");
    // The control experiment: detection says ABI 2, the same filter. If this child survived, the
    // guard cases would prove nothing.
    const int status = taskmpol_test::run_in_child([] {
      FakeKernelScope k;
      pretend_series(*k, 2);
      if (!install_task_filter(SECCOMP_RET_KILL_PROCESS)) return 100;
      (void)sys::set_task_mempolicy(sys::pidfd_self_thread, 0, nullptr, 0, 0);
      return 0;
    });
    INFO("child wait status " << status);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSYS);
  }

  TEST_CASE("series guard: with ABI 2 detected a TaskHandle reaches the task syscalls") {
    if (!seccomp_usable()) TASKMPOL_SKIP("the seccomp helper knows only x86_64 and i386");
    const int status = taskmpol_test::run_in_child([] {
      FakeKernelScope k;
      pretend_series(*k, 2);
      auto parent = mp::TaskHandle::open(::getppid());
      if (!parent) return 101;
      if (!install_task_filter(SECCOMP_RET_KILL_PROCESS)) return 100;
      (void)parent.value().policy();
      return 0;
    });
    INFO("child wait status " << status);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSYS);
  }

  TEST_CASE("series guard: each wrapper issues exactly its own number") {
    if (!seccomp_usable()) TASKMPOL_SKIP("the seccomp helper knows only x86_64 and i386");
    // The filter answers number n with errno 4000 + (n - 460); each wrapper must come back with its
    // own marker, so a swapped or wrong number fails here.
    const int status = taskmpol_test::run_in_child([] {
      FakeKernelScope k;
      pretend_series(*k, 2);
      if (!install_task_filter(SECCOMP_RET_ERRNO)) return 100;
      return call_every_task_wrapper([](long nr) {
        return mp::detail::posix_error(static_cast<int>(marker_base + static_cast<unsigned>(nr - 460)));
      });
    });
    INFO("child wait status " << status);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}
