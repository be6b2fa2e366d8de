// SPDX-License-Identifier: MIT
// Policy: a NUMA memory policy as the kernel models it (mode, mode flags, nodes), with the
// kernel's per-mode rules in one table that both the validating factory and the text grammar use.
#pragma once

#include <taskmpol/error.hpp>
#include <taskmpol/node_mask.hpp>

#include <array>
#include <cstdint>
#include <string_view>

namespace taskmpol {

// Values equal the uapi MPOL_* constants (include/uapi/linux/mempolicy.h).
enum class Mode : std::uint16_t {
  default_policy = 0,       // MPOL_DEFAULT: fall back to the next policy level
  preferred = 1,            // MPOL_PREFERRED
  bind = 2,                 // MPOL_BIND
  interleave = 3,           // MPOL_INTERLEAVE
  local = 4,                // MPOL_LOCAL
  preferred_many = 5,       // MPOL_PREFERRED_MANY
  weighted_interleave = 6,  // MPOL_WEIGHTED_INTERLEAVE
};
inline constexpr std::size_t mode_count = 7;  // MPOL_MAX

// Mode flags: the real uapi bit values, ORed into the mode argument of the syscalls.
enum class ModeFlag : std::uint16_t {
  numa_balancing = 1u << 13,  // MPOL_F_NUMA_BALANCING
  relative_nodes = 1u << 14,  // MPOL_F_RELATIVE_NODES
  static_nodes = 1u << 15,    // MPOL_F_STATIC_NODES
};

class ModeFlags {
 public:
  static constexpr std::uint16_t legal_bits = (1u << 13) | (1u << 14) | (1u << 15);  // MPOL_MODE_FLAGS

  constexpr ModeFlags() noexcept = default;
  constexpr ModeFlags(ModeFlag f) noexcept : bits_(static_cast<std::uint16_t>(f)) {}  // NOLINT: implicit on purpose

  [[nodiscard]] constexpr bool has(ModeFlag f) const noexcept { return (bits_ & static_cast<std::uint16_t>(f)) != 0; }
  [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }
  [[nodiscard]] constexpr std::uint16_t bits() const noexcept { return bits_; }

  // Keeps the bits inside MPOL_MODE_FLAGS; *ok tells whether any other bit was set.
  static constexpr ModeFlags from_bits(std::uint16_t bits, bool* ok) noexcept {
    ModeFlags f;
    f.bits_ = static_cast<std::uint16_t>(bits & legal_bits);
    if (ok != nullptr) *ok = (bits & ~legal_bits) == 0;
    return f;
  }

  friend constexpr ModeFlags operator|(ModeFlags a, ModeFlags b) noexcept { return raw(a.bits_ | b.bits_); }
  friend constexpr ModeFlags operator&(ModeFlags a, ModeFlags b) noexcept { return raw(a.bits_ & b.bits_); }
  constexpr ModeFlags& operator|=(ModeFlags o) noexcept { return *this = *this | o; }
  friend constexpr bool operator==(ModeFlags, ModeFlags) noexcept = default;

 private:
  static constexpr ModeFlags raw(unsigned bits) noexcept {
    ModeFlags f;
    f.bits_ = static_cast<std::uint16_t>(bits & legal_bits);
    return f;
  }
  std::uint16_t bits_ = 0;
};

constexpr ModeFlags operator|(ModeFlag a, ModeFlag b) noexcept { return ModeFlags(a) | ModeFlags(b); }

// What a mode does with its node list, as mm/mempolicy.c (mpol_new, mpol_parse_str) enforces it.
enum class NodeRule : std::uint8_t {
  forbidden,         // default, local: no nodes
  optional_local,    // prefer: no nodes means local; otherwise exactly one node
  optional_memory,   // interleave, weighted interleave: no nodes (text form) means all nodes with memory
  required,          // bind, prefer (many)
};

struct ModeTraits {
  Mode mode;
  std::string_view kernel_name;  // policy_modes[] in mm/mempolicy.c: what mpol_to_str prints
  std::string_view alias;        // numactl's spelling, accepted by the extended grammar
  NodeRule nodes;
  bool allows_balancing;         // sanitize_mpol_flags: MPOL_F_NUMA_BALANCING only with bind and prefer (many)
  bool allows_static_relative;   // local and default take no static/relative flag
};

// The one table of per-mode rules. Indexed by the uapi value.
inline constexpr std::array<ModeTraits, mode_count> mode_table{{
    {Mode::default_policy, "default", "default", NodeRule::forbidden, false, false},
    {Mode::preferred, "prefer", "preferred", NodeRule::optional_local, false, true},
    {Mode::bind, "bind", "bind", NodeRule::required, true, true},
    {Mode::interleave, "interleave", "interleave", NodeRule::optional_memory, false, true},
    {Mode::local, "local", "local", NodeRule::forbidden, false, false},
    {Mode::preferred_many, "prefer (many)", "preferred-many", NodeRule::required, true, true},
    {Mode::weighted_interleave, "weighted interleave", "weighted-interleave", NodeRule::optional_memory, false, true},
}};

constexpr const ModeTraits& traits(Mode m) noexcept { return mode_table[static_cast<std::size_t>(m)]; }

// The raw form the syscalls use: `int mode` with the flags ORed in, plus the node mask.
struct RawPolicy {
  int mode_and_flags = 0;
  NodeMask nodes;
  friend constexpr bool operator==(const RawPolicy&, const RawPolicy&) noexcept = default;
};

class Policy {
 public:
  // The default policy: no nodes, no flags.
  constexpr Policy() noexcept = default;

