// SPDX-License-Identifier: MIT
// TaskHandle: one thread of any process, pinned so that a recycled pid can never be mistaken for
// it, and the memory-policy operations on it, served by the best backend the kernel offers:
//
//   1. Backend::syscalls   the series' set/get_task_mempolicy, task_mbind, set_task_mempolicy_home_node
//   2. Backend::procfs     the series' /proc/<pid>/task/<tid>/mempolicy (the thread policy only; also
//                          the allowed nodes, from the stock status file): used when the syscalls
//                          answer ENOSYS (a seccomp profile that does not know them)
//   3. Backend::self_only  the stock syscalls (self.hpp), when the handle names the calling thread
//   4. errc::unsupported_kernel (no series) or errc::series_abi_1 / series_abi_unknown (the series
//      with another ABI than this library's), without any syscall the kernel might not mean
//      (syscalls.hpp: task_mempolicy_support)
//
// Process-wide helpers follow the handle: a policy belongs to a thread, and a new thread inherits
// its creator's, so set_policy_on_all_threads() walks /proc/<pid>/task until the list is stable.
//
// Weighted interleave is an ordinary Policy (Mode::weighted_interleave) here; its global per-node
// weights are read and written with topology.hpp (read_interleave_weights, write_interleave_weight).
#pragma once

#include <taskmpol/error.hpp>
#include <taskmpol/node_mask.hpp>
#include <taskmpol/policy.hpp>
#include <taskmpol/self.hpp>
#include <taskmpol/syscalls.hpp>
#include <taskmpol/topology.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

namespace taskmpol {

// Which mechanism serves a TaskHandle's calls.
enum class Backend : std::uint8_t {
  automatic = 0,  // per call, the first that works: syscalls, procfs, self_only (see the top of this file)
  syscalls,       // the series' four syscalls
  procfs,         // the series' /proc/<pid>/task/<tid>/mempolicy (+ Mems_allowed_list from status)
  self_only,      // the stock syscalls; only for the calling thread
};

[[nodiscard]] constexpr std::string_view backend_name(Backend b) noexcept {
  switch (b) {
    case Backend::automatic: return "automatic";
    case Backend::syscalls: return "syscalls";
    case Backend::procfs: return "procfs";
    case Backend::self_only: return "self-only";
  }
  return "unknown";
}

// A range of the TARGET's address space: an integer, since it is not an address of the caller.
struct AddressRange {
  std::uintptr_t start = 0;  // page aligned
  std::size_t length = 0;    // rounded up to whole pages by the kernel
};

// What a TaskHandle call was about, for a message that says what to do: filled by every call that
// takes one, on success too (tid, backend), and with the error and its facts on failure.
struct TaskDiagnostic {
  std::error_code error;                 // what the call returned (empty on success)
  pid_t tid = 0;                         // the thread the call addressed
  Backend backend = Backend::automatic;  // the backend that answered (automatic: none was reached)
  std::size_t node = NodeMask::npos;     // the node the error is about, or npos
  bool node_exists = true;               // false: `node` is not a possible node of this system
  bool topology_known = false;           // with_memory and online below are valid
  NodeMask with_memory;                  // the system's nodes with memory (N_MEMORY)
  NodeMask online;                       // the system's online nodes
  bool allowed_known = false;            // allowed below is valid
  NodeMask allowed;                      // the target's Mems_allowed (its cpuset)
  const char* advice = "";               // what to do; static storage, never null

