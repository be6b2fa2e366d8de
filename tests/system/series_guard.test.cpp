// SPDX-License-Identifier: MIT
// Proof that the task wrappers issue syscalls 463-466 only after the series was detected with the
// ABI this library speaks (2, pidfd-addressed): never on a kernel without the series, and never on
// a kernel with its pid-addressed ABI 1, where the same registers would mean something else.
//
// On the development host (Linux 6.18) 463 is setxattrat, so a stray call would be a real bug. Each
// case runs in a forked child under a seccomp filter that kills the process (or returns a marker
// errno) for 463-466; the parent checks how the child ended. The "forced" cases show the filter
// really catches the wrappers' calls, so the "no call" cases can fail; they and the ABI-1 kernel
// live in tests/unit/kernel_seam.test.cpp, where a fake kernel behind the library's seam shows the
// real one with another ABI. The probe itself is tested on synthetic file trees here.
#include <taskmpol/node_mask.hpp>
#include <taskmpol/syscalls.hpp>
#include <taskmpol/task.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code with operator<<, declared there

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "../support/child.hpp"
#include "../support/fake_sysfs.hpp"
#include "../support/skip.hpp"

namespace mp = taskmpol;
namespace sys = taskmpol::sys;
using taskmpol_test::install_seccomp;
using taskmpol_test::run_in_child;
using taskmpol_test::SeccompRule;

namespace {

constexpr std::array<long, 4> task_numbers{463, 464, 465, 466};
// A marker errno no kernel path returns (errno values end well below 4000; the filter's data field
// and the C library's error range both allow up to 4095).
constexpr unsigned marker_base = 4000;

bool install_task_filter(std::uint32_t action_kind) {
  std::array<SeccompRule, 4> rules{};
  for (std::size_t i = 0; i < task_numbers.size(); ++i) {
    const std::uint32_t action =
        action_kind == SECCOMP_RET_ERRNO
            ? taskmpol_test::seccomp_errno(marker_base + static_cast<unsigned>(task_numbers[i] - 460))
            : action_kind;
    rules[i] = SeccompRule{task_numbers[i], action};
  }
  return install_seccomp(rules);
}

// Calls every task wrapper with plausible arguments. Bit i of the result is set when wrapper i did
// not fail with expected(its number) (error_code equality: category and value must both match).
template <class Expected>
int call_every_task_wrapper(Expected expected) {
  const mp::NodeMask nodes = mp::NodeMask::of<0>();
  const mp::KernelMaskArg arg = nodes.kernel_arg();
  std::array<mp::NodeMask::word_type, mp::NodeMask::word_count> words{};
  int mode = 0;
  const sys::task_mbind_args margs{sys::pidfd_self_thread, 2, 0, 4096, reinterpret_cast<std::uintptr_t>(arg.nmask),
                                   arg.maxnode, 0, 0};
  int bad = 0;
  auto check = [&](int bit, const mp::result<void>& r, long nr) {
    if (r || r.error() != expected(nr)) bad |= 1 << bit;
  };
  check(0, sys::set_task_mempolicy(sys::pidfd_self_thread, 2, arg.nmask, arg.maxnode, 0), 463);
  check(1, sys::get_task_mempolicy(sys::pidfd_self_thread, &mode, words.data(), mp::NodeMask::kernel_maxnode, 0, 0),
        464);
  check(2, sys::set_task_mempolicy_home_node(sys::pidfd_self_thread, 0, 4096, 0, 0), 465);
  check(3, sys::task_mbind(&margs, sys::task_mbind_args_size_v0), 466);
  return bad;
}

std::error_code unsupported(long) { return mp::errc::unsupported_kernel; }

// Calls every TaskHandle operation on another process (the test's parent) and on a sibling
// thread, and the all-threads helper on the own process. Bit i is set when the result is not
// `expected` (all-threads: when any other thread's failure is not). The calling thread itself is
// served by the stock syscalls, which the filter allows.
int call_every_handle_operation(mp::errc expected) {
  int bad = 0;
  const mp::Policy bind0 = mp::Policy::make(mp::Mode::bind, {}, mp::NodeMask::of<0>()).value();
  auto check = [&](int bit, const std::error_code& e) {
    if (e != expected) bad |= 1 << bit;
  };
  auto parent = mp::TaskHandle::open(::getppid());
  if (!parent) return 1 << 20;
  std::atomic<pid_t> sibling_tid{0};  // written by the sibling, read here (ThreadSanitizer)
  std::atomic<bool> stop{false};
  std::thread sibling([&] {
    sibling_tid.store(mp::sys::gettid());
    while (!stop.load()) ::usleep(1000);
  });
  while (sibling_tid.load() == 0) ::usleep(1000);
  auto thread = mp::TaskHandle::thread(sibling_tid.load());
  if (!thread) bad |= 1 << 21;
  for (mp::TaskHandle* h : {&parent.value(), thread ? &thread.value() : nullptr}) {
    if (h == nullptr) continue;
    for (mp::Backend b : {mp::Backend::automatic, mp::Backend::syscalls, mp::Backend::procfs}) {
      h->set_backend(b);
      check(0, h->policy().error());
      check(1, h->set_policy(bind0).error());
      check(2, b == mp::Backend::procfs ? std::error_code(expected) : h->mbind({0x10000, 4096}, bind0).error());
      check(3, h->set_home_node({0x10000, 4096}, 0).error());
      check(4, h->mems_allowed().error());
      check(5, h->node_of(0x10000).error());
      check(6, h->interleave_next().error());
      check(7, h->policy_at(0x10000).error());
    }
  }
  auto own = mp::TaskHandle::open(::getpid());
  if (!own) return 1 << 22;
  auto report = mp::set_policy_on_all_threads(own.value(), bind0);
  if (!report || report.value().failures.empty()) bad |= 1 << 8;
  if (report) {
    for (const mp::ThreadFailure& f : report.value().failures) check(9, f.error);
  }
  check(10, mp::set_policy_on_all_threads(parent.value(), bind0).error());
  stop.store(true);
  sibling.join();
  return bad;
}

bool seccomp_usable() { return taskmpol_test::have_seccomp_arch; }

}  // namespace