  // Validating factory with the kernel's rules (mpol_new + sanitize_mpol_flags):
  //  - static and relative exclude each other; balancing only with bind and prefer (many);
  //  - default: no nodes (flags are dropped, as the kernel drops them);
  //  - local: no nodes, no static/relative;
  //  - prefer: no nodes means local (not with static/relative); otherwise exactly one node
  //    (the kernel silently keeps the first of several: we refuse instead of guessing);
  //  - bind, interleave, weighted interleave, prefer (many): at least one node.
  // Whether the nodes have memory or lie in a task's cpuset depends on the system and the target
  // and is checked by the kernel (and by parse_policy against a topology).
  static result<Policy> make(Mode mode, ModeFlags flags = {}, const NodeMask& nodes = {}) noexcept {
    const ModeTraits& t = traits(mode);
    if (flags.has(ModeFlag::static_nodes) && flags.has(ModeFlag::relative_nodes)) return errc::conflicting_flags;
    if (flags.has(ModeFlag::numa_balancing) && !t.allows_balancing) return errc::unknown_flag;
    switch (t.nodes) {
      case NodeRule::forbidden:
        if (nodes.any()) return errc::nodes_forbidden;
        if (mode == Mode::default_policy) return Policy{};
        if (flags.has(ModeFlag::static_nodes) || flags.has(ModeFlag::relative_nodes)) return errc::unknown_flag;
        return Policy{mode, flags, nodes};
      case NodeRule::optional_local:
        if (nodes.empty()) {
          if (flags.has(ModeFlag::static_nodes) || flags.has(ModeFlag::relative_nodes)) return errc::empty_nodes;
          return Policy{Mode::local, flags, nodes};
        }
        if (nodes.count() != 1) return errc::single_node_required;
        return Policy{mode, flags, nodes};
      case NodeRule::optional_memory:
      case NodeRule::required:
        if (nodes.empty()) return errc::empty_nodes;
        return Policy{mode, flags, nodes};
    }
    return errc::unknown_mode;
  }

  // Decodes what get_mempolicy(2)/get_task_mempolicy report: the flags are masked off the mode
  // before it is interpreted (numactl --show prints "policy: [8194]" because it does not).
  static result<Policy> from_raw(int mode_and_flags, const NodeMask& nodes) noexcept {
    const auto bits = static_cast<unsigned>(mode_and_flags);
    const unsigned mode_bits = bits & ~static_cast<unsigned>(ModeFlags::legal_bits);
    if (mode_and_flags < 0 || mode_bits >= mode_count) return errc::unknown_mode;
    bool ok = true;
    const ModeFlags flags = ModeFlags::from_bits(static_cast<std::uint16_t>(bits & ModeFlags::legal_bits), &ok);
    if (!ok) return errc::unknown_flag;
    return make(static_cast<Mode>(mode_bits), flags, nodes);
  }

  [[nodiscard]] constexpr RawPolicy to_raw() const noexcept {
    return {static_cast<int>(static_cast<unsigned>(mode_) | flags_.bits()), nodes_};
  }

  [[nodiscard]] constexpr Mode mode() const noexcept { return mode_; }
  [[nodiscard]] constexpr ModeFlags flags() const noexcept { return flags_; }
  [[nodiscard]] constexpr const NodeMask& nodes() const noexcept { return nodes_; }

  friend constexpr bool operator==(const Policy&, const Policy&) noexcept = default;

 private:
  constexpr Policy(Mode m, ModeFlags f, const NodeMask& n) noexcept : mode_(m), flags_(f), nodes_(n) {}

  Mode mode_ = Mode::default_policy;
  ModeFlags flags_;
  NodeMask nodes_;
};

}  // namespace taskmpol
