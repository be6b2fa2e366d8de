// SPDX-License-Identifier: MIT
// The calling thread's own memory policy through the stock syscalls (every kernel since 2.6.7, and
// 5.17+ for the home node). This is the backend of last resort when the target is the caller, and
// the reference the task API is tested against.
#pragma once

#include <taskmpol/error.hpp>
#include <taskmpol/node_mask.hpp>
#include <taskmpol/policy.hpp>
#include <taskmpol/syscalls.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <system_error>

namespace taskmpol {

// mbind(2) flags.
enum class MbindFlag : unsigned {
  strict = sys::mpol_mf_strict,      // fail with EIO if existing pages do not follow the policy
  move = sys::mpol_mf_move,          // migrate existing pages mapped only by the range's process
  move_all = sys::mpol_mf_move_all,  // migrate shared pages too (needs CAP_SYS_NICE)
};

class MbindFlags {
 public:
  constexpr MbindFlags() noexcept = default;
  constexpr MbindFlags(MbindFlag f) noexcept : bits_(static_cast<unsigned>(f)) {}  // NOLINT: implicit on purpose

  [[nodiscard]] constexpr bool has(MbindFlag f) const noexcept { return (bits_ & static_cast<unsigned>(f)) != 0; }
  [[nodiscard]] constexpr unsigned bits() const noexcept { return bits_; }

  friend constexpr MbindFlags operator|(MbindFlags a, MbindFlags b) noexcept {
    MbindFlags r;
    r.bits_ = a.bits_ | b.bits_;
    return r;
  }
  friend constexpr bool operator==(MbindFlags, MbindFlags) noexcept = default;

