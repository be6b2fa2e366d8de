// SPDX-License-Identifier: MIT
// The one seam between taskmpol and the kernel: every syscall(2) the library issues goes through
// this header, and so does the detection of the task mempolicy series.
//
// Layering: this header knows kernel numbers, argument shapes and errno. It knows nothing of
// Policy or NodeMask (callers pass the words and maxnode that NodeMask::kernel_arg() produced), so
// policy.hpp and node_mask.hpp stay free of kernel calls and this header stays free of grammar.
#pragma once

#include <taskmpol/error.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <linux/types.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

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

// move_pages(2) flags.
inline constexpr int mpol_mf_move_int = 1 << 1;      // MPOL_MF_MOVE, as move_pages' int flags
inline constexpr int mpol_mf_move_all_int = 1 << 2;  // MPOL_MF_MOVE_ALL, as move_pages' int flags

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
// x86_64 and i386 tables. They are deliberately NOT taken from <sys/syscall.h>: on upstream 6.13+
// the same numbers are other calls (463 is setxattrat), which is why they are issued only after
// task_mempolicy_available() has positively detected the series. x32 (__ILP32__ on x86_64) uses a
// different table and is not covered by the series.
#if (defined(__x86_64__) && !defined(__ILP32__)) || defined(__i386__)
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

// The series' task_mbind(2) argument block, version 0 (48 bytes). Fixed-width fields with explicit
// padding so a 32-bit caller on a 64-bit kernel passes the same layout; the kernel reads it with
// copy_struct_from_user(), so later versions may grow it (a larger size is accepted only when the
// tail is zero). `reserved` is the kernel's `__reserved` (a name C++ reserves); it must be zero.
struct task_mbind_args {
  __s32 pid;              // target thread (TID) or 0 for the caller
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
    ret = ::syscall(number, syscall_arg(args)...);
  } while (ret == -1 && errno == EINTR);
  if (ret == -1) return taskmpol::detail::posix_error(errno);
  return ret;
}

// Series detection state. 0: not probed yet, 1: absent, 2: present.
inline std::atomic<int> series_cache{0};
// Test override. 0: probe the kernel, 1: force absent, 2: force present.
inline std::atomic<int> series_override{0};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Series detection.

// The series' procfs file. A kernel that has it also has the series' syscalls at the numbers
// above; no upstream kernel has either file or calls.
inline constexpr const char* series_probe_path = "/proc/self/mempolicy";

// Asks the kernel afresh (no cache, no override): does the series' procfs file exist?
// Only existence is checked (F_OK), so permissions or an unreadable file cannot hide the series.
// Without /proc mounted the answer is "absent", which errs on the side of never issuing a number
// that may mean another call.
[[nodiscard]] inline bool probe_task_mempolicy_series() noexcept {
  const int saved = errno;  // a negative answer is not an error for the caller
  const bool present = ::faccessat(AT_FDCWD, series_probe_path, F_OK, 0) == 0;
  errno = saved;
  return present;
}

// True when the running kernel has the task mempolicy series. The probe runs once per process;
// tests may override the answer (see testing::override_series_detection).
[[nodiscard]] inline bool task_mempolicy_available() noexcept {
  if constexpr (nr::set_task_mempolicy == nr::unavailable) {
    return false;  // no numbers for this architecture: never, whatever the override says
  } else {
    const int forced = detail::series_override.load(std::memory_order_relaxed);
    if (forced != 0) return forced == 2;
    int state = detail::series_cache.load(std::memory_order_relaxed);
    if (state == 0) {
      // Two threads may both probe; they get the same answer, so the race is harmless.
      state = probe_task_mempolicy_series() ? 2 : 1;
      detail::series_cache.store(state, std::memory_order_relaxed);
    }
    return state == 2;
  }
}

namespace testing {

enum class SeriesDetection : int {
  probe = 0,           // normal behaviour: ask the kernel (cached)
  force_absent = 1,    // behave as on a kernel without the series
  force_present = 2,   // issue the series' numbers even though the probe says no: tests only
};

// Test hook: overrides series detection for the whole process. Forcing "present" on a kernel
// without the series makes the task wrappers issue numbers that may belong to other calls (463 is
// setxattrat on 6.13+), so only do it under a seccomp filter or in a throwaway child.
inline void override_series_detection(SeriesDetection mode) noexcept {
  detail::series_override.store(static_cast<int>(mode), std::memory_order_relaxed);
}

}  // namespace testing

