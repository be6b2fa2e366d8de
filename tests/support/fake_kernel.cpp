// SPDX-License-Identifier: MIT
// The fake kernel of fake_kernel.hpp. This file is compiled with the same forced include as the
// tests, so it sees the library's seam exactly as they do.
#include "fake_kernel.hpp"

#include <taskmpol/syscalls.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace taskmpol_test {

namespace {

std::atomic<FakeKernel*> active{nullptr};

constexpr long nr_set_task_mempolicy = 463;
constexpr long nr_get_task_mempolicy = 464;
constexpr long nr_pidfd_open = 434;
constexpr unsigned long mpol_f_node = 1;
constexpr unsigned long mpol_f_mems_allowed = 4;

// A directory stream of the fake: the names of one directory's children.
struct FakeDir {
  int fd = -1;
  std::vector<std::string> names;
  std::size_t next = 0;
  dirent entry{};
};

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// Joins base and rel and folds "." and "..".
std::string join(const std::string& base, const std::string& rel) {
  std::vector<std::string> parts;
  const std::string whole = rel.front() == '/' ? rel : base + "/" + rel;
  std::size_t pos = 0;
  while (pos <= whole.size()) {
    std::size_t end = whole.find('/', pos);
    if (end == std::string::npos) end = whole.size();
    const std::string part = whole.substr(pos, end - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = end + 1;
  }
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

bool is_fake_fd(const FakeKernel& k, int fd) { return k.fds.count(fd) != 0; }

int fail(int error) {
  errno = error;
  return -1;
}

}  // namespace

// ---- FakeKernel ---------------------------------------------------------------------------------

void FakeKernel::add_dir(const std::string& path) {
  std::string p = path;
  while (true) {
    files[p].directory = true;
    if (p == "/") break;
    p = parent_of(p);
  }
}

void FakeKernel::add_file(const std::string& path, std::string content) {
  add_dir(parent_of(path));
  File& f = files[path];
  f.content = std::move(content);
  f.directory = false;
}

void FakeKernel::remove(const std::string& path) {
  for (auto it = files.begin(); it != files.end();) {
    if (it->first == path || it->first.rfind(path + "/", 0) == 0)
      it = files.erase(it);
    else
      ++it;
  }
}

bool FakeKernel::has(const std::string& path) const { return files.count(path) != 0; }

std::string FakeKernel::content(const std::string& path) const {
  const auto it = files.find(path);
  return it == files.end() ? std::string() : it->second.content;
}

void FakeKernel::series(int abi) {
  add_dir("/sys/kernel/mm");
  add_dir("/proc/self");
  if (abi >= 1) add_file("/proc/self/mempolicy", "default\n");
  if (abi >= 2) add_file("/sys/kernel/mm/mempolicy/task_mempolicy_abi", std::to_string(abi) + "\n");
}

void FakeKernel::add_task(pid_t tgid, pid_t thread, const std::string& policy_text, const std::string& mems_allowed) {
  const std::string status = "Name:\tfake\nTgid:\t" + std::to_string(tgid) + "\nPid:\t" + std::to_string(thread) +
                             "\nMems_allowed_list:\t" + mems_allowed + "\n";
  std::string stat = std::to_string(thread) + " (fake) S";
  for (int field = 4; field <= 52; ++field) stat += " 0";
  stat += "\n";
  const std::string dir = "/proc/" + std::to_string(tgid) + "/task/" + std::to_string(thread);
  add_file(dir + "/stat", stat);
  add_file(dir + "/status", status);
  add_file(dir + "/mempolicy", policy_text + "\n");
  add_file("/proc/" + std::to_string(thread) + "/task/" + std::to_string(thread) + "/status", status);
  if (thread == tgid) add_file("/proc/" + std::to_string(tgid) + "/stat", stat);
  tasks[thread] = tgid;
}

void FakeKernel::exit_task(pid_t thread) {
  const auto it = tasks.find(thread);
  if (it == tasks.end()) return;
  const pid_t tgid = it->second;
  tasks.erase(it);
  exited.insert(thread);
  remove("/proc/" + std::to_string(tgid) + "/task/" + std::to_string(thread));
  if (thread != tgid) remove("/proc/" + std::to_string(thread));
}

void FakeKernel::inject(Call call, int error, int times, long nr, std::string path_part) {
  faults.push_back(Fault{call, error, times, nr, std::move(path_part)});
}

std::size_t FakeKernel::count(long nr) const {
  return static_cast<std::size_t>(
      std::count_if(syscalls.begin(), syscalls.end(), [nr](const auto& c) { return c.first == nr; }));
}

std::optional<int> FakeKernel::fault(Call call, long nr, const std::string& path) {
  for (auto it = faults.begin(); it != faults.end(); ++it) {
    if (it->call != call) continue;
    if (call == Call::syscall && it->nr != -1 && it->nr != nr) continue;
    if (!it->path_part.empty() && path.find(it->path_part) == std::string::npos) continue;
    const int error = it->error;
    if (--it->times <= 0) faults.erase(it);
    return error;
  }
  return std::nullopt;
}

std::optional<long> FakeKernel::default_syscall(long nr, const std::array<long, 6>& a, int& error) {
  // The task a pidfd argument names; 0 with `error` set when there is none.
  const auto target = [&](long pidfd) -> pid_t {
    if (pidfd == taskmpol::sys::pidfd_self_thread) return tid;
    const auto it = fds.find(static_cast<int>(pidfd));
    if (it == fds.end() || it->second.kind != Fd::Kind::pidfd) {
      error = EBADF;
      return 0;
    }
    if (exited.count(it->second.task) != 0) {
      error = ESRCH;
      return 0;
    }
    return it->second.task;
  };
  if (nr == SYS_gettid) return tid;
  if (nr == nr_pidfd_open) {
    const auto pid_arg = static_cast<pid_t>(a[0]);
    const auto it = tasks.find(pid_arg);
    if (it == tasks.end()) {
      error = ESRCH;
      return std::nullopt;
    }
    const bool thread = (static_cast<unsigned long>(a[1]) & taskmpol::sys::pidfd_thread) != 0;
    if (!thread && it->second != pid_arg) {
      error = EINVAL;
      return std::nullopt;
    }
    const int fd = next_fd++;
    Fd f;
    f.kind = Fd::Kind::pidfd;
    f.task = pid_arg;
    f.thread = thread;
    fds[fd] = f;
    return fd;
  }
  if (nr == nr_set_task_mempolicy || nr == SYS_set_mempolicy) {
    const bool series = nr == nr_set_task_mempolicy;
    const pid_t t = series ? target(a[0]) : tid;
    if (t == 0) return std::nullopt;
    RawPolicy p;
    p.mode = static_cast<int>(series ? a[1] : a[0]);
    const auto* words = reinterpret_cast<const unsigned long*>(series ? a[2] : a[1]);
    const auto maxnode = static_cast<unsigned long>(series ? a[3] : a[2]);
    for (std::size_t i = 0; words != nullptr && i < p.words.size() && i * 64 < maxnode - 1; ++i) p.words[i] = words[i];
    policies[t] = p;
    return 0;
  }
  if (nr == nr_get_task_mempolicy || nr == SYS_get_mempolicy) {
    const bool series = nr == nr_get_task_mempolicy;
    const pid_t t = series ? target(a[0]) : tid;
    if (t == 0) return std::nullopt;
    auto* mode = reinterpret_cast<int*>(series ? a[1] : a[0]);
    auto* words = reinterpret_cast<unsigned long*>(series ? a[2] : a[1]);
    const auto maxnode = static_cast<unsigned long>(series ? a[3] : a[2]);
    const auto flags = static_cast<unsigned long>(series ? a[5] : a[4]);
    if ((flags & mpol_f_node) != 0) {
      error = EINVAL;
      return std::nullopt;
    }
    RawPolicy p = policies[t];
    if ((flags & mpol_f_mems_allowed) != 0) {
      p = RawPolicy{};
      p.words[0] = 3;  // nodes 0-1
    }
    if (mode != nullptr) *mode = p.mode;
    for (std::size_t i = 0; words != nullptr && i * 64 < maxnode - 1 && i < p.words.size(); ++i) words[i] = p.words[i];
    return 0;
  }
  error = ENOSYS;
  return std::nullopt;
}

// ---- scope ---------------------------------------------------------------------------------------

void reset_series_detection() { taskmpol::sys::detail::series_cache.store(0); }

FakeKernelScope::FakeKernelScope() {
  reset_series_detection();
  active.store(&kernel_);
}

FakeKernelScope::~FakeKernelScope() {
  active.store(nullptr);
  reset_series_detection();
}

// ---- the calls -----------------------------------------------------------------------------------

namespace kernel {

long syscall_array(long number, const std::array<long, 6>& a) {
  FakeKernel* k = active.load();
  if (k == nullptr) return ::syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  std::optional<long> answer;
  int error = 0;
  {
    std::lock_guard<std::mutex> lock(k->mutex);
    if (const auto f = k->fault(Call::syscall, number)) return fail(*f);
    if (k->on_syscall) {
      if (const auto r = k->on_syscall(number, a)) {
        k->syscalls.emplace_back(number, a);
        if (*r < 0) return fail(static_cast<int>(-*r));
        return *r;
      }
    }
    if (!k->passthrough) {
      answer = k->default_syscall(number, a, error);
      k->syscalls.emplace_back(number, a);
      if (!answer) return fail(error);
      return *answer;
    }
  }
  return ::syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int openat(int dirfd, const char* path, int flags) {
  FakeKernel* k = active.load();
  if (k == nullptr) return ::openat(dirfd, path, flags);
  {
    std::lock_guard<std::mutex> lock(k->mutex);
    std::string full;
    if (path[0] == '/') {
      full = join("/", path);
    } else if (is_fake_fd(*k, dirfd)) {
      full = join(k->fds[dirfd].path, path);
    }
    if (!full.empty()) {
      if (k->hidden.count(full) != 0) return fail(ENOENT);
      if (const auto f = k->fault(Call::openat, -1, full)) return fail(*f);
      // /proc/self/fdinfo/<n> of a fake pidfd: what the kernel prints there.
      const std::string fdinfo = "/proc/self/fdinfo/";
      if (full.rfind(fdinfo, 0) == 0) {
        const int n = std::atoi(full.c_str() + fdinfo.size());
        const auto it = k->fds.find(n);
        if (it != k->fds.end() && it->second.kind == FakeKernel::Fd::Kind::pidfd) {
          const pid_t shown = k->exited.count(it->second.task) != 0 ? -1 : it->second.task;
          k->files[full].content = "pos:\t0\nflags:\t02000002\nPid:\t" + std::to_string(shown) + "\n";
        }
      }
      const auto it = k->files.find(full);
      if (it != k->files.end()) {
        if ((flags & O_DIRECTORY) != 0 && !it->second.directory) return fail(ENOTDIR);
        const int fd = k->next_fd++;
        FakeKernel::Fd f;
        f.kind = it->second.directory ? FakeKernel::Fd::Kind::dir : FakeKernel::Fd::Kind::file;
        f.path = full;
        f.flags = flags;
        k->fds[fd] = f;
        return fd;
      }
      if (!k->passthrough || is_fake_fd(*k, dirfd)) return fail(ENOENT);
    } else if (!k->passthrough) {
      return fail(dirfd == AT_FDCWD ? ENOENT : EBADF);
    }
  }
  return ::openat(dirfd, path, flags);
}

ssize_t read(int fd, void* buf, std::size_t count) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    const auto it = k->fds.find(fd);
    if (it != k->fds.end()) {
      if (const auto f = k->fault(Call::read, -1, it->second.path)) return fail(*f);
      if (it->second.kind != FakeKernel::Fd::Kind::file) return fail(EISDIR);
      const std::string& text = k->files[it->second.path].content;
      const std::size_t left = it->second.offset < text.size() ? text.size() - it->second.offset : 0;
      const std::size_t n = std::min(left, count);
      std::memcpy(buf, text.data() + it->second.offset, n);
      it->second.offset += n;
      return static_cast<ssize_t>(n);
    }
    if (!k->passthrough) return fail(EBADF);
  }
  return ::read(fd, buf, count);
}

ssize_t write(int fd, const void* buf, std::size_t count) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    const auto it = k->fds.find(fd);
    if (it != k->fds.end()) {
      std::size_t n = count;
      if (const auto f = k->fault(Call::write, -1, it->second.path)) {
        if (*f != 0) return fail(*f);
        n = count > 0 ? count - 1 : 0;  // a short write
      }
      const std::string text(static_cast<const char*>(buf), n);
      k->writes.emplace_back(it->second.path, text);
      k->files[it->second.path].content = text;
      return static_cast<ssize_t>(n);
    }
    if (!k->passthrough) return fail(EBADF);
  }
  return ::write(fd, buf, count);
}

