// SPDX-License-Identifier: MIT
// The one seam between taskmpol and the kernel. Every kernel entry the library makes -- syscall(2),
// and the open/read/write/close/poll/fcntl/directory calls on procfs and sysfs files -- is written
// TASKMPOL_KERNEL(name)(args...) in this header and nowhere else; the rest of the library calls
// the wrappers below (one read_file, one write_file). The detection of the task mempolicy series
// lives here too.
//
// Replacing the seam (tests only). TASKMPOL_KERNEL(name) expands to ::name. A test program may
// define it, for the whole program (every translation unit, before any taskmpol header: the
// wrappers are inline functions, one definition per program), to call a fake kernel instead, the
// way {fmt}'s tests redefine FMT_POSIX_CALL. tests/support/fake_kernel.hpp is such a fake: it
// injects EINTR, short writes, EFBIG, ENOSYS and a target that exits in mid-walk. The installed
// headers carry no other hook: nothing a program can call at run time changes what the library
// asks the kernel.
//
// Layering: this header knows kernel numbers, argument shapes and errno. It knows nothing of
// Policy or NodeMask (callers pass the words and maxnode that NodeMask::kernel_arg() and
// kernel_out() produce), so policy.hpp and node_mask.hpp stay free of kernel calls and this header
// stays free of grammar.
#pragma once

#include <taskmpol/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <linux/types.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef TASKMPOL_KERNEL
#define TASKMPOL_KERNEL(call) ::call
#endif