// ---------------------------------------------------------------------------------------------
// Raw wrappers for the stock calls, acting on the caller. Arguments are exactly the kernel's; the
// node masks come from NodeMask::kernel_arg() (which knows the maxnode rule). Each returns the
// kernel's errno in std::system_category() on failure.

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
// Raw wrappers for the series' calls. Each one first checks task_mempolicy_available() and, on any
// kernel without the series, returns errc::unsupported_kernel without issuing a syscall: the
// numbers mean other calls upstream. pid 0 means the caller; a TID addresses one thread.

inline result<void> set_task_mempolicy(pid_t pid, int mode, const unsigned long* nmask,
                                       unsigned long maxnode) noexcept {
  if (!task_mempolicy_available()) return errc::unsupported_kernel;
  TASKMPOL_TRYV(detail::invoke(nr::set_task_mempolicy, pid, mode, nmask, maxnode));
  return success();
}

inline result<void> get_task_mempolicy(pid_t pid, int* mode, unsigned long* nmask, unsigned long maxnode,
                                       unsigned long addr, unsigned long flags) noexcept {
  if (!task_mempolicy_available()) return errc::unsupported_kernel;
  TASKMPOL_TRYV(detail::invoke(nr::get_task_mempolicy, pid, mode, nmask, maxnode, addr, flags));
  return success();
}

inline result<void> set_task_mempolicy_home_node(pid_t pid, unsigned long start, unsigned long len,
                                                 unsigned long home_node, unsigned long flags) noexcept {
  if (!task_mempolicy_available()) return errc::unsupported_kernel;
  TASKMPOL_TRYV(detail::invoke(nr::set_task_mempolicy_home_node, pid, start, len, home_node, flags));
  return success();
}

// size is the number of bytes of *args the kernel may read: task_mbind_args_size_v0 for this layout.
inline result<void> task_mbind(const task_mbind_args* args, std::size_t size) noexcept {
  if (!task_mempolicy_available()) return errc::unsupported_kernel;
  TASKMPOL_TRYV(detail::invoke(nr::task_mbind, args, size));
  return success();
}


// ---------------------------------------------------------------------------------------------
// Pinning a task: pidfds and /proc/<tgid>/task/<tid>. TaskHandle (task.hpp) holds one of each, so
// that a pid recycled after the target exited is never mistaken for the target.

// PIDFD_THREAD (uapi/linux/pidfd.h, Linux 6.9+): a pidfd for one thread instead of a process.
inline constexpr unsigned pidfd_thread = O_EXCL;

// gettid(2). Cannot fail.
[[nodiscard]] inline pid_t gettid() noexcept {
  if constexpr (nr::gettid == nr::unavailable) {
    return ::getpid();
  } else {
    return static_cast<pid_t>(::syscall(nr::gettid));
  }
}

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
    n = ::poll(&pfd, 1, 0);
  } while (n < 0 && errno == EINTR);
  errno = saved;
  return n != 0 && (n < 0 || (pfd.revents & (POLLIN | POLLHUP | POLLNVAL | POLLERR)) != 0);
}

