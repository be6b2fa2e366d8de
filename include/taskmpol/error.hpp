// SPDX-License-Identifier: MIT
// The error model: result<T> over std::error_code, the library's own error codes, the one place
// that turns errno into an error, and the TRY shim that hides Boost 1.74 vs 1.76+ differences.
#pragma once

#include <taskmpol/config.hpp>

#include <boost/outcome/std_result.hpp>
#include <boost/outcome/try.hpp>
#include <boost/version.hpp>

#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>

namespace taskmpol {

namespace outcome = boost::outcome_v2;

#if TASKMPOL_HAS_EXCEPTIONS
template <class T>
using result = outcome::std_result<T>;
#else
// Without exceptions the default policy would reference boost::throw_exception (a link error):
// observing a missing value terminates instead.
template <class T>
using result = outcome::std_result<T, std::error_code, outcome::policy::terminate>;
#endif

using outcome::failure;
using outcome::success;

// Library-level failures. Kernel failures keep their errno in std::system_category().
// Value 0 is never an error (std::error_code convention).
enum class errc : int {
  ok = 0,
  invalid_syntax,         // text does not follow the grammar at all
  unknown_mode,           // mode name not known to the kernel
  unknown_flag,           // mode flag name or bit not known to the kernel
  conflicting_flags,      // static and relative together
  node_out_of_range,      // node id >= NodeMask::capacity (or beyond the kernel's maxnode)
  node_without_memory,    // node is not in the set of nodes with memory
  nodes_required,         // mode needs a node list (bind, prefer (many))
  nodes_forbidden,        // mode takes no node list (local, default)
  single_node_required,   // prefer takes exactly one plain node
  empty_nodes,            // node list selects no node where one is needed
  unsupported_kernel,     // running kernel lacks the task mempolicy series
  target_exited,          // the task behind a handle is gone
  topology_unavailable,   // /sys/devices/system/node could not be read
  nodes_not_allowed,      // no requested node is in the task's Mems_allowed and has memory
  not_interleaved,        // asked for the next interleave node of a non-interleave policy
  home_node_needs_bind,   // home node on a range without a bind / prefer (many) VMA policy
  invalid_weight,         // weighted-interleave weight outside 1..255
  backend_unavailable,    // the backend a TaskHandle was forced to cannot serve this call
  series_abi_1,           // the kernel has the series' ABI 1 (pid-addressed); this library speaks ABI 2
  series_abi_unknown,     // the kernel has the series, but its ABI is not 2 or cannot be read
  target_changed,         // the process at a pid is still the one seen, but its name is not (exec, rename)
  flag_not_allowed,       // a known mode flag that this mode does not take (balancing with interleave, static with local)
};

namespace detail {

class error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "taskmpol"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok: return "success";
      case errc::invalid_syntax: return "the text does not follow the policy grammar <mode>[=<flags>][:<nodelist>]";
      case errc::unknown_mode: return "unknown memory policy mode";
      case errc::unknown_flag: return "unknown mode flag (the kernel knows 'static', 'relative' and 'balancing')";
      case errc::flag_not_allowed:
        return "this mode does not take that flag ('balancing' goes with bind and prefer (many) only; 'static' and "
               "'relative' not with local, default, or prefer without a node)";
      case errc::conflicting_flags: return "mode flags 'static' and 'relative' exclude each other";
      case errc::node_out_of_range:
        return "node number beyond the largest node any kernel supports (" + std::to_string(max_nodes - 1) + ")";
      case errc::node_without_memory: return "the node has no memory (see has_memory in /sys/devices/system/node)";
      case errc::nodes_required: return "this mode needs a node list";
      case errc::nodes_forbidden: return "this mode takes no node list";
      case errc::single_node_required: return "'prefer' takes exactly one node, written as a plain number";
      case errc::empty_nodes: return "the node list selects no node";
      case errc::unsupported_kernel:
        return "the running kernel lacks task mempolicy support (boot a kernel with the taskmpol series)";
      case errc::target_exited: return "the target task has exited";
      case errc::topology_unavailable: return "cannot read the NUMA topology from /sys/devices/system/node";
      case errc::nodes_not_allowed:
        return "none of the requested nodes is allowed for this task and has memory "
               "(compare with Mems_allowed_list in /proc/self/status: a cpuset or container may restrict it)";
      case errc::not_interleaved:
        return "the thread's policy is not interleave or weighted interleave, so it has no next interleave node";
      case errc::home_node_needs_bind:
        return "a home node needs a bind or prefer (many) policy on the range first (mbind it)";
      case errc::invalid_weight: return "weighted-interleave weights range from 1 to 255";
      case errc::backend_unavailable:
        return "the backend this task handle is forced to cannot serve the call (procfs serves only a thread's "
               "policy and allowed nodes, self-only only the calling thread): use Backend::automatic";
      case errc::series_abi_1:
        return "the kernel has the task mempolicy series ABI 1 (targets addressed by pid); this library needs ABI 2 "
               "(targets addressed by pidfd): boot a kernel built from this checkout's kernel/patches "
               "(an ABI 2 kernel has /sys/kernel/mm/mempolicy/task_mempolicy_abi)";
      case errc::series_abi_unknown:
        return "the kernel has the task mempolicy series, but /sys/kernel/mm/mempolicy/task_mempolicy_abi does not "
               "read 2, the ABI this library needs (another version, or sysfs is not mounted at /sys): mount sysfs, "
               "or build the kernel and the library from the same taskmpol checkout";
      case errc::target_changed:
        return "the process no longer has the name it had when it was selected (it ran exec or renamed itself): "
               "select it again";
    }
    return "unknown taskmpol error";
  }

  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::ok: return {};
      case errc::unsupported_kernel:
      case errc::series_abi_1:
      case errc::series_abi_unknown: return std::errc::function_not_supported;
      case errc::target_exited: return std::errc::no_such_process;
      case errc::target_changed: return std::errc::no_such_process;  // no process matches the selection
      case errc::topology_unavailable: return std::errc::no_such_file_or_directory;
      case errc::node_out_of_range: return std::errc::result_out_of_range;
      case errc::home_node_needs_bind: return std::errc::operation_not_supported;
      case errc::backend_unavailable: return std::errc::operation_not_supported;
      default: return std::errc::invalid_argument;
    }
  }
};

}  // namespace detail

inline const std::error_category& error_category() noexcept {
  static const detail::error_category instance;
  return instance;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

namespace detail {

// The single errno-to-error conversion: kernel errors stay in system_category so that
// comparisons against std::errc conditions work.
inline std::error_code posix_error(int code = errno) noexcept { return {code, std::system_category()}; }

}  // namespace detail

}  // namespace taskmpol

template <>
struct std::is_error_code_enum<taskmpol::errc> : std::true_type {};

// BOOST_OUTCOME_TRY(v, expr) declares v itself in Boost 1.74 (Outcome v2.1); from 1.76 on the caller
// writes the declaration. TASKMPOL_TRY(v, expr) declares `v` on both.
#if BOOST_VERSION >= 107600
#define TASKMPOL_TRY(var, ...) BOOST_OUTCOME_TRY(auto&& var, __VA_ARGS__)
#else
#define TASKMPOL_TRY(var, ...) BOOST_OUTCOME_TRY(var, __VA_ARGS__)
#endif
#define TASKMPOL_TRYV(...) BOOST_OUTCOME_TRYV(__VA_ARGS__)
