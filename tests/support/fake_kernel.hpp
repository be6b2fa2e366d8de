// SPDX-License-Identifier: MIT
// A fake kernel behind the library's seam (syscalls.hpp: TASKMPOL_KERNEL), for the paths that only
// fail in production: EINTR, short writes, a file that does not fit, ENOSYS from a seccomp profile,
// a thread that exits in the middle of a walk, the syscall-to-procfs fallback, kernels with and
// without the series and with its other ABI.
//
// The test program that uses it is compiled with this header forced in front of every translation
// unit (tests/unit/CMakeLists.txt: -include), so that every taskmpol header in the program sees
// the same TASKMPOL_KERNEL (the wrappers are inline functions: one definition per program).
//
// With no FakeKernel installed every call goes to the real kernel. An installed FakeKernel answers
// from its own files, tasks and policies; with `passthrough` set it answers only for the files it
// has and sends everything else to the real kernel (the seccomp control experiments use that: a
// fake ABI file in front of real syscalls). Faults are injected per call kind.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <dirent.h>
#include <poll.h>
#include <sys/types.h>

#define TASKMPOL_KERNEL(call) ::taskmpol_test::kernel::call

namespace taskmpol_test {

class FakeKernel;

namespace kernel {

long syscall_array(long number, const std::array<long, 6>& args);

// syscall(2) as the library calls it: up to six arguments, each already widened to long.
template <class... Args>
long syscall(long number, Args... args) {
  static_assert(sizeof...(Args) <= 6, "syscall takes at most six arguments");
  const std::array<long, 6> a{static_cast<long>(args)...};
  return syscall_array(number, a);
}

int openat(int dirfd, const char* path, int flags);
ssize_t read(int fd, void* buf, std::size_t count);
ssize_t write(int fd, const void* buf, std::size_t count);
int close(int fd);
int faccessat(int dirfd, const char* path, int mode, int flags);
int fcntl(int fd, int cmd);
int poll(pollfd* fds, nfds_t count, int timeout);
DIR* fdopendir(int fd);
dirent* readdir(DIR* dir);
int closedir(DIR* dir);
pid_t getpid();

}  // namespace kernel

// The kinds of calls a fault can be injected into.
enum class Call { syscall, openat, read, write, faccessat, poll, fdopendir, readdir };

class FakeKernel {
 public:
  struct File {
    std::string content;
    bool directory = false;
  };
  struct RawPolicy {
    int mode = 0;  // MPOL_* with the flags ORed in
    std::array<unsigned long, 16> words{};
  };
  struct Fault {
    Call call;
    int error;      // errno to fail with (0: a short write, for Call::write)
    int times;      // how many calls in a row
    long nr = -1;   // Call::syscall: only this number (-1: any)
    std::string path_part;  // Call::openat/read/write: only files whose path contains this ("": any)
  };

  // Identity of the caller.
  pid_t pid = 1000;
  pid_t tid = 1000;
  // Only the files of this kernel are answered; everything else goes to the real one.
  bool passthrough = false;

  // Files, absolute paths. Directories are created for every parent of a file.
  void add_file(const std::string& path, std::string content);
  void add_dir(const std::string& path);
  void remove(const std::string& path);
  [[nodiscard]] bool has(const std::string& path) const;
  // A path that does not exist, even in passthrough mode (the real kernel's file stays unseen).
  void hide(const std::string& path) { hidden.insert(path); }
  [[nodiscard]] std::string content(const std::string& path) const;

  // The series: ABI file and procfs file (abi 0: a stock kernel, 1: the procfs file only).
  void series(int abi);
  // A thread `tid` of process `tgid`, with /proc/<tgid>/task/<tid>/{stat,status,mempolicy} and
  // /proc/<tid>/task/<tid>/status (how TaskHandle finds a thread's process).
  void add_task(pid_t tgid, pid_t tid, const std::string& policy_text = "default",
                const std::string& mems_allowed = "0-1");
  // The thread has exited: its pidfds poll readable, its /proc entries are gone, its calls ESRCH.
  void exit_task(pid_t tid);

  void inject(Call call, int error, int times, long nr = -1, std::string path_part = {});
  // Each syscall handled by the fake (number and the six arguments), in order.
  std::vector<std::pair<long, std::array<long, 6>>> syscalls;
  // Each write: path and text.
  std::vector<std::pair<std::string, std::string>> writes;
  // What the series' set_task_mempolicy left per thread (the default handler).
  std::map<pid_t, RawPolicy> policies;
  // A handler that answers a syscall before the default one: return a value (>= 0) or -errno;
  // std::nullopt: not handled here.
  std::function<std::optional<long>(long nr, const std::array<long, 6>& args)> on_syscall;

  // The number of handled calls of syscall nr.
  [[nodiscard]] std::size_t count(long nr) const;

  // --- used by the kernel:: functions ------------------------------------------------------
  struct Fd {
    enum class Kind { file, dir, pidfd } kind = Kind::file;
    std::string path;
    std::size_t offset = 0;
    pid_t task = 0;        // pidfd: the thread or process it names
    bool thread = false;   // pidfd: PIDFD_THREAD
    int flags = 0;
  };
  std::mutex mutex;
  std::map<std::string, File> files;
  std::map<int, Fd> fds;
  std::map<pid_t, pid_t> tasks;  // tid -> tgid, live threads
  std::set<pid_t> exited;
  std::set<const void*> dirs;  // the fake's open directory streams
  std::set<std::string> hidden;
  std::vector<Fault> faults;
  int next_fd = 100000;

  // Consumes a matching fault: its errno (or 0 for a short write), or nullopt.
  std::optional<int> fault(Call call, long nr = -1, const std::string& path = {});
  std::optional<long> default_syscall(long nr, const std::array<long, 6>& a, int& error);
};

// Installs a fake kernel for the lifetime of the object (one at a time) and resets the library's
// cached series detection on both ends, so each case sees the kernel it describes.
class FakeKernelScope {
 public:
  FakeKernelScope();
  ~FakeKernelScope();
  FakeKernelScope(const FakeKernelScope&) = delete;
  FakeKernelScope& operator=(const FakeKernelScope&) = delete;
  FakeKernel& operator*() { return kernel_; }
  FakeKernel* operator->() { return &kernel_; }

 private:
  FakeKernel kernel_;
};

// Forgets what the library detected about the series (its per-process cache).
void reset_series_detection();

}  // namespace taskmpol_test