 private:
  unsigned bits_ = 0;
};

constexpr MbindFlags operator|(MbindFlag a, MbindFlag b) noexcept { return MbindFlags(a) | MbindFlags(b); }

namespace detail {

// The one decoder of a get call: `get(int* mode, KernelMaskOut out)` is get_mempolicy(2) or
// get_task_mempolicy with the mask buffer NodeMask::kernel_out() describes. A "success" that left
// the mode unwritten did not come from the kernel (a seccomp ERRNO(0), a supervisor faking the
// call): EIO rather than a policy made of whatever the buffer held.
template <class Get>
result<Policy> read_policy(const Get& get) noexcept {
  NodeMask nodes;
  int mode = -1;
  TASKMPOL_TRYV(get(&mode, nodes.kernel_out()));
  if (mode < 0) return posix_error(EIO);
  return Policy::from_raw(mode, nodes);
}

// The same for a call that answers a node set (MPOL_F_MEMS_ALLOWED): `get(KernelMaskOut out)`.
template <class Get>
result<NodeMask> read_mask(const Get& get) noexcept {
  NodeMask nodes;
  TASKMPOL_TRYV(get(nodes.kernel_out()));
  return nodes;
}

// The kernel answers EINVAL for many reasons. The common one users cannot see is that every
// requested node was masked off by the task's cpuset (Mems_allowed) or lacks memory: the kernel
// ANDs the nodes with both and refuses an empty result. Name that cause when it is the cause.
inline std::error_code explain_policy_einval(const Policy& policy, std::error_code kernel_error) noexcept {
  if (kernel_error != std::errc::invalid_argument) return kernel_error;
  // Relative nodes are indices into the allowed set, never outside it: nothing to explain.
  if (policy.nodes().empty() || policy.flags().has(ModeFlag::relative_nodes)) return kernel_error;
  const auto allowed = read_mask([](KernelMaskOut out) {
    int ignored = 0;
    return sys::get_mempolicy(&ignored, out.nmask, out.maxnode, nullptr, sys::mpol_f_mems_allowed);
  });
  if (allowed && !policy.nodes().intersects(allowed.assume_value())) return errc::nodes_not_allowed;
  return kernel_error;
}

}  // namespace detail

// The calling thread's policy, decoded: the mode flags are masked off the mode before it is
// interpreted, and with static/relative flags the nodes are the ones the caller passed, as far as
// the kernel reports them: get_mempolicy copies only the first nr_node_ids bits (rounded up to a
// word, copy_nodes_to_user) and zeroes the rest, so a static or relative node number at or above
// that is not reported (Policy::from_raw still decodes what is left, possibly no node at all).
// Errors: errc::unknown_mode / unknown_flag if a newer kernel reports a mode this library does not
// know; EIO if the call "succeeded" without the kernel writing an answer; otherwise the kernel's
// errno.
[[nodiscard]] inline result<Policy> get_self_policy() noexcept {
  return detail::read_policy([](int* mode, KernelMaskOut out) {
    return sys::get_mempolicy(mode, out.nmask, out.maxnode, nullptr, 0);
  });
}

// Sets the calling thread's policy (new allocations only; existing pages stay where they are).
// Errors: errc::nodes_not_allowed when no requested node is in Mems_allowed with memory;
// otherwise the kernel's errno (EINVAL also for a mode this kernel predates, e.g. weighted
// interleave before 6.9, or balancing with prefer (many) before 6.11).
[[nodiscard]] inline result<void> set_self_policy(const Policy& policy) noexcept {
  const RawPolicy raw = policy.to_raw();
  const KernelMaskArg mask = raw.nodes.kernel_arg();
  auto r = sys::set_mempolicy(raw.mode_and_flags, mask.nmask, mask.maxnode);
  if (!r) return detail::explain_policy_einval(policy, r.error());
  return success();
}

// The nodes the calling thread may allocate from (its cpuset's mems, MPOL_F_MEMS_ALLOWED).
[[nodiscard]] inline result<NodeMask> self_mems_allowed() noexcept {
  return detail::read_mask([](KernelMaskOut out) {
    int ignored = 0;
    return sys::get_mempolicy(&ignored, out.nmask, out.maxnode, nullptr, sys::mpol_f_mems_allowed);
  });
}

// The policy that governs the page at addr: the VMA policy if the range has one (mbind), otherwise
// the thread's policy (MPOL_F_ADDR). Errors: EFAULT when addr is not mapped.
[[nodiscard]] inline result<Policy> get_self_policy_at(const void* addr) noexcept {
  return detail::read_policy([addr](int* mode, KernelMaskOut out) {
    return sys::get_mempolicy(mode, out.nmask, out.maxnode, addr, sys::mpol_f_addr);
  });
}

// The node that holds the page at addr (MPOL_F_NODE | MPOL_F_ADDR). The kernel faults the page in
// for reading if needed; an untouched anonymous page then maps the shared zero page, whose node says
// nothing about the policy, so touch (write) the page first. Errors: EFAULT when addr is not mapped.
[[nodiscard]] inline result<std::size_t> node_of_address(const void* addr) noexcept {
  int node = -1;
  TASKMPOL_TRYV(sys::get_mempolicy(&node, nullptr, 0, addr, sys::mpol_f_node | sys::mpol_f_addr));
  if (node < 0) return detail::posix_error(EINVAL);  // the kernel never reports this; no UB if it did
  return static_cast<std::size_t>(node);
}

// The node the calling thread's next interleaved allocation will use (MPOL_F_NODE without ADDR).
// Errors: errc::not_interleaved when the thread's policy is not interleave or weighted interleave.
[[nodiscard]] inline result<std::size_t> interleave_next_node() noexcept {
  int node = -1;
  auto r = sys::get_mempolicy(&node, nullptr, 0, nullptr, sys::mpol_f_node);
  if (!r) {
    if (r.error() == std::errc::invalid_argument) return errc::not_interleaved;
    return r.error();
  }
  if (node < 0) return detail::posix_error(EINVAL);
  return static_cast<std::size_t>(node);
}

// Applies policy to [addr, addr + len) of the caller's address space. addr must be page aligned;
// len is rounded up to whole pages by the kernel.
// Errors: errc::nodes_not_allowed as for set_self_policy; EFAULT when part of the range is not
// mapped; EIO with MbindFlag::strict when pages do not follow the policy; EPERM for move_all
// without CAP_SYS_NICE; EINVAL for an unaligned addr.
[[nodiscard]] inline result<void> mbind_self(void* addr, std::size_t len, const Policy& policy,
                                             MbindFlags flags = {}) noexcept {
  const RawPolicy raw = policy.to_raw();
  const KernelMaskArg mask = raw.nodes.kernel_arg();
  auto r = sys::mbind(addr, len, raw.mode_and_flags, mask.nmask, mask.maxnode, flags.bits());
  if (!r) return detail::explain_policy_einval(policy, r.error());
  return success();
}

// Sets the home node of the bind / prefer (many) VMA policies in [addr, addr + len) (Linux 5.17+):
// allocations try that node first. Ranges without a VMA policy are skipped by the kernel.
// Errors: errc::node_out_of_range; errc::home_node_needs_bind when a VMA in the range has another
// policy; ENOSYS on kernels before 5.17; EINVAL for an unaligned addr or an offline node.
[[nodiscard]] inline result<void> set_self_home_node(void* addr, std::size_t len, std::size_t node) noexcept {
  if (node >= NodeMask::capacity) return errc::node_out_of_range;
  auto r = sys::set_mempolicy_home_node(static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(addr)), len,
                                        node, 0);
  if (!r) {
    if (r.error() == std::errc::operation_not_supported) return errc::home_node_needs_bind;
    return r.error();
  }
  return success();
}

}  // namespace taskmpol