int close(int fd) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    if (k->fds.erase(fd) != 0) return 0;
    if (!k->passthrough) return fail(EBADF);
  }
  return ::close(fd);
}

int faccessat(int dirfd, const char* path, int mode, int flags) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    std::string full;
    if (path[0] == '/') full = join("/", path);
    else if (is_fake_fd(*k, dirfd)) full = join(k->fds[dirfd].path, path);
    if (!full.empty()) {
      if (k->hidden.count(full) != 0) return fail(ENOENT);
      if (const auto f = k->fault(Call::faccessat, -1, full)) return fail(*f);
      if (k->files.count(full) != 0) return 0;
      if (!k->passthrough || is_fake_fd(*k, dirfd)) return fail(ENOENT);
    } else if (!k->passthrough) {
      return fail(ENOENT);
    }
  }
  return ::faccessat(dirfd, path, mode, flags);
}

int fcntl(int fd, int cmd) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    const auto it = k->fds.find(fd);
    if (it != k->fds.end()) {
      if (cmd != F_GETFL) return fail(EINVAL);
      if (it->second.kind == FakeKernel::Fd::Kind::pidfd)
        return O_RDWR | (it->second.thread ? static_cast<int>(taskmpol::sys::pidfd_thread) : 0);
      return it->second.flags;
    }
    if (!k->passthrough) return fail(EBADF);
  }
  return ::fcntl(fd, cmd);
}