  // One line for people: "thread <tid> (<backend>): <error>[: node details][; advice]". Allocates;
  // noexcept like the library's other string conveniences (out of memory terminates).
  [[nodiscard]] std::string message() const noexcept {
    std::string text = "thread ";
    text += std::to_string(tid);
    if (backend != Backend::automatic) {
      text += " (";
      text += backend_name(backend);
      text += ')';
    }
    text += ": ";
    text += error ? error.message() : std::string("success");
    if (node != NodeMask::npos) {
      text += ": node ";
      text += std::to_string(node);
      if (!node_exists) text += " does not exist on this system";
      if (topology_known) {
        text += " (nodes with memory: ";
        text += with_memory.to_string();
        text += ')';
      }
    }
    if (allowed_known) {
      text += "; the target may allocate from nodes ";
      text += allowed.to_string();
      text += " (its Mems_allowed)";
    }
    if (advice[0] != '\0') {
      text += "; ";
      text += advice;
    }
    return text;
  }
};

namespace detail {

inline constexpr const char* advice_permission =
    "changing another user's task needs CAP_SYS_NICE (run as root), reading it needs ptrace read access "
    "(the rule of /proc/<pid>/numa_maps); a Linux Security Module may also refuse";
inline constexpr const char* advice_permission_range =
    "a range policy or home node in another process needs two rights: owning it or CAP_SYS_NICE, and ptrace "
    "attach rights, as process_vm_writev(2) (CAP_SYS_PTRACE, or the same user where Yama's "
    "/proc/sys/kernel/yama/ptrace_scope allows attaching); a Linux Security Module may also refuse";
inline constexpr const char* advice_nodes =
    "choose nodes that have memory and lie in the target's cpuset (cpuset.mems of its cgroup), or widen the cpuset";
inline constexpr const char* advice_move =
    "either the policy does not fit (choose nodes that have memory and lie in the target's cpuset), or this "
    "kernel's task_mbind cannot move another process's pages yet (a taskmpol series without remote "
    "MPOL_MF_MOVE answers EINVAL too): then drop MbindFlag::move/move_all and move the pages with "
    "TaskHandle::migrate_pages or move_pages(2)";
inline constexpr const char* advice_move_all =
    "MbindFlag::move_all, which also moves pages that other processes map, needs CAP_SYS_NICE (run as root), as "
    "mbind(2)'s MPOL_MF_MOVE_ALL does (MbindFlag::move, for the pages only the target maps, does not); a range "
    "policy in another process also needs owning it or CAP_SYS_NICE, and ptrace attach rights "
    "(process_vm_writev(2), Yama's ptrace_scope)";
inline constexpr const char* advice_strict =
    "the range's policy is set, but some of its pages are not on the policy's nodes: without MbindFlag::move "
    "no page moves; with it, these pages could not migrate (pinned, e.g. by a pipe or by I/O in flight, or in "
    "a mapping that cannot migrate); pages that other processes map are not errors, they stay unless "
    "MbindFlag::move_all is given";
inline constexpr const char* advice_home_online = "a home node must be an online node";

// Why the kernel refused a policy with EINVAL, given the facts a user can act on. The kernel ANDs
// the nodes with the nodes that have memory and with the target's Mems_allowed and refuses an
// empty result; the procfs grammar (mpol_parse_str) is stricter and refuses any node without
// memory (`strict`). Relative nodes are indices into the allowed set: nothing to name.
// Returns the library error that names the cause, or kernel_error when none of these applies.
inline std::error_code classify_policy_einval(const Policy& policy, std::error_code kernel_error, bool strict,
                                              TaskDiagnostic& d) noexcept {
  const bool einval = kernel_error == std::errc::invalid_argument || kernel_error == errc::nodes_not_allowed;
  if (!einval) return kernel_error;
  const NodeMask& nodes = policy.nodes();
  if (nodes.empty() || policy.flags().has(ModeFlag::relative_nodes)) return kernel_error;
  if (d.topology_known) {
    const NodeMask missing = nodes & ~d.with_memory;
    if (missing.any() && (strict || !nodes.intersects(d.with_memory))) {
      d.node = missing.first();
      d.node_exists = d.online.test(d.node) || d.with_memory.test(d.node);
      d.advice = advice_nodes;
      return errc::node_without_memory;
    }
  }
  if (d.allowed_known) {
    const NodeMask usable = d.topology_known ? nodes & d.with_memory : nodes;
    if (!usable.intersects(d.allowed)) {
      d.node = nodes.first();
      d.advice = advice_nodes;
      return errc::nodes_not_allowed;
    }
  }
  return kernel_error == errc::nodes_not_allowed ? std::error_code(posix_error(EINVAL)) : kernel_error;
}

// The advice for a failed mbind() (TaskHandle::mbind), from the flags, whether the range belongs
// to another process than the caller's, and the kernel's answer; `chosen` is what the general
// rules picked (explain(), the permission advice), kept when nothing below is more precise.
// Another process's EINVAL with a move has two causes the library cannot tell apart before the
// call: the policy, or a kernel whose task_mbind refuses remote moves (the series before remote
// MPOL_MF_MOVE has the same ABI 2), so the advice names both.
[[nodiscard]] inline const char* mbind_advice(MbindFlags flags, bool other_process, std::error_code kernel_error,
                                              const char* chosen) noexcept {
  const bool moving = flags.has(MbindFlag::move) || flags.has(MbindFlag::move_all);
  if (moving && other_process && kernel_error == std::errc::invalid_argument) return advice_move;
  if (flags.has(MbindFlag::move_all) && kernel_error == std::errc::operation_not_permitted) return advice_move_all;
  if (flags.has(MbindFlag::strict) && kernel_error == std::errc::io_error) return advice_strict;
  return chosen;
}

// Every node the policy grammar can name: procfs output is parsed without a topology check (the
// kernel printed it, so its nodes exist).
inline constexpr NodeMask any_node = NodeMask::first_n(NodeMask::capacity);

}  // namespace detail

// A pinned thread. Move-only; owns a pidfd and an O_PATH descriptor of /proc/<tgid>/task/<tid>.
// Made by self(), open(pid), thread(tid), open_thread(tid), adopt(pidfd) and, for a process seen
// in a scan of /proc, open_matched(); release() and native_handle() give access to the pidfd.
//
// Pinning. A pid names a task only while that task exists: after it is reaped the number can be
// given to a new, unrelated task, and holding a pidfd does not reserve the number. The series' calls
// (ABI 2) therefore take the handle's pidfd itself, never a pid: the kernel resolves it to the task
// it was opened for and answers ESRCH once that task has exited (errc::target_exited here), even
// if its number now belongs to another process. A process handle (open(pid)) holds a process pidfd,
// which the kernel resolves to the thread-group leader; a thread handle (thread(tid)) holds a
// PIDFD_THREAD pidfd of exactly that thread (Linux 6.9+). The calling thread addresses itself with
// the kernel's PIDFD_SELF_THREAD. The procfs backend stays pid-addressed by design: it opens its
// files below the pinned /proc/<tgid>/task/<tid> directory, whose inode refers to that very thread
// (struct pid), so its lookups fail once the thread has gone even if the number is reused. The one
// pid-addressed call left is migrate_pages(2) (a stock syscall without a pidfd form): see there.
//
// Threads: the const members keep no state of their own, so several threads may call them on one
// handle at once (set_backend(), moves and assignment need the handle to themselves). Which backend
// served a call is reported in its TaskDiagnostic (`backend`), not stored in the handle.
class TaskHandle {
 public:
  // The calling thread. Works on every kernel (the stock syscalls serve it when the series is
  // absent). Used by the thread that made it, the handle addresses the kernel's PIDFD_SELF_THREAD;
  // used by another thread, it still names its creator, through a thread pidfd of it.
  // Errors: those of pidfd_open(2) (e.g. EMFILE). On a kernel without PIDFD_THREAD (before 6.9,
  // so without the series) the handle holds no pidfd and serves only its own thread.
  [[nodiscard]] static result<TaskHandle> self() noexcept {
    TaskHandle h;
    h.tgid_ = sys::getpid();
    h.tid_ = sys::gettid();
    TASKMPOL_TRYV(h.open_own_pidfd());
    // The directory serves procfs reads from other threads only; without /proc the handle still
    // serves its own thread.
    if (auto dir = sys::open_task_dir(h.tgid_, h.tid_)) h.task_dir_ = dir.assume_value();
    return h;
  }

  // A process: a process pidfd, which the series' calls resolve to the thread-group leader (the
  // main thread). A pid that is a thread but not a leader opens that thread (as thread()).
  // Errors: EINVAL for pid <= 0; ESRCH when no such task exists; errc::target_exited when it
  // exited while being opened; ENOENT when /proc is not mounted.
  [[nodiscard]] static result<TaskHandle> open(pid_t pid) noexcept {
    if (pid <= 0) return detail::posix_error(EINVAL);
    auto fd = sys::pidfd_open(pid, 0);
    // Not a thread-group leader: EINVAL up to Linux 6.14 or so, ENOENT on 6.18.
    if (!fd && (fd.error() == std::errc::invalid_argument || fd.error() == std::errc::no_such_file_or_directory))
      return thread(pid);
    if (!fd) return fd.error();
    TaskHandle h;
    h.pidfd_ = fd.assume_value();
    h.tgid_ = pid;
    h.tid_ = pid;
    TASKMPOL_TRYV(h.pin_task_dir());
    return h;
  }

