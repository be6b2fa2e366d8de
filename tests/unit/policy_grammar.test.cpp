// SPDX-License-Identifier: MIT
// parse_policy(): Linux 6.12's mpol_parse_str() grammar (Dialect::kernel), taskmpol's extended
// dialect, the diagnostics, and the properties tying parsing, printing and Policy::make together.
// The same expectations are checked against the running kernel in
// tests/system/grammar/kernel_differential.test.cpp.
#include <support/grammar_printers.hpp>
#include <support/policy_corpus.hpp>
#include <taskmpol/policy.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tp = taskmpol;
using tp::Dialect;
using tp::Mode;
using tp::ModeFlag;
using tp::NodeMask;
using tp::Policy;
using tp::PolicyIssue;
using tp::PolicyWarning;

namespace {

const NodeMask memory_0_2 = NodeMask::of<0, 1, 2>();

Policy accept(std::string_view text, Dialect dialect = Dialect::kernel, const NodeMask& memory = memory_0_2) {
  tp::PolicyDiagnostic d;
  const tp::result<Policy> r = tp::parse_policy(text, memory, dialect, &d);
  INFO("text '" << std::string(text) << "': " << d.message());
  REQUIRE(r.has_value());
  CHECK_FALSE(d.failed());
  return r.value();
}

std::string accepted_as(std::string_view text, Dialect dialect = Dialect::kernel, const NodeMask& memory = memory_0_2) {
  return tp::to_string(accept(text, dialect, memory));
}

tp::PolicyDiagnostic reject(std::string_view text, Dialect dialect = Dialect::kernel, const NodeMask& memory = memory_0_2) {
  tp::PolicyDiagnostic d;
  const tp::result<Policy> r = tp::parse_policy(text, memory, dialect, &d);
  INFO("text '" << std::string(text) << "'");
  if (r.has_value()) FAIL("accepted as '" << tp::to_string(r.value()) << "'");
  CHECK(d.failed());
  CHECK(r.error() == d.code());
  return d;
}

// Both dialects reject the text with the same issue.
tp::PolicyDiagnostic reject_both(std::string_view text, const NodeMask& memory = memory_0_2) {
  const tp::PolicyDiagnostic k = reject(text, Dialect::kernel, memory);
  const tp::PolicyDiagnostic e = reject(text, Dialect::extended, memory);
  CHECK(k.issue == e.issue);
  CHECK(k.column == e.column);
  return k;
}

}  // namespace