namespace taskmpol::sys {

// ---------------------------------------------------------------------------------------------
// Constants from include/uapi/linux/mempolicy.h. Spelled out here instead of including
// <linux/mempolicy.h> or <numaif.h>: older uapi headers lack the newer values, and libnuma is not a
// dependency of the library.

// get_mempolicy(2) flags.
inline constexpr unsigned long mpol_f_node = 1UL << 0;          // MPOL_F_NODE
inline constexpr unsigned long mpol_f_addr = 1UL << 1;          // MPOL_F_ADDR
inline constexpr unsigned long mpol_f_mems_allowed = 1UL << 2;  // MPOL_F_MEMS_ALLOWED

// mbind(2) flags.
inline constexpr unsigned mpol_mf_strict = 1U << 0;    // MPOL_MF_STRICT
inline constexpr unsigned mpol_mf_move = 1U << 1;      // MPOL_MF_MOVE
inline constexpr unsigned mpol_mf_move_all = 1U << 2;  // MPOL_MF_MOVE_ALL

// ---------------------------------------------------------------------------------------------
// Syscall numbers. The system header wins when it knows a call; the fallbacks follow liburing's
// rule: since 4.x every architecture shares the numbers of new calls except alpha (+110) and mips
// (per-ABI base __NR_Linux). A number of -1 means "not available on this build": its wrapper then
// returns ENOSYS without calling anything.
namespace nr {

inline constexpr long unavailable = -1;

#if defined(SYS_set_mempolicy)
inline constexpr long set_mempolicy = SYS_set_mempolicy;
#else
inline constexpr long set_mempolicy = unavailable;
#endif

#if defined(SYS_get_mempolicy)
inline constexpr long get_mempolicy = SYS_get_mempolicy;
#else
inline constexpr long get_mempolicy = unavailable;
#endif

#if defined(SYS_mbind)
inline constexpr long mbind = SYS_mbind;
#else
inline constexpr long mbind = unavailable;
#endif

#if defined(SYS_migrate_pages)
inline constexpr long migrate_pages = SYS_migrate_pages;
#else
inline constexpr long migrate_pages = unavailable;
#endif

#if defined(SYS_move_pages)
inline constexpr long move_pages = SYS_move_pages;
#else
inline constexpr long move_pages = unavailable;
#endif

// set_mempolicy_home_node arrived in Linux 5.17; glibc headers older than 2.35 lack it.
#if defined(SYS_set_mempolicy_home_node)
inline constexpr long set_mempolicy_home_node = SYS_set_mempolicy_home_node;
#elif defined(__alpha__)
inline constexpr long set_mempolicy_home_node = 560;
#elif defined(__mips__) && defined(__NR_Linux)
inline constexpr long set_mempolicy_home_node = __NR_Linux + 450;
#elif defined(__mips__)
inline constexpr long set_mempolicy_home_node = unavailable;
#else
inline constexpr long set_mempolicy_home_node = 450;
#endif

// The task mempolicy series (kernel/patches on Linux 6.12). Its numbers exist only in the series'
// tables: x86_64, i386 and the generic table (arm64). They are deliberately NOT taken from
// <sys/syscall.h>: on upstream 6.13+ the same numbers are other calls (463 is setxattrat), which is
// why they are issued only after task_mempolicy_support() has positively detected the series with
// the ABI this library speaks. x32 (__ILP32__ on x86_64) uses a different table and is not covered.
#if (defined(__x86_64__) && !defined(__ILP32__)) || defined(__i386__) || defined(__aarch64__)
inline constexpr long set_task_mempolicy = 463;
inline constexpr long get_task_mempolicy = 464;
inline constexpr long set_task_mempolicy_home_node = 465;
inline constexpr long task_mbind = 466;
#else
inline constexpr long set_task_mempolicy = unavailable;
inline constexpr long get_task_mempolicy = unavailable;
inline constexpr long set_task_mempolicy_home_node = unavailable;
inline constexpr long task_mbind = unavailable;
#endif

// pidfd_open (5.3) and pidfd_send_signal (5.1): shared numbers, liburing's rule as above.
#if defined(SYS_pidfd_open)
inline constexpr long pidfd_open = SYS_pidfd_open;
#elif defined(__alpha__)
inline constexpr long pidfd_open = 544;
#elif defined(__mips__) && defined(__NR_Linux)
inline constexpr long pidfd_open = __NR_Linux + 434;
#elif defined(__mips__)
inline constexpr long pidfd_open = unavailable;
#else
inline constexpr long pidfd_open = 434;
#endif

#if defined(SYS_gettid)
inline constexpr long gettid = SYS_gettid;
#else
inline constexpr long gettid = unavailable;
#endif

}  // namespace nr

// How the series' calls (ABI 2) name their target: a pidfd (pidfd_open(2), clone3 CLONE_PIDFD). A
// process pidfd names the thread-group leader; a thread pidfd (pidfd_thread, Linux 6.9+) exactly
// that thread. The kernel resolves the pidfd to the task it was opened for, so a pid number that
// was recycled after that task exited cannot redirect the call (the answer is ESRCH). The caller
// names itself with one of the sentinels below (upstream's <linux/pidfd.h> values since 6.15):
// there is no "0 means self", 0 is an ordinary descriptor number.
inline constexpr int pidfd_self_thread = -10000;        // PIDFD_SELF_THREAD: the calling thread
inline constexpr int pidfd_self_thread_group = -20000;  // PIDFD_SELF_THREAD_GROUP: its thread-group leader

// PIDFD_THREAD (uapi/linux/pidfd.h, Linux 6.9+): pidfd_open() flag for a pidfd of one thread, and the
// file status flag (fcntl F_GETFL) that tells a thread pidfd from a process pidfd.
inline constexpr unsigned pidfd_thread = O_EXCL;

// The series' task_mbind(2) argument block, version 0 (48 bytes). Fixed-width fields with explicit
// padding so a 32-bit caller on a 64-bit kernel passes the same layout; the kernel reads it with
// copy_struct_from_user(), so later versions may grow it (a larger size is accepted only when the
// tail is zero; a size below 48 is EINVAL, above the page size E2BIG). `reserved` is the kernel's
// `__reserved` (a name C++ reserves); it must be zero.
struct task_mbind_args {
  __s32 pidfd;            // the target: a pidfd, or pidfd_self_thread / pidfd_self_thread_group
  __u32 mode;             // MPOL_* mode with MPOL_F_* mode flags ORed in
  __aligned_u64 start;    // first byte of the range in the target's address space (page aligned)
  __aligned_u64 len;      // length of the range in bytes
  __aligned_u64 nmask;    // user pointer to the node mask words, as an integer
  __aligned_u64 maxnode;  // as for mbind(2): number of mask bits plus one
  __u32 flags;            // MPOL_MF_* flags
  __u32 reserved;         // must be zero
};
inline constexpr std::size_t task_mbind_args_size_v0 = 48;
static_assert(sizeof(task_mbind_args) == task_mbind_args_size_v0, "task_mbind_args must match the series' ABI");
static_assert(alignof(task_mbind_args) == 8, "the u64 fields must be 8-byte aligned on every ABI (i386 too)");
static_assert(std::is_standard_layout_v<task_mbind_args> && std::is_trivially_copyable_v<task_mbind_args>);

// ---------------------------------------------------------------------------------------------
// The primitive entries: each is the only place its kernel call is spelled.

namespace detail {

// syscall(2) is variadic and the kernel reads every argument as a full register, so each argument is
// widened to `long` here; passing a bare int through `...` would leave the upper half undefined.
template <class T>
inline long syscall_arg(T value) noexcept {
  if constexpr (std::is_pointer_v<T>) {
    return static_cast<long>(reinterpret_cast<std::uintptr_t>(value));
  } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
    return 0;
  } else {
    static_assert(std::is_integral_v<T>, "syscall arguments are integers or pointers");
    return static_cast<long>(value);
  }
}

// Issues one syscall and retries it when a signal interrupted it. Every call in this header is
// idempotent (setting the same policy twice, asking again, moving the pages that are still left),
// so repeating an interrupted call is safe, and callers never see a spurious EINTR.
template <class... Args>
inline result<long> invoke(long number, Args... args) noexcept {
  long ret = 0;
  do {
    ret = TASKMPOL_KERNEL(syscall)(number, syscall_arg(args)...);
  } while (ret == -1 && errno == EINTR);
  if (ret == -1) return taskmpol::detail::posix_error(errno);
  return ret;
}

}  // namespace detail