  // A process found in a scan of /proc (sys::list_processes, then sys::read_process_stat), pinned
  // only if it is still the process that was seen: opens a pidfd for seen.pid, reads
  // /proc/<pid>/stat again, checks through the pidfd that the process has not exited since (so
  // what was read is the pinned process's), and compares its start time and name with `seen`.
  // A pid that was recycled between the scan and this call can therefore never be acted on, with
  // one limit of what /proc tells: start times count clock ticks (10 ms), so a process that got the
  // same pid and the same name within the same tick would pass for the one seen.
  // Errors: errc::target_exited (it has exited, or the pid now names another process);
  // errc::target_changed (the same process under another name: it ran exec or renamed itself);
  // EINVAL for seen.pid <= 0; ENOENT when /proc is not mounted.
  [[nodiscard]] static result<TaskHandle> open_matched(const sys::ProcessStat& seen) noexcept {
    if (seen.pid <= 0) return detail::posix_error(EINVAL);
    auto fd = sys::pidfd_open(seen.pid, 0);
    if (!fd) {
      // ESRCH: no task has the number. EINVAL (ENOENT on 6.18): the number is now a thread that
      // leads no group, so the process that led with it has gone.
      const std::error_code e = fd.error();
      if (e == std::errc::no_such_process || e == std::errc::invalid_argument ||
          e == std::errc::no_such_file_or_directory)
        return errc::target_exited;
      return e;
    }
    TaskHandle h;
    h.pidfd_ = fd.assume_value();
    h.tgid_ = seen.pid;
    h.tid_ = seen.pid;
    auto now = sys::read_process_stat(seen.pid);
    // Only a pidfd that has not exited proves that the file read above was its process's.
    if (sys::pidfd_exited(h.pidfd_)) return errc::target_exited;
    if (!now) return now.error() == std::errc::no_such_process ? std::error_code(errc::target_exited) : now.error();
    if (now.assume_value().start_time != seen.start_time) return errc::target_exited;  // another process now
    if (now.assume_value().name() != seen.name()) return errc::target_changed;
    TASKMPOL_TRYV(h.pin_task_dir());
    return h;
  }

  // One thread, by its thread ID (gettid(2)), of any process.
  // Errors: as open(); EINVAL for tid <= 0.
  [[nodiscard]] static result<TaskHandle> thread(pid_t tid) noexcept {
    if (tid <= 0) return detail::posix_error(EINVAL);
    TASKMPOL_TRY(tgid, tgid_of(tid));
    return pin(tgid, tid);
  }

  // Takes over a pidfd the caller owns -- from pidfd_open(2), or clone3()/clone() with
  // CLONE_PIDFD -- and learns from it which task it names: the number of that task
  // (/proc/self/fdinfo/<fd>) and whether it is a thread pidfd (PIDFD_THREAD: exactly that thread)
  // or a process pidfd (the thread-group leader). Numbers read by path are confirmed through the
  // pidfd afterwards (it must not have exited meanwhile), so a recycled number cannot slip in.
  // On success the handle owns the descriptor (it closes it; release() hands it back). On failure
  // the caller still owns it, e.g. to reap an exited child with waitid(P_PIDFD).
  // Errors: EBADF (not an open pidfd); errc::target_exited (its task has exited); EINVAL (its task
  // is not visible in the caller's pid namespace); ENOENT (/proc is not mounted).
  [[nodiscard]] static result<TaskHandle> adopt(int pidfd) noexcept {
    TASKMPOL_TRY(info, sys::pidfd_info(pidfd));
    if (info.pid < 0) return errc::target_exited;
    if (info.pid == 0) return detail::posix_error(EINVAL);
    pid_t tgid = info.pid;
    if (info.thread) {
      auto group = tgid_of(info.pid);
      // A thread whose number has gone has exited: the pidfd still names it, but nothing to pin.
      if (!group && group.error() == std::errc::no_such_process) return errc::target_exited;
      if (!group) return group.error();
      tgid = group.assume_value();
    }
    TaskHandle h;
    h.pidfd_ = pidfd;
    h.tgid_ = tgid;
    h.tid_ = info.pid;
    auto pinned = h.pin_task_dir();  // also confirms that the numbers read above were this task's
    if (!pinned) {
      h.pidfd_ = -1;  // still the caller's
      return pinned.error();
    }
    return h;
  }

  // Another thread of the same process as this handle (a thread handle per thread, for the
  // process-wide helpers). Errors: as thread(); ESRCH when tid is not a thread of this process.
  [[nodiscard]] result<TaskHandle> open_thread(pid_t tid) const noexcept {
    if (tid <= 0) return detail::posix_error(EINVAL);
    TASKMPOL_TRY(h, pin(tgid_, tid, task_dir_));
    h.forced_ = forced_;
    return std::move(h);
  }

  TaskHandle(TaskHandle&& other) noexcept { swap(other); }
  TaskHandle& operator=(TaskHandle&& other) noexcept {
    if (this != &other) {
      TaskHandle moved(std::move(other));
      swap(moved);
    }
    return *this;
  }
  TaskHandle(const TaskHandle&) = delete;
  TaskHandle& operator=(const TaskHandle&) = delete;
  ~TaskHandle() {
    sys::close(pidfd_);
    sys::close(task_dir_);
  }

