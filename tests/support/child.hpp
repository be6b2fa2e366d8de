// SPDX-License-Identifier: MIT
// Test helpers: run a body in a forked child (so seccomp filters, policy changes and privilege drops
// die with it) and install small seccomp-BPF filters there.
//
// doctest assertions do not work in a forked child (its results never reach the parent), so the
// body returns an exit code and the parent checks it.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace taskmpol_test {

// Runs body() in a child and returns the wait status. The child ends with _exit: no atexit
// handlers and no doctest teardown run twice.
template <class Body>
int run_in_child(Body body) {
  std::fflush(nullptr);  // nothing buffered may be written twice
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int code = 125;
    try {
      code = body();
    } catch (...) {
      code = 124;
    }
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

#if defined(__x86_64__) && !defined(__ILP32__)
inline constexpr std::uint32_t native_audit_arch = AUDIT_ARCH_X86_64;
inline constexpr bool have_seccomp_arch = true;
#elif defined(__i386__)
inline constexpr std::uint32_t native_audit_arch = AUDIT_ARCH_I386;
inline constexpr bool have_seccomp_arch = true;
#else
inline constexpr std::uint32_t native_audit_arch = 0;
inline constexpr bool have_seccomp_arch = false;
#endif

// One filter rule: a syscall `nr` gets `action`, except that with arg >= 0 a call whose argument
// `arg` equals `value` (all 64 bits) is allowed.
struct SeccompRule {
  long nr;
  std::uint32_t action;
  int arg = -1;
  std::uint64_t value = 0;
};

inline constexpr std::uint32_t seccomp_errno(unsigned e) { return SECCOMP_RET_ERRNO | (e & SECCOMP_RET_DATA); }

// Installs the rules (in the calling thread; children inherit). Everything else is allowed.
// Returns false if the kernel refused the filter.
inline bool install_seccomp(std::span<const SeccompRule> rules) {
  auto stmt = [](std::uint16_t code, std::uint32_t k) { return sock_filter{code, 0, 0, k}; };
  auto jeq = [](std::uint32_t k, std::uint8_t jt, std::uint8_t jf) {
    return sock_filter{static_cast<std::uint16_t>(BPF_JMP | BPF_JEQ | BPF_K), jt, jf, k};
  };
  constexpr auto ld = static_cast<std::uint16_t>(BPF_LD | BPF_W | BPF_ABS);
  constexpr auto ret = static_cast<std::uint16_t>(BPF_RET | BPF_K);
  constexpr std::uint32_t nr_off = 0;     // offsetof(seccomp_data, nr)
  constexpr std::uint32_t arch_off = 4;   // offsetof(seccomp_data, arch)
  constexpr std::uint32_t args_off = 16;  // offsetof(seccomp_data, args)

  std::vector<sock_filter> prog;
  // Calls made through another ABI's table (e.g. int 0x80 on x86_64) have other numbers: allow.
  prog.push_back(stmt(ld, arch_off));
  prog.push_back(jeq(native_audit_arch, 1, 0));
  prog.push_back(stmt(ret, SECCOMP_RET_ALLOW));
  for (const SeccompRule& r : rules) {
    prog.push_back(stmt(ld, nr_off));
    if (r.arg < 0) {
      prog.push_back(jeq(static_cast<std::uint32_t>(r.nr), 0, 1));
      prog.push_back(stmt(ret, r.action));
      continue;
    }
    const auto off = args_off + 8 * static_cast<std::uint32_t>(r.arg);
    prog.push_back(jeq(static_cast<std::uint32_t>(r.nr), 0, 6));
    prog.push_back(stmt(ld, off));  // low half (little endian)
    prog.push_back(jeq(static_cast<std::uint32_t>(r.value & 0xffffffffU), 0, 3));
    prog.push_back(stmt(ld, off + 4));  // high half
    prog.push_back(jeq(static_cast<std::uint32_t>(r.value >> 32), 0, 1));
    prog.push_back(stmt(ret, SECCOMP_RET_ALLOW));
    prog.push_back(stmt(ret, r.action));
  }
  prog.push_back(stmt(ret, SECCOMP_RET_ALLOW));

  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  // no_new_privs lets an unprivileged test install a filter; root does not need it but it is harmless.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) == 0;
}

// A child process that only sleeps until it is killed. Returns its pid (-1 if fork failed).
inline pid_t sleeping_child() {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  return pid;
}

// Kills and reaps a child.
inline void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// A sleeping child created with exactly the pid `want` (clone3 with set_tid: needs CAP_SYS_ADMIN
// or CAP_CHECKPOINT_RESTORE in the pid namespace, and `want` free). The way to prove that a
// recycled pid cannot confuse a handle. Returns the pid, or -1 with errno set.
inline pid_t sleeping_child_at(pid_t want) {
#if defined(SYS_clone3)
  std::fflush(nullptr);
  pid_t tid[1] = {want};
  clone_args args{};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<std::uintptr_t>(tid);
  args.set_tid_size = 1;
  const long r = ::syscall(SYS_clone3, &args, sizeof(args));
  if (r == 0) {
    for (;;) ::pause();
  }
  return static_cast<pid_t>(r);
#else
  (void)want;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace taskmpol_test