// getpid(2). Cannot fail.
[[nodiscard]] inline pid_t getpid() noexcept { return TASKMPOL_KERNEL(getpid)(); }

// gettid(2). Cannot fail.
[[nodiscard]] inline pid_t gettid() noexcept {
  if constexpr (nr::gettid == nr::unavailable) {
    return sys::getpid();
  } else {
    return static_cast<pid_t>(TASKMPOL_KERNEL(syscall)(nr::gettid));
  }
}

// openat(2) with O_CLOEXEC added, retried on EINTR (AT_FDCWD: the path as given).
inline result<int> open_at(int dirfd, const char* path, int flags) noexcept {
  int fd = -1;
  do {
    fd = TASKMPOL_KERNEL(openat)(dirfd, path, flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return taskmpol::detail::posix_error(errno);
  return fd;
}

// close(2), errno preserved. Its errors carry nothing to act on for the descriptors the library
// holds (read-only files, O_PATH directories, pidfds), and the descriptor is gone either way.
inline void close(int fd) noexcept {
  if (fd < 0) return;
  const int saved = errno;
  TASKMPOL_KERNEL(close)(fd);
  errno = saved;
}

// Whether path (below dirfd) exists: faccessat(2) F_OK, errno preserved.
[[nodiscard]] inline bool exists(int dirfd, const char* path) noexcept {
  const int saved = errno;
  const bool present = TASKMPOL_KERNEL(faccessat)(dirfd, path, F_OK, 0) == 0;
  errno = saved;
  return present;
}

// The one reader of kernel files (procfs, sysfs): the whole of `path` below dirfd (AT_FDCWD: the
// path as given) into buf, not NUL terminated; returns the number of bytes. Errors: the errno of
// open/read; EFBIG when the file holds more than buf.size() bytes.
inline result<std::size_t> read_file(int dirfd, const char* path, std::span<char> buf) noexcept {
  TASKMPOL_TRY(fd, open_at(dirfd, path, O_RDONLY));
  std::size_t total = 0;
  int error = 0;
  while (true) {
    // When buf is full, one more byte tells the end of the file from a file that does not fit.
    char probe = 0;
    const bool full = total == buf.size();
    char* into = full ? &probe : buf.data() + total;
    const ssize_t n = TASKMPOL_KERNEL(read)(fd, into, full ? 1 : buf.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    if (n == 0) break;
    if (full) {
      error = EFBIG;
      break;
    }
    total += static_cast<std::size_t>(n);
  }
  sys::close(fd);
  if (error != 0) return taskmpol::detail::posix_error(error);
  return total;
}

// The one writer of kernel files: text into `path` below dirfd with one write(2), as procfs and
// sysfs attributes require (the whole value in one write at offset 0). truncate adds O_TRUNC, as
// `echo x > file` does (sysfs ignores it; a plain file standing in for one needs it). Errors: the
// errno of open/write; EIO when the kernel took only part of the text (the file refused the rest).
inline result<void> write_file(int dirfd, const char* path, std::string_view text, bool truncate = false) noexcept {
  TASKMPOL_TRY(fd, open_at(dirfd, path, O_WRONLY | (truncate ? O_TRUNC : 0)));
  ssize_t n = -1;
  do {
    n = TASKMPOL_KERNEL(write)(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  const int error = n < 0 ? errno : (static_cast<std::size_t>(n) != text.size() ? EIO : 0);
  sys::close(fd);
  if (error != 0) return taskmpol::detail::posix_error(error);
  return success();
}

namespace detail {

// The entries of the directory `path` below dirfd whose names are positive decimal numbers (the
// pids in /proc, the thread IDs in /proc/<pid>/task), appended to ids.
inline result<void> numeric_entries(int dirfd, const char* path, std::vector<pid_t>& ids) noexcept {
  TASKMPOL_TRY(fd, open_at(dirfd, path, O_RDONLY | O_DIRECTORY));
  DIR* dir = TASKMPOL_KERNEL(fdopendir)(fd);
  if (dir == nullptr) {
    const int e = errno;
    sys::close(fd);
    return taskmpol::detail::posix_error(e);
  }
  errno = 0;
  while (const dirent* entry = TASKMPOL_KERNEL(readdir)(dir)) {
    long id = 0;
    bool digits = entry->d_name[0] != '\0';
    for (const char* c = entry->d_name; *c != '\0' && digits; ++c) {
      if (*c < '0' || *c > '9' || id > 100'000'000) digits = false;  // pid_max is at most 2^22
      else id = id * 10 + (*c - '0');
    }
    if (digits && id > 0) ids.push_back(static_cast<pid_t>(id));
  }
  const int e = errno;
  TASKMPOL_KERNEL(closedir)(dir);
  if (e != 0) return taskmpol::detail::posix_error(e);
  return success();
}

}  // namespace detail

// The value of one "Name:\tvalue" line of the procfs file `file` below dirfd (AT_FDCWD: the path
// as given), copied into out (NUL terminated). Errors: as read_file; ENOENT when the file has no
// such line; EFBIG when the value does not fit out.
inline result<std::size_t> read_proc_field(int dirfd, const char* file, std::string_view field,
                                           std::span<char> out) noexcept {
  if (out.empty()) return taskmpol::detail::posix_error(EINVAL);
  // /proc/<pid>/status is about 1.5 KiB; its Cpus_allowed lines grow with the CPU count.
  std::array<char, 32768> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init): read_file fills what is read
  TASKMPOL_TRY(size, read_file(dirfd, file, buf));
  const std::string_view text(buf.data(), size);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > field.size() && line.substr(0, field.size()) == field && line[field.size()] == ':') {
      line.remove_prefix(field.size() + 1);
      while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
      if (line.size() >= out.size()) return taskmpol::detail::posix_error(EFBIG);
      line.copy(out.data(), line.size());
      out[line.size()] = '\0';
      return line.size();
    }
    pos = end + 1;
  }
  return taskmpol::detail::posix_error(ENOENT);
}

// ---------------------------------------------------------------------------------------------
// Series detection.
//
// The series changed its ABI once: version 1 addressed the target by pid (a pid can be recycled
// between the moment a caller picks it and the call), version 2 addresses it by pidfd, with the
// same numbers. A library built for one version must never call a kernel with the other: the same
// registers mean different things. Detection therefore reads files only, never issues a number:
//
//   /sys/kernel/mm/mempolicy/task_mempolicy_abi   "2\n" on ABI 2 kernels; absent before
//   /proc/self/mempolicy                          the series' procfs file (every version)
//
// A stock kernel has neither file.

// The ABI version this library speaks.
inline constexpr int task_mempolicy_abi = 2;

// The series' procfs file and ABI file, relative to the root of the system ("/" normally).
inline constexpr const char* series_probe_path = "/proc/self/mempolicy";
inline constexpr const char* series_abi_path = "/sys/kernel/mm/mempolicy/task_mempolicy_abi";

// probe_task_mempolicy_abi()'s answer when the series is there but its ABI version is not known.
inline constexpr int task_mempolicy_abi_unknown = -1;

namespace detail {

// root + rel in out (NUL terminated); false when it does not fit or root holds a NUL.
inline bool root_path(std::array<char, 4096>& out, std::string_view root, const char* rel) noexcept {
  if (root.find('\0') != std::string_view::npos) return false;
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  const std::string_view tail(rel);
  if (root.size() + tail.size() >= out.size()) return false;
  root.copy(out.data(), root.size());
  tail.copy(out.data() + root.size(), tail.size());
  out[root.size() + tail.size()] = '\0';
  return true;
}

}  // namespace detail

// Asks the running system afresh (no cache) which ABI of the series it offers:
//   0                            no series (neither file exists);
//   N > 0                        the ABI file reads exactly the decimal N (no sign, blank or leading
//                                zero; one trailing newline or none);
//   1                            no ABI file, but /proc/self/mempolicy and /sys/kernel/mm exist (v1);
//   task_mempolicy_abi_unknown   the series' procfs file exists but the ABI file cannot be read, does
//                                not hold a plain version number, or sysfs is not mounted (no
//                                /sys/kernel/mm: the absence of the ABI file then proves nothing).
// root ("/" for the running system) lets tests point the probe at a synthetic tree. Reads files
// only: never a syscall of the series. errno is preserved.
[[nodiscard]] inline int probe_task_mempolicy_abi(std::string_view root = "/") noexcept {
  std::array<char, 4096> abi_path{};
  std::array<char, 4096> procfs_path{};
  std::array<char, 4096> mm_dir{};
  if (!detail::root_path(abi_path, root, series_abi_path) || !detail::root_path(procfs_path, root, series_probe_path) ||
      !detail::root_path(mm_dir, root, "/sys/kernel/mm")) {
    return task_mempolicy_abi_unknown;
  }
  const int saved = errno;
  std::array<char, 16> text{};  // "2\n"; a file this does not hold is no version number
  const auto size = read_file(AT_FDCWD, abi_path.data(), text);
  errno = saved;
  if (!size) {
    if (size.error() != std::errc::no_such_file_or_directory) return task_mempolicy_abi_unknown;  // unreadable
    if (!exists(AT_FDCWD, procfs_path.data())) return 0;
    return exists(AT_FDCWD, mm_dir.data()) ? 1 : task_mempolicy_abi_unknown;
  }
  const std::size_t total = size.assume_value();
  std::size_t digits = 0;
  int version = 0;
  while (digits < total && text[digits] >= '0' && text[digits] <= '9') {
    if (version > 1'000'000) return task_mempolicy_abi_unknown;  // no such version; also no overflow
    version = version * 10 + (text[digits] - '0');
    ++digits;
  }
  const bool newline_only = total == digits || (total == digits + 1 && text[digits] == '\n');
  const bool leading_zero = digits > 1 && text[0] == '0';
  if (digits == 0 || !newline_only || leading_zero || version == 0) return task_mempolicy_abi_unknown;
  return version;
}

// True when the running kernel has the series in any version (its procfs file or its ABI file).
// Asks afresh, like probe_task_mempolicy_abi().
[[nodiscard]] inline bool probe_task_mempolicy_series() noexcept { return probe_task_mempolicy_abi() != 0; }

namespace detail {

// What detection concluded, cached in series_cache.
enum class SeriesState : int {
  unknown = 0,   // not probed yet
  absent = 1,    // stock kernel, or an architecture without the series' numbers
  match = 2,     // the ABI this library speaks
  abi_1 = 3,     // the pid-addressed ABI 1
  other = 4,     // another or an unreadable ABI
};

inline SeriesState classify_abi(int abi) noexcept {
  if (abi == 0) return SeriesState::absent;
  if (abi == task_mempolicy_abi) return SeriesState::match;
  if (abi == 1) return SeriesState::abi_1;
  return SeriesState::other;
}

// The probe's answer, once per process (a kernel does not change its ABI while it runs).
inline std::atomic<int> series_cache{0};

}  // namespace detail

// Success when the running kernel has the series with the ABI this library speaks; otherwise why
// not, without any syscall of the series: errc::unsupported_kernel (no series, or no numbers for
// this architecture), errc::series_abi_1 (the pid-addressed version), errc::series_abi_unknown.
// The probe runs once per process (two threads may both probe: same answer, harmless race).
[[nodiscard]] inline result<void> task_mempolicy_support() noexcept {
  if constexpr (nr::set_task_mempolicy == nr::unavailable) {
    return errc::unsupported_kernel;  // no numbers for this architecture
  } else {
    auto state = static_cast<detail::SeriesState>(detail::series_cache.load(std::memory_order_relaxed));
    if (state == detail::SeriesState::unknown) {
      state = detail::classify_abi(probe_task_mempolicy_abi());
      detail::series_cache.store(static_cast<int>(state), std::memory_order_relaxed);
    }
    switch (state) {
      case detail::SeriesState::match: return success();
      case detail::SeriesState::abi_1: return errc::series_abi_1;
      case detail::SeriesState::other: return errc::series_abi_unknown;
      case detail::SeriesState::unknown:
      case detail::SeriesState::absent: break;
    }
    return errc::unsupported_kernel;
  }
}

// True when the series' calls may be issued (task_mempolicy_support() succeeds).
[[nodiscard]] inline bool task_mempolicy_available() noexcept { return task_mempolicy_support().has_value(); }

// ---------------------------------------------------------------------------------------------
// Raw wrappers for the stock calls, acting on the caller. Arguments are exactly the kernel's; the
// node masks come from NodeMask::kernel_arg() / kernel_out() (which know the maxnode rule). Each
// returns the kernel's errno in std::system_category() on failure.

// set_mempolicy(2): the calling thread's policy.
inline result<void> set_mempolicy(int mode, const unsigned long* nmask, unsigned long maxnode) noexcept {
  if constexpr (nr::set_mempolicy == nr::unavailable) return taskmpol::detail::posix_error(ENOSYS);
  TASKMPOL_TRYV(detail::invoke(nr::set_mempolicy, mode, nmask, maxnode));
  return success();
}

// get_mempolicy(2). flags: 0 (the thread's policy), mpol_f_addr (the policy at addr),
// mpol_f_node (next interleave node), mpol_f_node|mpol_f_addr (node of the page at addr),
// mpol_f_mems_allowed (the cpuset's nodes). mode and nmask may be null where the kernel allows it.
inline result<void> get_mempolicy(int* mode, unsigned long* nmask, unsigned long maxnode, const void* addr,
                                  unsigned long flags) noexcept {
  if constexpr (nr::get_mempolicy == nr::unavailable) return taskmpol::detail::posix_error(ENOSYS);
  TASKMPOL_TRYV(detail::invoke(nr::get_mempolicy, mode, nmask, maxnode, addr, flags));
  return success();
}

// mbind(2) on a range of the caller's address space (start must be page aligned).
inline result<void> mbind(void* start, unsigned long len, int mode, const unsigned long* nmask,
                          unsigned long maxnode, unsigned flags) noexcept {
  if constexpr (nr::mbind == nr::unavailable) return taskmpol::detail::posix_error(ENOSYS);
  TASKMPOL_TRYV(detail::invoke(nr::mbind, start, len, mode, nmask, maxnode, flags));
  return success();
}

// set_mempolicy_home_node(2) on a range of the caller (Linux 5.17+). flags must be 0.
inline result<void> set_mempolicy_home_node(unsigned long start, unsigned long len, unsigned long home_node,
                                            unsigned long flags) noexcept {
  if constexpr (nr::set_mempolicy_home_node == nr::unavailable) return taskmpol::detail::posix_error(ENOSYS);
  TASKMPOL_TRYV(detail::invoke(nr::set_mempolicy_home_node, start, len, home_node, flags));
  return success();
}

// migrate_pages(2). Returns the number of pages that could not be moved.
inline result<unsigned long> migrate_pages(pid_t pid, unsigned long maxnode, const unsigned long* old_nodes,
                                           const unsigned long* new_nodes) noexcept {
  if constexpr (nr::migrate_pages == nr::unavailable) return taskmpol::detail::posix_error(ENOSYS);
  TASKMPOL_TRY(left, detail::invoke(nr::migrate_pages, pid, maxnode, old_nodes, new_nodes));
  return static_cast<unsigned long>(left);
}

// move_pages(2). With nodes == nullptr it only reports each page's node in status.
// Returns the number of pages that could not be moved (0 on full success).
inline result<unsigned long> move_pages(pid_t pid, unsigned long count, void** pages, const int* nodes, int* status,
                                        int flags) noexcept {
  if constexpr (nr::move_pages == nr::unavailable) return taskmpol::detail::posix_error(ENOSYS);
  TASKMPOL_TRY(left, detail::invoke(nr::move_pages, pid, count, pages, nodes, status, flags));
  return static_cast<unsigned long>(left);
}

// ---------------------------------------------------------------------------------------------
// Raw wrappers for the series' calls (ABI 2). Each one first checks task_mempolicy_support() and,
// on any kernel without the series' ABI 2, returns its error without issuing a syscall: the numbers
// mean other calls upstream, and pids instead of pidfds on an ABI 1 kernel. Arguments are exactly
// the kernel's. `pidfd` names the target (see pidfd_self_thread above). Errors besides the policy's
// own (those of the stock call): EBADF (not a pidfd), ESRCH (the pidfd's task has exited, also when
// its number has been recycled since), EINVAL (a task outside the caller's pid namespace, a kernel
// thread or user worker, unknown flags), EPERM (see each call).

// Replaces the target thread's policy. Another thread installs it at its next return to user mode
// (at once when it runs in user mode; after the syscall it sleeps in, or when a stopped thread
// continues); every observer (get_task_mempolicy, the target's own get_mempolicy, procfs,
// numa_maps, threads the target creates) sees the new policy as soon as this returns. flags must
// be 0. EPERM: the caller neither owns the target nor has CAP_SYS_NICE in its user namespace (or an
// LSM refused: EACCES).
inline result<void> set_task_mempolicy(int pidfd, int mode, const unsigned long* nmask, unsigned long maxnode,
                                       unsigned flags) noexcept {
  TASKMPOL_TRYV(task_mempolicy_support());
  TASKMPOL_TRYV(detail::invoke(nr::set_task_mempolicy, pidfd, mode, nmask, maxnode, flags));
  return success();
}

// get_mempolicy(2) for the target (the same flags; addr is an address of the target). EPERM
// without ptrace read access to the target.
inline result<void> get_task_mempolicy(int pidfd, int* mode, unsigned long* nmask, unsigned long maxnode,
                                       unsigned long addr, unsigned long flags) noexcept {
  TASKMPOL_TRYV(task_mempolicy_support());
  TASKMPOL_TRYV(detail::invoke(nr::get_task_mempolicy, pidfd, mode, nmask, maxnode, addr, flags));
  return success();
}

// set_mempolicy_home_node(2) on a range of the target's address space. flags must be 0. EPERM
// unless the caller may both change the target's policy (as set_task_mempolicy) and ptrace-attach
// to it (PTRACE_MODE_ATTACH_REALCREDS, what process_vm_writev needs; Yama's ptrace_scope applies).
inline result<void> set_task_mempolicy_home_node(int pidfd, unsigned long start, unsigned long len,
                                                 unsigned long home_node, unsigned long flags) noexcept {
  TASKMPOL_TRYV(task_mempolicy_support());
  TASKMPOL_TRYV(detail::invoke(nr::set_task_mempolicy_home_node, pidfd, start, len, home_node, flags));
  return success();
}

// mbind(2) on a range of the target's address space, described by *args (args->pidfd names the
// target). size is the number of bytes of *args the kernel may read: task_mbind_args_size_v0 for
// this layout. EPERM as for set_task_mempolicy_home_node (ptrace attach rights as well).
inline result<void> task_mbind(const task_mbind_args* args, std::size_t size) noexcept {
  TASKMPOL_TRYV(task_mempolicy_support());
  TASKMPOL_TRYV(detail::invoke(nr::task_mbind, args, size));
  return success();
}

// ---------------------------------------------------------------------------------------------
// Pinning a task: pidfds and /proc/<tgid>/task/<tid>. TaskHandle (task.hpp) holds one of each: the
// pidfd is what the series' calls address; the task directory serves the procfs backend and the
// thread listing, and reaches nothing once its task has gone, even if the number is reused.

// pidfd_open(2) (Linux 5.3+). flags 0: pid must be a thread-group leader (else EINVAL); flags
// pidfd_thread (6.9+): any thread. The descriptor refers to the task that has this number now,
// and keeps referring to it after it exits. The kernel always sets close-on-exec.
inline result<int> pidfd_open(pid_t pid, unsigned flags) noexcept {
  if constexpr (nr::pidfd_open == nr::unavailable) return taskmpol::detail::posix_error(ENOSYS);
  TASKMPOL_TRY(fd, detail::invoke(nr::pidfd_open, pid, flags));
  return static_cast<int>(fd);
}

// True once the task behind a pidfd has exited: a process pidfd when the whole thread group has
// (a zombie counts as exited), a thread pidfd when that thread has (pidfs' pidfd_poll). A pidfd
// that cannot be polled (EBADF, not a pidfd) also counts as exited: it pins nothing.
[[nodiscard]] inline bool pidfd_exited(int pidfd) noexcept {
  const int saved = errno;
  pollfd pfd{pidfd, POLLIN, 0};
  int n = 0;
  do {
    n = TASKMPOL_KERNEL(poll)(&pfd, 1, 0);
  } while (n < 0 && errno == EINTR);
  errno = saved;
  return n != 0 && (n < 0 || (pfd.revents & (POLLIN | POLLHUP | POLLNVAL | POLLERR)) != 0);
}

// Opens /proc/<tgid>/task/<tid> as an O_PATH directory. The procfs inode holds the struct pid of
// that very thread: once it has gone, lookups below the descriptor fail even if the number has
// been reused, and files opened through it can never reach another task.
inline result<int> open_task_dir(pid_t tgid, pid_t tid) noexcept {
  std::array<char, 64> path{};
  const int len = std::snprintf(path.data(), path.size(), "/proc/%d/task/%d", static_cast<int>(tgid),
                                static_cast<int>(tid));
  if (len <= 0 || static_cast<std::size_t>(len) >= path.size()) return taskmpol::detail::posix_error(EINVAL);
  return open_at(AT_FDCWD, path.data(), O_PATH | O_DIRECTORY);
}

// Opens another thread's directory of the same process, /proc/<tgid>/task/<tid>, through the ".."
// of an open_task_dir() descriptor: the process is the pinned one even if its number has been
// recycled since (then the lookup fails). Errors: those of openat(2), ENOENT when the process has
// no such thread.
inline result<int> open_sibling_task_dir(int task_dirfd, pid_t tid) noexcept {
  std::array<char, 32> path{};
  const int len = std::snprintf(path.data(), path.size(), "../%d", static_cast<int>(tid));
  if (len <= 0 || static_cast<std::size_t>(len) >= path.size()) return taskmpol::detail::posix_error(EINVAL);
  return open_at(task_dirfd, path.data(), O_PATH | O_DIRECTORY);
}

// Whether the thread behind an open_task_dir() descriptor still exists (zombies count: their
// /proc entries stay until they are reaped).
[[nodiscard]] inline bool task_dir_alive(int task_dirfd) noexcept { return exists(task_dirfd, "stat"); }

// What the kernel reports about a pidfd (/proc/self/fdinfo/<fd> and its file status flags).
struct PidfdInfo {
  pid_t pid = 0;        // its task's number in the caller's pid namespace; 0: not visible there;
                        // -1: the task has exited and been reaped
  bool thread = false;  // a PIDFD_THREAD pidfd (one thread) rather than a process pidfd (the leader)
};

// Reads what the kernel reports about pidfd: the "Pid:" line of its fdinfo, and PIDFD_THREAD
// (O_EXCL) in fcntl(F_GETFL) (Linux 6.9+; older kernels have process pidfds only).
// Errors: EBADF when pidfd is not an open descriptor or not a pidfd (its fdinfo has no "Pid:");
// ENOENT when /proc is not mounted.
inline result<PidfdInfo> pidfd_info(int pidfd) noexcept {
  if (pidfd < 0) return taskmpol::detail::posix_error(EBADF);
  const int flags = TASKMPOL_KERNEL(fcntl)(pidfd, F_GETFL);
  if (flags < 0) return taskmpol::detail::posix_error(errno);
  std::array<char, 48> path{};
  const int len = std::snprintf(path.data(), path.size(), "/proc/self/fdinfo/%d", pidfd);
  if (len <= 0 || static_cast<std::size_t>(len) >= path.size()) return taskmpol::detail::posix_error(EBADF);
  std::array<char, 24> value{};
  auto size = read_proc_field(AT_FDCWD, path.data(), "Pid", value);
  if (!size) {
    // No "Pid:" line (ENOENT with /proc mounted), or a file far larger than a pidfd's: another kind.
    const bool no_line = size.error() == std::errc::no_such_file_or_directory && exists(AT_FDCWD, "/proc/self");
    if (no_line || size.error() == std::errc::file_too_large) return taskmpol::detail::posix_error(EBADF);
    return size.error();
  }
  const std::string_view text(value.data(), size.assume_value());
  const bool negative = !text.empty() && text.front() == '-';
  const std::string_view digits = negative ? text.substr(1) : text;
  long number = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || number > 100'000'000) return taskmpol::detail::posix_error(EIO);  // not the kernel's
    number = number * 10 + (c - '0');
  }
  if (digits.empty()) return taskmpol::detail::posix_error(EIO);
  PidfdInfo out;
  out.pid = static_cast<pid_t>(negative ? -number : number);
  out.thread = (static_cast<unsigned>(flags) & pidfd_thread) != 0;
  return out;
}