  [[nodiscard]] pid_t pid() const noexcept { return tgid_; }  // the process (thread group)
  [[nodiscard]] pid_t tid() const noexcept { return tid_; }   // the thread
  // The pidfd (owned by the handle; -1 when a self handle could not take one, or after release()),
  // e.g. to poll for exit: a process pidfd for open(pid), a thread pidfd (PIDFD_THREAD) for
  // thread() and self(), whichever kind adopt() was given.
  [[nodiscard]] int pidfd() const noexcept { return pidfd_; }
  // The same descriptor, under the name LLFIO's handles use.
  [[nodiscard]] int native_handle() const noexcept { return pidfd_; }
  // Gives up the pidfd: returns it (the caller owns it from now on and closes it) and leaves the
  // handle empty, as a moved-from one (its task directory is closed; calls on it fail with EBADF).
  // Returns -1 when the handle holds no pidfd.
  [[nodiscard]] int release() noexcept {
    const int fd = pidfd_;
    pidfd_ = -1;
    sys::close(task_dir_);
    task_dir_ = -1;
    tgid_ = 0;
    tid_ = 0;
    return fd;
  }
  // True when the calling thread is the one the handle names (then nothing needs the series).
  [[nodiscard]] bool is_caller() const noexcept { return tid_ == sys::gettid() && tgid_ == sys::getpid(); }
  // False once the pinned thread has exited (always true for the caller itself). A snapshot for
  // callers that want to know (e.g. to end a loop); the calls do not need it, their pidfd names
  // the target and the kernel says when it has gone.
  [[nodiscard]] bool alive() const noexcept {
    if (is_caller()) return true;
    if (pidfd_ >= 0 && sys::pidfd_exited(pidfd_)) return false;
    if (task_dir_ >= 0 && !sys::task_dir_alive(task_dir_)) return false;
    return pidfd_ >= 0 || task_dir_ >= 0;
  }

  // The thread IDs of the handle's process, as /proc/<pid>/task lists them now (through the pinned
  // task directory: a recycled pid lists nothing). Replaces out's contents; allocates.
  // Errors: errc::target_exited when the process is gone.
  [[nodiscard]] result<void> list_threads(std::vector<pid_t>& out) const noexcept {
    out.clear();
    const bool caller_process = tgid_ == sys::getpid();
    if (!caller_process && pidfd_ >= 0 && sys::pidfd_exited(pidfd_) && tid_ == tgid_) return errc::target_exited;
    auto r = sys::list_threads(task_dir_, out);
    if (!r) {
      if (r.error() == std::errc::no_such_file_or_directory || r.error() == std::errc::no_such_process ||
          r.error() == std::errc::bad_file_descriptor)
        return errc::target_exited;
      return r.error();
    }
    if (out.empty()) return errc::target_exited;
    return success();
  }

  // Forces a backend (Backend::automatic: choose per call). A forced backend that cannot serve a
  // call fails it with errc::backend_unavailable (or task_mempolicy_support()'s error for the
  // series' backends on a kernel without the series' ABI 2) instead of falling back.
  void set_backend(Backend b) noexcept { forced_ = b; }
  [[nodiscard]] Backend backend() const noexcept { return forced_; }

  // The thread's policy (not a range's: see policy_at). With static/relative flags every backend
  // reports the nodes as they were given (the series' ABI 2 procfs file prints them so, too).
  [[nodiscard]] result<Policy> policy(TaskDiagnostic* diag = nullptr) const noexcept {
    return run<Policy>(Op::get_policy, diag, [this](Backend b, int pidfd) noexcept -> result<Policy> {
      switch (b) {
        case Backend::syscalls:
          return detail::read_policy([pidfd](int* mode, KernelMaskOut out) {
            return sys::get_task_mempolicy(pidfd, mode, out.nmask, out.maxnode, 0, 0);
          });
        case Backend::procfs: {
          // The file holds mpol_to_str()'s text and a newline: max_policy_chars and one byte.
          std::array<char, max_policy_chars + 1> text;  // NOLINT(cppcoreguidelines-pro-type-member-init): read_file fills it
          TASKMPOL_TRY(size, sys::read_file(task_dir_, "mempolicy", text));
          return parse_policy(std::string_view(text.data(), size), detail::any_node, Dialect::extended);
        }
        default: return get_self_policy();
      }
    });
  }

  // Replaces the thread's policy (its future allocations outside ranges with their own policy;
  // no page moves). Another thread installs it itself at its next return to user mode: at once if
  // it runs in user mode, after the syscall it is sleeping in, or when a stopped thread continues.
  // Every observer -- policy(), the target's own get_mempolicy(), /proc/<pid>/mempolicy, numa_maps,
  // threads the target creates from then on -- sees the new policy as soon as this returns; only
  // allocations inside a syscall the target was already in use the old one.
  // Errors: errc::node_without_memory / errc::nodes_not_allowed (diag names the node, the nodes
  // with memory and the target's allowed nodes); EPERM (diag: which privilege);
  // errc::target_exited; errc::unsupported_kernel / series_abi_1 / series_abi_unknown for another
  // thread without the series' ABI 2; errc::backend_unavailable for procfs with the balancing flag
  // (its grammar lacks it).
  [[nodiscard]] result<void> set_policy(const Policy& policy, TaskDiagnostic* diag = nullptr) const noexcept {
    TaskDiagnostic scratch;
    TaskDiagnostic& d = diag != nullptr ? *diag : scratch;
    auto r = run<void>(Op::set_policy, &d, [this, &policy](Backend b, int pidfd) noexcept -> result<void> {
      switch (b) {
        case Backend::syscalls: {
          const RawPolicy raw = policy.to_raw();
          const KernelMaskArg arg = raw.nodes.kernel_arg();
          return sys::set_task_mempolicy(pidfd, raw.mode_and_flags, arg.nmask, arg.maxnode, 0);
        }
        case Backend::procfs: {
          if (policy.flags().has(ModeFlag::numa_balancing)) return errc::backend_unavailable;
          const auto text = to_fixed_string(policy);  // mpol_to_str's form, which mpol_parse_str reads
          return sys::write_file(task_dir_, "mempolicy", text.view());
        }
        default: return set_self_policy(policy);
      }
    });
    if (!r) return noted(explain(policy, r.error(), d), d);
    return success();
  }

  // The policy that governs the target's page at address: its range's own policy, or the
  // thread's. Errors: EFAULT when nothing is mapped there.
  [[nodiscard]] result<Policy> policy_at(std::uintptr_t address, TaskDiagnostic* diag = nullptr) const noexcept {
    return run<Policy>(Op::policy_at, diag, [address](Backend b, int pidfd) noexcept -> result<Policy> {
      if (b != Backend::syscalls) return get_self_policy_at(reinterpret_cast<const void*>(address));
      return detail::read_policy([pidfd, address](int* mode, KernelMaskOut out) {
        return sys::get_task_mempolicy(pidfd, mode, out.nmask, out.maxnode, address, sys::mpol_f_addr);
      });
    });
  }