TEST_SUITE("Policy grammar") {
  TEST_CASE("Policy grammar: every kernel mode name parses and prints back") {
    CHECK(accepted_as("default") == "default");
    CHECK(accepted_as("prefer:1") == "prefer:1");
    CHECK(accepted_as("bind:0-2") == "bind:0-2");
    CHECK(accepted_as("interleave:0,2") == "interleave:0,2");
    CHECK(accepted_as("local") == "local");
    CHECK(accepted_as("prefer (many):1-2") == "prefer (many):1-2");
    CHECK(accepted_as("weighted interleave:0") == "weighted interleave:0");
    const Policy p = accept("prefer (many)=relative:0");
    CHECK(p.mode() == Mode::preferred_many);
    CHECK(p.flags() == tp::ModeFlags(ModeFlag::relative_nodes));
    CHECK(p.nodes() == NodeMask::of<0>());
  }

  TEST_CASE("Policy grammar: mode names are exact and case-sensitive") {
    for (const char* text : {"Bind:0", "BIND:0", "bind :0", " bind:0", "bind\t:0", "prefer(many):0", "prefer  (many):0",
                             "prefer (Many):0", "weighted_interleave", "weightedinterleave", "interleav", "defaults", ""}) {
      CAPTURE(text);
      const tp::PolicyDiagnostic d = reject_both(text);
      CHECK(d.issue == PolicyIssue::unknown_mode);
      CHECK(d.column == 0);
      CHECK(d.code() == tp::errc::unknown_mode);
      CHECK_FALSE(d.mode_known);
    }
  }

  TEST_CASE("Policy grammar: numactl names are accepted only by the extended dialect and warned about") {
    struct Case {
      const char* text;
      const char* printed;
    };
    for (const Case c : {Case{"preferred:1", "prefer:1"}, Case{"preferred", "local"}, Case{"preferred-many:0", "prefer (many):0"},
                         Case{"weighted-interleave", "weighted interleave:0-2"},
                         Case{"weighted-interleave=static:1", "weighted interleave=static:1"}}) {
      CAPTURE(c.text);
      const tp::PolicyDiagnostic k = reject(c.text, Dialect::kernel);
      CHECK(k.issue == PolicyIssue::unknown_mode);
      tp::PolicyDiagnostic e;
      const tp::result<Policy> r = tp::parse_policy(c.text, memory_0_2, Dialect::extended, &e);
      REQUIRE(r.has_value());
      CHECK(tp::to_string(r.value()) == c.printed);
      CHECK(e.has_warning(PolicyWarning::mode_alias));
      CHECK(e.warning_column == 0);
    }
  }

  TEST_CASE("Policy grammar: the first colon and the first equals sign split the text wherever they are") {
    // mpol_parse_str() uses strchr(): the node list may come before the flags.
    CHECK(accepted_as("bind:0=static") == "bind=static:0");
    CHECK(accepted_as("prefer:1=relative") == "prefer=relative:1");
    CHECK(accepted_as("interleave:0-1=static") == "interleave=static:0-1");
    // ... and a second separator belongs to the other part.
    const tp::PolicyDiagnostic list = reject_both("bind=static:0=1");
    CHECK(list.issue == PolicyIssue::node_list);
    CHECK(list.list.issue == tp::ListIssue::unexpected_character);
    CHECK(list.column == 13);
    const tp::PolicyDiagnostic flag = reject("bind:0=static:1");
    CHECK(flag.issue == PolicyIssue::unknown_flag);
    CHECK(flag.column == 7);
    CHECK(flag.length == 8);
    CHECK(reject("bind==static:0").issue == PolicyIssue::unknown_flag);
    CHECK(reject_both("=static:0").issue == PolicyIssue::unknown_mode);
    CHECK(reject_both(":0").issue == PolicyIssue::unknown_mode);
    CHECK(reject_both("bind::0").column == 5);
    CHECK(reject("interleave:0=").issue == PolicyIssue::unknown_flag);  // an empty flag text
  }

  TEST_CASE("Policy grammar: prefer without a list is local") {
    const Policy p = accept("prefer");
    CHECK(p.mode() == Mode::local);
    CHECK(tp::to_string(p) == "local");
    CHECK(p == accept("local"));
  }

  TEST_CASE("Policy grammar: prefer takes one node written as plain digits") {
    CHECK(accepted_as("prefer:1") == "prefer:1");
    CHECK(accepted_as("prefer:01") == "prefer:1");
    CHECK(accepted_as("prefer:0000000000000000000002") == "prefer:2");
    CHECK(accepted_as("prefer=static:2") == "prefer=static:2");
    for (const char* text : {"prefer:1-1", "prefer: 1", "prefer:1 ", "prefer:1,", "prefer:,1", "prefer:0,1", "prefer:N",
                             "prefer:all", "prefer:0-1:1/2", "prefer:+1", "prefer:0x1"}) {
      CAPTURE(text);
      const tp::PolicyDiagnostic d = reject_both(text);
      CHECK(d.issue == PolicyIssue::single_node_required);
      CHECK(d.column == 7);
      CHECK(d.code() == tp::errc::single_node_required);
    }
    const tp::PolicyDiagnostic empty = reject_both("prefer:");
    CHECK(empty.issue == PolicyIssue::single_node_required);
    CHECK(empty.length == 0);
    // The kernel keeps the newline of "prefer:1\n" and isdigit() refuses it.
    CHECK(reject("prefer:1\n").issue == PolicyIssue::single_node_required);
    // Digits that do not fit, or name a node without memory, fail in the list and memory checks.
    const tp::PolicyDiagnostic big = reject_both("prefer:99999999999");
    CHECK(big.issue == PolicyIssue::node_list);
    CHECK(big.list.issue == tp::ListIssue::number_overflow);
    CHECK(reject_both("prefer:7").issue == PolicyIssue::node_without_memory);
    CHECK(reject_both("prefer:1024").code() == tp::errc::node_out_of_range);
  }

  TEST_CASE("Policy grammar: prefer with static or relative needs its node") {
    for (const char* text : {"prefer=static", "prefer=relative"}) {
      CAPTURE(text);
      const tp::PolicyDiagnostic d = reject_both(text);
      CHECK(d.issue == PolicyIssue::flag_not_allowed);
      CHECK(d.column == 7);
      CHECK(d.code() == tp::errc::flag_not_allowed);
    }
    CHECK(accepted_as("prefer=relative:1") == "prefer=relative:1");
  }

  TEST_CASE("Policy grammar: interleave and weighted interleave without a list take every node with memory") {
    const NodeMask memory = NodeMask::of<0, 2, 5>();
    CHECK(accepted_as("interleave", Dialect::kernel, memory) == "interleave:0,2,5");
    CHECK(accepted_as("weighted interleave", Dialect::kernel, memory) == "weighted interleave:0,2,5");
    CHECK(accepted_as("interleave=static", Dialect::kernel, memory) == "interleave=static:0,2,5");
    CHECK(accepted_as("weighted interleave=relative", Dialect::kernel, memory) == "weighted interleave=relative:0,2,5");
    // Printed, the default becomes an explicit list, which parses back to the same policy.
    CHECK(accept("interleave:0,2,5", Dialect::kernel, memory) == accept("interleave", Dialect::kernel, memory));
    // With no node with memory there is nothing to interleave over.
    const tp::PolicyDiagnostic d = reject_both("interleave", NodeMask{});
    CHECK(d.issue == PolicyIssue::empty_nodes);
    CHECK(d.column == 10);
    CHECK_FALSE(d.has_list);
  }

  TEST_CASE("Policy grammar: an empty list is not the same as no list") {
    for (const char* text : {"interleave:", "interleave: ,", "weighted interleave:\n", "bind:", "bind:,", "prefer (many): ",
                             "bind:0-3:0/4"}) {
      CAPTURE(text);
      const tp::PolicyDiagnostic d = reject_both(text);
      CHECK(d.issue == PolicyIssue::empty_nodes);
      CHECK(d.has_list);
      CHECK(d.code() == tp::errc::empty_nodes);
    }
  }

  TEST_CASE("Policy grammar: default accepts any flags and no list at all") {
    for (const char* text : {"default", "default=", "default=anything at all", "default=static", "default=static|relative",
                             "default=balancing", "default==", "default=\n"}) {
      CAPTURE(text);
      CHECK(accept(text, Dialect::kernel) == Policy{});
      tp::PolicyDiagnostic e;
      CHECK(tp::parse_policy(text, memory_0_2, Dialect::extended, &e).value() == Policy{});
      CHECK_FALSE(e.has_warnings());
    }
    for (const char* text : {"default:", "default:0", "default=x:0", "default:0=static"}) {
      CAPTURE(text);
      const tp::PolicyDiagnostic d = reject_both(text);
      CHECK(d.issue == PolicyIssue::nodes_forbidden);
      CHECK(d.code() == tp::errc::nodes_forbidden);
    }
  }

  TEST_CASE("Policy grammar: local takes no list and no static or relative flag") {
    const tp::PolicyDiagnostic colon = reject_both("local:");
    CHECK(colon.issue == PolicyIssue::nodes_forbidden);
    CHECK(colon.column == 5);
    CHECK(colon.length == 1);
    CHECK(reject_both("local:0").length == 2);
    CHECK(reject_both("local=static").issue == PolicyIssue::flag_not_allowed);
    CHECK(reject_both("local=relative").issue == PolicyIssue::flag_not_allowed);
    CHECK(reject("local=balancing", Dialect::kernel).issue == PolicyIssue::unknown_flag);
    CHECK(reject("local=balancing", Dialect::extended).issue == PolicyIssue::flag_not_allowed);
  }

  TEST_CASE("Policy grammar: bind and prefer many need a list") {
    const tp::PolicyDiagnostic bind = reject_both("bind");
    CHECK(bind.issue == PolicyIssue::nodes_required);
    CHECK(bind.column == 4);
    CHECK(bind.length == 0);
    CHECK(bind.code() == tp::errc::nodes_required);
    const tp::PolicyDiagnostic many = reject_both("prefer (many)=static");
    CHECK(many.issue == PolicyIssue::nodes_required);
    CHECK(many.column == 13);
  }

  TEST_CASE("Policy grammar: nodes must have memory") {
    const tp::PolicyDiagnostic d = reject_both("bind:0-3");
    CHECK(d.issue == PolicyIssue::node_without_memory);
    CHECK(d.node == 3);
    CHECK(d.column == 5);
    CHECK(d.length == 3);
    CHECK(d.nodes_with_memory == memory_0_2);
    CHECK(d.code() == tp::errc::node_without_memory);
    CHECK(reject_both("bind:all").node == 3);
    CHECK(reject_both("interleave:N").node == 1023);
    CHECK(reject_both("local:7").issue == PolicyIssue::nodes_forbidden);  // the mode rule is reported first
    // Memory is whatever the caller says: node 1023 alone is fine when it has memory.
    CHECK(accepted_as("bind:N", Dialect::kernel, NodeMask::of<1023>()) == "bind:1023");
    CHECK(accepted_as("bind:all", Dialect::kernel, ~NodeMask{}) == "bind:0-1023");
  }

  TEST_CASE("Policy grammar: the kernel dialect parses only static and relative") {
    CHECK(accepted_as("bind=static:0") == "bind=static:0");
    CHECK(accepted_as("bind=relative:0") == "bind=relative:0");
    for (const char* text : {"bind=balancing:0", "bind=static|relative:0", "bind=static|balancing:0", "bind=Static:0",
                             "bind=static :0", "bind=:0", "bind=garbage:0", "bind=static,relative:0"}) {
      CAPTURE(text);
      const tp::PolicyDiagnostic d = reject(text, Dialect::kernel);
      CHECK(d.issue == PolicyIssue::unknown_flag);
      CHECK(d.column == 5);
      CHECK(d.code() == tp::errc::unknown_flag);
    }
  }

  TEST_CASE("Policy grammar: balancing is printed by the kernel but read back only by the extended dialect") {
    const Policy p = Policy::make(Mode::bind, ModeFlag::numa_balancing, NodeMask::of<0>()).value();
    const std::string text = tp::to_string(p);
    CHECK(text == "bind=balancing:0");
    CHECK(reject(text, Dialect::kernel).issue == PolicyIssue::unknown_flag);
    tp::PolicyDiagnostic d;
    CHECK(tp::parse_policy(text, memory_0_2, Dialect::extended, &d).value() == p);
    CHECK(d.has_warning(PolicyWarning::balancing_flag));
    CHECK(d.warning_column == 5);
  }

  TEST_CASE("Policy grammar: the extended dialect reads flag lists in any order") {
    CHECK(accepted_as("bind=static|balancing:0-1", Dialect::extended) == "bind=static|balancing:0-1");
    CHECK(accepted_as("bind=balancing|static:0-1", Dialect::extended) == "bind=static|balancing:0-1");
    CHECK(accepted_as("prefer (many)=balancing|relative:0", Dialect::extended) == "prefer (many)=relative|balancing:0");
    CHECK(accepted_as("bind=static:0", Dialect::extended) == "bind=static:0");
    tp::PolicyDiagnostic d;
    REQUIRE(tp::parse_policy("bind=static|balancing:0", memory_0_2, Dialect::extended, &d).has_value());
    CHECK(d.has_warning(PolicyWarning::flag_list));
    CHECK(d.has_warning(PolicyWarning::balancing_flag));
    const tp::PolicyDiagnostic twice = reject("bind=static|static:0", Dialect::extended);
    CHECK(twice.issue == PolicyIssue::duplicate_flag);
    CHECK(twice.column == 12);
    CHECK(twice.code() == tp::errc::invalid_syntax);
    const tp::PolicyDiagnostic both = reject("bind=static|relative:0", Dialect::extended);
    CHECK(both.issue == PolicyIssue::conflicting_flags);
    CHECK(both.code() == tp::errc::conflicting_flags);
    const tp::PolicyDiagnostic empty_item = reject("bind=static|:0", Dialect::extended);
    CHECK(empty_item.issue == PolicyIssue::unknown_flag);
    CHECK(empty_item.column == 12);
    CHECK(empty_item.length == 0);
    CHECK(reject("interleave=balancing", Dialect::extended).issue == PolicyIssue::flag_not_allowed);
    CHECK(reject("weighted interleave=static|balancing:0", Dialect::extended).issue == PolicyIssue::flag_not_allowed);
  }

  TEST_CASE("Policy grammar: a trailing newline") {
    // Kernel: the node list stops at '\n'; the mode and flags are compared with strcmp().
    CHECK(accepted_as("bind:0\n") == "bind:0");
    CHECK(accepted_as("bind:0\nignored") == "bind:0");
    CHECK(reject("interleave\n").issue == PolicyIssue::unknown_mode);
    CHECK(reject("bind:0=static\n").issue == PolicyIssue::unknown_flag);
    CHECK(reject("default\n").issue == PolicyIssue::unknown_mode);
    CHECK(accept("default=x\n") == Policy{});  // default never looks at its flags
    // Extended: one trailing newline is dropped, with a warning only where the kernel would fail.
    struct Case {
      const char* text;
      const char* printed;
      bool warned;
    };
    for (const Case c : {Case{"interleave\n", "interleave:0-2", true}, Case{"bind:0=static\n", "bind=static:0", true},
                         Case{"prefer:1\n", "prefer:1", true}, Case{"default\n", "default", true},
                         Case{"bind:0\n", "bind:0", false}, Case{"default=x\n", "default", false},
                         Case{"bind:0\n\n", "bind:0", false}, Case{"interleave:1\n", "interleave:1", false}}) {
      CAPTURE(c.text);
      tp::PolicyDiagnostic d;
      const tp::result<Policy> r = tp::parse_policy(c.text, memory_0_2, Dialect::extended, &d);
      REQUIRE(r.has_value());
      CHECK(tp::to_string(r.value()) == c.printed);
      CHECK(d.has_warning(PolicyWarning::trailing_newline) == c.warned);
    }
    CHECK(reject("interleave\n\n", Dialect::extended).issue == PolicyIssue::unknown_mode);
  }

  TEST_CASE("Policy grammar: a NUL byte is refused") {
    const tp::PolicyDiagnostic d = reject_both(std::string_view("bind:0\0" "1", 8));
    CHECK(d.issue == PolicyIssue::embedded_nul);
    CHECK(d.column == 6);
    CHECK(d.code() == tp::errc::invalid_syntax);
  }

  TEST_CASE("Policy grammar: node list errors carry columns in the whole text") {
    const tp::PolicyDiagnostic d = reject_both("bind=static:0,5-3");
    CHECK(d.issue == PolicyIssue::node_list);
    CHECK(d.list.issue == tp::ListIssue::reversed_range);
    CHECK(d.list.column == 14);
    CHECK(d.column == 14);
    CHECK(d.code() == tp::errc::invalid_syntax);
    const tp::PolicyDiagnostic range = reject_both("bind:0,2000");
    CHECK(range.code() == tp::errc::node_out_of_range);
    CHECK(std::error_code(range.code()) == std::errc::result_out_of_range);
    CHECK(range.column == 7);
  }

  TEST_CASE("Policy grammar: messages say what and where") {
    CHECK(reject("interleav").message() ==
          "unknown mode 'interleav' (expected one of: default, prefer, bind, interleave, local, prefer (many), weighted interleave)");
    CHECK(reject("interleav", Dialect::extended).message() ==
          "unknown mode 'interleav' (expected one of: default, prefer, bind, interleave, local, prefer (many), weighted "
          "interleave; or numactl's preferred, preferred-many, weighted-interleave)");
    CHECK(reject("preferred-many:0").message() ==
          "unknown mode 'preferred-many': that is numactl's name, the kernel's is 'prefer (many)' (the extended dialect accepts both)");
    CHECK(reject("bind:7").message() == "node 7 has no memory (nodes with memory: 0-2)");
    CHECK(reject("bind:7", Dialect::kernel, NodeMask{}).message() == "node 7 has no memory (no node has memory)");
    CHECK(reject("bind=balancing:0").message() ==
          "mode flag 'balancing' is printed by the kernel but mpol_parse_str cannot parse it (expected 'static' or 'relative'; "
          "the extended dialect accepts it)");
    CHECK(reject("bind=static|balancing:0").message() ==
          "mode flags 'static|balancing': the kernel parses exactly one flag, 'static' or 'relative'");
    CHECK(reject("bind=statc:0").message() == "unknown mode flag 'statc' (expected 'static' or 'relative')");
    CHECK(reject("bind=statc:0", Dialect::extended).message() ==
          "unknown mode flag 'statc' (expected static, relative or balancing, several joined with '|')");
    CHECK(reject("bind=static|static:0", Dialect::extended).message() == "mode flag 'static' is given twice");
    CHECK(reject("bind=relative|static:0", Dialect::extended).message() == "mode flags 'static' and 'relative' exclude each other");
    CHECK(reject("interleave=balancing", Dialect::extended).message() ==
          "the flag 'balancing' applies only to bind and prefer (many), not to interleave");
    CHECK(reject("prefer=static").message() ==
          "prefer without a node means local allocation, which takes no 'static' or 'relative' flag");
    CHECK(reject("local=relative").message() == "local takes no 'static' or 'relative' flag");
    CHECK(reject("bind=static:0,5-3").message() == "bad node list: range 5-3 at column 14 is reversed (the kernel requires start <= end)");
    CHECK(reject("prefer (many)").message() == "prefer (many) needs a node list, e.g. 'prefer (many):0'");
    CHECK(reject("local:0").message() == "local takes no node list (not even an empty one after ':')");
    CHECK(reject("prefer:1-1").message() == "prefer takes exactly one node written as a plain number (found '1-1')");
    CHECK(reject("prefer:").message() == "prefer takes exactly one node written as a plain number (found an empty list)");
    CHECK(reject("prefer:\t").message() == "prefer takes exactly one node written as a plain number (found '\\t')");
    CHECK(reject("bind:").message() == "the node list of bind selects no node");
    CHECK(reject("interleave", Dialect::kernel, NodeMask{}).message() ==
          "interleave without a node list uses every node with memory, and no node has memory");
    CHECK(reject(std::string_view("bind\0", 5)).message() == "NUL byte at column 4 (the kernel reads a C string and would stop there)");
  }

  TEST_CASE("Policy grammar: warnings say why the kernel would refuse the text") {
    tp::PolicyDiagnostic d;
    REQUIRE(tp::parse_policy("preferred-many:0=balancing|static\n", memory_0_2, Dialect::extended, &d).has_value());
    CHECK_FALSE(d.failed());
    CHECK(d.code() == tp::errc::ok);
    CHECK(d.message() ==
          "accepted, but the kernel's mpol_parse_str would reject this text: 'preferred-many' is numactl's name, the kernel's is "
          "'prefer (many)'; the kernel prints the flag 'balancing' but does not parse it; the kernel parses exactly one flag; the "
          "kernel keeps the trailing newline in the text it compares (print the policy to get the kernel's form)");
    REQUIRE(tp::parse_policy("bind:0", memory_0_2, Dialect::extended, &d).has_value());
    CHECK_FALSE(d.has_warnings());
    CHECK(d.message().empty());
  }

  TEST_CASE("Policy grammar: long offending text is cut in the diagnostic") {
    const std::string mode(100, 'x');
    const tp::PolicyDiagnostic d = reject(mode);
    CHECK(d.length == 100);
    CHECK(d.token.size() == tp::PolicyDiagnostic::token_capacity);
    CHECK(d.message().rfind("unknown mode '" + std::string(32, 'x') + "...' (expected", 0) == 0);
  }

  TEST_CASE("Policy grammar: format cuts to the buffer and always terminates") {
    const tp::PolicyDiagnostic d = reject("bind:7");
    const std::string full = d.message();
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{17}, full.size(), full.size() + 1,
                             full.size() + 50}) {
      CAPTURE(size);
      std::vector<char> buf(size + 1, '#');  // one guard byte
      const std::size_t n = d.format(std::span<char>(buf.data(), size));
      const std::size_t expected = size == 0 ? 0 : std::min(size - 1, full.size());
      CHECK(n == expected);
      if (size > 0) {
        CHECK(buf[n] == '\0');
        CHECK(std::string(buf.data()) == full.substr(0, expected));
      }
      CHECK(buf[size] == '#');
    }
  }

  TEST_CASE("Policy grammar: parse of print round trips in both dialects") {
    const std::vector<std::string> corpus = taskmpol_test::policy_corpus();
    std::size_t round_trips = 0;
    for (const NodeMask& memory : {memory_0_2, NodeMask::of<0>(), NodeMask::of<0, 1, 2, 3, 1023>()}) {
      for (const std::string& text : corpus) {
        for (const Dialect dialect : {Dialect::kernel, Dialect::extended}) {
          const tp::result<Policy> first = tp::parse_policy(text, memory, dialect);
          if (!first) continue;
          const std::string printed = tp::to_string(first.value());
          const tp::result<Policy> second = tp::parse_policy(printed, memory, dialect);
          CAPTURE(text);
          CAPTURE(printed);
          // Only balancing cannot be read back by the kernel dialect, and it never produces it.
          REQUIRE(second.has_value());
          CHECK(second.value() == first.value());
          ++round_trips;
        }
      }
    }
    CHECK(round_trips > 1000);
  }

  TEST_CASE("Policy grammar: the extended dialect accepts everything the kernel does with the same result") {
    const std::vector<std::string> corpus = taskmpol_test::policy_corpus();
    for (const NodeMask& memory : {memory_0_2, NodeMask::of<0>(), NodeMask{}}) {
      for (const std::string& text : corpus) {
        CAPTURE(text);
        tp::PolicyDiagnostic kd;
        tp::PolicyDiagnostic ed;
        const tp::result<Policy> k = tp::parse_policy(text, memory, Dialect::kernel, &kd);
        const tp::result<Policy> e = tp::parse_policy(text, memory, Dialect::extended, &ed);
        CHECK(kd.failed() != k.has_value());
        CHECK(ed.failed() != e.has_value());
        if (!k) CHECK(k.error() == kd.code());
        if (k) {
          REQUIRE(e.has_value());
          CHECK(e.value() == k.value());
          CHECK_FALSE(ed.has_warnings());
          CHECK_FALSE(kd.has_warnings());
        } else if (e) {
          CHECK(ed.has_warnings());  // accepted only thanks to an extension: say so
        }
      }
    }
  }

  TEST_CASE("Policy grammar: every parsed policy is one Policy::make builds") {
    for (const std::string& text : taskmpol_test::policy_corpus()) {
      const tp::result<Policy> p = tp::parse_policy(text, memory_0_2, Dialect::extended);
      if (!p) continue;
      CAPTURE(text);
      const tp::result<Policy> again = Policy::make(p.value().mode(), p.value().flags(), p.value().nodes());
      REQUIRE(again.has_value());
      CHECK(again.value() == p.value());
      CHECK(Policy::from_raw(p.value().to_raw().mode_and_flags, p.value().nodes()).value() == p.value());
    }
  }
}