// The thread IDs in the directory /proc/<tgid>/task, reached through the ".." of an
// open_task_dir() descriptor so that it is the directory of the pinned process (a recycled tgid
// lists nothing). Replaces the contents of tids. Allocates (the vector).
inline result<void> list_threads(int task_dirfd, std::vector<pid_t>& tids) noexcept {
  tids.clear();
  return detail::numeric_entries(task_dirfd, "..", tids);
}

// The processes in /proc (of the caller's pid namespace, as procfs is mounted), in the order
// procfs lists them (ascending). Replaces the contents of pids. Allocates (the vector).
// A number is only a name for a moment: to act on a process found here, read its identity
// (read_process_stat) and pin it with TaskHandle::open_matched(), which confirms it is still the
// process that was seen.
inline result<void> list_processes(std::vector<pid_t>& pids) noexcept {
  pids.clear();
  return detail::numeric_entries(AT_FDCWD, "/proc", pids);
}

// Who a process is, as /proc/<pid>/stat tells it: with pid and start time it tells a process from
// a later one that got the same number; the name is what rules match (comm, as `ps -o comm`).
struct ProcessStat {
  static constexpr std::size_t name_capacity = 64;  // the kernel prints at most 63 bytes of a name

  pid_t pid = 0;
  std::array<char, name_capacity> name_bytes{};  // NUL terminated: the text between the parentheses
  char state = '?';                              // field 3: R, S, D, Z, ...
  unsigned long flags = 0;                       // field 9: the task's PF_* flags
  unsigned long long start_time = 0;             // field 22: clock ticks after boot when it started

