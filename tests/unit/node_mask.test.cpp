// SPDX-License-Identifier: MIT
// NodeMask: the bit set and its kernel ABI conversion, the node-list grammar (Linux 6.12
// bitmap_parselist, nbits = 1024) and the "%*pbl" printer.
#include <support/grammar_printers.hpp>
#include <taskmpol/node_mask.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tp = taskmpol;
using tp::ListIssue;
using tp::NodeMask;

namespace {

// ---- constexpr facts -----------------------------------------------------------------------
static_assert(NodeMask::capacity == 1024);
static_assert(NodeMask::word_count * NodeMask::word_bits == 1024);
static_assert(NodeMask::kernel_maxnode == 1025, "get_nodes() decrements maxnode: 1024 bits need 1025");
static_assert(sizeof(NodeMask) == 128);
static_assert(NodeMask{}.empty() && NodeMask{}.first() == NodeMask::npos && NodeMask{}.last() == NodeMask::npos);
static_assert(NodeMask::of<63, 64>().count() == 2 && NodeMask::of<63, 64>().words()[0] == 1UL << 63 && NodeMask::of<63, 64>().words()[1] == 1UL);
static_assert(NodeMask::first_n(5000).count() == 1024);
static_assert((~NodeMask{}).count() == 1024);

// The grammar and the printer are constant-evaluable.
static_assert(NodeMask::parse_detailed("0-3").ok());
static_assert(NodeMask::parse_detailed("0-3").nodes == NodeMask::first_n(4));
static_assert(NodeMask::parse_detailed("all").nodes == ~NodeMask{});
static_assert(NodeMask::parse_detailed("N").nodes == NodeMask::of<1023>());
static_assert(NodeMask::parse_detailed("0-1023:2/256").nodes == NodeMask::of<0, 1, 256, 257, 512, 513, 768, 769>());
static_assert(NodeMask::parse_detailed("2-5:1/4294967295").nodes == NodeMask::of<0, 1, 2>());
static_assert(NodeMask::parse_detailed("3-1").error.issue == ListIssue::reversed_range);
static_assert(NodeMask::parse_detailed("1024").error.issue == ListIssue::node_out_of_range);
static_assert(NodeMask::of<0, 1, 2, 5, 7, 8, 9>().to_fixed_string() == "0-2,5,7-9");
static_assert(NodeMask{}.to_fixed_string() == "");
static_assert(NodeMask::of<0, 1>().list_length() == 3);
static_assert(tp::FixedString<4>{}.capacity == 4);

NodeMask parse_ok(std::string_view text) {
  tp::ListError error;
  const tp::result<NodeMask> r = NodeMask::parse(text, &error);
  INFO("parsing '" << std::string(text) << "': " << error.message());
  REQUIRE(r.has_value());
  CHECK_FALSE(error.failed());
  return r.value();
}

tp::ListError parse_error(std::string_view text) {
  tp::ListError error;
  const tp::result<NodeMask> r = NodeMask::parse(text, &error);
  INFO("parsing '" << std::string(text) << "'");
  REQUIRE_FALSE(r.has_value());
  CHECK(error.failed());
  CHECK(r.error() == error.code());
  return error;
}

// A small deterministic generator, so failures reproduce.
struct SplitMix {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

NodeMask random_mask(SplitMix& rng) {
  NodeMask m;
  switch (rng.below(4)) {
    case 0:  // sparse
      for (int i = 0; i < 8; ++i) REQUIRE(m.set(rng.below(NodeMask::capacity)));
      break;
    case 1:  // dense
      for (std::size_t n = 0; n < NodeMask::capacity; ++n)
        if (rng.below(3) != 0) REQUIRE(m.set(n));
      break;
    case 2:  // runs
      for (int i = 0; i < 6; ++i) {
        const std::size_t a = rng.below(NodeMask::capacity);
        REQUIRE(m.set_range(a, rng.below(NodeMask::capacity - a) % 80 + 1));
      }
      break;
    default:  // words at the edges
      m = NodeMask::of<0, 63, 64, 1023>();
      break;
  }
  return m;
}

// Exhaustive longest "%*pbl" text over 1024 bits (dynamic programming over runs), and one mask
// reaching it.
std::pair<std::size_t, NodeMask> longest_list() {
  constexpr std::size_t n = NodeMask::capacity;
  const auto digits = [](std::size_t v) { return std::to_string(v).size(); };
  // best[i]: longest text (each run followed by a comma) for nodes [i, n) when node i-1 is clear.
  std::vector<std::size_t> best(n + 2, 0);
  std::vector<std::size_t> run_end(n + 2, n + 1);  // n + 1: node i left clear
  for (std::size_t i = n; i-- > 0;) {
    best[i] = best[i + 1];
    run_end[i] = n + 1;
    for (std::size_t e = i; e < n; ++e) {
      const std::size_t cost = digits(i) + (e > i ? 1 + digits(e) : 0) + 1;
      const std::size_t rest = e + 2 <= n ? best[e + 2] : 0;
      if (cost + rest > best[i]) {
        best[i] = cost + rest;
        run_end[i] = e;
      }
    }
  }
  NodeMask worst;
  for (std::size_t i = 0; i < n;) {
    if (run_end[i] == n + 1) {
      ++i;
      continue;
    }
    REQUIRE(worst.set_range(i, run_end[i] - i + 1));
    i = run_end[i] + 2;
  }
  return {best[0] - 1, worst};  // no comma after the last run
}

}  // namespace

TEST_SUITE("NodeMask") {
  TEST_CASE("NodeMask: set and test at the word boundaries 63 64 1023 and 1024") {
    NodeMask m;
    CHECK(m.set(63));
    CHECK(m.set(64));
    CHECK(m.set(1023));
    CHECK_FALSE(m.set(1024));
    CHECK(m.test(63));
    CHECK(m.test(64));
    CHECK(m.test(1023));
    CHECK_FALSE(m.test(1024));
    CHECK_FALSE(m.test(62));
    CHECK(m.count() == 3);
    CHECK(m.first() == 63);
    CHECK(m.next(63) == 64);
    CHECK(m.next(64) == 1023);
    CHECK(m.next(1023) == NodeMask::npos);
    CHECK(m.last() == 1023);
    CHECK(m.reset(64));
    CHECK_FALSE(m.reset(1024));
    CHECK(m == NodeMask::of<63, 1023>());
  }

  TEST_CASE("NodeMask: a node beyond capacity is an error and never dropped") {
    // NodeMask::of<2000>() does not compile (tests/unit/compile_fail); nodes known at run time go through
    // make(), which says which rule they break instead of leaving them out.
    const auto out_of_range = NodeMask::make({0, 2000});
    REQUIRE_FALSE(out_of_range);
    CHECK(out_of_range.error() == tp::errc::node_out_of_range);
    CHECK(out_of_range.error() == std::errc::result_out_of_range);
    CHECK(NodeMask::make({1024}).error() == tp::errc::node_out_of_range);
    const auto ok = NodeMask::make({3, 1023, 3});
    REQUIRE(ok);
    CHECK(ok.value() == NodeMask::of<3, 1023>());
    const std::vector<std::size_t> runtime{5, 7};
    CHECK(NodeMask::make(runtime).value() == NodeMask::of<5, 7>());
    CHECK(NodeMask::make({}).value().empty());
    // The message names the limit, from the one constant.
    CHECK(std::error_code(tp::errc::node_out_of_range).message().find("(1023)") != std::string::npos);
  }

  TEST_CASE("NodeMask: iteration visits the set nodes in increasing order") {
    const NodeMask m = NodeMask::of<1023, 0, 64, 63, 5>();
    std::vector<std::size_t> seen(m.begin(), m.end());
    CHECK(seen == std::vector<std::size_t>{0, 5, 63, 64, 1023});
    CHECK(std::vector<std::size_t>(NodeMask{}.begin(), NodeMask{}.end()).empty());
  }

  TEST_CASE("NodeMask: set algebra and subsets") {
    const NodeMask a = NodeMask::of<0, 1, 2>();
    const NodeMask b = NodeMask::of<2, 3>();
    CHECK((a | b) == NodeMask::of<0, 1, 2, 3>());
    CHECK((a & b) == NodeMask::of<2>());
    CHECK((a ^ b) == NodeMask::of<0, 1, 3>());
    CHECK((~a).count() == 1021);
    CHECK_FALSE((~a).test(1));
    CHECK(NodeMask::of<1>().is_subset_of(a));
    CHECK_FALSE(b.is_subset_of(a));
    CHECK(a.intersects(b));
    CHECK_FALSE(a.intersects(NodeMask::of<9>()));
  }

  TEST_CASE("NodeMask: set_range fills across words and refuses ranges beyond capacity") {
    NodeMask m;
    CHECK(m.set_range(60, 10));
    CHECK(m == NodeMask::parse_detailed("60-69").nodes);
    CHECK(m.set_range(0, 1024));
    CHECK(m.count() == 1024);
    NodeMask e;
    CHECK(e.set_range(1024, 0));
    CHECK(e.empty());
    CHECK_FALSE(e.set_range(1020, 5));
    CHECK_FALSE(e.set_range(2000, 1));
    CHECK(e.empty());
  }

  TEST_CASE("NodeMask: kernel_arg passes capacity plus one as maxnode") {
    const NodeMask m = NodeMask::of<0, 1023>();
    const tp::KernelMaskArg arg = m.kernel_arg();
    CHECK(arg.maxnode == 1025);
    CHECK(arg.nmask == m.words().data());
    CHECK(arg.nmask[0] == 1UL);
    CHECK(arg.nmask[15] == 1UL << 63);
  }

  TEST_CASE("NodeMask: from_kernel keeps maxnode minus one bits") {
    std::array<unsigned long, 16> words{};
    words.fill(~0UL);
    CHECK(NodeMask::from_kernel(words, 0).empty());
    CHECK(NodeMask::from_kernel(words, 1).empty());
    CHECK(NodeMask::from_kernel(words, 2) == NodeMask::of<0>());
    CHECK(NodeMask::from_kernel(words, 65) == NodeMask::first_n(64));
    CHECK(NodeMask::from_kernel(words, 66) == NodeMask::first_n(65));
    CHECK(NodeMask::from_kernel(words, 1025).count() == 1024);
    CHECK(NodeMask::from_kernel(words, 5000).count() == 1024);
    CHECK(NodeMask::from_kernel(std::span<const unsigned long>(words.data(), 1), 1025) == NodeMask::first_n(64));
  }
}

TEST_SUITE("NodeMask grammar") {
  TEST_CASE("NodeMask grammar: decimal numbers and ranges") {
    CHECK(parse_ok("0") == NodeMask::of<0>());
    CHECK(parse_ok("7") == NodeMask::of<7>());
    CHECK(parse_ok("007") == NodeMask::of<7>());
    CHECK(parse_ok("0000000000000000000000000000063") == NodeMask::of<63>());
    CHECK(parse_ok("0-2") == NodeMask::of<0, 1, 2>());
    CHECK(parse_ok("5-5") == NodeMask::of<5>());
    CHECK(parse_ok("0-2,5,7-9") == NodeMask::of<0, 1, 2, 5, 7, 8, 9>());
    CHECK(parse_ok("9,0,0,3-4,4") == NodeMask::of<0, 3, 4, 9>());
    CHECK(parse_ok("63-64") == NodeMask::of<63, 64>());
    CHECK(parse_ok("1023") == NodeMask::of<1023>());
    CHECK(parse_ok("0-1023").count() == 1024);
  }

  TEST_CASE("NodeMask grammar: the empty list and lists of separators are the empty set") {
    for (const char* text : {"", ",", ",,,", " ", "\t", " , \t ,", "\n", "\n\n", ",\n,"}) {
      CAPTURE(text);
      CHECK(parse_ok(text).empty());
    }
  }

  TEST_CASE("NodeMask grammar: all in any case and N at both ends of a region") {
    CHECK(parse_ok("all") == ~NodeMask{});
    CHECK(parse_ok("ALL") == ~NodeMask{});
    CHECK(parse_ok("aLl") == ~NodeMask{});
    CHECK(parse_ok("N") == NodeMask::of<1023>());
    CHECK(parse_ok("N-N") == NodeMask::of<1023>());
    CHECK(parse_ok("1020-N") == NodeMask::of<1020, 1021, 1022, 1023>());
    CHECK(parse_ok("0-N") == ~NodeMask{});
    CHECK(parse_ok("0,all") == ~NodeMask{});
    CHECK(parse_ok("all,0") == ~NodeMask{});
    // Only an upper-case N is the last bit, and only as a whole number.
    CHECK(parse_error("n").issue == ListIssue::expected_number);
    CHECK(parse_error("N5").issue == ListIssue::unexpected_character);
    CHECK(parse_error("NN").issue == ListIssue::unexpected_character);
    CHECK(parse_error("al").issue == ListIssue::expected_number);
    CHECK(parse_error("allx").issue == ListIssue::unexpected_character);
    CHECK(parse_error("all-5").issue == ListIssue::unexpected_character);
    CHECK(parse_error("0-all").issue == ListIssue::expected_number);
  }

  TEST_CASE("NodeMask grammar: strides used over group") {
    CHECK(parse_ok("0-1023:2/256") == NodeMask::of<0, 1, 256, 257, 512, 513, 768, 769>());  // the kernel's own example
    CHECK(parse_ok("0-9:1/3") == NodeMask::of<0, 3, 6, 9>());
    CHECK(parse_ok("0-10:2/4") == NodeMask::of<0, 1, 4, 5, 8, 9>());
    CHECK(parse_ok("0-3:4/4") == NodeMask::of<0, 1, 2, 3>());
    CHECK(parse_ok("0-3:0/4").empty());
    CHECK(parse_ok("5-5:1/1") == NodeMask::of<5>());
    CHECK(parse_ok("all:1/512") == NodeMask::of<0, 512>());
    CHECK(parse_ok("ALL:1/2").count() == 512);
    CHECK(parse_ok("0-N:1/N") == NodeMask::of<0, 1023>());
    CHECK(parse_ok("0-3:1/2,8") == NodeMask::of<0, 2, 8>());
    CHECK(parse_ok("0-1023:1/4000000000") == NodeMask::of<0>());
    // A stride needs an explicit range: a single number cannot take one.
    CHECK(parse_error("0:1/2").issue == ListIssue::unexpected_character);
  }

  TEST_CASE("NodeMask grammar: a stride group near 2 to the 32 wraps around like the kernel's unsigned int") {
    // bitmap_set_region: `start += group_len` in unsigned int; 4294967295 acts like -1.
    CHECK(parse_ok("0-5:1/4294967295") == NodeMask::of<0>());
    CHECK(parse_ok("1-5:1/4294967295") == NodeMask::of<0, 1>());
    CHECK(parse_ok("2-5:1/4294967295") == NodeMask::of<0, 1, 2>());
    CHECK(parse_ok("1023-1023:1/4294967295") == NodeMask::first_n(1024));
    CHECK(parse_ok("10-20:2/4294967294") == NodeMask::parse_detailed("0-11").nodes);
  }

  TEST_CASE("NodeMask grammar: commas and kernel whitespace separate regions") {
    CHECK(parse_ok(" 0 , 1 ") == NodeMask::of<0, 1>());
    CHECK(parse_ok("0 1") == NodeMask::of<0, 1>());
    CHECK(parse_ok(",0,,1,") == NodeMask::of<0, 1>());
    CHECK(parse_ok("\t0\v1\f2\r3") == NodeMask::of<0, 1, 2, 3>());
    // The kernel's isspace() also takes Latin-1 NBSP (0xA0); glibc's "C" locale does not.
    CHECK(parse_ok("\xa0" "0\xa0" "1") == NodeMask::of<0, 1>());
    // Other bytes do not separate.
    CHECK(parse_error("0;1").issue == ListIssue::unexpected_character);
    CHECK(parse_error("0\x85" "1").issue == ListIssue::unexpected_character);
    CHECK(parse_error("0 -1").issue == ListIssue::expected_number);
  }

  TEST_CASE("NodeMask grammar: a newline right after a region ends the list and the rest is ignored") {
    CHECK(parse_ok("0\n") == NodeMask::of<0>());
    CHECK(parse_ok("0\nx") == NodeMask::of<0>());
    CHECK(parse_ok("0\n5") == NodeMask::of<0>());
    CHECK(parse_ok("0-3\n5") == NodeMask::of<0, 1, 2, 3>());
    CHECK(parse_ok("all\ngarbage") == ~NodeMask{});
    CHECK(parse_ok("1,2\n;;;") == NodeMask::of<1, 2>());
  }

  TEST_CASE("NodeMask grammar: a newline between regions is only whitespace") {
    // bitmap_find_region() skips isspace() characters, '\n' included.
    CHECK(parse_ok("\n5") == NodeMask::of<5>());
    CHECK(parse_ok("0,\n5") == NodeMask::of<0, 5>());
    CHECK(parse_ok("0 \n5") == NodeMask::of<0, 5>());
    // After a stride the kernel returns without looking at the next character, so the newline is
    // met by bitmap_find_region() and skipped.
    CHECK(parse_ok("0-7:1/2\n5") == NodeMask::of<0, 2, 4, 5, 6>());
    CHECK(parse_error("0 \nx").issue == ListIssue::expected_number);
  }

  TEST_CASE("NodeMask grammar: the character after a stride is not checked for a separator") {
    CHECK(parse_ok("0-3:1/2N") == NodeMask::of<0, 2, 1023>());
    CHECK(parse_ok("0-3:1/2all") == ~NodeMask{});
    CHECK(parse_ok("0-3:1/2 5") == NodeMask::of<0, 2, 5>());
    CHECK(parse_error("0-3:1/2x").issue == ListIssue::expected_number);
    CHECK(parse_error("0-3:1/2-5").issue == ListIssue::expected_number);
  }

  TEST_CASE("NodeMask grammar: a reversed range is EINVAL") {
    const tp::ListError e = parse_error("0,5-3");
    CHECK(e.issue == ListIssue::reversed_range);
    CHECK(e.kernel_errno == EINVAL);
    CHECK(e.column == 2);
    CHECK(e.length == 3);
    CHECK(e.first == 5);
    CHECK(e.second == 3);
    CHECK(e.code() == tp::errc::invalid_syntax);
    // Reversal is checked before the range: the kernel says EINVAL, not ERANGE.
    CHECK(parse_error("5000-1").issue == ListIssue::reversed_range);
    CHECK(parse_error("N-0").issue == ListIssue::reversed_range);
  }

  TEST_CASE("NodeMask grammar: a zero group and used above group are EINVAL") {
    const tp::ListError zero = parse_error("0-3:1/0");
    CHECK(zero.issue == ListIssue::zero_group_size);
    CHECK(zero.kernel_errno == EINVAL);
    CHECK(zero.column == 0);
    CHECK(zero.length == 7);
    const tp::ListError used = parse_error("1,0-3:3/2");
    CHECK(used.issue == ListIssue::used_exceeds_group);
    CHECK(used.kernel_errno == EINVAL);
    CHECK(used.column == 2);
    CHECK(used.first == 3);
    CHECK(used.second == 2);
    // The checks come in the kernel's order: reversed, zero group, used > group, range.
    CHECK(parse_error("3-1:0/0").issue == ListIssue::reversed_range);
    CHECK(parse_error("0-2000:0/0").issue == ListIssue::zero_group_size);
    CHECK(parse_error("0-2000:5/1").issue == ListIssue::used_exceeds_group);
    CHECK(parse_error("0-2000:1/5").issue == ListIssue::node_out_of_range);
  }

  TEST_CASE("NodeMask grammar: numbers above 4294967295 are EOVERFLOW") {
    const tp::ListError e = parse_error("1,4294967296");
    CHECK(e.issue == ListIssue::number_overflow);
    CHECK(e.kernel_errno == EOVERFLOW);
    CHECK(e.column == 2);
    CHECK(e.length == 10);
    CHECK(e.code() == tp::errc::invalid_syntax);
    CHECK(parse_error("99999999999999999999999999").issue == ListIssue::number_overflow);
    CHECK(parse_error("0-99999999999").issue == ListIssue::number_overflow);
    CHECK(parse_error("0-3:1/99999999999").issue == ListIssue::number_overflow);
    // The kernel reports the overflow before looking at what follows the number.
    CHECK(parse_error("99999999999x").issue == ListIssue::number_overflow);
  }

  TEST_CASE("NodeMask grammar: node 1024 and beyond is ERANGE") {
    const tp::ListError e = parse_error("0,1024");
    CHECK(e.issue == ListIssue::node_out_of_range);
    CHECK(e.kernel_errno == ERANGE);
    CHECK(e.first == 1024);
    CHECK(e.column == 2);
    CHECK(e.code() == tp::errc::node_out_of_range);
    CHECK(std::error_code(e.code()) == std::errc::result_out_of_range);
    CHECK(parse_error("1000-1024").first == 1024);
    CHECK(parse_error("4294967294").kernel_errno == ERANGE);
  }

  TEST_CASE("NodeMask grammar: 4294967295 alone is EINVAL in the kernel and out of range for us") {
    // end + 1 wraps to 0, so bitmap_check_region() sees a zero group: EINVAL, not ERANGE.
    const tp::ListError e = parse_error("4294967295");
    CHECK(e.issue == ListIssue::node_out_of_range);
    CHECK(e.kernel_errno == EINVAL);
    CHECK(e.first == 4294967295U);
    CHECK(parse_error("0-4294967295").kernel_errno == EINVAL);
  }

  TEST_CASE("NodeMask grammar: stray characters are EINVAL") {
    struct Case {
      const char* text;
      ListIssue issue;
      std::size_t column;
      char found;
    };
    const Case cases[] = {
        {"0x3", ListIssue::unexpected_character, 1, 'x'},   // no hex (libnuma reads node 3)
        {"-1", ListIssue::expected_number, 0, '-'},         // no sign
        {"+1", ListIssue::expected_number, 0, '+'},         // no libnuma-style relative nodes
        {"!1", ListIssue::expected_number, 0, '!'},         // no libnuma-style inversion
        {"1;2", ListIssue::unexpected_character, 1, ';'},
        {"0.0", ListIssue::unexpected_character, 1, '.'},
        {"1-2-3", ListIssue::unexpected_character, 3, '-'},
        {"0-3:1", ListIssue::unexpected_character, 5, '\0'},
        {"0-3:1-2", ListIssue::unexpected_character, 5, '-'},
        {"0-3/2", ListIssue::unexpected_character, 3, '/'},
        {"a", ListIssue::expected_number, 0, 'a'},
        {"0-", ListIssue::expected_number, 2, '\0'},
        {"0-\n1", ListIssue::expected_number, 2, '\n'},
        {"0-3:", ListIssue::expected_number, 4, '\0'},
        {"0-3:1/", ListIssue::expected_number, 6, '\0'},
        {"0-3:/2", ListIssue::expected_number, 4, '/'},
        {"1,-", ListIssue::expected_number, 2, '-'},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const tp::ListError e = parse_error(c.text);
      CHECK(e.issue == c.issue);
      CHECK(e.kernel_errno == EINVAL);
      CHECK(e.column == c.column);
      CHECK(e.found == c.found);
      CHECK(e.length == (c.found == '\0' ? 0U : 1U));
    }
  }

  TEST_CASE("NodeMask grammar: a NUL byte is refused") {
    const tp::ListError e = parse_error(std::string_view("0,\0" "1", 4));
    CHECK(e.issue == ListIssue::embedded_nul);
    CHECK(e.column == 2);
    CHECK(e.kernel_errno == 0);
    CHECK(e.code() == tp::errc::invalid_syntax);
    CHECK(parse_error(std::string_view("\0", 1)).issue == ListIssue::embedded_nul);
  }

  TEST_CASE("NodeMask grammar: errors map to std errc conditions") {
    CHECK(std::error_code(parse_error("x").code()) == std::errc::invalid_argument);
    CHECK(std::error_code(parse_error("2000").code()) == std::errc::result_out_of_range);
    const tp::result<NodeMask> r = NodeMask::parse("2000");  // no diagnostic requested
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == tp::errc::node_out_of_range);
  }

