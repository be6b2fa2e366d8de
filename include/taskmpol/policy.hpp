// SPDX-License-Identifier: MIT
// Policy: a NUMA memory policy as the kernel models it (mode, mode flags, nodes), with the
// kernel's per-mode rules in one table that both the validating factory and the text grammar use.
// The text grammar (parse_policy, mpol_parse_str) and printer (to_chars/to_string, mpol_to_str)
// live at the end of this file.
#pragma once

#include <taskmpol/error.hpp>
#include <taskmpol/node_mask.hpp>

#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

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
  // False when a bit outside MPOL_MODE_FLAGS is set (a ModeFlag cast from another number):
  // Policy::make refuses such flags with errc::unknown_flag.
  [[nodiscard]] constexpr bool known() const noexcept { return (bits_ & ~legal_bits) == 0; }

  // Keeps the bits inside MPOL_MODE_FLAGS; *ok tells whether any other bit was set.
  static constexpr ModeFlags from_bits(std::uint16_t bits, bool* ok) noexcept {
    if (ok != nullptr) *ok = (bits & ~legal_bits) == 0;
    return raw(bits & legal_bits);
  }

  // Every bit is kept, known or not, so that validation sees what the caller passed.
  friend constexpr ModeFlags operator|(ModeFlags a, ModeFlags b) noexcept { return raw(a.bits_ | b.bits_); }
  friend constexpr ModeFlags operator&(ModeFlags a, ModeFlags b) noexcept { return raw(a.bits_ & b.bits_); }
  constexpr ModeFlags& operator|=(ModeFlags o) noexcept { return *this = *this | o; }
  friend constexpr bool operator==(ModeFlags, ModeFlags) noexcept = default;

 private:
  static constexpr ModeFlags raw(unsigned bits) noexcept {
    ModeFlags f;
    f.bits_ = static_cast<std::uint16_t>(bits);
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

// What traits() answers for a value outside the table (a Mode cast from another number): a mode
// that takes nothing, so that no rule can accept it.
inline constexpr ModeTraits unknown_mode_traits{static_cast<Mode>(mode_count), "unknown", "unknown",
                                                NodeRule::forbidden, false, false};

// True for the modes of mode_table (the kernel's 0 .. MPOL_MAX - 1).
[[nodiscard]] constexpr bool is_known(Mode m) noexcept { return static_cast<std::size_t>(m) < mode_count; }

// The rules of mode m; unknown_mode_traits for a value outside the table, never out of bounds.
[[nodiscard]] constexpr const ModeTraits& traits(Mode m) noexcept {
  return is_known(m) ? mode_table[static_cast<std::size_t>(m)] : unknown_mode_traits;
}

// The raw form the syscalls use: `int mode` with the flags ORed in, plus the node mask.
struct RawPolicy {
  int mode_and_flags = 0;
  NodeMask nodes;
  friend constexpr bool operator==(const RawPolicy&, const RawPolicy&) noexcept = default;
};

class Policy;

namespace detail {

// Whose policy is being checked: a request (Policy::make, parse_policy), held to the rules
// mpol_new() applies to a new policy; or a state the kernel reported (Policy::from_raw), which
// exists and is accepted as it is.
enum class PolicySource : std::uint8_t { request, kernel };

// The verdict of the one validator: the policy to build, or the rule it breaks. Small on
// purpose: the nodes stay with the caller, and the policy is built once, where it is returned.
struct PolicyVerdict {
  errc error = errc::ok;
  Mode mode = Mode::default_policy;  // what the policy is (prefer without a node: local)
  ModeFlags flags;                   // its flags (default drops them, as the kernel does)
  bool keeps_nodes = false;          // false: the policy has no nodes (default, local)
  ModeFlags flags_at_fault;          // flag_not_allowed: the flags the mode does not take
};

constexpr PolicyVerdict check_policy(Mode mode, ModeFlags flags, const NodeMask& nodes, PolicySource source) noexcept;
constexpr Policy build_policy(const PolicyVerdict& verdict, const NodeMask& nodes) noexcept;

}  // namespace detail

class Policy {
 public:
  // The default policy: no nodes, no flags.
  constexpr Policy() noexcept = default;

  // Validating factory with the kernel's rules (mpol_new + sanitize_mpol_flags):
  //  - a mode or flag bit the kernel does not know: errc::unknown_mode / errc::unknown_flag;
  //  - static and relative exclude each other; balancing only with bind and prefer (many)
  //    (errc::flag_not_allowed);
  //  - default: no nodes (flags are dropped, as the kernel drops them);
  //  - local: no nodes, no static/relative;
  //  - prefer: no nodes means local (then no static/relative); otherwise exactly one node
  //    (the kernel silently keeps the first of several: we refuse instead of guessing);
  //  - bind, interleave, weighted interleave, prefer (many): at least one node.
  // Whether the nodes have memory or lie in a task's cpuset depends on the system and the target
  // and is checked by the kernel (and by parse_policy against a topology).
  [[nodiscard]] static result<Policy> make(Mode mode, ModeFlags flags = {}, const NodeMask& nodes = {}) noexcept;

  // Decodes what get_mempolicy(2)/get_task_mempolicy report: the flags are masked off the mode
  // before it is interpreted (numactl --show prints "policy: [8194]" because it does not). Every
  // state the kernel can hold decodes, including those a request could not create: the kernel
  // reports only the first nr_node_ids bits of a static or relative mask, so `bind=relative` with
  // relative nodes past the machine's node count reads back with few or no nodes.
  // Errors: errc::unknown_mode / errc::unknown_flag for a mode or flag of a newer kernel.
  [[nodiscard]] static result<Policy> from_raw(int mode_and_flags, const NodeMask& nodes) noexcept;

  [[nodiscard]] constexpr RawPolicy to_raw() const noexcept {
    return {static_cast<int>(static_cast<unsigned>(mode_) | flags_.bits()), nodes_};
  }

  [[nodiscard]] constexpr Mode mode() const noexcept { return mode_; }
  [[nodiscard]] constexpr ModeFlags flags() const noexcept { return flags_; }
  [[nodiscard]] constexpr const NodeMask& nodes() const noexcept { return nodes_; }

  friend constexpr bool operator==(const Policy&, const Policy&) noexcept = default;

 private:
  constexpr Policy(Mode m, ModeFlags f, const NodeMask& n) noexcept : mode_(m), flags_(f), nodes_(n) {}
  friend constexpr Policy detail::build_policy(const detail::PolicyVerdict&, const NodeMask&) noexcept;

  Mode mode_ = Mode::default_policy;
  ModeFlags flags_;
  NodeMask nodes_;
};

namespace detail {

// The one validator, shared by Policy::make, parse_policy (which adds the text's own rules) and
// Policy::from_raw. Checks in the order the kernel's parser meets them, so every caller names the
// same first error for the same policy.
constexpr PolicyVerdict check_policy(Mode mode, ModeFlags flags, const NodeMask& nodes, PolicySource source) noexcept {
  PolicyVerdict v;
  const auto fail = [&v](errc e, ModeFlags at_fault = {}) {
    v.error = e;
    v.flags_at_fault = at_fault;
    return v;
  };
  const auto accept = [&v](Mode m, ModeFlags f, bool keeps_nodes) {
    v.mode = m;
    v.flags = f;
    v.keeps_nodes = keeps_nodes;
    return v;
  };
  const bool request = source == PolicySource::request;
  if (!is_known(mode)) return fail(errc::unknown_mode);
  if (!flags.known()) return fail(errc::unknown_flag);
  const ModeTraits& t = traits(mode);
  const ModeFlags static_relative = flags & (ModeFlag::static_nodes | ModeFlag::relative_nodes);
  if (flags.has(ModeFlag::static_nodes) && flags.has(ModeFlag::relative_nodes)) return fail(errc::conflicting_flags);
  if (flags.has(ModeFlag::numa_balancing) && !t.allows_balancing && request)
    return fail(errc::flag_not_allowed, ModeFlag::numa_balancing);
  switch (t.nodes) {
    case NodeRule::forbidden:
      // The kernel reports no nodes for these modes: any bits it left are not part of the policy.
      if (nodes.any() && request) return fail(errc::nodes_forbidden);
      if (mode == Mode::default_policy) return accept(mode, {}, false);  // flags dropped, as the kernel drops them
      if (!static_relative.empty() && request) return fail(errc::flag_not_allowed, static_relative);
      return accept(mode, flags, false);
    case NodeRule::optional_local:
      if (nodes.empty()) {
        // prefer without a node is local allocation
        if (static_relative.empty()) return accept(Mode::local, flags, false);
        // A request: prefer without a node is local, which takes no static/relative flag. A kernel
        // state: a static or relative node past the machine's node count, not reported.
        if (request) return fail(errc::flag_not_allowed, static_relative);
      } else if (nodes.count() != 1 && request) {
        return fail(errc::single_node_required);
      }
      return accept(mode, flags, true);
    case NodeRule::optional_memory:
    case NodeRule::required:
      if (nodes.empty() && request) return fail(errc::empty_nodes);
      return accept(mode, flags, true);
  }
  return fail(errc::unknown_mode);
}

// The policy a successful verdict describes.
constexpr Policy build_policy(const PolicyVerdict& verdict, const NodeMask& nodes) noexcept {
  if (verdict.keeps_nodes) return Policy{verdict.mode, verdict.flags, nodes};
  return Policy{verdict.mode, verdict.flags, NodeMask{}};
}

}  // namespace detail

inline result<Policy> Policy::make(Mode mode, ModeFlags flags, const NodeMask& nodes) noexcept {
  const detail::PolicyVerdict v = detail::check_policy(mode, flags, nodes, detail::PolicySource::request);
  if (v.error != errc::ok) return v.error;
  return detail::build_policy(v, nodes);
}

inline result<Policy> Policy::from_raw(int mode_and_flags, const NodeMask& nodes) noexcept {
  if (mode_and_flags < 0) return errc::unknown_mode;
  const auto bits = static_cast<unsigned>(mode_and_flags);
  const unsigned mode_bits = bits & ~static_cast<unsigned>(ModeFlags::legal_bits);
  if (mode_bits >= mode_count) return errc::unknown_mode;
  const detail::PolicyVerdict v = detail::check_policy(
      static_cast<Mode>(mode_bits), ModeFlags::from_bits(static_cast<std::uint16_t>(bits & ModeFlags::legal_bits), nullptr),
      nodes, detail::PolicySource::kernel);
  if (v.error != errc::ok) return v.error;
  return detail::build_policy(v, nodes);
}

// ---------------------------------------------------------------------------------------------
// Text form: the kernel's mpol_parse_str() grammar and mpol_to_str() printing (Linux 6.12,
// mm/mempolicy.c), both heap-free.
//
// Grammar, Dialect::kernel — exactly what mpol_parse_str() accepts, yielding the policy it builds:
//   <mode>[=<flags>][:<nodelist>]
// split the way the kernel splits it, with strchr(): the FIRST ':' anywhere starts the node list
// and the FIRST '=' anywhere starts the flags; each part ends where the other begins or at the end
// of the text. So "bind:0=static" is bind=static:0, and "bind=static:0=1" has the node list "0=1"
// (rejected).
//   mode     exact and case-sensitive, one of mode_table's kernel names: default, prefer, bind,
//            interleave, local, prefer (many), weighted interleave (two contain a space)
//   flags    exactly "static" or "relative"; nothing else, not even "balancing", which
//            mpol_to_str() prints for MPOL_F_NUMA_BALANCING
//   nodelist NodeMask::parse()'s grammar (bitmap_parselist); every node must have memory
//            (`nodes_with_memory`, the kernel's N_MEMORY)
// Per mode (mode_table's NodeRule, plus the kernel's textual quirks):
//   default              no ':' at all; the flags are never looked at, "default=anything" is default
//   local                no ':' at all (not even "local:"); no static/relative
//   prefer               no list: local allocation (then no static/relative); with a list, the list
//                        must be ASCII digits only and non-empty: "prefer:01" is node 1, while
//                        "prefer:1-1", "prefer: 1", "prefer:1,", "prefer:1\n" and "prefer:" fail
//   bind, prefer (many)  a list selecting at least one node is required
//   interleave, weighted interleave   no list: every node with memory
// A trailing newline is not special: "bind:0\n" is accepted (the node list ends at '\n'), while
// "interleave\n" is an unknown mode and "bind=static\n" an unknown flag. A NUL byte is refused
// (the kernel receives C strings and would never see what follows it).
//
// Dialect::extended — everything Dialect::kernel accepts, with the same result, plus:
//   - numactl's mode names: preferred, preferred-many, weighted-interleave;
//   - the flag balancing, and several flags joined by '|' in any order (static|balancing,
//     balancing|relative, ...): what mpol_to_str() prints, so /proc/<pid>/mempolicy and numa_maps
//     output read back; static and relative still exclude each other;
//   - one trailing '\n' (as read from a procfs file), ignored.
// Whenever the text parses only thanks to these extensions, the diagnostic carries a warning
// (PolicyWarning bits) saying why the kernel would refuse it as written; print the policy
// (to_string / to_chars) to get the kernel's canonical form.
//
// Printing — exactly mpol_to_str(): the kernel mode name; then, when any flag is set, '=' and
// "static" or "relative", followed by "balancing" ("|balancing" after another flag); then
// ':' and the "%*pbl" node list when the mode has nodes and the list is not empty (default and
// local never print nodes). Examples: "prefer (many)=relative:0", "weighted interleave:0",
// "bind=balancing:0", "bind=static|balancing:0-1", "local", "default".
// (Where the kernel prints into a short buffer, e.g. tmpfs' 64-byte mount-option buffer, its
// output is a prefix of this text.)
// ---------------------------------------------------------------------------------------------

enum class Dialect : std::uint8_t {
  kernel,    // exactly mpol_parse_str() of Linux 6.12 (the default)
  extended,  // kernel + numactl names + balancing + flag lists + one trailing newline, with warnings
};

// What made parse_policy() fail. code() maps each to an errc.
enum class PolicyIssue : std::uint8_t {
  none = 0,
  embedded_nul,          // errc::invalid_syntax
  unknown_mode,          // errc::unknown_mode
  unknown_flag,          // errc::unknown_flag: not static/relative (kernel), nor balancing (extended)
  duplicate_flag,        // errc::invalid_syntax: a flag listed twice (extended)
  conflicting_flags,     // errc::conflicting_flags: static and relative together (extended)
  flag_not_allowed,      // errc::flag_not_allowed: balancing outside bind/prefer (many); static or
                         //   relative with local, or with prefer without a node (= local)
  node_list,             // list.code(): the node list is malformed, see `list`
  nodes_required,        // errc::nodes_required: bind, prefer (many) without ':'
  nodes_forbidden,       // errc::nodes_forbidden: default, local with ':'
  single_node_required,  // errc::single_node_required: prefer's list is not one plain number
  empty_nodes,           // errc::empty_nodes: the list (or the set of nodes with memory) is empty
  node_without_memory,   // errc::node_without_memory: a listed node has no memory
};

// Why Dialect::extended accepted text that the kernel would refuse as written (bit set).
enum class PolicyWarning : std::uint8_t {
  mode_alias = 1u << 0,        // numactl's mode name instead of the kernel's
  balancing_flag = 1u << 1,    // "balancing": printed by mpol_to_str, not parsed by mpol_parse_str
  flag_list = 1u << 2,         // several flags joined with '|'; the kernel parses exactly one
  trailing_newline = 1u << 3,  // a newline the kernel would keep in the mode, flag or prefer node
};

// Everything parse_policy() knows about a failure (or about warnings on success), self-contained
// so that a message can be formatted later, without the text and without the heap.
// Columns are 0-based byte offsets into the text given to parse_policy().
struct PolicyDiagnostic {
  static constexpr std::size_t token_capacity = 32;

  PolicyIssue issue = PolicyIssue::none;
  Dialect dialect = Dialect::kernel;
  std::size_t column = 0;               // where the offending part starts
  std::size_t length = 0;               // its length in bytes (0: something is missing there)
  FixedString<token_capacity> token;    // the offending text, cut to token_capacity bytes
  bool mode_known = false;              // `mode` is valid
  bool has_list = false;                // the text has a ':' node list (possibly empty)
  Mode mode = Mode::default_policy;     // the mode, once recognised
  ModeFlags flags;                      // flag_not_allowed: the flags at fault
  ListError list;                       // node_list: details, its column counted in the whole text
  std::size_t node = NodeMask::npos;    // node_without_memory: the first listed node without memory
  NodeMask nodes_with_memory;           // node_without_memory, empty_nodes: the set it was checked against
  std::uint8_t warnings = 0;            // PolicyWarning bits, on success only
  std::size_t warning_column = 0;       // where the first warned-about part starts
  FixedString<token_capacity> warning_token;  // mode_alias: the numactl name used

  [[nodiscard]] constexpr bool failed() const noexcept { return issue != PolicyIssue::none; }
  [[nodiscard]] constexpr bool has_warning(PolicyWarning w) const noexcept {
    return (warnings & static_cast<std::uint8_t>(w)) != 0;
  }
  [[nodiscard]] constexpr bool has_warnings() const noexcept { return warnings != 0; }

  [[nodiscard]] constexpr errc code() const noexcept {
    switch (issue) {
      case PolicyIssue::none: return errc::ok;
      case PolicyIssue::embedded_nul: return errc::invalid_syntax;
      case PolicyIssue::unknown_mode: return errc::unknown_mode;
      case PolicyIssue::unknown_flag: return errc::unknown_flag;
      case PolicyIssue::duplicate_flag: return errc::invalid_syntax;
      case PolicyIssue::flag_not_allowed: return errc::flag_not_allowed;
      case PolicyIssue::conflicting_flags: return errc::conflicting_flags;
      case PolicyIssue::node_list: return list.code();
      case PolicyIssue::nodes_required: return errc::nodes_required;
      case PolicyIssue::nodes_forbidden: return errc::nodes_forbidden;
      case PolicyIssue::single_node_required: return errc::single_node_required;
      case PolicyIssue::empty_nodes: return errc::empty_nodes;
      case PolicyIssue::node_without_memory: return errc::node_without_memory;
    }
    return errc::invalid_syntax;
  }

  // The error message (e.g. "node 7 has no memory (nodes with memory: 0-2)"),
  // or, after a successful parse, the warnings (empty text when there are none). Heap-free into
  // `out`, NUL-terminated and cut to fit; returns the number of characters stored.
  std::size_t format(std::span<char> out) const noexcept {
    return detail::format_to_span(out, [this](detail::TextWriter& w) { write(w); });
  }
  // The same text as a std::string (allocates).
  [[nodiscard]] std::string message() const noexcept {
    return detail::format_to_string([this](detail::TextWriter& w) { write(w); });
  }

  constexpr void write(detail::TextWriter& w) const noexcept;
};

namespace detail {

// The three parts of the text, found the way mpol_parse_str() finds them (strchr).
struct PolicyParts {
  std::string_view mode;
  bool has_flags = false;
  std::string_view flags;
  std::size_t flags_column = 0;
  bool has_nodes = false;
  std::string_view nodes;
  std::size_t nodes_column = 0;
  bool flags_last = false;  // the flags run to the end of the text
  bool nodes_last = false;  // the node list runs to the end of the text
};

constexpr PolicyParts split_policy_text(std::string_view text) noexcept {
  constexpr std::size_t npos = std::string_view::npos;
  const std::size_t colon = text.find(':');
  const std::size_t equals = text.find('=');
  PolicyParts parts;
  std::size_t mode_end = text.size();
  if (colon < mode_end) mode_end = colon;
  if (equals < mode_end) mode_end = equals;
  parts.mode = text.substr(0, mode_end);
  if (equals != npos) {
    const std::size_t stop = (colon != npos && colon > equals) ? colon : text.size();
    parts.has_flags = true;
    parts.flags_column = equals + 1;
    parts.flags = text.substr(equals + 1, stop - (equals + 1));
    parts.flags_last = stop == text.size();
  }
  if (colon != npos) {
    const std::size_t stop = (equals != npos && equals > colon) ? equals : text.size();
    parts.has_nodes = true;
    parts.nodes_column = colon + 1;
    parts.nodes = text.substr(colon + 1, stop - (colon + 1));
    parts.nodes_last = stop == text.size();
  }
  return parts;
}

// match_string(policy_modes, ...) over mode_table; Dialect::extended also takes the numactl
// aliases. Returns nullptr for an unknown name; *alias tells whether an alias matched.
constexpr const ModeTraits* find_mode(std::string_view name, Dialect dialect, bool* alias) noexcept {
  *alias = false;
  for (const ModeTraits& t : mode_table)
    if (t.kernel_name == name) return &t;
  if (dialect == Dialect::extended)
    for (const ModeTraits& t : mode_table)
      if (t.alias == name) {
        *alias = true;
        return &t;
      }
  return nullptr;
}

struct FlagScan {
  ModeFlags flags;
  PolicyIssue issue = PolicyIssue::none;
  std::size_t column = 0;  // relative to the flags text
  std::size_t length = 0;
  bool balancing = false;  // extended: "balancing" was used
  bool list = false;       // extended: several flags joined with '|'
};

// The kernel compares the whole flags text with strcmp() against "static" and "relative";
// Dialect::extended reads a '|'-separated set of static, relative and balancing.
constexpr FlagScan scan_flags(std::string_view text, Dialect dialect) noexcept {
  FlagScan scan;
  if (dialect == Dialect::kernel) {
    if (text == "static") {
      scan.flags = ModeFlag::static_nodes;
    } else if (text == "relative") {
      scan.flags = ModeFlag::relative_nodes;
    } else {
      scan.issue = PolicyIssue::unknown_flag;
      scan.length = text.size();
    }
    return scan;
  }
  std::size_t begin = 0;
  while (true) {
    const std::size_t bar = text.find('|', begin);
    const std::size_t stop = bar == std::string_view::npos ? text.size() : bar;
    const std::string_view item = text.substr(begin, stop - begin);
    ModeFlag flag = ModeFlag::static_nodes;
    if (item == "static") {
      flag = ModeFlag::static_nodes;
    } else if (item == "relative") {
      flag = ModeFlag::relative_nodes;
    } else if (item == "balancing") {
      flag = ModeFlag::numa_balancing;
      scan.balancing = true;
    } else {
      scan.issue = PolicyIssue::unknown_flag;
      scan.column = begin;
      scan.length = item.size();
      return scan;
    }
    if (scan.flags.has(flag)) {
      scan.issue = PolicyIssue::duplicate_flag;
      scan.column = begin;
      scan.length = item.size();
      return scan;
    }
    scan.flags |= flag;
    if (bar == std::string_view::npos) break;
    scan.list = true;
    begin = bar + 1;
  }
  if (scan.flags.has(ModeFlag::static_nodes) && scan.flags.has(ModeFlag::relative_nodes)) {
    scan.issue = PolicyIssue::conflicting_flags;
    scan.length = text.size();
  }
  return scan;
}

// Longest mode name plus the longest flags text mpol_to_str() can print.
constexpr std::size_t longest_mode_name() noexcept {
  std::size_t longest = 0;
  for (const ModeTraits& t : mode_table)
    if (t.kernel_name.size() > longest) longest = t.kernel_name.size();
  return longest;
}

}  // namespace detail

// The longest text to_chars(Policy) can produce: mode, "=relative|balancing", ':' and a list.
inline constexpr std::size_t max_policy_chars =
    detail::longest_mode_name() + std::string_view("=relative|balancing").size() + 1 + NodeMask::max_list_chars;

// mpol_to_str() through a writer; the building block of the printers below.
constexpr void write_policy(detail::TextWriter& w, const Policy& policy) noexcept {
  w.put(traits(policy.mode()).kernel_name);
  const ModeFlags flags = policy.flags();
  if (!flags.empty()) {
    w.put('=');
    if (flags.has(ModeFlag::static_nodes))
      w.put("static");
    else if (flags.has(ModeFlag::relative_nodes))
      w.put("relative");
    if (flags.has(ModeFlag::numa_balancing)) {
      if (std::popcount(static_cast<unsigned>(flags.bits())) != 1) w.put('|');
      w.put("balancing");
    }
  }
  const bool shows_nodes = policy.mode() != Mode::default_policy && policy.mode() != Mode::local;
  if (shows_nodes && policy.nodes().any()) {
    w.put(':');
    policy.nodes().write_list(w);
  }
}

// Writes mpol_to_str()'s text into [first, last) without a NUL, like std::to_chars: returns
// {end of text, errc{}} or {last, std::errc::value_too_large} when it does not fit.
constexpr std::to_chars_result to_chars(char* first, char* last, const Policy& policy) noexcept {
  detail::TextWriter w(first, last);
  write_policy(w, policy);
  if (w.overflowed()) return {last, std::errc::value_too_large};
  return {w.position(), std::errc{}};
}

// mpol_to_str()'s text in inline storage (no heap).
constexpr FixedString<max_policy_chars> to_fixed_string(const Policy& policy) noexcept {
  FixedString<max_policy_chars> text;
  const std::to_chars_result r = to_chars(text.writable_begin(), text.writable_end(), policy);
  text.commit(static_cast<std::size_t>(r.ptr - text.writable_begin()));
  return text;
}

// mpol_to_str()'s text as a std::string. Allocates (out of memory terminates: noexcept).
inline std::string to_string(const Policy& policy) noexcept {
  return detail::format_to_string([&policy](detail::TextWriter& w) { write_policy(w, policy); });
}

// Parses `text` with the grammar above against the system's nodes with memory (the kernel's
// N_MEMORY; taskmpol/topology.hpp reads it from /sys/devices/system/node/has_memory).
// The result is the policy the kernel would build: prefer keeps its one node, prefer without a
// list is local, interleave without a list takes `nodes_with_memory`, default ignores its flags.
// When `diagnostic` is given it is overwritten: on failure with the issue, column and details;
// on success with any Dialect::extended warnings. No heap allocation.
inline result<Policy> parse_policy(std::string_view text, const NodeMask& nodes_with_memory,
                                   Dialect dialect = Dialect::kernel,
                                   PolicyDiagnostic* diagnostic = nullptr) noexcept {
  PolicyDiagnostic scratch;
  PolicyDiagnostic& d = diagnostic != nullptr ? *diagnostic : scratch;
  d = PolicyDiagnostic{};
  d.dialect = dialect;

  const auto fail = [&](PolicyIssue issue, std::size_t column, std::size_t length) -> result<Policy> {
    d.issue = issue;
    d.column = column;
    d.length = length;
    d.token.append(text.substr(column < text.size() ? column : text.size(), length));
    return d.code();
  };

  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
    return fail(PolicyIssue::embedded_nul, nul, 1);

  // Extended: one trailing newline, as procfs files end, is not part of the policy.
  std::string_view body = text;
  const bool newline_stripped = dialect == Dialect::extended && !body.empty() && body.back() == '\n';
  if (newline_stripped) body.remove_suffix(1);

  const detail::PolicyParts parts = detail::split_policy_text(body);
  d.has_list = parts.has_nodes;
  std::uint8_t warnings = 0;
  std::size_t warning_column = body.size();
  const auto warn = [&](PolicyWarning w, std::size_t column) {
    warnings = static_cast<std::uint8_t>(warnings | static_cast<std::uint8_t>(w));
    if (column < warning_column) warning_column = column;
  };

  bool alias = false;
  const ModeTraits* found = detail::find_mode(parts.mode, dialect, &alias);
  if (found == nullptr) return fail(PolicyIssue::unknown_mode, 0, parts.mode.size());
  const ModeTraits& mode = *found;
  d.mode_known = true;
  d.mode = mode.mode;
  if (alias) {
    warn(PolicyWarning::mode_alias, 0);
    d.warning_token.append(parts.mode);
  }
  // Would the kernel have kept the stripped newline inside a part it compares exactly? The mode
  // and the flags are strcmp()ed, prefer's list is checked with isdigit(); elsewhere in a node
  // list a newline changes nothing.
  const bool mode_last = !parts.has_flags && !parts.has_nodes;

  if (mode.mode == Mode::default_policy) {
    // The kernel accepts default only without a ':' and never looks at its flags.
    if (parts.has_nodes) return fail(PolicyIssue::nodes_forbidden, parts.nodes_column - 1, parts.nodes.size() + 1);
    if (newline_stripped && mode_last) warn(PolicyWarning::trailing_newline, body.size());
    d.warnings = warnings;
    d.warning_column = warnings != 0 ? warning_column : 0;
    return Policy::make(Mode::default_policy);
  }

  ModeFlags flags;
  if (parts.has_flags) {
    const detail::FlagScan scan = detail::scan_flags(parts.flags, dialect);
    if (scan.issue != PolicyIssue::none)
      return fail(scan.issue, parts.flags_column + scan.column, scan.length);
    flags = scan.flags;
    if (scan.balancing) warn(PolicyWarning::balancing_flag, parts.flags_column);
    if (scan.list) warn(PolicyWarning::flag_list, parts.flags_column);
  }

  switch (mode.nodes) {
    case NodeRule::forbidden:
      if (parts.has_nodes) return fail(PolicyIssue::nodes_forbidden, parts.nodes_column - 1, parts.nodes.size() + 1);
      break;
    case NodeRule::required:
      if (!parts.has_nodes) return fail(PolicyIssue::nodes_required, parts.mode.size(), 0);
      break;
    case NodeRule::optional_local:
      // mpol_parse_str: "Insist on a nodelist of one node only" — digits and nothing else.
      if (parts.has_nodes) {
        if (parts.nodes.empty()) return fail(PolicyIssue::single_node_required, parts.nodes_column, 0);
        for (std::size_t i = 0; i < parts.nodes.size(); ++i)
          if (!detail::kernel_ctype::is_digit(static_cast<unsigned char>(parts.nodes[i])))
            return fail(PolicyIssue::single_node_required, parts.nodes_column, parts.nodes.size());
      }
      break;
    case NodeRule::optional_memory:
      break;
  }

  NodeMask nodes;
  if (parts.has_nodes) {
    const ListParse list = NodeMask::parse_detailed(parts.nodes);
    if (!list.ok()) {
      d.list = list.error;
      d.list.column += parts.nodes_column;
      return fail(PolicyIssue::node_list, d.list.column, d.list.length);
    }
    nodes = list.nodes;
    const NodeMask without_memory = nodes & ~nodes_with_memory;
    if (without_memory.any()) {
      d.node = without_memory.first();
      d.nodes_with_memory = nodes_with_memory;
      return fail(PolicyIssue::node_without_memory, parts.nodes_column, parts.nodes.size());
    }
  } else if (mode.nodes == NodeRule::optional_memory) {
    nodes = nodes_with_memory;  // "Default to online nodes with memory if no nodelist"
  }

  // Flags against the mode, prefer without a node, empty node sets: the rules every policy obeys,
  // from the one validator. Only where they point in the text is the parser's business.
  const detail::PolicyVerdict verdict = detail::check_policy(mode.mode, flags, nodes, detail::PolicySource::request);
  switch (verdict.error) {
    case errc::ok: break;
    case errc::flag_not_allowed:
      d.flags = verdict.flags_at_fault;
      return fail(PolicyIssue::flag_not_allowed, parts.flags_column, parts.flags.size());
    case errc::conflicting_flags: return fail(PolicyIssue::conflicting_flags, parts.flags_column, parts.flags.size());
    case errc::empty_nodes:
      if (!parts.has_nodes) {
        d.nodes_with_memory = nodes_with_memory;
        return fail(PolicyIssue::empty_nodes, parts.mode.size(), 0);
      }
      return fail(PolicyIssue::empty_nodes, parts.nodes_column, parts.nodes.size());
    case errc::nodes_forbidden:
      return fail(PolicyIssue::nodes_forbidden, parts.nodes_column - 1, parts.nodes.size() + 1);
    case errc::single_node_required:
      return fail(PolicyIssue::single_node_required, parts.nodes_column, parts.nodes.size());
    default:  // unknown mode or flag bits: the text's own checks above never let them through
      return fail(PolicyIssue::unknown_mode, 0, parts.mode.size());
  }
  const Policy policy = detail::build_policy(verdict, nodes);

  if (newline_stripped) {
    const bool relevant = mode_last || (parts.flags_last && parts.has_flags) ||
                          (parts.nodes_last && parts.has_nodes && mode.nodes == NodeRule::optional_local);
    if (relevant) warn(PolicyWarning::trailing_newline, body.size());
  }
  d.warnings = warnings;
  d.warning_column = warnings != 0 ? warning_column : 0;
  return policy;
}

constexpr void PolicyDiagnostic::write(detail::TextWriter& w) const noexcept {
  const auto quoted_token = [&] {
    w.put('\'');
    w.put_visible(token.view());
    if (length > token.size()) w.put("...");
    w.put('\'');
  };
  const auto mode_name = [&] { w.put(traits(mode).kernel_name); };
  switch (issue) {
    case PolicyIssue::none: {
      if (warnings == 0) return;
      w.put("accepted, but the kernel's mpol_parse_str would reject this text: ");
      bool more = false;
      const auto next = [&] {
        if (more) w.put("; ");
        more = true;
      };
      if (has_warning(PolicyWarning::mode_alias)) {
        next();
        w.put('\'');
        w.put_visible(warning_token.view());
        w.put("' is numactl's name, the kernel's is '");
        mode_name();
        w.put('\'');
      }
      if (has_warning(PolicyWarning::balancing_flag)) {
        next();
        w.put("the kernel prints the flag 'balancing' but does not parse it");
      }
      if (has_warning(PolicyWarning::flag_list)) {
        next();
        w.put("the kernel parses exactly one flag");
      }
      if (has_warning(PolicyWarning::trailing_newline)) {
        next();
        w.put("the kernel keeps the trailing newline in the text it compares");
      }
      w.put(" (print the policy to get the kernel's form)");
      return;
    }
    case PolicyIssue::embedded_nul:
      w.put("NUL byte at column ");
      w.put_uint(column);
      w.put(" (the kernel reads a C string and would stop there)");
      return;
    case PolicyIssue::unknown_mode: {
      bool is_alias = false;
      for (const ModeTraits& t : mode_table)
        if (t.alias != t.kernel_name && t.alias == token.view()) {
          w.put("unknown mode ");
          quoted_token();
          w.put(": that is numactl's name, the kernel's is '");
          w.put(t.kernel_name);
          w.put("' (the extended dialect accepts both)");
          is_alias = true;
        }
      if (is_alias) return;
      w.put("unknown mode ");
      quoted_token();
      w.put(" (expected one of: ");
      bool more = false;
      for (const ModeTraits& t : mode_table) {
        if (more) w.put(", ");
        more = true;
        w.put(t.kernel_name);
      }
      if (dialect == Dialect::extended) {
        w.put("; or numactl's ");
        bool more_aliases = false;
        for (const ModeTraits& t : mode_table)
          if (t.alias != t.kernel_name) {
            if (more_aliases) w.put(", ");
            more_aliases = true;
            w.put(t.alias);
          }
      }
      w.put(')');
      return;
    }
    case PolicyIssue::unknown_flag:
      if (dialect == Dialect::extended) {
        w.put("unknown mode flag ");
        quoted_token();
        w.put(" (expected static, relative or balancing, several joined with '|')");
      } else if (token.view() == "balancing") {
        w.put("mode flag 'balancing' is printed by the kernel but mpol_parse_str cannot parse it "
              "(expected 'static' or 'relative'; the extended dialect accepts it)");
      } else if (token.view().find('|') != std::string_view::npos) {
        w.put("mode flags ");
        quoted_token();
        w.put(": the kernel parses exactly one flag, 'static' or 'relative'");
      } else {
        w.put("unknown mode flag ");
        quoted_token();
        w.put(" (expected 'static' or 'relative')");
      }
      return;
    case PolicyIssue::duplicate_flag:
      w.put("mode flag ");
      quoted_token();
      w.put(" is given twice");
      return;
    case PolicyIssue::conflicting_flags:
      w.put("mode flags 'static' and 'relative' exclude each other");
      return;
    case PolicyIssue::flag_not_allowed:
      if (flags.has(ModeFlag::numa_balancing)) {
        w.put("the flag 'balancing' applies only to bind and prefer (many), not to ");
        mode_name();
      } else if (mode == Mode::preferred) {
        w.put("prefer without a node means local allocation, which takes no 'static' or 'relative' flag");
      } else {
        mode_name();
        w.put(" takes no 'static' or 'relative' flag");
      }
      return;
    case PolicyIssue::node_list:
      w.put("bad node list: ");
      list.write(w);
      return;
    case PolicyIssue::nodes_required:
      mode_name();
      w.put(" needs a node list, e.g. '");
      mode_name();
      w.put(":0'");
      return;
    case PolicyIssue::nodes_forbidden:
      mode_name();
      w.put(" takes no node list (not even an empty one after ':')");
      return;
    case PolicyIssue::single_node_required:
      w.put("prefer takes exactly one node written as a plain number (found ");
      if (length == 0)
        w.put("an empty list)");
      else {
        quoted_token();
        w.put(')');
      }
      return;
    case PolicyIssue::empty_nodes:
      if (!has_list) {
        mode_name();
        w.put(" without a node list uses every node with memory, and no node has memory");
      } else {
        w.put("the node list of ");
        mode_name();
        w.put(" selects no node");
      }
      return;
    case PolicyIssue::node_without_memory:
      w.put("node ");
      w.put_uint(node);
      w.put(" has no memory (");
      if (nodes_with_memory.empty()) {
        w.put("no node has memory)");
      } else {
        w.put("nodes with memory: ");
        nodes_with_memory.write_list(w);
        w.put(')');
      }
      return;
  }
  w.put("unknown policy error");
}

}  // namespace taskmpol
