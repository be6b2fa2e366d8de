// SPDX-License-Identifier: MIT
// Policy: uapi values, the one rule table, the validating factory, the raw (syscall) form and
// mpol_to_str() printing. The text grammar has its own file, policy_grammar.test.cpp.
#include <support/grammar_printers.hpp>
#include <taskmpol/policy.hpp>

#include <linux/mempolicy.h>

#include <doctest/doctest.h>

#include <array>
#include <string>

namespace tp = taskmpol;
using tp::Mode;
using tp::ModeFlag;
using tp::ModeFlags;
using tp::NodeMask;
using tp::Policy;

namespace {

// ---- constexpr facts: values equal the uapi ones ---------------------------------------------
static_assert(static_cast<int>(Mode::default_policy) == MPOL_DEFAULT);
static_assert(static_cast<int>(Mode::preferred) == MPOL_PREFERRED);
static_assert(static_cast<int>(Mode::bind) == MPOL_BIND);
static_assert(static_cast<int>(Mode::interleave) == MPOL_INTERLEAVE);
static_assert(static_cast<int>(Mode::local) == MPOL_LOCAL);
static_assert(static_cast<int>(Mode::preferred_many) == MPOL_PREFERRED_MANY);
// Debian 12's <linux/mempolicy.h> (Linux 6.1) predates MPOL_WEIGHTED_INTERLEAVE (6.9): it is 6.
static_assert(static_cast<int>(Mode::weighted_interleave) == MPOL_PREFERRED_MANY + 1);
static_assert(static_cast<int>(ModeFlag::static_nodes) == MPOL_F_STATIC_NODES);
static_assert(static_cast<int>(ModeFlag::relative_nodes) == MPOL_F_RELATIVE_NODES);
static_assert(static_cast<int>(ModeFlag::numa_balancing) == MPOL_F_NUMA_BALANCING);
static_assert(ModeFlags::legal_bits == MPOL_MODE_FLAGS);

// The rule table is indexed by the uapi value and holds the kernel's policy_modes[] names.
static_assert(tp::mode_table.size() == tp::mode_count);
static_assert(tp::traits(Mode::preferred_many).kernel_name == "prefer (many)");
static_assert(tp::traits(Mode::weighted_interleave).kernel_name == "weighted interleave");
static_assert(tp::traits(Mode::preferred).kernel_name == "prefer");
static_assert(tp::traits(Mode::preferred).alias == "preferred");
static_assert(tp::traits(Mode::bind).allows_balancing && tp::traits(Mode::preferred_many).allows_balancing);
static_assert(!tp::traits(Mode::interleave).allows_balancing && !tp::traits(Mode::preferred).allows_balancing);
constexpr bool table_is_indexed_by_mode() {
  for (std::size_t i = 0; i < tp::mode_table.size(); ++i)
    if (static_cast<std::size_t>(tp::mode_table[i].mode) != i) return false;
  return true;
}
static_assert(table_is_indexed_by_mode());

// Flags arithmetic.
static_assert((ModeFlag::static_nodes | ModeFlag::numa_balancing).bits() == (MPOL_F_STATIC_NODES | MPOL_F_NUMA_BALANCING));
static_assert(ModeFlags::from_bits(0xffff, nullptr).bits() == MPOL_MODE_FLAGS);
static_assert(ModeFlags{}.empty());

// The longest printed policy: "weighted interleave" + "=relative|balancing" + ':' + the longest list.
static_assert(tp::max_policy_chars == 19 + 19 + 1 + NodeMask::max_list_chars);
static_assert(tp::to_fixed_string(Policy{}) == "default");
static_assert(std::is_trivially_copyable_v<Policy>);

Policy make_ok(Mode mode, ModeFlags flags = {}, const NodeMask& nodes = {}) {
  const tp::result<Policy> r = Policy::make(mode, flags, nodes);
  INFO(std::string(tp::traits(mode).kernel_name) << " flags " << flags.bits() << " nodes " << nodes.to_string());
  REQUIRE(r.has_value());
  return r.value();
}

std::error_code make_error(Mode mode, ModeFlags flags = {}, const NodeMask& nodes = {}) {
  const tp::result<Policy> r = Policy::make(mode, flags, nodes);
  INFO(std::string(tp::traits(mode).kernel_name) << " flags " << flags.bits() << " nodes " << nodes.to_string());
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

}  // namespace

TEST_SUITE("Policy") {
  TEST_CASE("Policy: ModeFlags keeps only legal bits and reports the rest") {
    bool ok = true;
    CHECK(ModeFlags::from_bits(MPOL_F_STATIC_NODES, &ok).has(ModeFlag::static_nodes));
    CHECK(ok);
    const ModeFlags f = ModeFlags::from_bits(static_cast<std::uint16_t>(MPOL_F_RELATIVE_NODES | 1), &ok);
    CHECK_FALSE(ok);
    CHECK(f == ModeFlags(ModeFlag::relative_nodes));
    ModeFlags g;
    g |= ModeFlag::numa_balancing;
    CHECK(g.has(ModeFlag::numa_balancing));
    CHECK((g & ModeFlag::static_nodes).empty());
  }

  TEST_CASE("Policy: the default-constructed policy is default") {
    const Policy p;
    CHECK(p.mode() == Mode::default_policy);
    CHECK(p.flags().empty());
    CHECK(p.nodes().empty());
    CHECK(p.to_raw().mode_and_flags == MPOL_DEFAULT);
  }

  TEST_CASE("Policy: default takes no nodes and drops flags as the kernel does") {
    CHECK(make_ok(Mode::default_policy) == Policy{});
    CHECK(make_ok(Mode::default_policy, ModeFlag::static_nodes) == Policy{});
    CHECK(make_error(Mode::default_policy, {}, NodeMask::of<0>()) == tp::errc::nodes_forbidden);
  }

  TEST_CASE("Policy: local takes no nodes and no static or relative flag") {
    const Policy p = make_ok(Mode::local);
    CHECK(p.mode() == Mode::local);
    CHECK(make_error(Mode::local, {}, NodeMask::of<0>()) == tp::errc::nodes_forbidden);
    CHECK(make_error(Mode::local, ModeFlag::static_nodes) == tp::errc::flag_not_allowed);
    CHECK(make_error(Mode::local, ModeFlag::relative_nodes) == tp::errc::flag_not_allowed);
    CHECK(make_error(Mode::local, ModeFlag::numa_balancing) == tp::errc::flag_not_allowed);
  }

  TEST_CASE("Policy: prefer takes one node and without nodes means local") {
    const Policy one = make_ok(Mode::preferred, {}, NodeMask::of<3>());
    CHECK(one.mode() == Mode::preferred);
    CHECK(one.nodes() == NodeMask::of<3>());
    CHECK(make_ok(Mode::preferred, ModeFlag::relative_nodes, NodeMask::of<3>()).flags() == ModeFlags(ModeFlag::relative_nodes));
    const Policy none = make_ok(Mode::preferred);
    CHECK(none.mode() == Mode::local);
    CHECK(none.nodes().empty());
    // mpol_new: an empty prefer with static/relative is EINVAL: without a node prefer is local,
    // which takes neither flag.
    CHECK(make_error(Mode::preferred, ModeFlag::static_nodes) == tp::errc::flag_not_allowed);
    CHECK(make_error(Mode::preferred, ModeFlag::relative_nodes) == tp::errc::flag_not_allowed);
    CHECK(make_error(Mode::preferred, {}, NodeMask::of<1, 2>()) == tp::errc::single_node_required);
    CHECK(make_error(Mode::preferred, ModeFlag::numa_balancing, NodeMask::of<1>()) == tp::errc::flag_not_allowed);
  }

  TEST_CASE("Policy: bind interleave and prefer many need at least one node") {
    for (const Mode m : {Mode::bind, Mode::interleave, Mode::preferred_many, Mode::weighted_interleave}) {
      CAPTURE(m);
      CHECK(make_error(m) == tp::errc::empty_nodes);
      const Policy p = make_ok(m, ModeFlag::static_nodes, NodeMask::of<0, 1023>());
      CHECK(p.mode() == m);
      CHECK(p.nodes() == NodeMask::of<0, 1023>());
    }
  }

  TEST_CASE("Policy: static and relative exclude each other") {
    CHECK(make_error(Mode::bind, ModeFlag::static_nodes | ModeFlag::relative_nodes, NodeMask::of<0>()) == tp::errc::conflicting_flags);
    CHECK(std::error_code(tp::errc::conflicting_flags) == std::errc::invalid_argument);
  }

  TEST_CASE("Policy: balancing only with bind and prefer many") {
    CHECK(make_ok(Mode::bind, ModeFlag::numa_balancing, NodeMask::of<0>()).flags().has(ModeFlag::numa_balancing));
    CHECK(make_ok(Mode::preferred_many, ModeFlag::numa_balancing | ModeFlag::static_nodes, NodeMask::of<0>()).flags().bits() ==
          (MPOL_F_NUMA_BALANCING | MPOL_F_STATIC_NODES));
    for (const Mode m : {Mode::interleave, Mode::weighted_interleave, Mode::preferred, Mode::local}) {
      CAPTURE(m);
      CHECK(make_error(m, ModeFlag::numa_balancing, m == Mode::local ? NodeMask{} : NodeMask::of<0>()) ==
            tp::errc::flag_not_allowed);
    }
  }

  TEST_CASE("Policy: a known flag the mode does not take is not an unknown flag") {
    // issue 10, defect 5: local + static said "unknown mode flag", which it is not.
    const std::error_code e = make_error(Mode::local, ModeFlag::static_nodes);
    CHECK(e == tp::errc::flag_not_allowed);
    CHECK(e != tp::errc::unknown_flag);
    CHECK(e == std::errc::invalid_argument);
    CHECK(e.message().find("does not take") != std::string::npos);
    CHECK(std::error_code(tp::errc::unknown_flag).message().find("unknown") != std::string::npos);
  }

  TEST_CASE("Policy: modes and flags outside the uapi values are errors without undefined behaviour") {
    // issue 10, defect 2: traits() indexed its table with any value; Policy::make called it first.
    for (const unsigned raw : {7U, 8U, 100U, 0xffffU}) {
      CAPTURE(raw);
      const auto m = static_cast<Mode>(raw);
      CHECK_FALSE(tp::is_known(m));
      CHECK(tp::traits(m).kernel_name == "unknown");
      CHECK(make_error(m) == tp::errc::unknown_mode);
      CHECK(make_error(m, {}, NodeMask::of<0>()) == tp::errc::unknown_mode);
      CHECK(make_error(m, ModeFlag::static_nodes, NodeMask::of<0>()) == tp::errc::unknown_mode);
    }
    for (const unsigned raw : {1U, 1U << 12, (1U << 12) | (1U << 15)}) {
      CAPTURE(raw);
      const ModeFlags bogus = ModeFlags(static_cast<ModeFlag>(raw));
      CHECK_FALSE(bogus.known());
      CHECK(make_error(Mode::bind, bogus, NodeMask::of<0>()) == tp::errc::unknown_flag);
      CHECK(make_error(Mode::bind, bogus | ModeFlag::static_nodes, NodeMask::of<0>()) == tp::errc::unknown_flag);
      CHECK(make_error(Mode::local, bogus) == tp::errc::unknown_flag);
    }
    for (const Mode m : {Mode::default_policy, Mode::preferred, Mode::bind, Mode::interleave, Mode::local,
                         Mode::preferred_many, Mode::weighted_interleave})
      CHECK(tp::is_known(m));
  }

  TEST_CASE("Policy: from_raw masks the flags off the mode") {
    // 8194 is what numactl --show prints for bind|balancing (it forgets to mask).
    const tp::result<Policy> p = Policy::from_raw(8194, NodeMask::of<0>());
    REQUIRE(p.has_value());
    CHECK(p.value().mode() == Mode::bind);
    CHECK(p.value().flags() == ModeFlags(ModeFlag::numa_balancing));
    const tp::result<Policy> s = Policy::from_raw(32770, NodeMask::of<0, 1>());  // bind|static
    REQUIRE(s.has_value());
    CHECK(s.value().mode() == Mode::bind);
    CHECK(s.value().flags().has(ModeFlag::static_nodes));
    const tp::result<Policy> r = Policy::from_raw(16387, NodeMask::of<2>());  // interleave|relative
    REQUIRE(r.has_value());
    CHECK(r.value().mode() == Mode::interleave);
    CHECK(r.value().flags().has(ModeFlag::relative_nodes));
    CHECK(Policy::from_raw(MPOL_LOCAL, {}).value().mode() == Mode::local);
  }

  TEST_CASE("Policy: from_raw refuses unknown modes and flag bits") {
    CHECK(Policy::from_raw(7, NodeMask::of<0>()).error() == tp::errc::unknown_mode);
    CHECK(Policy::from_raw(-1, NodeMask::of<0>()).error() == tp::errc::unknown_mode);
    CHECK(Policy::from_raw(MPOL_BIND | (1 << 12), NodeMask::of<0>()).error() == tp::errc::unknown_mode);
    CHECK(Policy::from_raw(MPOL_BIND | (1 << 16), NodeMask::of<0>()).error() == tp::errc::unknown_mode);
    CHECK(Policy::from_raw(MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES, NodeMask::of<0>()).error() ==
          tp::errc::conflicting_flags);
  }

  TEST_CASE("Policy: from_raw accepts every state the kernel can hold") {
    // issue 10, defect 6. The kernel reports only the first nr_node_ids bits of the nodes a static
    // or relative policy was given: relative node 5 on a four-node machine reads back as nothing.
    const auto bind_relative = Policy::from_raw(MPOL_BIND | MPOL_F_RELATIVE_NODES, NodeMask{});
    REQUIRE(bind_relative);
    CHECK(bind_relative.value().mode() == Mode::bind);
    CHECK(bind_relative.value().flags() == ModeFlags(ModeFlag::relative_nodes));
    CHECK(bind_relative.value().nodes().empty());
    for (const int mode : {int{MPOL_INTERLEAVE}, int{MPOL_PREFERRED_MANY}, MPOL_PREFERRED_MANY + 1 /* weighted */}) {
      CAPTURE(mode);
      CHECK(Policy::from_raw(mode | MPOL_F_STATIC_NODES, NodeMask{}).has_value());
      CHECK(Policy::from_raw(mode | MPOL_F_RELATIVE_NODES, NodeMask{}).has_value());
    }
    // prefer=static with its node past the node count: still prefer, not local.
    const auto prefer_static = Policy::from_raw(MPOL_PREFERRED | MPOL_F_STATIC_NODES, NodeMask{});
    REQUIRE(prefer_static);
    CHECK(prefer_static.value().mode() == Mode::preferred);
    CHECK(prefer_static.value().flags() == ModeFlags(ModeFlag::static_nodes));
    // A request may not say the same (the kernel refuses it).
    CHECK(make_error(Mode::bind, ModeFlag::relative_nodes) == tp::errc::empty_nodes);
    CHECK(make_error(Mode::preferred, ModeFlag::static_nodes) == tp::errc::flag_not_allowed);
    // Reported as it is: the default policy has no nodes whatever the buffer held.
    CHECK(Policy::from_raw(MPOL_DEFAULT, NodeMask::of<0>()).value() == Policy{});
    CHECK(Policy::from_raw(MPOL_LOCAL, NodeMask::of<0>()).value().nodes().empty());
  }

  TEST_CASE("Policy: to_raw and from_raw round trip") {
    const Policy p = make_ok(Mode::preferred_many, ModeFlag::relative_nodes | ModeFlag::numa_balancing, NodeMask::of<1, 64>());
    const tp::RawPolicy raw = p.to_raw();
    CHECK(raw.mode_and_flags == (MPOL_PREFERRED_MANY | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING));
    CHECK(raw.nodes == NodeMask::of<1, 64>());
    CHECK(Policy::from_raw(raw.mode_and_flags, raw.nodes).value() == p);
  }
}

TEST_SUITE("Policy printing") {
  TEST_CASE("Policy printing: golden strings in mpol_to_str form") {
    struct Case {
      Mode mode;
      ModeFlags flags;
      NodeMask nodes;
      const char* text;
    };
    const Case cases[] = {
        {Mode::default_policy, {}, {}, "default"},
        {Mode::local, {}, {}, "local"},
        {Mode::preferred, {}, NodeMask::of<3>(), "prefer:3"},
        {Mode::preferred, ModeFlag::static_nodes, NodeMask::of<1023>(), "prefer=static:1023"},
        {Mode::bind, {}, NodeMask::of<0, 1, 2, 5>(), "bind:0-2,5"},
        {Mode::interleave, {}, NodeMask::of<0, 1, 2, 3>(), "interleave:0-3"},
        {Mode::weighted_interleave, {}, NodeMask::of<0>(), "weighted interleave:0"},
        {Mode::weighted_interleave, ModeFlag::relative_nodes, NodeMask::of<0, 2>(), "weighted interleave=relative:0,2"},
        {Mode::preferred_many, ModeFlag::relative_nodes, NodeMask::of<0>(), "prefer (many)=relative:0"},
        {Mode::preferred_many, ModeFlag::static_nodes, NodeMask::of<63, 64>(), "prefer (many)=static:63-64"},
        {Mode::bind, ModeFlag::numa_balancing, NodeMask::of<0>(), "bind=balancing:0"},
        {Mode::bind, ModeFlag::static_nodes | ModeFlag::numa_balancing, NodeMask::of<0, 1>(), "bind=static|balancing:0-1"},
        {Mode::bind, ModeFlag::relative_nodes | ModeFlag::numa_balancing, NodeMask::of<4>(), "bind=relative|balancing:4"},
        {Mode::preferred_many, ModeFlag::numa_balancing, NodeMask::of<0, 2>(), "prefer (many)=balancing:0,2"},
        {Mode::bind, {}, ~NodeMask{}, "bind:0-1023"},
    };
    for (const Case& c : cases) {
      const Policy p = make_ok(c.mode, c.flags, c.nodes);
      CHECK(tp::to_string(p) == c.text);
      CHECK(tp::to_fixed_string(p) == c.text);
    }
  }

  TEST_CASE("Policy printing: to_chars fits exactly or reports value_too_large without overrunning") {
    const Policy p = make_ok(Mode::preferred_many, ModeFlag::relative_nodes, NodeMask::of<0>());
    const std::string text = "prefer (many)=relative:0";
    std::array<char, 40> buf{};
    buf.fill('#');
    const std::to_chars_result ok = tp::to_chars(buf.data(), buf.data() + text.size(), p);
    CHECK(ok.ec == std::errc{});
    CHECK(std::string_view(buf.data(), text.size()) == text);
    CHECK(buf[text.size()] == '#');
    for (std::size_t size = 0; size < text.size(); ++size) {
      buf.fill('#');
      const std::to_chars_result cut = tp::to_chars(buf.data(), buf.data() + size, p);
      CHECK(cut.ec == std::errc::value_too_large);
      CHECK(cut.ptr == buf.data() + size);
      CHECK(buf[size] == '#');
      CHECK(std::string_view(buf.data(), size) == std::string_view(text).substr(0, size));
    }
  }

  TEST_CASE("Policy printing: the longest policy text fits max_policy_chars") {
    NodeMask worst;
    for (std::size_t n = 0; n + 1 < NodeMask::capacity; n += 3) REQUIRE(worst.set_range(n, 2));  // runs of two
    const Policy p = make_ok(Mode::bind, ModeFlag::relative_nodes | ModeFlag::numa_balancing, worst);
    const std::string text = tp::to_string(p);
    CHECK(text.size() <= tp::max_policy_chars);
    CHECK(tp::to_fixed_string(p).view() == text);
  }
}