  // Applies policy to a range of the target's address space, as mbind(2) run by the target would
  // (the address space is the process's, whichever thread the handle names). With
  // MbindFlag::move the pages of the range that only the target maps and that do not follow the
  // new policy migrate to its nodes; MbindFlag::move_all moves pages that other processes map as
  // well; MbindFlag::strict makes pages that stay off the policy's nodes an EIO (the policy is set
  // all the same). Unlike migrate_pages, this follows the range policy exactly (interleave order,
  // weights, the home node) and touches nothing outside the range.
  // Errors: as set_policy; EFAULT for a hole in the range; EINVAL for an unaligned start; EPERM
  // for move_all without CAP_SYS_NICE (as mbind(2) asks for MPOL_MF_MOVE_ALL); EIO with strict (see
  // above). A kernel with the series' ABI 2 but without remote moves (an earlier version) refuses
  // move/move_all on another process with EINVAL: diag's advice names that cause beside the
  // policy's, and the way around it (migrate_pages, move_pages(2)).
  [[nodiscard]] result<void> mbind(AddressRange range, const Policy& policy, MbindFlags flags = {},
                                   TaskDiagnostic* diag = nullptr) const noexcept {
    TaskDiagnostic scratch;
    TaskDiagnostic& d = diag != nullptr ? *diag : scratch;
    auto r = run<void>(Op::mbind, &d, [&](Backend b, int pidfd) noexcept -> result<void> {
      if (b != Backend::syscalls) return mbind_self(reinterpret_cast<void*>(range.start), range.length, policy, flags);
      const RawPolicy raw = policy.to_raw();
      const KernelMaskArg arg = raw.nodes.kernel_arg();
      sys::task_mbind_args args{};
      args.pidfd = pidfd;
      args.mode = static_cast<__u32>(raw.mode_and_flags);
      args.start = range.start;
      args.len = range.length;
      args.nmask = reinterpret_cast<std::uintptr_t>(arg.nmask);
      args.maxnode = arg.maxnode;
      args.flags = flags.bits();
      return sys::task_mbind(&args, sizeof(args));
    });
    if (!r) {
      const std::error_code e = explain(policy, r.error(), d);
      d.advice = detail::mbind_advice(flags, tgid_ != sys::getpid(), r.error(), d.advice);
      return noted(e, d);
    }
    return success();
  }

  // Sets the home node of the bind / prefer (many) range policies in range (no page moves).
  // Errors: errc::node_out_of_range; errc::home_node_needs_bind when part of the range has another
  // policy or none of it has one; EINVAL for an offline node (diag names it) or an unaligned start.
  [[nodiscard]] result<void> set_home_node(AddressRange range, std::size_t node,
                                           TaskDiagnostic* diag = nullptr) const noexcept {
    TaskDiagnostic scratch;
    TaskDiagnostic& d = diag != nullptr ? *diag : scratch;
    if (node >= NodeMask::capacity) {
      d = TaskDiagnostic{};
      d.tid = tid_;
      d.node = node;
      d.node_exists = false;
      return noted(errc::node_out_of_range, d);
    }
    auto r = run<void>(Op::home_node, &d, [&](Backend b, int pidfd) noexcept -> result<void> {
      if (b != Backend::syscalls) return set_self_home_node(reinterpret_cast<void*>(range.start), range.length, node);
      auto k = sys::set_task_mempolicy_home_node(pidfd, range.start, range.length, node, 0);
      if (!k && (k.error() == std::errc::operation_not_supported || k.error() == std::errc::no_such_file_or_directory))
        return errc::home_node_needs_bind;
      return k;
    });
    if (!r && r.error() == std::errc::invalid_argument) {
      fill_topology(d);
      if (d.topology_known && !d.online.test(node)) {
        d.node = node;
        d.node_exists = d.with_memory.test(node);
        d.advice = detail::advice_home_online;
      }
    }
    if (!r) return noted(r.error(), d);
    return r;
  }

  // The nodes the target may allocate from: its cpuset's mems (Mems_allowed).
  [[nodiscard]] result<NodeMask> mems_allowed(TaskDiagnostic* diag = nullptr) const noexcept {
    return run<NodeMask>(Op::mems_allowed, diag, [this](Backend b, int pidfd) noexcept -> result<NodeMask> {
      switch (b) {
        case Backend::syscalls:
          return detail::read_mask([pidfd](KernelMaskOut out) {
            int ignored = 0;
            return sys::get_task_mempolicy(pidfd, &ignored, out.nmask, out.maxnode, 0, sys::mpol_f_mems_allowed);
          });
        case Backend::procfs: return status_mems_allowed();
        default: return self_mems_allowed();
      }
    });
  }

  // The node of the target's page at address (faulted in for reading if absent: touch it first).
  [[nodiscard]] result<std::size_t> node_of(std::uintptr_t address, TaskDiagnostic* diag = nullptr) const noexcept {
    return run<std::size_t>(Op::node_of, diag, [address](Backend b, int pidfd) noexcept -> result<std::size_t> {
      if (b != Backend::syscalls) return node_of_address(reinterpret_cast<const void*>(address));
      int node = -1;
      TASKMPOL_TRYV(sys::get_task_mempolicy(pidfd, &node, nullptr, 0, address, sys::mpol_f_node | sys::mpol_f_addr));
      if (node < 0) return detail::posix_error(EIO);
      return static_cast<std::size_t>(node);
    });
  }

  // The node the thread's next interleaved allocation uses (a hint: the target moves it on with
  // every allocation). Errors: errc::not_interleaved.
  [[nodiscard]] result<std::size_t> interleave_next(TaskDiagnostic* diag = nullptr) const noexcept {
    return run<std::size_t>(Op::interleave_next, diag, [](Backend b, int pidfd) noexcept -> result<std::size_t> {
      if (b != Backend::syscalls) return interleave_next_node();
      int node = -1;
      auto r = sys::get_task_mempolicy(pidfd, &node, nullptr, 0, 0, sys::mpol_f_node);
      if (!r && r.error() == std::errc::invalid_argument) return errc::not_interleaved;
      if (!r) return r.error();
      if (node < 0) return detail::posix_error(EIO);
      return static_cast<std::size_t>(node);
    });
  }