TEST_SUITE("series guard") {
  TEST_CASE("series guard: no task syscall on this kernel (real probe)") {
    if (!seccomp_usable()) TASKMPOL_SKIP("the series has syscall numbers only on x86_64 and i386");
    if (sys::probe_task_mempolicy_series())
      TASKMPOL_SKIP("this kernel has the series (" << sys::series_probe_path
                                                   << " exists); the vm suite tests the calls themselves");
    CHECK_FALSE(sys::task_mempolicy_available());
    const int status = run_in_child([] {
      if (!install_task_filter(SECCOMP_RET_KILL_PROCESS)) return 100;
      return call_every_task_wrapper(unsupported);
    });
    INFO("child wait status " << status);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  TEST_CASE("series guard: TaskHandle makes no task syscall on this kernel") {
    if (!seccomp_usable()) TASKMPOL_SKIP("the series has syscall numbers only on x86_64 and i386");
    if (sys::probe_task_mempolicy_series()) TASKMPOL_SKIP("this kernel has the series; the vm suite tests TaskHandle on it");
    const int status = run_in_child([] {
      if (!install_task_filter(SECCOMP_RET_KILL_PROCESS)) return 100;
      return call_every_handle_operation(mp::errc::unsupported_kernel);
    });
    INFO("child wait status " << status);
    REQUIRE(WIFEXITED(status));  // SIGSYS would mean TaskHandle issued one of 463-466
    CHECK(WEXITSTATUS(status) == 0);
  }

  // The control experiments (the same filter kills the calls once detection says ABI 2) and the
  // ABI 1 cases need a kernel that says so: tests/unit/kernel_seam.test.cpp puts a fake ABI file
  // in front of this kernel through the library's seam. The installed headers have no switch for
  // it.

  TEST_CASE("series guard: detection is cached and agrees with the probe") {
    const int real = sys::probe_task_mempolicy_abi();
    CHECK(sys::task_mempolicy_available() == (real == sys::task_mempolicy_abi));
    CHECK(sys::task_mempolicy_available() == (real == sys::task_mempolicy_abi));  // cached
    CHECK(sys::probe_task_mempolicy_series() == (real != 0));
    if (::access(sys::series_abi_path, F_OK) != 0 && ::access(sys::series_probe_path, F_OK) != 0) CHECK(real == 0);
  }
}

namespace {

// A synthetic root for probe_task_mempolicy_abi(): FakeSysfs makes <root>/sys/kernel/mm (with
// sysfs "mounted"); the series' files are added per case.
struct SeriesTree {
  taskmpol_test::FakeSysfs fs;

  SeriesTree& abi_file(std::string_view content) {
    write(fs.root() + sys::series_abi_path, content);
    return *this;
  }
  SeriesTree& procfs_file() {
    std::filesystem::create_directories(fs.root() + "/proc/self");
    write(fs.root() + sys::series_probe_path, "default\n");
    return *this;
  }
  SeriesTree& no_sysfs() {
    std::filesystem::remove_all(fs.root() + "/sys");
    return *this;
  }
  [[nodiscard]] int probe() const { return sys::probe_task_mempolicy_abi(fs.root()); }

 private:
  static void write(const std::string& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    REQUIRE(out.good());
  }
};

}  // namespace

TEST_SUITE("series detection") {
  TEST_CASE("series detection: a stock kernel has neither file") {
    SeriesTree t;
    CHECK(t.probe() == 0);
    t.no_sysfs();
    CHECK(t.probe() == 0);
  }

  TEST_CASE("series detection: the procfs file without the ABI file is ABI 1") {
    SeriesTree t;
    t.procfs_file();
    CHECK(t.probe() == 1);
  }

  TEST_CASE("series detection: without sysfs the missing ABI file proves nothing") {
    SeriesTree t;
    t.procfs_file().no_sysfs();
    CHECK(t.probe() == sys::task_mempolicy_abi_unknown);
  }

  TEST_CASE("series detection: the ABI file names the version") {
    SeriesTree t;
    t.procfs_file();
    t.abi_file("2\n");
    CHECK(t.probe() == 2);
    CHECK(t.probe() == sys::task_mempolicy_abi);
    t.abi_file("2");
    CHECK(t.probe() == 2);
    t.abi_file("1\n");
    CHECK(t.probe() == 1);
    t.abi_file("3\n");
    CHECK(t.probe() == 3);
    t.abi_file("12\n");
    CHECK(t.probe() == 12);
  }

  TEST_CASE("series detection: the ABI file alone is enough") {
    SeriesTree t;  // /proc not mounted: the ABI file still answers
    t.abi_file("2\n");
    CHECK(t.probe() == 2);
  }

  TEST_CASE("series detection: anything but a plain version number is unknown") {
    SeriesTree t;
    t.procfs_file();
    for (std::string_view text : {"", "\n", "2 \n", " 2\n", "2\n\n", "02\n", "0\n", "-2\n", "2x\n", "v2\n",
                                  "99999999999\n", "2222222222222222222222\n"}) {
      CAPTURE(std::string(text));
      t.abi_file(text);
      CHECK(t.probe() == sys::task_mempolicy_abi_unknown);
    }
  }

  TEST_CASE("series detection: a root that cannot form a path is unknown") {
    CHECK(sys::probe_task_mempolicy_abi(std::string_view("/tmp\0x", 6)) == sys::task_mempolicy_abi_unknown);
    CHECK(sys::probe_task_mempolicy_abi(std::string(5000, 'a')) == sys::task_mempolicy_abi_unknown);
  }
}

TEST_SUITE("syscall seam") {
  TEST_CASE("syscall seam: task_mbind_args layout matches the series ABI") {
    CHECK(sizeof(sys::task_mbind_args) == 48);
    CHECK(offsetof(sys::task_mbind_args, pidfd) == 0);
    CHECK(offsetof(sys::task_mbind_args, mode) == 4);
    CHECK(offsetof(sys::task_mbind_args, start) == 8);
    CHECK(offsetof(sys::task_mbind_args, len) == 16);
    CHECK(offsetof(sys::task_mbind_args, nmask) == 24);
    CHECK(offsetof(sys::task_mbind_args, maxnode) == 32);
    CHECK(offsetof(sys::task_mbind_args, flags) == 40);
    CHECK(offsetof(sys::task_mbind_args, reserved) == 44);
  }

  TEST_CASE("syscall seam: the ABI 2 target constants are the kernel's") {
    CHECK(sys::pidfd_self_thread == -10000);
    CHECK(sys::pidfd_self_thread_group == -20000);
    CHECK(sys::pidfd_thread == static_cast<unsigned>(O_EXCL));
    CHECK(sys::task_mempolicy_abi == 2);
#if defined(PIDFD_SELF_THREAD)
    CHECK(sys::pidfd_self_thread == PIDFD_SELF_THREAD);
    CHECK(sys::pidfd_self_thread_group == PIDFD_SELF_THREAD_GROUP);
#endif
    // An int target is widened with its sign: the kernel reads the low 32 bits of the register.
    CHECK(sys::detail::syscall_arg(sys::pidfd_self_thread) == -10000L);
    CHECK(static_cast<int>(static_cast<unsigned long>(sys::detail::syscall_arg(sys::pidfd_self_thread_group))) ==
          -20000);
  }

  TEST_CASE("syscall seam: stock numbers come from the system headers") {
    CHECK(sys::nr::set_mempolicy == SYS_set_mempolicy);
    CHECK(sys::nr::get_mempolicy == SYS_get_mempolicy);
    CHECK(sys::nr::mbind == SYS_mbind);
    CHECK(sys::nr::migrate_pages == SYS_migrate_pages);
    CHECK(sys::nr::move_pages == SYS_move_pages);
    CHECK(sys::nr::set_mempolicy_home_node == 450);  // the same on every architecture but alpha and mips
  }

  TEST_CASE("syscall seam: errors keep errno in the system category") {
    // An unaligned mbind start is EINVAL on every kernel.
    alignas(64) static char buffer[128];
    auto r = sys::mbind(buffer + 1, 64, 0, nullptr, 0, 0);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(r.error().category() == std::system_category());
  }
}
