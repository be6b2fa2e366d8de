// SPDX-License-Identifier: MIT
// The NUMA topology as sysfs reports it (possible / online / with memory / with CPUs) and the
// weighted-interleave weights, read and written through the kernel seam (syscalls.hpp: read_file,
// write_file) under an injectable root so tests can point the code at a recorded or synthetic
// layout (like hwloc's HWLOC_FSROOT).
//
// Paths are built in fixed buffers; only the message() of a diagnostic allocates. Errors carry an
// optional SysfsDiagnostic that names the file, the node and what to do.
#pragma once

#include <taskmpol/error.hpp>
#include <taskmpol/node_mask.hpp>
#include <taskmpol/syscalls.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>

namespace taskmpol {

// Where a topology read or a weight write failed, and what the user can do about it.
struct SysfsDiagnostic {
  static constexpr std::size_t path_capacity = 4096;  // PATH_MAX

  std::error_code error;                   // what the call returned (set on failure)
  std::array<char, path_capacity> path{};  // the file involved, NUL-terminated ("" if none)
  int os_error = 0;                        // errno of the failing open/read/write; 0 if the content was wrong
  std::size_t node = NodeMask::npos;       // the node whose weight file was involved, or npos
  const char* advice = "";                 // what to do; static storage, never null

  [[nodiscard]] std::string_view path_view() const noexcept { return {path.data(), ::strnlen(path.data(), path.size())}; }

  // One line for people: "[node N: ]<path>: <error>; <advice>". Allocates; like the library's other
  // string conveniences it is noexcept, so running out of memory terminates.
  [[nodiscard]] std::string message() const noexcept {
    std::string text;
    if (node != NodeMask::npos) {
      text += "node ";
      text += std::to_string(node);
      text += ": ";
    }
    if (!path_view().empty()) {
      text += path_view();
      text += ": ";
    }
    text += os_error != 0 ? std::error_code(os_error, std::system_category()).message() : error.message();
    if (advice[0] != '\0') {
      text += "; ";
      text += advice;
    }
    return text;
  }
};

// The node sets of one system. Every set is a subset of `possible`.
struct Topology {
  NodeMask possible;     // node ids the kernel may ever use (nr_node_ids - 1 is possible.last())
  NodeMask online;       // nodes online now
  NodeMask with_memory;  // N_MEMORY: nodes a memory policy can allocate from
  NodeMask with_cpus;    // N_CPU: nodes with at least one CPU

  // Memory-only nodes (e.g. a CXL expander) and memory-less nodes (CPUs without local memory).
  [[nodiscard]] constexpr NodeMask memory_only() const noexcept { return with_memory & ~with_cpus; }
  [[nodiscard]] constexpr NodeMask memoryless() const noexcept { return online & ~with_memory; }