  // migrate_pages(2) on the target's process (a stock syscall: no series needed): every page on a
  // node of `from` moves to the node at the same position in `to` (folded when `to` is smaller),
  // wherever it is mapped. It moves pages between node sets only: it ignores range (VMA) policies
  // (a range bound elsewhere is moved as well), interleave order and weights, and pages shared
  // with other processes unless the caller has CAP_SYS_NICE. Returns the pages it could not move.
  // Errors: EPERM (another user's process needs CAP_SYS_NICE); errc::target_exited.
  //
  // The one pid-addressed call: the kernel has no pidfd form of migrate_pages(2), and holding the
  // pidfd does not reserve the number. The handle checks its pins just before and just after the
  // call; that narrows, but cannot close, the window in which the process could exit, be reaped
  // and have its number given to another process between the check and the call. A target found
  // gone afterwards is reported as errc::target_exited (the pages of whatever held the number may
  // have moved). The caller's own process, and a child the caller has not reaped, are safe.
  [[nodiscard]] result<unsigned long> migrate_pages(const NodeMask& from, const NodeMask& to) const noexcept {
    const bool caller_process = tgid_ == sys::getpid();
    if (!caller_process && pidfd_ < 0 && task_dir_ < 0) return detail::posix_error(EBADF);  // pins nothing
    if (!caller_process && !alive()) return errc::target_exited;
    const KernelMaskArg f = from.kernel_arg();
    const KernelMaskArg t = to.kernel_arg();
    auto r = sys::migrate_pages(caller_process ? 0 : tgid_, f.maxnode, f.nmask, t.nmask);
    if (!caller_process && !alive()) return errc::target_exited;
    if (!r && r.error() == std::errc::no_such_process) return errc::target_exited;
    return r;
  }

 private:
  enum class Op { get_policy, set_policy, policy_at, mbind, home_node, mems_allowed, node_of, interleave_next };

  static constexpr bool procfs_serves(Op op) noexcept {
    return op == Op::get_policy || op == Op::set_policy || op == Op::mems_allowed;
  }

  TaskHandle() noexcept = default;

  void swap(TaskHandle& o) noexcept {
    std::swap(pidfd_, o.pidfd_);
    std::swap(task_dir_, o.task_dir_);
    std::swap(tgid_, o.tgid_);
    std::swap(tid_, o.tid_);
    std::swap(forced_, o.forced_);
  }

  // A thread of process tgid, known to exist a moment ago: a thread pidfd of it, then its task
  // directory (through process_dir, a pinned task directory of the same process, when there is one).
  static result<TaskHandle> pin(pid_t tgid, pid_t tid, int process_dir = -1) noexcept {
    TaskHandle h;
    h.tgid_ = tgid;
    h.tid_ = tid;
    if (h.is_caller()) {
      TASKMPOL_TRYV(h.open_own_pidfd());
    } else {
      auto fd = sys::pidfd_open(tid, sys::pidfd_thread);
      if (!fd && fd.error() == std::errc::invalid_argument) return thread_pidfd_einval();
      if (!fd) return fd.error();
      h.pidfd_ = fd.assume_value();
    }
    TASKMPOL_TRYV(h.pin_task_dir(process_dir));
    return h;
  }

  // pidfd_open(tid, PIDFD_THREAD) said EINVAL, which has two causes. Before Linux 6.9 the flag is
  // unknown: such a kernel cannot have the series, and a process pidfd would name the leader
  // instead of this thread, so refuse. Or the thread has just exited: its number still resolves
  // but no task is attached to it (pidfd_prepare()). A thread pidfd of the calling thread, which
  // certainly exists, tells the two apart.
  static std::error_code thread_pidfd_einval() noexcept {
    auto own = sys::pidfd_open(sys::gettid(), sys::pidfd_thread);
    if (!own) return own.error() == std::errc::invalid_argument ? std::error_code(errc::unsupported_kernel) : own.error();
    sys::close(own.assume_value());
    return errc::target_exited;
  }

  // The thread group of thread tid, from /proc/<tid>/status (every thread has an unlisted
  // /proc/<tid>). Read by number: the caller confirms it through a pidfd afterwards.
  // Errors: ESRCH (no such thread); EIO (an unreadable status).
  static result<pid_t> tgid_of(pid_t tid) noexcept {
    auto dir = sys::open_task_dir(tid, tid);
    if (!dir) return dir.error() == std::errc::no_such_file_or_directory ? detail::posix_error(ESRCH) : dir.error();
    std::array<char, 32> value{};
    auto field = sys::read_proc_field(dir.assume_value(), "status", "Tgid", value);
    sys::close(dir.assume_value());
    if (!field) return field.error() == std::errc::no_such_process ? detail::posix_error(ESRCH) : field.error();
    pid_t tgid = 0;
    for (std::size_t i = 0; i < field.assume_value(); ++i) {
      if (value[i] < '0' || value[i] > '9' || tgid > 100'000'000) return detail::posix_error(EIO);
      tgid = tgid * 10 + (value[i] - '0');
    }
    if (tgid <= 0) return detail::posix_error(EIO);
    return tgid;
  }

  // A thread pidfd of the calling thread (tid_), for use by other threads. A kernel without
  // PIDFD_THREAD (EINVAL, before 6.9) or pidfd_open (ENOSYS, before 5.3) leaves the handle without
  // one: the thread itself needs none (it is PIDFD_SELF_THREAD), and no other thread can reach it
  // without the series, which such a kernel lacks.
  result<void> open_own_pidfd() noexcept {
    auto fd = sys::pidfd_open(tid_, sys::pidfd_thread);
    if (fd) {
      pidfd_ = fd.assume_value();
      return success();
    }
    if (fd.error() == std::errc::invalid_argument || fd.error() == std::errc::function_not_supported) return success();
    return fd.error();
  }