// Opens /proc/<tgid>/task/<tid> as an O_PATH directory. The procfs inode holds the struct pid of
// that very thread: once it has gone, lookups below the descriptor fail even if the number has
// been reused, and files opened through it can never reach another task.
inline result<int> open_task_dir(pid_t tgid, pid_t tid) noexcept {
  char path[64];
  const int len = std::snprintf(path, sizeof(path), "/proc/%d/task/%d", static_cast<int>(tgid), static_cast<int>(tid));
  if (len <= 0 || static_cast<std::size_t>(len) >= sizeof(path)) return taskmpol::detail::posix_error(EINVAL);
  int fd = -1;
  do {
    fd = ::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return taskmpol::detail::posix_error(errno);
  return fd;
}

// Whether the thread behind an open_task_dir() descriptor still exists (zombies count: their
// /proc entries stay until they are reaped).
[[nodiscard]] inline bool task_dir_alive(int task_dirfd) noexcept {
  const int saved = errno;
  struct stat st{};
  const bool alive = ::fstatat(task_dirfd, "stat", &st, 0) == 0;
  errno = saved;
  return alive;
}

// Reads the whole of a small procfs file below dirfd into buf (at most cap - 1 bytes, NUL
// terminated). Errors: the errno of open/read; EFBIG when the file does not fit.
inline result<std::size_t> read_proc_file(int dirfd, const char* name, char* buf, std::size_t cap) noexcept {
  if (cap == 0) return taskmpol::detail::posix_error(EINVAL);
  int fd = -1;
  do {
    fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return taskmpol::detail::posix_error(errno);
  std::size_t total = 0;
  int error = 0;
  while (true) {
    const ssize_t n = ::read(fd, buf + total, cap - 1 - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
    if (total == cap - 1) {
      error = EFBIG;
      break;
    }
  }
  ::close(fd);
  buf[total] = '\0';
  if (error != 0) return taskmpol::detail::posix_error(error);
  return total;
}

// Writes text to a procfs file below dirfd with one write(2), as the series' mempolicy file
// requires (the whole policy in one write at offset 0). Errors: the errno of open/write; EIO when
// the kernel took only part of it.
inline result<void> write_proc_file(int dirfd, const char* name, std::string_view text) noexcept {
  int fd = -1;
  do {
    fd = ::openat(dirfd, name, O_WRONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return taskmpol::detail::posix_error(errno);
  ssize_t n = -1;
  do {
    n = ::write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  const int error = n < 0 ? errno : (static_cast<std::size_t>(n) != text.size() ? EIO : 0);
  ::close(fd);
  if (error != 0) return taskmpol::detail::posix_error(error);
  return success();
}

// The value of one "Name:\tvalue" line of a procfs status file below dirfd, copied into out
// (NUL terminated). Errors: as read_proc_file; ENOENT when the file has no such line.
inline result<std::size_t> read_status_field(int dirfd, std::string_view field, char* out, std::size_t cap) noexcept {
  // /proc/<pid>/status is about 1.5 KiB; its Cpus_allowed lines grow with the CPU count.
  char buf[32768];
  TASKMPOL_TRY(size, read_proc_file(dirfd, "status", buf, sizeof(buf)));
  const std::string_view text(buf, size);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > field.size() && line.substr(0, field.size()) == field && line[field.size()] == ':') {
      line.remove_prefix(field.size() + 1);
      while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
      if (line.size() >= cap) return taskmpol::detail::posix_error(EFBIG);
      line.copy(out, line.size());
      out[line.size()] = '\0';
      return line.size();
    }
    pos = end + 1;
  }
  return taskmpol::detail::posix_error(ENOENT);
}

namespace detail {
// Appends the entries of dir whose names are positive decimal numbers (the pids in /proc, the
// thread IDs in /proc/<pid>/task) to ids, then closes dir.
inline result<void> numeric_entries(DIR* dir, std::vector<pid_t>& ids) noexcept {
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    long id = 0;
    bool digits = entry->d_name[0] != '\0';
    for (const char* c = entry->d_name; *c != '\0' && digits; ++c) {
      if (*c < '0' || *c > '9' || id > 100'000'000) digits = false;  // pid_max is at most 2^22
      else id = id * 10 + (*c - '0');
    }
    if (digits && id > 0) ids.push_back(static_cast<pid_t>(id));
  }
  const int e = errno;
  ::closedir(dir);
  if (e != 0) return taskmpol::detail::posix_error(e);
  return success();
}
}  // namespace detail

// The thread IDs in the directory /proc/<tgid>/task, reached through the ".." of an
// open_task_dir() descriptor so that it is the directory of the pinned process (a recycled tgid
// lists nothing). Replaces the contents of tids. Allocates (the vector).
inline result<void> list_threads(int task_dirfd, std::vector<pid_t>& tids) noexcept {
  tids.clear();
  int fd = -1;
  do {
    fd = ::openat(task_dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return taskmpol::detail::posix_error(errno);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int e = errno;
    ::close(fd);
    return taskmpol::detail::posix_error(e);
  }
  return detail::numeric_entries(dir, tids);
}

// The processes in /proc (of the caller's pid namespace, as procfs is mounted), in the order
// procfs lists them (ascending). Replaces the contents of pids. Allocates (the vector).
inline result<void> list_processes(std::vector<pid_t>& pids) noexcept {
  pids.clear();
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return taskmpol::detail::posix_error(errno);
  return detail::numeric_entries(dir, pids);
}

}  // namespace taskmpol::sys
