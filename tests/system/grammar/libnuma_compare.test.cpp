// SPDX-License-Identifier: MIT
// NodeMask::parse() (the kernel's bitmap_parselist grammar) against libnuma's node-string parser,
// numa_parse_nodestring_all() and numa_parse_nodestring(): the masks agree wherever both grammars
// accept the text, and every documented difference (userland-anchors §2.2, §3) is pinned here, so
// a libnuma that changes shows up as a failing case instead of a silent surprise.
//
// libnuma validates every node against a set: numa_parse_nodestring_all() against the possible
// nodes (on a one-node host: only node 0), numa_parse_nodestring() against numa_all_nodes_ptr.
// To compare the grammars beyond node 0, the tests overwrite numa_all_nodes_ptr in-process
// (AllowedNodes, restored afterwards), exactly how the §2.2 rows were produced.
#include <support/grammar_printers.hpp>
#include <taskmpol/node_mask.hpp>

#include <numa.h>

#include <doctest/doctest.h>

#include <support/skip.hpp>

#include <cstdarg>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace tp = taskmpol;
using tp::NodeMask;

namespace {
int libnuma_warnings = 0;
}

// libnuma reports parse errors through these weak hooks (printing to stderr by default, once
// per warning kind and process). Ours stay quiet and count, so the tests can check that libnuma
// really refused a text rather than crashing or returning garbage.
extern "C" void numa_warn(int, char*, ...) { ++libnuma_warnings; }
extern "C" void numa_error(char*) { ++libnuma_warnings; }

namespace {

NodeMask from_bitmask(const bitmask* b) {
  NodeMask m;
  for (unsigned long i = 0; i < b->size && i < NodeMask::capacity; ++i)
    if (numa_bitmask_isbitset(b, static_cast<unsigned int>(i))) REQUIRE(m.set(i));
  return m;
}

// nullopt when libnuma returns NULL (it rejected the text).
std::optional<NodeMask> libnuma_all(const std::string& text) {
  bitmask* b = numa_parse_nodestring_all(text.c_str());
  if (b == nullptr) return std::nullopt;
  const NodeMask m = from_bitmask(b);
  numa_bitmask_free(b);
  return m;
}
std::optional<NodeMask> libnuma_allowed(const std::string& text) {
  bitmask* b = numa_parse_nodestring(text.c_str());
  if (b == nullptr) return std::nullopt;
  const NodeMask m = from_bitmask(b);
  numa_bitmask_free(b);
  return m;
}

std::optional<NodeMask> ours(const std::string& text) {
  const tp::result<NodeMask> r = NodeMask::parse(text);
  if (!r) return std::nullopt;
  return r.value();
}

// Temporarily replaces libnuma's allowed set (numa_all_nodes_ptr), which numa_parse_nodestring()
// validates against.
class AllowedNodes {
 public:
  explicit AllowedNodes(const NodeMask& allowed) : saved_(from_bitmask(numa_all_nodes_ptr)) { assign(allowed); }
  ~AllowedNodes() { assign(saved_); }
  AllowedNodes(const AllowedNodes&) = delete;
  AllowedNodes& operator=(const AllowedNodes&) = delete;

 private:
  static void assign(const NodeMask& nodes) {
    numa_bitmask_clearall(numa_all_nodes_ptr);
    for (std::size_t n : nodes)
      if (n < numa_all_nodes_ptr->size) numa_bitmask_setbit(numa_all_nodes_ptr, static_cast<unsigned int>(n));
  }
  NodeMask saved_;
};

NodeMask possible_nodes() {
  std::ifstream in("/sys/devices/system/node/possible");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const tp::result<NodeMask> r = NodeMask::parse(text);
  return r && r.value().any() ? r.value() : NodeMask::of<0>();
}

bool libnuma_usable() {
  static const bool usable = numa_available() >= 0;
  return usable;
}

// Appended, not `"{" + m->to_string()`: GCC 12 at -O3 raises a false -Wrestrict on a literal plus a
// temporary std::string (GCC bug 105329), an error in the Release build.
std::string show(const std::optional<NodeMask>& m) {
  if (!m) return "NULL";
  std::string s = "{";
  s.append(m->to_string()).append("}");
  return s;
}

}  // namespace