  // Opens the task directory after the pidfd, then checks both: a live pidfd means the number was
  // not recycled in between, so the directory is the pinned task's. With process_dir (a pinned
  // task directory of the same process) the directory is looked up below that process, so a
  // recycled tgid cannot lead elsewhere either.
  result<void> pin_task_dir(int process_dir = -1) noexcept {
    auto dir = process_dir >= 0 ? sys::open_sibling_task_dir(process_dir, tid_) : sys::open_task_dir(tgid_, tid_);
    if (!dir) {
      if (sys::pidfd_exited(pidfd_)) return errc::target_exited;
      // No such entry while the pidfd lives: not a thread of tgid (or /proc is not mounted).
      return dir.error() == std::errc::no_such_file_or_directory && sys::exists(AT_FDCWD, "/proc/self")
                 ? detail::posix_error(ESRCH)
                 : dir.error();
    }
    task_dir_ = dir.assume_value();
    if (!alive()) return errc::target_exited;
    return success();
  }

  result<NodeMask> status_mems_allowed() const noexcept {
    std::array<char, 4096> list{};
    TASKMPOL_TRY(size, sys::read_proc_field(task_dir_, "status", "Mems_allowed_list", list));
    return NodeMask::parse(std::string_view(list.data(), size));
  }

  // Chooses the backend(s), calls `call(backend, pidfd)` -- pidfd is the handle's pidfd, or
  // PIDFD_SELF_THREAD when the calling thread is the target -- and records who served in the
  // diagnostic. No liveness check around the call: the pidfd itself names the target, and the
  // kernel's ESRCH says it has exited.
  // Records the error a call returns in its diagnostic.
  static std::error_code noted(std::error_code e, TaskDiagnostic& d) noexcept {
    d.error = e;
    return e;
  }

  template <class T, class Call>
  result<T> run(Op op, TaskDiagnostic* diag, Call&& call) const noexcept {
    TaskDiagnostic scratch;
    TaskDiagnostic& d = diag != nullptr ? *diag : scratch;
    d = TaskDiagnostic{};
    d.tid = tid_;
    result<T> r = dispatch<T>(op, d, std::forward<Call>(call));
    if (!r) d.error = r.error();
    return r;
  }

  template <class T, class Call>
  result<T> dispatch(Op op, TaskDiagnostic& d, Call&& call) const noexcept {
    const bool caller = is_caller();
    // A handle that pins nothing: moved from, released, or a self handle without a pidfd (a
    // kernel before 6.9) used from another thread.
    if (!caller && pidfd_ < 0 && task_dir_ < 0) return detail::posix_error(EBADF);
    // The procfs file is the series' too: without this library's ABI neither backend is used.
    const result<void> series = sys::task_mempolicy_support();

    std::array<Backend, 3> order{};
    std::size_t count = 0;
    switch (forced_) {
      case Backend::automatic:
        if (series) order[count++] = Backend::syscalls;
        if (series && procfs_serves(op)) order[count++] = Backend::procfs;
        if (caller) order[count++] = Backend::self_only;
        if (count == 0) return series.assume_error();  // no backend: the series is not there
        break;
      case Backend::syscalls:
      case Backend::procfs:
        if (!series) return series.assume_error();
        if (forced_ == Backend::procfs && !procfs_serves(op)) return errc::backend_unavailable;
        order[count++] = forced_;
        break;
      case Backend::self_only:
        if (!caller) return errc::backend_unavailable;
        order[count++] = Backend::self_only;
        break;
      default: return errc::backend_unavailable;  // a Backend cast from another number
    }

    const int target = caller ? sys::pidfd_self_thread : pidfd_;
    result<T> r = detail::posix_error(ENOSYS);
    for (std::size_t i = 0; i < count; ++i) {
      d.backend = order[i];
      r = call(order[i], target);
      // Only ENOSYS falls through: the calls are blocked (seccomp) or compiled out. Any other answer
      // is the kernel's verdict on this request.
      if (r || r.assume_error() != std::error_code(ENOSYS, std::system_category())) break;
    }
    if (r || caller) return r;
    // ESRCH: the pidfd's task has exited (also when its number was recycled since). The procfs
    // backend's files vanish with the task (ENOENT and the like): any failure of a gone target is
    // its exit, not the file's fault.
    // From here on r holds an error (observed with the narrow assume_error(): nothing can throw).
    if (r.assume_error() == std::errc::no_such_process || (d.backend == Backend::procfs && !alive()))
      return errc::target_exited;
    if (r.assume_error() == std::errc::operation_not_permitted || r.assume_error() == std::errc::permission_denied)
      d.advice = op == Op::mbind || op == Op::home_node ? detail::advice_permission_range : detail::advice_permission;
    return r;
  }

  static void fill_topology(TaskDiagnostic& d) noexcept {
    if (d.topology_known) return;
    if (auto topo = read_topology()) {
      d.with_memory = topo.assume_value().with_memory;
      d.online = topo.assume_value().online;
      d.topology_known = true;
    }
  }

  // Turns the kernel's EINVAL for a policy into the cause a user can act on (diag filled in).
  std::error_code explain(const Policy& policy, std::error_code error, TaskDiagnostic& d) const noexcept {
    const bool einval = error == std::errc::invalid_argument || error == errc::nodes_not_allowed;
    if (!einval || policy.nodes().empty()) return error;
    fill_topology(d);
    // The allowed nodes from the stock status file: world-readable, unlike get_task_mempolicy's
    // answer, which needs ptrace read access.
    auto allowed = is_caller() ? self_mems_allowed() : status_mems_allowed();
    if (allowed) {
      d.allowed = allowed.assume_value();
      d.allowed_known = true;
    }
    return detail::classify_policy_einval(policy, error, d.backend == Backend::procfs, d);
  }

  int pidfd_ = -1;
  int task_dir_ = -1;
  pid_t tgid_ = 0;
  pid_t tid_ = 0;
  Backend forced_ = Backend::automatic;
};

// ---------------------------------------------------------------------------------------------
// Process-wide operations.

// A thread that did not take the policy, with the diagnostic of the call that failed: callers
// never need to repeat a state-changing call to learn why it failed.
struct ThreadFailure {
  pid_t tid = 0;
  std::error_code error;
  TaskDiagnostic diagnostic;  // diagnostic.error == error