  [[nodiscard]] std::string_view name() const noexcept {
    std::size_t n = 0;
    while (n < name_bytes.size() && name_bytes[n] != '\0') ++n;
    return {name_bytes.data(), n};
  }
  // A kernel thread (PF_KTHREAD): no user memory, no memory policy of its own to change.
  [[nodiscard]] bool kernel_thread() const noexcept { return (flags & 0x00200000UL) != 0; }
};

// Reads /proc/<pid>/stat by number: the task that has this number now. Errors: EINVAL for
// pid <= 0; ESRCH when no task has it; EIO when the file is not in the kernel's format.
inline result<ProcessStat> read_process_stat(pid_t pid) noexcept {
  if (pid <= 0) return taskmpol::detail::posix_error(EINVAL);
  std::array<char, 48> path{};
  const int len = std::snprintf(path.data(), path.size(), "/proc/%d/stat", static_cast<int>(pid));
  if (len <= 0 || static_cast<std::size_t>(len) >= path.size()) return taskmpol::detail::posix_error(EINVAL);
  std::array<char, 1024> text{};  // about 300 bytes: 52 numbers and a name of at most 64 bytes
  auto size = read_file(AT_FDCWD, path.data(), text);
  if (!size) {
    if (size.error() == std::errc::no_such_file_or_directory) return taskmpol::detail::posix_error(ESRCH);
    return size.error();
  }
  const std::string_view stat(text.data(), size.assume_value());
  // "pid (name) state ppid ...": the name may hold blanks and parentheses, so it ends at the last ')'.
  const std::size_t open = stat.find('(');
  const std::size_t close = stat.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return taskmpol::detail::posix_error(EIO);
  ProcessStat out;
  out.pid = pid;
  const std::string_view name = stat.substr(open + 1, close - open - 1);
  if (name.size() >= out.name_bytes.size()) return taskmpol::detail::posix_error(EIO);
  name.copy(out.name_bytes.data(), name.size());
  // Fields from 3 on, separated by single blanks.
  std::string_view rest = close + 2 <= stat.size() ? stat.substr(close + 2) : std::string_view{};
  for (int field = 3; field <= 22; ++field) {
    const std::size_t end = std::min(rest.find(' '), rest.size());
    const std::string_view word = rest.substr(0, end);
    if (word.empty()) return taskmpol::detail::posix_error(EIO);
    if (field == 3) {
      out.state = word.front();
    } else if (field == 9 || field == 22) {
      unsigned long long value = 0;
      for (char c : word) {
        if (c < '0' || c > '9' || value > (~0ULL - 9) / 10) return taskmpol::detail::posix_error(EIO);
        value = value * 10 + static_cast<unsigned>(c - '0');
      }
      if (field == 9) out.flags = static_cast<unsigned long>(value);
      else out.start_time = value;
    }
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  return out;
}

}  // namespace taskmpol::sys