TEST_SUITE("libnuma") {
  TEST_CASE("libnuma: masks agree with numa_parse_nodestring_all on texts both grammars accept here") {
    if (!libnuma_usable()) TASKMPOL_SKIP("numa_available() < 0, libnuma cannot parse on this system");
    const NodeMask possible = possible_nodes();
    // libnuma's "all" means every possible node; ours means 0-1023. Compare it through the
    // possible set, which is what both mean by "every node" on this machine.
    REQUIRE(libnuma_all("all").has_value());
    CHECK(*libnuma_all("all") == possible);

    std::vector<std::string> texts;
    for (std::size_t n : possible) {
      const std::string s = std::to_string(n);
      texts.insert(texts.end(), {s, s + "-" + s, s + "," + s, " " + s});
      if (n < 8) texts.push_back("0" + s);  // a leading zero: octal for libnuma, decimal for us, same value
    }
    const std::size_t low = possible.first();
    const std::size_t high = possible.last();
    bool dense = true;
    for (std::size_t n = low; n <= high; ++n) dense = dense && possible.test(n);
    if (dense && high > low) texts.push_back(std::to_string(low) + "-" + std::to_string(high));
    texts.push_back("");  // both: the empty set (libnuma returns an empty mask, not NULL)

    for (const std::string& text : texts) {
      CAPTURE(text);
      const std::optional<NodeMask> theirs = libnuma_all(text);
      const std::optional<NodeMask> mine = ours(text);
      REQUIRE(theirs.has_value());
      REQUIRE(mine.has_value());
      CHECK(*mine == *theirs);
    }
    MESSAGE(texts.size() << " texts agree with numa_parse_nodestring_all over the possible nodes {" << possible.to_string() << "}");
  }

  TEST_CASE("libnuma: masks agree with numa_parse_nodestring over an allowed set of eight nodes") {
    if (!libnuma_usable()) TASKMPOL_SKIP("numa_available() < 0, libnuma cannot parse on this system");
    const AllowedNodes allowed(NodeMask::first_n(8));
    const std::vector<std::string> texts = {"0",   "7",   "00",  "01",  "07",      " 3",  "0-7",   "1,3,5", "0-3,6",
                                            "2-2", "0,0", "1-6", "5,1", "0-1,2-3", "6-7", "0,2-4", "3,3-3", ""};
    for (const std::string& text : texts) {
      CAPTURE(text);
      const std::optional<NodeMask> theirs = libnuma_allowed(text);
      const std::optional<NodeMask> mine = ours(text);
      REQUIRE(theirs.has_value());
      REQUIRE(mine.has_value());
      CHECK(*mine == *theirs);
    }
  }

  TEST_CASE("libnuma: documented differences between the grammars are pinned") {
    if (!libnuma_usable()) TASKMPOL_SKIP("numa_available() < 0, libnuma cannot parse on this system");
    struct Row {
      const char* text;
      NodeMask allowed;                // libnuma's allowed set for this row
      std::optional<NodeMask> libnuma;  // what numa_parse_nodestring returns (nullopt: NULL)
      std::optional<NodeMask> kernel;   // what bitmap_parselist (and NodeMask::parse) gives
      const char* why;
    };
    const NodeMask all = ~NodeMask{};
    const NodeMask first4 = NodeMask::first_n(4);
    const NodeMask evens = NodeMask::of<0, 2, 4, 6>();
    const std::vector<Row> rows = {
        {"0x3", first4, NodeMask::of<3>(), std::nullopt, "strtoul base 0: hex is a node NUMBER for libnuma; the kernel is decimal only"},
        {"0x4", evens, NodeMask::of<4>(), std::nullopt, "same, node 4"},
        {"010", NodeMask::first_n(16), NodeMask::of<8>(), NodeMask::of<10>(), "octal for libnuma, decimal for the kernel"},
        {"-0", first4, NodeMask::of<0>(), std::nullopt, "strtoul accepts a sign; the kernel does not"},
        {"3-1", first4, NodeMask::of<3>(), std::nullopt, "libnuma keeps only the start of a reversed range; the kernel: EINVAL"},
        {"4-2", evens, NodeMask::of<4>(), std::nullopt, "same with holes"},
        {"0-6", evens, evens, NodeMask::first_n(7), "libnuma skips nodes outside the allowed set inside a range"},
        {"1", NodeMask::of<0>(), std::nullopt, NodeMask::of<1>(), "libnuma validates against the allowed set; the kernel only the width"},
        {"0,", first4, std::nullopt, NodeMask::of<0>(), "a trailing comma: rejected by libnuma, skipped by the kernel"},
        {",0", first4, std::nullopt, NodeMask::of<0>(), "a leading comma"},
        {"0 ", first4, std::nullopt, NodeMask::of<0>(), "a trailing space"},
        {"0-", first4, std::nullopt, std::nullopt, "both reject a range without an end"},
        {"+!0", first4, std::nullopt, std::nullopt, "both reject (libnuma wants '!' before '+')"},
        {"+1", evens, NodeMask::of<2>(), std::nullopt, "'+' is relative to the allowed set for libnuma; no such syntax in the kernel"},
        {"+1-3", evens, NodeMask::of<2, 4, 6>(), std::nullopt, "same, a relative range"},
        {"all,0", first4, std::nullopt, all, "libnuma takes 'all' only as the last item"},
        {"0,all", first4, first4, all, "libnuma's all is the allowed set; the kernel's all is 0-1023"},
        {"ALL", first4, std::nullopt, all, "the kernel's 'all' is case-insensitive"},
        {"0-3:1/2", first4, std::nullopt, NodeMask::of<0, 2>(), "strides exist only in the kernel grammar"},
        {"N", first4, std::nullopt, NodeMask::of<1023>(), "'N' (the last node) exists only in the kernel grammar"},
        {"0\n", first4, std::nullopt, NodeMask::of<0>(), "the kernel ends the list at a newline"},
    };
    const int warnings_before = libnuma_warnings;
    int rejected_by_libnuma = 0;
    for (const Row& row : rows) {
      CAPTURE(row.text);
      CAPTURE(row.why);
      std::optional<NodeMask> theirs;
      {
        const AllowedNodes allowed(row.allowed);
        theirs = libnuma_allowed(row.text);
      }
      INFO("libnuma gave " << show(theirs) << ", taskmpol " << show(ours(row.text)));
      CHECK(theirs == row.libnuma);
      CHECK(ours(row.text) == row.kernel);
      if (!theirs) ++rejected_by_libnuma;
    }
    // '!' inverts over 0..numa_num_configured_nodes()-1 only (not the allowed or possible set).
    {
      const AllowedNodes allowed(first4);
      const std::optional<NodeMask> inverted = libnuma_allowed("!1");
      NodeMask expected;
      for (int n = 0; n < numa_num_configured_nodes(); ++n) REQUIRE(expected.set(static_cast<std::size_t>(n)));
      expected ^= NodeMask::of<1>();
      CAPTURE(numa_num_configured_nodes());
      CHECK(inverted == std::optional<NodeMask>(expected));
      CHECK_FALSE(ours("!1").has_value());
    }
    // The hook is in effect (libnuma's own would print to stderr instead), yet not every NULL is
    // explained: the trailing-separator rejections ("0,", "0 ", "0\n") return NULL without any
    // warning, a usability gap taskmpol's ListError closes.
    CHECK(libnuma_warnings > warnings_before);
    CHECK(libnuma_warnings - warnings_before < rejected_by_libnuma);
  }
}