  [[nodiscard]] std::string message() const noexcept { return diagnostic.message(); }
};

struct AllThreadsOptions {
  // Afterwards, migrate_pages(2) the process's pages from the other nodes with memory onto the
  // policy's nodes (see TaskHandle::migrate_pages for what that can and cannot move). Default and
  // local policies have no nodes to move to: nothing is migrated.
  bool migrate_pages = false;
  // Passes over /proc/<pid>/task before giving up on a process whose thread list never settles.
  std::size_t max_rounds = 64;
};

struct AllThreadsReport {
  std::size_t threads_set = 0;      // threads whose policy this call replaced
  std::size_t threads_already = 0;  // threads that had it already (created by a retargeted thread)
  std::size_t threads_exited = 0;   // threads that exited before they were reached
  std::size_t rounds = 0;           // passes over /proc/<pid>/task
  bool stable = false;              // the last two passes found no thread that still needed the policy
  std::vector<ThreadFailure> failures;  // threads that refused, with the reason and its diagnostic
  unsigned long pages_not_moved = 0;    // with migrate_pages: what migrate_pages(2) could not move
  std::error_code migrate_error;        // with migrate_pages: why it failed, if it did

  [[nodiscard]] bool ok() const noexcept { return stable && failures.empty() && !migrate_error; }
};

namespace detail {

// The nodes a policy sends pages to, for migration: relative nodes are indices into the target's
// allowed nodes (folded modulo their count, as the kernel's mpol_relative_nodemask does).
inline NodeMask destination_nodes(const Policy& policy, const NodeMask& allowed) noexcept {
  if (!policy.flags().has(ModeFlag::relative_nodes)) return policy.nodes();
  NodeMask out;
  const std::size_t n = allowed.count();
  if (n == 0) return out;
  for (std::size_t index : policy.nodes()) {
    std::size_t k = index % n;
    std::size_t node = allowed.first();
    while (k-- > 0) node = allowed.next(node);
    static_cast<void>(out.set(node));  // node comes from `allowed`: in range
  }
  return out;
}

}  // namespace detail

// Sets policy on every thread of the process that `process` belongs to, including threads created
// while it runs: a new thread inherits its creator's policy when it is cloned, so a thread that a
// not-yet-changed thread creates during the walk starts with the old policy. The walk therefore
// re-reads /proc/<pid>/task and treats every thread it has not seen, until two passes in a row find
// no thread that still needs the policy (threads created by changed threads already have it: they
// are only checked, and a steady stream of them does not keep the walk going). Limit: a thread
// whose clone(2) began before its creator was changed and which becomes visible only after the
// last pass can keep the old policy; closing that window needs the process
// stopped (SIGSTOP or the cgroup freezer), which this function does not do behind the caller's back.
//
// Returns a report with per-thread failures (each with the diagnostic of its call) when some
// threads took the policy; an error when none did (the first thread's, e.g. EPERM or
// errc::unsupported_kernel, with its diagnostic in *diag) or the process exited
// (errc::target_exited). Allocates (the thread lists and the report).
[[nodiscard]] inline result<AllThreadsReport> set_policy_on_all_threads(const TaskHandle& process,
                                                                        const Policy& policy,
                                                                        const AllThreadsOptions& options = {},
                                                                        TaskDiagnostic* diag = nullptr) noexcept {
  TaskDiagnostic scratch;
  TaskDiagnostic& d = diag != nullptr ? *diag : scratch;
  d = TaskDiagnostic{};
  d.tid = process.tid();
  const auto fail = [&d](std::error_code e) {
    d.error = e;
    return e;
  };
  AllThreadsReport report;
  std::vector<pid_t> done;  // sorted: threads already handled (changed, checked, failed or gone)
  std::vector<pid_t> listing;
  bool have_reference = false;
  std::size_t clean = 0;  // consecutive passes that changed nothing
  Policy reference;  // the policy as the kernel reports it back after the first change

  const auto is_gone = [](const std::error_code& e) {
    return e == errc::target_exited || e == std::errc::no_such_process;
  };

  while (report.rounds < options.max_rounds) {
    ++report.rounds;
    auto listed = process.list_threads(listing);
    if (!listed) return fail(listed.error());
    if (listing.empty()) return fail(errc::target_exited);
    bool changed = false;
    for (const pid_t tid : listing) {
      const auto at = std::lower_bound(done.begin(), done.end(), tid);
      if (at != done.end() && *at == tid) continue;
      done.insert(at, tid);
      auto thread = process.open_thread(tid);
      if (!thread) {
        if (is_gone(thread.error())) {
          ++report.threads_exited;
        } else {
          ThreadFailure f;
          f.tid = tid;
          f.error = thread.error();
          f.diagnostic.tid = tid;
          f.diagnostic.error = thread.error();
          report.failures.push_back(f);
        }
        continue;
      }
      if (report.rounds > 1 && have_reference) {
        auto current = thread.assume_value().policy();
        if (current && current.assume_value() == reference) {
          ++report.threads_already;
          continue;
        }
      }
      changed = true;
      ThreadFailure f;
      auto set = thread.assume_value().set_policy(policy, &f.diagnostic);
      if (set) {
        ++report.threads_set;
        if (!have_reference) {
          if (auto back = thread.assume_value().policy()) {
            reference = back.assume_value();
            have_reference = true;
          }
        }
      } else if (is_gone(set.error())) {
        ++report.threads_exited;
      } else {
        f.tid = tid;
        f.error = set.error();
        report.failures.push_back(f);
      }
    }
    // Two clean passes in a row: a thread whose clone(2) was still running during the first may
    // have become visible by the second.
    clean = changed ? 0 : clean + 1;
    if (clean == 2) {
      report.stable = true;
      break;
    }
  }

  if (report.threads_set + report.threads_already == 0) {
    if (!report.failures.empty()) {
      d = report.failures.front().diagnostic;
      return report.failures.front().error;
    }
    return fail(errc::target_exited);
  }

  if (options.migrate_pages && policy.nodes().any()) {
    auto topo = read_topology();
    auto allowed = process.mems_allowed();
    if (!topo) {
      report.migrate_error = topo.error();
    } else {
      const NodeMask with_memory = topo.assume_value().with_memory;
      const NodeMask to =
          detail::destination_nodes(policy, allowed ? allowed.assume_value() : with_memory) & with_memory;
      const NodeMask from = with_memory & ~to;
      if (to.any() && from.any()) {
        auto moved = process.migrate_pages(from, to);
        if (moved) {
          report.pages_not_moved = moved.assume_value();
        } else {
          report.migrate_error = moved.error();
        }
      }
    }
  }
  return report;
}

}  // namespace taskmpol