  TEST_CASE("NodeMask grammar: error messages say what and where") {
    CHECK(parse_error("0,5-3").message() == "range 5-3 at column 2 is reversed (the kernel requires start <= end)");
    CHECK(parse_error("0,1024").message() == "node 1024 at column 2 is beyond the largest node 1023");
    CHECK(parse_error("0x3").message() ==
          "unexpected 'x' at column 1 (the kernel accepts decimal numbers, 'N', 'all', a-b, a-b:used/group, ',' and spaces)");
    CHECK(parse_error("0-").message() == "expected a node number, 'N' or 'all' at column 2, found the end of the list");
    CHECK(parse_error("0-\t").message() == "expected a node number, 'N' or 'all' at column 2, found '\\t'");
    CHECK(parse_error("\x01").message() == "expected a node number, 'N' or 'all' at column 0, found '\\x01'");
    CHECK(parse_error("0-3:1").message() == "node list ends early at column 5 (a stride is written a-b:used/group)");
    CHECK(parse_error("0-3:1/0").message() == "stride group size 0 at column 0 (a-b:used/group needs a group of at least 1)");
    CHECK(parse_error("0-3:3/2").message() == "stride uses 3 of every 2 nodes at column 0 (used must not exceed the group size)");
    CHECK(parse_error("77777777777").message() == "number at column 0 does not fit the kernel's unsigned int (largest 4294967295)");
    CHECK(parse_error(std::string_view("\0", 1)).message() == "NUL byte at column 0 (the kernel reads a C string and would stop there)");
    CHECK(tp::ListError{}.message() == "no error");
  }