  friend constexpr bool operator==(const Topology&, const Topology&) noexcept = default;
};

// The default root: the running system.
inline constexpr std::string_view system_root = "/";

namespace detail {

using sysfs_path = std::array<char, SysfsDiagnostic::path_capacity>;

inline constexpr std::string_view node_dir = "/sys/devices/system/node/";
inline constexpr std::string_view weights_dir = "/sys/kernel/mm/mempolicy/weighted_interleave";

// Records the error a public function returns in its diagnostic.
template <class T>
result<T> noted(result<T> r, SysfsDiagnostic* diag) noexcept {
  if (!r && diag != nullptr) diag->error = r.error();
  return r;
}

inline void diagnose(SysfsDiagnostic* diag, const sysfs_path& path, int os_error, std::size_t node,
                     const char* advice) noexcept {
  if (diag == nullptr) return;
  diag->path = path;
  diag->os_error = os_error;
  diag->node = node;
  diag->advice = advice;
}

// Appends text at *len; false if it does not fit (with the terminating NUL).
inline bool append(sysfs_path& out, std::size_t* len, std::string_view text) noexcept {
  if (text.size() >= out.size() - *len) return false;
  text.copy(out.data() + *len, text.size());
  *len += text.size();
  out[*len] = '\0';
  return true;
}

inline bool append_decimal(sysfs_path& out, std::size_t* len, std::size_t value) noexcept {
  std::array<char, 24> digits{};
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  std::array<char, 24> forward{};
  for (std::size_t i = 0; i < n; ++i) forward[i] = digits[n - 1 - i];
  return append(out, len, std::string_view(forward.data(), n));
}

// root + rel [+ decimal node]. Trailing slashes of root are dropped, so "/" and "" name the running
// system and "/tmp/layout/" equals "/tmp/layout".
inline result<void> build_path(sysfs_path& out, std::string_view root, std::string_view rel, std::size_t node,
                               SysfsDiagnostic* diag) noexcept {
  out[0] = '\0';
  if (root.find('\0') != std::string_view::npos) {
    diagnose(diag, out, EINVAL, node, "the sysfs root contains a NUL character; pass a plain directory path");
    return posix_error(EINVAL);
  }
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  std::size_t len = 0;
  const bool fits = append(out, &len, root) && append(out, &len, rel) &&
                    (node == NodeMask::npos || append_decimal(out, &len, node));
  if (!fits) {
    out[0] = '\0';
    diagnose(diag, out, ENAMETOOLONG, node, "the sysfs root is too long; use a shorter directory path");
    return posix_error(ENAMETOOLONG);
  }
  return success();
}

// sysfs attributes are at most one page; anything longer is not a sysfs attribute.
inline constexpr std::size_t max_attribute = 4096;
using attribute_buffer = std::array<char, max_attribute>;

// Reads the whole file into buf. On failure *os_error holds errno (or EFBIG if it is too long).
inline bool read_attribute(const char* path, attribute_buffer& buf, std::size_t* size, int* os_error) noexcept {
  auto r = sys::read_file(AT_FDCWD, path, buf);
  if (!r) {
    *os_error = r.error().value();
    return false;
  }
  *size = r.assume_value();
  return true;
}

// sysfs ends every value with a newline; the parsers want the bare value.
inline std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  return text;
}

inline constexpr const char* advice_no_node_dir =
    "this kernel does not expose NUMA nodes in sysfs: check that sysfs is mounted on /sys (in a container, "
    "bind-mount it) and that the kernel has CONFIG_NUMA, or pass the root of a recorded layout";

// One node list from /sys/devices/system/node/<name> (printed by the kernel with %*pbl).
inline result<NodeMask> read_node_list(std::string_view root, std::string_view name, SysfsDiagnostic* diag) noexcept {
  sysfs_path path{};
  TASKMPOL_TRYV(build_path(path, root, node_dir, NodeMask::npos, diag));
  std::size_t dir_len = ::strnlen(path.data(), path.size());
  if (!append(path, &dir_len, name)) {
    diagnose(diag, path, ENAMETOOLONG, NodeMask::npos, "the sysfs root is too long; use a shorter directory path");
    return posix_error(ENAMETOOLONG);
  }
  attribute_buffer buf{};
  std::size_t size = 0;
  int os_error = 0;
  if (!read_attribute(path.data(), buf, &size, &os_error)) {
    diagnose(diag, path, os_error, NodeMask::npos,
             os_error == ENOENT ? advice_no_node_dir : "check that this file is readable (sysfs node files are world-readable)");
    return errc::topology_unavailable;
  }
  const std::string_view text = trim(std::string_view(buf.data(), size));
  if (text.empty()) return NodeMask{};  // the kernel prints an empty set as a bare newline
  auto parsed = NodeMask::parse(text);
  if (!parsed) {
    diagnose(diag, path, 0, NodeMask::npos,
             "the file does not hold a kernel node list such as 0-3,8 (or names a node beyond 1023); "
             "if this is a recorded layout, fix the file");
    return errc::topology_unavailable;
  }
  return parsed.assume_value();
}

inline constexpr const char* advice_no_weights =
    "weighted interleave needs Linux 6.9 or later; the kernel creates a weight file only for nodes it can "
    "interleave over (nodes with memory): check the node number against has_memory";

// Builds <root>/sys/kernel/mm/mempolicy/weighted_interleave/node<node>.
inline result<void> weight_path(sysfs_path& path, std::string_view root, std::size_t node,
                                SysfsDiagnostic* diag) noexcept {
  if (node >= NodeMask::capacity) {
    path[0] = '\0';
    diagnose(diag, path, 0, node, "node numbers end at 1023 (MAX_NUMNODES)");
    return errc::node_out_of_range;
  }
  sysfs_path dir{};
  TASKMPOL_TRYV(build_path(dir, root, weights_dir, NodeMask::npos, diag));
  std::size_t len = ::strnlen(dir.data(), dir.size());
  path = dir;
  if (!append(path, &len, "/node") || !append_decimal(path, &len, node)) {
    path[0] = '\0';
    diagnose(diag, path, ENAMETOOLONG, node, "the sysfs root is too long; use a shorter directory path");
    return posix_error(ENAMETOOLONG);
  }
  return success();
}

// Parses a weight: decimal 1..255, as the kernel prints it.
inline bool parse_weight(std::string_view text, std::uint8_t* weight) noexcept {
  if (text.empty() || text.size() > 3) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value < 1 || value > 255) return false;
  *weight = static_cast<std::uint8_t>(value);
  return true;
}

}  // namespace detail