int poll(pollfd* fds, nfds_t count, int timeout) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    if (count == 1 && is_fake_fd(*k, fds[0].fd)) {
      if (const auto f = k->fault(Call::poll)) return fail(*f);
      const FakeKernel::Fd& f = k->fds[fds[0].fd];
      const bool gone = f.kind == FakeKernel::Fd::Kind::pidfd && k->exited.count(f.task) != 0;
      fds[0].revents = gone ? POLLIN : 0;
      return gone ? 1 : 0;
    }
    if (!k->passthrough) {
      for (nfds_t i = 0; i < count; ++i) fds[i].revents = POLLNVAL;
      return static_cast<int>(count);
    }
  }
  return ::poll(fds, count, timeout);
}

DIR* fdopendir(int fd) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    const auto it = k->fds.find(fd);
    if (it != k->fds.end()) {
      if (const auto f = k->fault(Call::fdopendir, -1, it->second.path)) {
        errno = *f;
        return nullptr;
      }
      if (it->second.kind != FakeKernel::Fd::Kind::dir) {
        errno = ENOTDIR;
        return nullptr;
      }
      auto dir = std::make_unique<FakeDir>();
      dir->fd = fd;
      const std::string prefix = it->second.path == "/" ? "/" : it->second.path + "/";
      for (const auto& [path, file] : k->files) {
        if (path.size() <= prefix.size() || path.rfind(prefix, 0) != 0) continue;
        const std::string rest = path.substr(prefix.size());
        if (rest.find('/') == std::string::npos) dir->names.push_back(rest);
      }
      k->dirs.insert(dir.get());
      return reinterpret_cast<DIR*>(dir.release());
    }
    if (!k->passthrough) {
      errno = EBADF;
      return nullptr;
    }
  }
  return ::fdopendir(fd);
}

dirent* readdir(DIR* d) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    if (k->dirs.count(d) == 0) return ::readdir(d);
    if (const auto f = k->fault(Call::readdir)) {
      errno = *f;
      return nullptr;
    }
    auto* dir = reinterpret_cast<FakeDir*>(d);
    if (dir->next >= dir->names.size()) return nullptr;
    const std::string& name = dir->names[dir->next++];
    std::memset(&dir->entry, 0, sizeof dir->entry);
    std::strncpy(dir->entry.d_name, name.c_str(), sizeof dir->entry.d_name - 1);
    return &dir->entry;
  }
  return ::readdir(d);
}

int closedir(DIR* d) {
  FakeKernel* k = active.load();
  if (k != nullptr) {
    std::lock_guard<std::mutex> lock(k->mutex);
    if (k->dirs.erase(d) == 0) return ::closedir(d);
    auto* dir = reinterpret_cast<FakeDir*>(d);
    k->fds.erase(dir->fd);
    delete dir;
    return 0;
  }
  return ::closedir(d);
}

pid_t getpid() {
  FakeKernel* k = active.load();
  if (k != nullptr && !k->passthrough) return k->pid;
  return ::getpid();
}

}  // namespace kernel
}  // namespace taskmpol_test