  TEST_CASE("NodeMask grammar: format cuts to the buffer and always terminates") {
    const tp::ListError e = parse_error("0,1024");
    const std::string full = e.message();
    std::array<char, 64> big{};
    CHECK(e.format(big) == full.size());
    CHECK(std::string(big.data()) == full);
    std::array<char, 11> small{};
    small.fill('#');
    CHECK(e.format(small) == 10);
    CHECK(std::string(small.data()) == full.substr(0, 10));
    std::array<char, 1> one{'#'};
    CHECK(e.format(one) == 0);
    CHECK(one[0] == '\0');
    CHECK(e.format(std::span<char>()) == 0);
  }
}

TEST_SUITE("NodeMask printing") {
  TEST_CASE("NodeMask printing: golden lists in the kernel's pbl form") {
    CHECK(NodeMask{}.to_string() == "");
    CHECK(NodeMask::of<0>().to_string() == "0");
    CHECK(NodeMask::of<0, 1>().to_string() == "0-1");
    CHECK(NodeMask::of<0, 2>().to_string() == "0,2");
    CHECK(NodeMask::of<0, 1, 2, 5, 7, 8, 9>().to_string() == "0-2,5,7-9");
    CHECK(NodeMask::of<63, 64>().to_string() == "63-64");
    CHECK(NodeMask::of<62, 64>().to_string() == "62,64");
    CHECK(NodeMask::of<1023>().to_string() == "1023");
    CHECK(NodeMask::of<1022, 1023>().to_string() == "1022-1023");
    CHECK((~NodeMask{}).to_string() == "0-1023");
    CHECK((~NodeMask::of<512>()).to_string() == "0-511,513-1023");
  }

  TEST_CASE("NodeMask printing: to_chars fits exactly or reports value_too_large without overrunning") {
    const NodeMask m = NodeMask::of<0, 1, 2, 5, 7, 8, 9>();
    std::array<char, 16> buf{};
    buf.fill('#');
    const std::to_chars_result exact = m.to_chars(buf.data(), buf.data() + 9);
    CHECK(exact.ec == std::errc{});
    CHECK(exact.ptr == buf.data() + 9);
    CHECK(std::string_view(buf.data(), 9) == "0-2,5,7-9");
    CHECK(buf[9] == '#');
    buf.fill('#');
    const std::to_chars_result short_by_one = m.to_chars(buf.data(), buf.data() + 8);
    CHECK(short_by_one.ec == std::errc::value_too_large);
    CHECK(short_by_one.ptr == buf.data() + 8);
    CHECK(buf[8] == '#');
    const std::to_chars_result none = m.to_chars(buf.data(), buf.data());
    CHECK(none.ec == std::errc::value_too_large);
    const std::to_chars_result empty = NodeMask{}.to_chars(buf.data(), buf.data());
    CHECK(empty.ec == std::errc{});
    CHECK(empty.ptr == buf.data());
  }

  TEST_CASE("NodeMask printing: max_list_chars is the exact worst case") {
    const auto [longest, worst] = longest_list();
    CHECK(longest == NodeMask::max_list_chars);
    CHECK(worst.to_string().size() == NodeMask::max_list_chars);
    CHECK(worst.list_length() == NodeMask::max_list_chars);
    CHECK(worst.to_fixed_string().size() == NodeMask::max_list_chars);
    // Alternating nodes, the intuitive candidate, is shorter than runs of two.
    NodeMask alternate;
    for (std::size_t n = 0; n < NodeMask::capacity; n += 2) REQUIRE(alternate.set(n));
    CHECK(alternate.to_string().size() < NodeMask::max_list_chars);
  }

  TEST_CASE("NodeMask printing: parse of print is the identity") {
    SplitMix rng{42};
    for (int i = 0; i < 2000; ++i) {
      const NodeMask m = random_mask(rng);
      const std::string text = m.to_string();
      CAPTURE(text);
      CHECK(text.size() <= NodeMask::max_list_chars);
      CHECK(m.to_fixed_string() == text);
      CHECK(m.list_length() == text.size());
      const tp::ListParse back = NodeMask::parse_detailed(text);
      REQUIRE(back.ok());
      CHECK(back.nodes == m);
    }
  }

  TEST_CASE("NodeMask printing: the printed form is canonical") {
    // Different spellings of one set print the same text, which parses back to that set.
    for (const char* text : {"0-3", "3,2,1,0", "0-1,2-3", "0-3:4/4", "0-3:1/1", " 0 , 1 , 2 , 3 ", "0-3\n7"}) {
      CAPTURE(text);
      CHECK(parse_ok(text).to_string() == "0-3");
    }
  }
}

TEST_SUITE("FixedString") {
  TEST_CASE("FixedString: append cuts at capacity and stays terminated") {
    tp::FixedString<5> s;
    CHECK(s.empty());
    CHECK(s.append("abc"));
    CHECK(s == "abc");
    CHECK_FALSE(s.append("defg"));
    CHECK(s.view() == "abcde");
    CHECK(s.size() == 5);
    CHECK(std::strlen(s.c_str()) == 5);
    const std::string_view v = s;
    CHECK(v == "abcde");
    s.commit(2);
    CHECK(s == "ab");
    CHECK(s.c_str()[2] == '\0');
    s.commit(99);
    CHECK(s.size() == 5);
  }
}