namespace detail {
inline result<Topology> read_topology_impl(std::string_view root,
                                                    SysfsDiagnostic* diag) noexcept {
  Topology t;
  TASKMPOL_TRY(possible, detail::read_node_list(root, "possible", diag));
  TASKMPOL_TRY(online, detail::read_node_list(root, "online", diag));
  TASKMPOL_TRY(with_memory, detail::read_node_list(root, "has_memory", diag));
  TASKMPOL_TRY(with_cpus, detail::read_node_list(root, "has_cpu", diag));
  t.possible = possible;
  t.online = online;
  t.with_memory = with_memory;
  t.with_cpus = with_cpus;
  return t;
}
}  // namespace detail

// Reads the four node sets from <root>/sys/devices/system/node/{possible,online,has_memory,has_cpu}.
// Errors: errc::topology_unavailable (diag names the file and, for a missing file, what to check);
// ENAMETOOLONG / EINVAL for an unusable root.
[[nodiscard]] inline result<Topology> read_topology(std::string_view root = system_root,
                                                    SysfsDiagnostic* diag = nullptr) noexcept {
  return detail::noted(detail::read_topology_impl(root, diag), diag);
}

namespace detail {
inline result<std::uint8_t> read_interleave_weight_impl(std::size_t node, std::string_view root,
                                                                 SysfsDiagnostic* diag) noexcept {
  detail::sysfs_path path{};
  TASKMPOL_TRYV(detail::weight_path(path, root, node, diag));
  detail::attribute_buffer buf{};
  std::size_t size = 0;
  int os_error = 0;
  if (!detail::read_attribute(path.data(), buf, &size, &os_error)) {
    detail::diagnose(diag, path, os_error, node,
                     os_error == ENOENT ? detail::advice_no_weights : "check that this file is readable");
    return errc::topology_unavailable;
  }
  std::uint8_t weight = 0;
  if (!detail::parse_weight(detail::trim(std::string_view(buf.data(), size)), &weight)) {
    detail::diagnose(diag, path, 0, node, "the file does not hold a weight from 1 to 255");
    return errc::topology_unavailable;
  }
  return weight;
}
}  // namespace detail

// Weighted-interleave weight of one node (Linux 6.9+): 1..255.
// Errors: errc::node_out_of_range; errc::topology_unavailable when the kernel has no weight file for
// the node or its content is not a weight (diag says which).
[[nodiscard]] inline result<std::uint8_t> read_interleave_weight(std::size_t node, std::string_view root = system_root,
                                                                 SysfsDiagnostic* diag = nullptr) noexcept {
  return detail::noted(detail::read_interleave_weight_impl(node, root, diag), diag);
}

// Weights of several nodes, indexed by node id; nodes outside the mask read as 0.
struct InterleaveWeights {
  NodeMask nodes;                                       // the nodes whose weight was read
  std::array<std::uint8_t, NodeMask::capacity> weight{};  // weight[n] for n in nodes, else 0
  [[nodiscard]] constexpr std::uint8_t operator[](std::size_t node) const noexcept {
    return node < weight.size() ? weight[node] : 0;
  }
};

namespace detail {
inline result<InterleaveWeights> read_interleave_weights_impl(const NodeMask& nodes,
                                                                       std::string_view root,
                                                                       SysfsDiagnostic* diag) noexcept {
  InterleaveWeights out;
  for (std::size_t node : nodes) {
    TASKMPOL_TRY(w, read_interleave_weight(node, root, diag));
    out.weight[node] = w;
    static_cast<void>(out.nodes.set(node));  // node comes from a NodeMask: in range
  }
  return out;
}
}  // namespace detail

// Reads the weight of every node in `nodes` (typically Topology::with_memory). Stops at the first
// node that has no readable weight and reports it.
[[nodiscard]] inline result<InterleaveWeights> read_interleave_weights(const NodeMask& nodes,
                                                                       std::string_view root = system_root,
                                                                       SysfsDiagnostic* diag = nullptr) noexcept {
  return detail::noted(detail::read_interleave_weights_impl(nodes, root, diag), diag);
}

namespace detail {
inline result<void> write_interleave_weight_impl(std::size_t node, unsigned weight,
                                                          std::string_view root,
                                                          SysfsDiagnostic* diag) noexcept {
  detail::sysfs_path path{};
  TASKMPOL_TRYV(detail::weight_path(path, root, node, diag));
  if (weight < 1 || weight > 255) {
    detail::diagnose(diag, path, 0, node, "choose a weight from 1 to 255");
    return errc::invalid_weight;
  }
  std::array<char, 4> text{};
  std::size_t len = 0;
  if (weight >= 100) text[len++] = static_cast<char>('0' + weight / 100);
  if (weight >= 10) text[len++] = static_cast<char>('0' + weight / 10 % 10);
  text[len++] = static_cast<char>('0' + weight % 10);
  text[len++] = '\n';
  // O_TRUNC as in `echo 3 > nodeN`: sysfs ignores it, a recorded layout's plain file needs it. A
  // missing file means the kernel has no weight for that node (write_file never creates one).
  auto written = sys::write_file(AT_FDCWD, path.data(), std::string_view(text.data(), len), /*truncate=*/true);
  if (!written) {
    const int e = written.error().value();
    const char* advice = "the kernel refused the weight";
    if (e == EACCES || e == EPERM)
      advice = "writing interleave weights needs root (the files are root-owned, mode 0644): run as root or with sudo";
    else if (e == EROFS)
      advice = "sysfs is mounted read-only here (a container?): set weights on the host";
    else if (e == ENOENT)
      advice = detail::advice_no_weights;
    else if (e == EIO)
      advice = "the kernel did not take the whole weight; try again";
    detail::diagnose(diag, path, e, node, advice);
    return detail::noted(e == ENOENT ? result<void>(errc::topology_unavailable) : result<void>(written.error()), diag);
  }
  return success();
}
}  // namespace detail

// Sets one node's weight (1..255). Needs root: the files are root-owned, mode 0644. On Linux 6.16+
// writing a weight also switches the kernel's automatic weights ("auto") off.
// Errors: errc::invalid_weight; errc::node_out_of_range; EACCES/EPERM (diag names node and the
// privilege needed); errc::topology_unavailable when the kernel has no weight file for the node.
[[nodiscard]] inline result<void> write_interleave_weight(std::size_t node, unsigned weight,
                                                          std::string_view root = system_root,
                                                          SysfsDiagnostic* diag = nullptr) noexcept {
  return detail::noted(detail::write_interleave_weight_impl(node, weight, root, diag), diag);
}

namespace detail {
inline result<bool> read_interleave_auto_impl(std::string_view root,
                                                       SysfsDiagnostic* diag) noexcept {
  // The 6.18 host this was developed on names the attribute "__auto_type" (apparently the kernel's
  // new `auto` -> `__auto_type` macro leaked into the stringified attribute name). Accept both.
  detail::sysfs_path first{};
  for (std::string_view name : {std::string_view("/auto"), std::string_view("/__auto_type")}) {
    detail::sysfs_path path{};
    TASKMPOL_TRYV(detail::build_path(path, root, detail::weights_dir, NodeMask::npos, diag));
    std::size_t len = ::strnlen(path.data(), path.size());
    if (!detail::append(path, &len, name)) {
      detail::diagnose(diag, first, ENAMETOOLONG, NodeMask::npos, "the sysfs root is too long; use a shorter path");
      return detail::posix_error(ENAMETOOLONG);
    }
    if (first[0] == '\0') first = path;
    detail::attribute_buffer buf{};
    std::size_t size = 0;
    int os_error = 0;
    if (!detail::read_attribute(path.data(), buf, &size, &os_error)) {
      if (os_error == ENOENT) continue;
      detail::diagnose(diag, path, os_error, NodeMask::npos, "check that this file is readable");
      return errc::topology_unavailable;
    }
    const std::string_view text = detail::trim(std::string_view(buf.data(), size));
    if (text == "true" || text == "1" || text == "Y") return true;
    if (text == "false" || text == "0" || text == "N") return false;
    detail::diagnose(diag, path, 0, NodeMask::npos, "the file holds neither true nor false");
    return errc::topology_unavailable;
  }
  detail::diagnose(diag, first, ENOENT, NodeMask::npos, "automatic interleave weights need Linux 6.16 or later");
  return errc::topology_unavailable;
}
}  // namespace detail

// Whether the kernel manages the weights itself (Linux 6.16+ "auto" file). Errors:
// errc::topology_unavailable on kernels without the file.
[[nodiscard]] inline result<bool> read_interleave_auto(std::string_view root = system_root,
                                                       SysfsDiagnostic* diag = nullptr) noexcept {
  return detail::noted(detail::read_interleave_auto_impl(root, diag), diag);
}

}  // namespace taskmpol
