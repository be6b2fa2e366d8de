// SPDX-License-Identifier: MIT
// NodeMask: a fixed-capacity set of NUMA node ids, constexpr and heap-free, plus the single
// conversion to and from the kernel's (unsigned long *nmask, unsigned long maxnode) ABI, and the
// kernel's node-list text form (bitmap_parselist grammar, "%*pbl" printing) without heap use.
#pragma once

#include <taskmpol/error.hpp>

#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace taskmpol {

// ---------------------------------------------------------------------------------------------
// Heap-free text. Every printer and message formatter in taskmpol writes into caller storage or
// into a FixedString, so parsing and printing never touch the heap (tests/unit/no_alloc proves
// it); only the to_string()/message() conveniences allocate, and say so.
// ---------------------------------------------------------------------------------------------

// A string whose characters live inside the object, always NUL-terminated.
template <std::size_t Capacity>
class FixedString {
 public:
  static constexpr std::size_t capacity = Capacity;

  constexpr FixedString() noexcept = default;

  [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] constexpr const char* data() const noexcept { return chars_.data(); }
  [[nodiscard]] constexpr const char* c_str() const noexcept { return chars_.data(); }
  [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars_.data(), size_}; }
  constexpr operator std::string_view() const noexcept { return view(); }  // NOLINT: implicit on purpose

  // Appends as much of `text` as fits; false when something had to be cut.
  constexpr bool append(std::string_view text) noexcept {
    const std::size_t room = Capacity - size_;
    const std::size_t n = text.size() < room ? text.size() : room;
    for (std::size_t i = 0; i < n; ++i) chars_[size_ + i] = text[i];
    size_ += n;
    chars_[size_] = '\0';
    return n == text.size();
  }

  // Direct fill, for printers: write into [writable_begin(), writable_end()), then commit(length).
  constexpr char* writable_begin() noexcept { return chars_.data(); }
  constexpr char* writable_end() noexcept { return chars_.data() + Capacity; }
  constexpr void commit(std::size_t length) noexcept {
    size_ = length < Capacity ? length : Capacity;
    chars_[size_] = '\0';
  }

  friend constexpr bool operator==(const FixedString& a, const FixedString& b) noexcept { return a.view() == b.view(); }
  friend constexpr bool operator==(const FixedString& a, std::string_view b) noexcept { return a.view() == b; }

 private:
  std::array<char, Capacity + 1> chars_{};
  std::size_t size_ = 0;
};

namespace detail {

// Writes into [first, last) and records what did not fit, so no printer can run past the
// caller's buffer. needed() counts every character offered, which gives exact sizes for the
// allocating conveniences (a writer over an empty range only counts).
class TextWriter {
 public:
  constexpr TextWriter(char* first, char* last) noexcept : pos_(first), last_(last) {}

  constexpr void put(char c) noexcept {
    ++needed_;
    if (pos_ != last_)
      *pos_++ = c;
    else
      overflow_ = true;
  }
  constexpr void put(std::string_view text) noexcept {
    for (char c : text) put(c);
  }
  constexpr void put_uint(std::uint64_t value) noexcept {
    char digits[20]{};
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (n > 0) put(digits[--n]);
  }
  // Bytes that came from user input: control and non-ASCII bytes are escaped, so a message can
  // be logged or shown on a terminal without being able to mangle it.
  constexpr void put_visible(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') return put(std::string_view("\\n"));
    if (c == '\t') return put(std::string_view("\\t"));
    if (c == '\\') return put(std::string_view("\\\\"));
    if (u >= 0x20 && u < 0x7f) return put(c);
    constexpr std::string_view hex = "0123456789abcdef";
    put(std::string_view("\\x"));
    put(hex[u >> 4]);
    put(hex[u & 15u]);
  }
  constexpr void put_visible(std::string_view text) noexcept {
    for (char c : text) put_visible(c);
  }

  [[nodiscard]] constexpr char* position() const noexcept { return pos_; }
  [[nodiscard]] constexpr bool overflowed() const noexcept { return overflow_; }
  [[nodiscard]] constexpr std::size_t needed() const noexcept { return needed_; }

 private:
  char* pos_;
  char* last_;
  std::size_t needed_ = 0;
  bool overflow_ = false;
};

// Runs `write(TextWriter&)` into `out` (NUL-terminated, cut to fit) and returns the number of
// characters stored before the NUL. Heap-free.
template <class Write>
std::size_t format_to_span(std::span<char> out, const Write& write) noexcept {
  if (out.empty()) return 0;
  TextWriter w(out.data(), out.data() + (out.size() - 1));
  write(w);
  *w.position() = '\0';
  return static_cast<std::size_t>(w.position() - out.data());
}

// The allocating twin: measures first, then formats into a string of exactly that size.
// std::string may throw std::bad_alloc; from these noexcept functions that terminates, the
// same contract as every allocation in the library (there is none on the parse/print paths).
template <class Write>
std::string format_to_string(const Write& write) noexcept {
  TextWriter counter(nullptr, nullptr);
  write(counter);
  std::string text(counter.needed(), '\0');
  TextWriter w(text.data(), text.data() + text.size());
  write(w);
  return text;
}

// The kernel's <linux/ctype.h> classification (lib/ctype.c), which differs from the C locale:
// isspace is true for \t \n \v \f \r, ' ' and also Latin-1 NBSP (0xA0); isdigit is ASCII only.
namespace kernel_ctype {
constexpr bool is_space(unsigned char c) noexcept { return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0; }
constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
}  // namespace kernel_ctype

class NodeListScanner;

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Node-list errors. Each issue names the errno Linux 6.12's bitmap_parselist() returns for it.
// ---------------------------------------------------------------------------------------------
enum class ListIssue : std::uint8_t {
  none = 0,
  embedded_nul,          // a NUL byte: the kernel reads C strings and can never receive it (library rule)
  expected_number,       // -EINVAL: no digits (nor 'N', nor 'all') where a number must start
  unexpected_character,  // -EINVAL: a character that cannot follow here ('0x3', '0:1/2', '1;2', '-1')
  reversed_range,        // -EINVAL: a-b with a > b
  zero_group_size,       // -EINVAL: a-b:used/0
  used_exceeds_group,    // -EINVAL: a-b:used/group with used > group
  number_overflow,       // -EOVERFLOW: a number above 4294967295 (the kernel's unsigned int)
  node_out_of_range,     // -ERANGE: a region reaches node 1024 or beyond
};

// Why a node list was rejected and where. Columns are 0-based byte offsets into the parsed text
// (parse_policy() shifts them so they index the whole policy text).
struct ListError {
  ListIssue issue = ListIssue::none;
  int kernel_errno = 0;      // what bitmap_parselist() returns for this text: EINVAL, ERANGE, EOVERFLOW
  std::size_t column = 0;    // the offending character, number or region
  std::size_t length = 0;    // its length in bytes (0 when the text ended where more was needed)
  std::uint32_t first = 0;   // numbers at fault: the node (node_out_of_range), start/end
  std::uint32_t second = 0;  // (reversed_range), used/group (used_exceeds_group)
  char found = '\0';         // the offending byte (expected_number, unexpected_character); NUL at the end

  [[nodiscard]] constexpr bool failed() const noexcept { return issue != ListIssue::none; }

  // node_out_of_range -> errc::node_out_of_range; any other failure -> errc::invalid_syntax.
  [[nodiscard]] constexpr errc code() const noexcept {
    switch (issue) {
      case ListIssue::none: return errc::ok;
      case ListIssue::node_out_of_range: return errc::node_out_of_range;
      default: return errc::invalid_syntax;
    }
  }

  // One-line English description, e.g. "range 5-3 at column 2 is reversed (the kernel requires
  // start <= end)". Heap-free into `out` (NUL-terminated, cut to fit); returns the length stored.
  std::size_t format(std::span<char> out) const noexcept {
    return detail::format_to_span(out, [this](detail::TextWriter& w) { write(w); });
  }
  // The same text as a std::string (allocates).
  [[nodiscard]] std::string message() const noexcept {
    return detail::format_to_string([this](detail::TextWriter& w) { write(w); });
  }

  constexpr void write(detail::TextWriter& w) const noexcept;

  friend constexpr bool operator==(const ListError&, const ListError&) noexcept = default;
};

class NodeMask;
struct ListParse;

// The kernel's node-mask parameters, produced only by NodeMask::kernel_arg() (input: set_mempolicy,
// mbind, migrate_pages, ...) and NodeMask::kernel_out() (output: get_mempolicy, get_task_mempolicy).
struct KernelMaskArg {
  const unsigned long* nmask;
  unsigned long maxnode;
};
struct KernelMaskOut {
  unsigned long* nmask;
  unsigned long maxnode;
};

class NodeMask {
 public:
  using word_type = unsigned long;  // the kernel ABI's word: `unsigned long *nmask`

  // 1 << NODES_SHIFT with the largest NODES_SHIFT any kernel allows, so every nodemask_t fits.
  static constexpr std::size_t capacity = max_nodes;
  static constexpr std::size_t word_bits = sizeof(word_type) * CHAR_BIT;
  static constexpr std::size_t word_count = capacity / word_bits;
  // Returned by first()/next() when there is no further node.
  static constexpr std::size_t npos = capacity;
  // The kernel's get_nodes() decrements maxnode before using it: to pass N bits, say N + 1.
  // This constant is the only place that knows the rule.
  static constexpr unsigned long kernel_maxnode = capacity + 1;

  static_assert(capacity % word_bits == 0);

  constexpr NodeMask() noexcept = default;

  // Nodes known when the program is compiled: NodeMask::of<0, 2>(). A node beyond the capacity
  // does not compile. (No constructor takes a list: one that cannot fail would have to drop an
  // out-of-range node, and a consteval one crashes Clang 14 in some returns.)
  template <std::size_t... Nodes>
  [[nodiscard]] static constexpr NodeMask of() noexcept {
    static_assert(((Nodes < capacity) && ...), "NodeMask::of: a node beyond the capacity (1023) names no node");
    NodeMask m;
    ((m.words_[Nodes / word_bits] |= bit(Nodes)), ...);
    return m;
  }

  // Nodes known at run time: the nodes given, or errc::node_out_of_range when one is >= capacity
  // (no such node on any kernel): a node is never dropped silently.
  [[nodiscard]] static result<NodeMask> make(std::span<const std::size_t> nodes) noexcept {
    NodeMask m;
    for (std::size_t n : nodes)
      if (!m.set(n)) return errc::node_out_of_range;
    return m;
  }
  [[nodiscard]] static result<NodeMask> make(std::initializer_list<std::size_t> nodes) noexcept {
    return make(std::span<const std::size_t>(nodes.begin(), nodes.size()));
  }

  // All nodes 0..count-1 (count is clamped to capacity).
  static constexpr NodeMask first_n(std::size_t count) noexcept {
    NodeMask m;
    for (std::size_t n = 0; n < count && n < capacity; ++n) m.words_[n / word_bits] |= bit(n);
    return m;
  }

  // Returns false (and changes nothing) when node >= capacity.
  [[nodiscard]] constexpr bool set(std::size_t node) noexcept {
    if (node >= capacity) return false;
    words_[node / word_bits] |= bit(node);
    return true;
  }
  [[nodiscard]] constexpr bool reset(std::size_t node) noexcept {
    if (node >= capacity) return false;
    words_[node / word_bits] &= ~bit(node);
    return true;
  }
  constexpr void clear() noexcept { words_ = {}; }

  [[nodiscard]] constexpr bool test(std::size_t node) const noexcept {
    return node < capacity && (words_[node / word_bits] & bit(node)) != 0;
  }
  [[nodiscard]] constexpr std::size_t count() const noexcept {
    std::size_t total = 0;
    for (word_type w : words_) total += static_cast<std::size_t>(std::popcount(w));
    return total;
  }
  [[nodiscard]] constexpr bool empty() const noexcept {
    for (word_type w : words_)
      if (w != 0) return false;
    return true;
  }
  [[nodiscard]] constexpr bool any() const noexcept { return !empty(); }

  // First set node, or npos.
  [[nodiscard]] constexpr std::size_t first() const noexcept { return scan_from(0); }
  // First set node greater than `node`, or npos.
  [[nodiscard]] constexpr std::size_t next(std::size_t node) const noexcept {
    return node >= capacity - 1 ? npos : scan_from(node + 1);
  }
  // Largest set node, or npos.
  [[nodiscard]] constexpr std::size_t last() const noexcept {
    for (std::size_t i = word_count; i-- > 0;)
      if (words_[i] != 0) return i * word_bits + (word_bits - 1 - static_cast<std::size_t>(std::countl_zero(words_[i])));
    return npos;
  }

  [[nodiscard]] constexpr bool is_subset_of(const NodeMask& other) const noexcept {
    for (std::size_t i = 0; i < word_count; ++i)
      if ((words_[i] & ~other.words_[i]) != 0) return false;
    return true;
  }
  [[nodiscard]] constexpr bool intersects(const NodeMask& other) const noexcept { return (*this & other).any(); }

  constexpr NodeMask& operator|=(const NodeMask& o) noexcept { return combine(o, [](word_type a, word_type b) { return a | b; }); }
  constexpr NodeMask& operator&=(const NodeMask& o) noexcept { return combine(o, [](word_type a, word_type b) { return a & b; }); }
  constexpr NodeMask& operator^=(const NodeMask& o) noexcept { return combine(o, [](word_type a, word_type b) { return a ^ b; }); }
  friend constexpr NodeMask operator|(NodeMask a, const NodeMask& b) noexcept { return a |= b; }
  friend constexpr NodeMask operator&(NodeMask a, const NodeMask& b) noexcept { return a &= b; }
  friend constexpr NodeMask operator^(NodeMask a, const NodeMask& b) noexcept { return a ^= b; }
  // Complement within [0, capacity).
  friend constexpr NodeMask operator~(NodeMask a) noexcept {
    for (word_type& w : a.words_) w = ~w;
    return a;
  }
  friend constexpr bool operator==(const NodeMask&, const NodeMask&) noexcept = default;

  // Read-only word view in the kernel's layout (bit n of the mask is bit n%word_bits of word n/word_bits).
  [[nodiscard]] constexpr std::span<const word_type, word_count> words() const noexcept { return words_; }

  // The one conversion to the kernel ABI (set_mempolicy, mbind, migrate_pages, ...).
  [[nodiscard]] constexpr KernelMaskArg kernel_arg() const noexcept { return {words_.data(), kernel_maxnode}; }
  // ... and back: the buffer a get call (get_mempolicy, get_task_mempolicy) writes the mask into.
  // maxnode - 1 == capacity, so the kernel writes exactly these words (copy_nodes_to_user zeroes
  // what lies beyond its own node count) and nothing needs converting afterwards.
  [[nodiscard]] constexpr KernelMaskOut kernel_out() noexcept { return {words_.data(), kernel_maxnode}; }

  // A mask from a kernel-layout buffer of any size (maxnode - 1 bits of kernel_words), for callers
  // with buffers of their own; the library's get calls use kernel_out(). Bits at or beyond
  // capacity are dropped: they cannot name a node.
  static constexpr NodeMask from_kernel(std::span<const word_type> kernel_words, unsigned long maxnode) noexcept {
    NodeMask m;
    const std::size_t bits = maxnode == 0 ? 0 : static_cast<std::size_t>(maxnode - 1);
    const std::size_t usable = bits < capacity ? bits : capacity;
    for (std::size_t i = 0; i < word_count && i * word_bits < usable && i < kernel_words.size(); ++i) {
      word_type w = kernel_words[i];
      const std::size_t remaining = usable - i * word_bits;
      if (remaining < word_bits) w &= (word_type{1} << remaining) - 1;
      m.words_[i] = w;
    }
    return m;
  }

  // Sets nodes [first, first + count). Returns false (and changes nothing) when that range
  // reaches beyond capacity.
  [[nodiscard]] constexpr bool set_range(std::size_t first_node, std::size_t count) noexcept {
    if (first_node > capacity || count > capacity - first_node) return false;
    if (count == 0) return true;
    const std::size_t last_node = first_node + count - 1;
    const std::size_t first_word = first_node / word_bits;
    const std::size_t last_word = last_node / word_bits;
    const word_type low = ~word_type{0} << (first_node % word_bits);           // bits first_node.. of its word
    const word_type high = ~word_type{0} >> (word_bits - 1 - last_node % word_bits);  // ..last_node of its word
    if (first_word == last_word) {
      words_[first_word] |= low & high;
      return true;
    }
    words_[first_word] |= low;
    for (std::size_t w = first_word + 1; w < last_word; ++w) words_[w] = ~word_type{0};
    words_[last_word] |= high;
    return true;
  }

  // ---- Text: the kernel's node-list grammar and its printed form ------------------------------
  //
  // Grammar: exactly what Linux 6.12's bitmap_parselist() (lib/bitmap-str.c) accepts for a
  // 1024-bit mask (MAX_NUMNODES with CONFIG_NODES_SHIFT=10: x86_64 MAXSMP, Debian and our VM):
  //   list    := { sep } [ region { sep+ region } ] { sep }      sep := ',' | kernel isspace
  //   region  := ( number [ '-' number ] | 'all' ) [ ':' number '/' number ]   (no stride after a
  //              single number; 'all' is case-insensitive and means 0-1023)
  //   number  := decimal digits (leading zeros fine, no sign, no hex) | 'N' (= 1023)
  // with these kernel facts, each reproduced and tested:
  //   - a region must end at a separator or the end; commas and whitespace may repeat, lead and
  //     trail ("", ",", " 0 ,, 1 " are valid; "" is the empty set);
  //   - '\n' right after a number or range (or after 'all') ends the list: anything after it is
  //     ignored ("0\n junk" is {0}); elsewhere '\n' is whitespace, so "0,\n5" and "0-7:1/2\n5"
  //     also take 5;
  //   - kernel isspace includes \v, \f, \r and byte 0xA0;
  //   - a stride is a-b:used/group: from each group of `group` nodes starting at a, the first
  //     `used` (0-1023:2/256 is 0,1,256,257,512,513,768,769); used <= group, group >= 1; the
  //     kernel does not look for a separator after a stride, so "0-3:1/2N" is {0,2,1023};
  //   - the group is added in 32-bit unsigned arithmetic, exactly as the kernel does, so a group
  //     near 2^32 wraps around ("2-5:1/4294967295" is {0,1,2});
  //   - errors: reversed range, zero group, used > group, missing number, stray character:
  //     EINVAL; number > 4294967295: EOVERFLOW; node >= 1024: ERANGE ("4294967295" alone is
  //     EINVAL, since the kernel's end+1 wraps to a zero group; we report node_out_of_range with
  //     kernel_errno EINVAL).
  // A NUL byte is refused (ListIssue::embedded_nul): the kernel never receives one.
  // On kernels built with a smaller MAX_NUMNODES, 'N' and 'all' mean a smaller last node and
  // numbers between MAX_NUMNODES and 1023 give ERANGE there; whether a list is accepted as a
  // *policy* does not change, since such nodes never have memory, except for strides whose
  // groups only reach nodes with memory under one of the two widths.
  //
  // Printing: exactly the kernel's "%*pbl" (lib/vsprintf.c bitmap_list_string): ascending
  // comma-separated runs, a run of one as "n", longer runs as "a-b" ("0-2,5,7-9"); the empty
  // mask prints as the empty string.

  // The longest text to_chars() can produce (the runs of two separated by one gap, over 1024
  // nodes, measured exhaustively by tests/unit/node_mask.test.cpp).
  static constexpr std::size_t max_list_chars = 2673;

  // Constant-evaluable core of parse(): the nodes, or the error that stopped the scan.
  [[nodiscard]] static constexpr ListParse parse_detailed(std::string_view text) noexcept;

  // Parses `text` with the grammar above. On failure the error is errc::invalid_syntax or
  // errc::node_out_of_range, and `*error` (when given) gets the kind, column and numbers.
  [[nodiscard]] static result<NodeMask> parse(std::string_view text, ListError* error = nullptr) noexcept;

  // Writes the "%*pbl" form into [first, last) without a terminating NUL, like std::to_chars:
  // returns {end of text, errc{}} or, when it does not fit, {last, std::errc::value_too_large}
  // (the range then holds a cut prefix).
  constexpr std::to_chars_result to_chars(char* first_char, char* last_char) const noexcept {
    detail::TextWriter w(first_char, last_char);
    write_list(w);
    if (w.overflowed()) return {last_char, std::errc::value_too_large};
    return {w.position(), std::errc{}};
  }
  // Length of the "%*pbl" form.
  [[nodiscard]] constexpr std::size_t list_length() const noexcept {
    detail::TextWriter counter(nullptr, nullptr);
    write_list(counter);
    return counter.needed();
  }
  // The "%*pbl" form in inline storage (no heap).
  [[nodiscard]] constexpr FixedString<max_list_chars> to_fixed_string() const noexcept {
    FixedString<max_list_chars> text;
    const std::to_chars_result r = to_chars(text.writable_begin(), text.writable_end());
    text.commit(static_cast<std::size_t>(r.ptr - text.writable_begin()));
    return text;
  }
  // The "%*pbl" form as a std::string. Allocates (out of memory terminates: noexcept).
  [[nodiscard]] std::string to_string() const noexcept {
    return detail::format_to_string([this](detail::TextWriter& w) { write_list(w); });
  }

  // Writes the "%*pbl" form through a writer; the building block of every printer above.
  constexpr void write_list(detail::TextWriter& w) const noexcept {
    bool first_run = true;
    std::size_t low = first();
    while (low != npos) {
      const std::size_t high = clear_from(low);  // one past the run
      if (!first_run) w.put(',');
      first_run = false;
      w.put_uint(low);
      if (high - low > 1) {
        w.put('-');
        w.put_uint(high - 1);
      }
      low = high >= capacity ? npos : scan_from(high);
    }
  }

  // Iteration over the set nodes in increasing order.
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::size_t;

    constexpr iterator() noexcept = default;
    constexpr std::size_t operator*() const noexcept { return node_; }
    constexpr iterator& operator++() noexcept {
      node_ = mask_->next(node_);
      return *this;
    }
    constexpr iterator operator++(int) noexcept {
      iterator old = *this;
      ++*this;
      return old;
    }
    friend constexpr bool operator==(const iterator& a, const iterator& b) noexcept { return a.node_ == b.node_; }

   private:
    friend class NodeMask;
    constexpr iterator(const NodeMask* mask, std::size_t node) noexcept : mask_(mask), node_(node) {}
    const NodeMask* mask_ = nullptr;
    std::size_t node_ = npos;
  };
  [[nodiscard]] constexpr iterator begin() const noexcept { return {this, first()}; }
  [[nodiscard]] constexpr iterator end() const noexcept { return {this, npos}; }

 private:
  friend class detail::NodeListScanner;  // sets single nodes straight into words_

  static constexpr word_type bit(std::size_t node) noexcept { return word_type{1} << (node % word_bits); }

  constexpr std::size_t scan_from(std::size_t node) const noexcept {
    std::size_t i = node / word_bits;
    if (i >= word_count) return npos;
    word_type w = words_[i] & (~word_type{0} << (node % word_bits));
    while (true) {
      if (w != 0) return i * word_bits + static_cast<std::size_t>(std::countr_zero(w));
      if (++i == word_count) return npos;
      w = words_[i];
    }
  }

  // First node >= `node` that is NOT set, or capacity.
  constexpr std::size_t clear_from(std::size_t node) const noexcept {
    std::size_t i = node / word_bits;
    if (i >= word_count) return capacity;
    word_type w = ~words_[i] & (~word_type{0} << (node % word_bits));
    while (true) {
      if (w != 0) return i * word_bits + static_cast<std::size_t>(std::countr_zero(w));
      if (++i == word_count) return capacity;
      w = ~words_[i];
    }
  }

  template <class Op>
  constexpr NodeMask& combine(const NodeMask& o, Op op) noexcept {
    for (std::size_t i = 0; i < word_count; ++i) words_[i] = op(words_[i], o.words_[i]);
    return *this;
  }

  std::array<word_type, word_count> words_{};
};

// The result of NodeMask::parse_detailed(): usable in constant expressions, unlike result<T>.
struct ListParse {
  NodeMask nodes;
  ListError error;
  [[nodiscard]] constexpr bool ok() const noexcept { return !error.failed(); }
};

namespace detail {

// A transcription of bitmap_parselist() (lib/bitmap-str.c, Linux 6.12) over a string_view:
// bitmap_find_region, bitmap_parse_region, bitmap_getnum, bitmap_check_region and
// bitmap_set_region keep their order of checks, so each input fails with the kernel's errno.
// Reading past the end yields '\0', which is where the kernel's C string would end.
class NodeListScanner {
 public:
  static constexpr std::uint32_t nbits = static_cast<std::uint32_t>(NodeMask::capacity);
  static constexpr std::uint32_t lastbit = nbits - 1;

  constexpr explicit NodeListScanner(std::string_view text) noexcept : text_(text) {}

  // Sets the listed nodes in mask; returns the first error (the mask then holds what came before).
  constexpr ListError run(NodeMask& mask) const noexcept {
    std::size_t stop = 0;
    const ListError e = scan(mask, stop);
    // A NUL byte anywhere is refused before any other error: the kernel reads a C string and
    // would never see what follows it. The scan reads a NUL as the end of the text, so only a
    // scan that failed, or that ended before the end of the text (at that NUL, or at a newline
    // that ends the list), can have left one unseen: look for it then, not in every text.
    if (e.failed() || stop < text_.size()) {
      if (const std::size_t nul = text_.find('\0'); nul != std::string_view::npos)
        return fail(ListIssue::embedded_nul, 0, nul, 1);
    }
    return e;
  }

 private:
  // The transcription itself; on success *stop is where it ended. The position lives in a local,
  // not in the scanner: the mask's words are unsigned long, as std::size_t is, so a member
  // position would be reloaded from memory after every store to the mask.
  constexpr ListError scan(NodeMask& mask, std::size_t& stop) const noexcept {
    const std::string_view text = text_;
    const std::size_t size = text.size();
    // Reading past the end yields '\0', which is where the kernel's C string would end.
    const auto at = [text, size](std::size_t i) {
      return i < size ? static_cast<unsigned char>(text[i]) : static_cast<unsigned char>(0);
    };
    std::size_t pos = 0;
    ListError failure{};

    // bitmap_getnum(): 'N' is the last bit; otherwise base-10 digits, all of them consumed even
    // after an overflow (the kernel's _parse_integer does the same).
    const auto number = [&](std::uint32_t& out) {
      unsigned char c = at(pos);
      if (c == 'N') {
        out = lastbit;
        ++pos;
        return true;
      }
      const std::size_t begin = pos;
      std::uint64_t value = 0;  // at most 4294967295 * 10 + 9 before the check: no wrap
      while (kernel_ctype::is_digit(c)) {
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
        c = at(++pos);
        if (value > 0xffffffffULL) {
          while (kernel_ctype::is_digit(c)) c = at(++pos);
          failure = fail(ListIssue::number_overflow, eoverflow, begin, pos - begin);
          return false;
        }
      }
      if (pos == begin) {
        failure = fail(ListIssue::expected_number, einval, begin, c == 0 ? 0 : 1);
        failure.found = static_cast<char>(c);
        return false;
      }
      out = static_cast<std::uint32_t>(value);
      return true;
    };
    const auto unexpected = [&] {
      const unsigned char c = at(pos);
      ListError e = fail(ListIssue::unexpected_character, einval, pos, c == 0 ? 0 : 1);
      e.found = static_cast<char>(c);
      return e;
    };

    while (true) {
      // bitmap_find_region(): skip commas and whitespace ('\n' is whitespace here); only the
      // end of the string ends the list at this point.
      unsigned char c = at(pos);
      while (region_separator(c)) c = at(++pos);
      if (c == 0) {
        stop = pos;
        return {};
      }

      // bitmap_parse_region()
      const std::size_t region_column = pos;
      std::uint32_t start = 0;
      std::uint32_t end = 0;
      std::uint32_t used = 0;
      std::uint32_t group = 0;
      bool pattern = false;
      if (ascii_lower(c) == 'a' && ascii_lower(at(pos + 1)) == 'l' && ascii_lower(at(pos + 2)) == 'l') {
        end = lastbit;  // strncasecmp(str, "all", 3)
        pos += 3;
      } else {
        if (!number(start)) return failure;
        c = at(pos);
        if (end_of_region(c)) {
          // The kernel's `no_end` path: one node, no stride. bitmap_check_region() below would
          // find start == end, and group = end + 1, zero only for 4294967295 (EINVAL); any other
          // node beyond the mask is ERANGE.
          if (start >= nbits)
            return fail(ListIssue::node_out_of_range, start == 0xffffffffU ? einval : erange, region_column,
                        pos - region_column, start);
          mask.words_[start / NodeMask::word_bits] |= NodeMask::bit(start);
          if (end_of_str(c)) {  // '\n' after a region ends the whole list
            stop = pos;
            return {};
          }
          continue;
        }
        if (c != '-') return unexpected();
        ++pos;
        if (!number(end)) return failure;
      }
      if (!end_of_region(at(pos))) {
        if (at(pos) != ':') return unexpected();
        ++pos;
        if (!number(used)) return failure;
        if (at(pos) != '/') return unexpected();
        ++pos;
        if (!number(group)) return failure;
        pattern = true;  // the kernel returns here without looking at what follows
      }
      bool last_region = false;
      if (!pattern) {
        used = end + 1u;  // unsigned int: wraps to 0 for end == 4294967295, as in the kernel
        group = end + 1u;
        last_region = end_of_str(at(pos));  // '\n' after a region ends the whole list
      }

      // bitmap_check_region()
      const std::size_t region_length = pos - region_column;
      if (start > end) return fail(ListIssue::reversed_range, einval, region_column, region_length, start, end);
      if (group == 0) {
        // Without a stride the group is end + 1, which is zero only for end == 4294967295: the
        // kernel says EINVAL, the user sees a node far out of range.
        if (!pattern) return fail(ListIssue::node_out_of_range, einval, region_column, region_length, end);
        return fail(ListIssue::zero_group_size, einval, region_column, region_length);
      }
      if (used > group) return fail(ListIssue::used_exceeds_group, einval, region_column, region_length, used, group);
      if (end >= nbits) return fail(ListIssue::node_out_of_range, erange, region_column, region_length, end);

      // bitmap_set_region(): `first += group` in unsigned int, wrap-around included. The loop
      // ends: a group below 1024 climbs past `end`, a group near 2^32 walks down and wraps to a
      // huge value, anything between jumps past `end` at once (at most 1025 rounds). Without a
      // stride it runs once. The ranges lie below nbits, so set_range cannot refuse them.
      for (std::uint32_t first = start; first <= end; first += group) {
        const std::uint32_t left = end - first + 1u;
        static_cast<void>(mask.set_range(first, left < used ? left : used));
      }
      if (last_region) {
        stop = pos;
        return {};
      }
    }
  }

  // The errnos bitmap_parselist() returns (negated there), as ListError::kernel_errno reports them.
  static constexpr int einval = EINVAL;
  static constexpr int erange = ERANGE;
  static constexpr int eoverflow = EOVERFLOW;

  static constexpr unsigned char ascii_lower(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + ('a' - 'A')) : c;
  }
  // What each byte is to the scanner, looked up rather than compared: the separator test runs at
  // every region boundary and for the byte after every number.
  static constexpr unsigned char separator = 1;  // ',' or kernel isspace
  static constexpr unsigned char string_end = 2;  // NUL or '\n'
  static constexpr std::array<unsigned char, 256> classes = [] {
    std::array<unsigned char, 256> t{};
    for (unsigned c = 0; c < 256; ++c) {
      const auto u = static_cast<unsigned char>(c);
      if (u == ',' || kernel_ctype::is_space(u)) t[c] |= separator;
      if (u == 0 || u == '\n') t[c] |= string_end;
    }
    return t;
  }();
  static constexpr bool end_of_str(unsigned char c) noexcept { return (classes[c] & string_end) != 0; }
  static constexpr bool region_separator(unsigned char c) noexcept { return (classes[c] & separator) != 0; }
  static constexpr bool end_of_region(unsigned char c) noexcept { return classes[c] != 0; }

  static constexpr ListError fail(ListIssue issue, int kernel_errno, std::size_t column, std::size_t length,
                                  std::uint32_t first = 0, std::uint32_t second = 0) noexcept {
    return ListError{issue, kernel_errno, column, length, first, second, '\0'};
  }

  std::string_view text_;
};

}  // namespace detail

constexpr ListParse NodeMask::parse_detailed(std::string_view text) noexcept {
  ListParse out;
  detail::NodeListScanner scanner(text);
  out.error = scanner.run(out.nodes);
  if (out.error.failed()) out.nodes.clear();
  return out;
}

inline result<NodeMask> NodeMask::parse(std::string_view text, ListError* error) noexcept {
  // The scanner writes straight into the result, which is returned from this one variable: no
  // copy of the 128-byte mask on the way out.
  result<NodeMask> parsed{std::in_place_type<NodeMask>};
  detail::NodeListScanner scanner(text);
  const ListError found = scanner.run(parsed.assume_value());
  if (error != nullptr) *error = found;
  if (found.failed()) parsed = found.code();
  return parsed;
}

constexpr void ListError::write(detail::TextWriter& w) const noexcept {
  const auto at_column = [&] {
    w.put(" at column ");
    w.put_uint(column);
  };
  switch (issue) {
    case ListIssue::none:
      w.put("no error");
      return;
    case ListIssue::embedded_nul:
      w.put("NUL byte");
      at_column();
      w.put(" (the kernel reads a C string and would stop there)");
      return;
    case ListIssue::expected_number:
      w.put("expected a node number, 'N' or 'all'");
      at_column();
      if (found == '\0') {
        w.put(", found the end of the list");
      } else {
        w.put(", found '");
        w.put_visible(found);
        w.put('\'');
      }
      return;
    case ListIssue::unexpected_character:
      if (found == '\0') {
        w.put("node list ends early");
        at_column();
        w.put(" (a stride is written a-b:used/group)");
      } else {
        w.put("unexpected '");
        w.put_visible(found);
        w.put('\'');
        at_column();
        w.put(" (the kernel accepts decimal numbers, 'N', 'all', a-b, a-b:used/group, ',' and spaces)");
      }
      return;
    case ListIssue::reversed_range:
      w.put("range ");
      w.put_uint(first);
      w.put('-');
      w.put_uint(second);
      at_column();
      w.put(" is reversed (the kernel requires start <= end)");
      return;
    case ListIssue::zero_group_size:
      w.put("stride group size 0");
      at_column();
      w.put(" (a-b:used/group needs a group of at least 1)");
      return;
    case ListIssue::used_exceeds_group:
      w.put("stride uses ");
      w.put_uint(first);
      w.put(" of every ");
      w.put_uint(second);
      w.put(" nodes");
      at_column();
      w.put(" (used must not exceed the group size)");
      return;
    case ListIssue::number_overflow:
      w.put("number");
      at_column();
      w.put(" does not fit the kernel's unsigned int (largest 4294967295)");
      return;
    case ListIssue::node_out_of_range:
      w.put("node ");
      w.put_uint(first);
      at_column();
      w.put(" is beyond the largest node ");
      w.put_uint(NodeMask::capacity - 1);
      return;
  }
  w.put("unknown node-list error");
}

static_assert(sizeof(NodeMask) == NodeMask::capacity / CHAR_BIT, "NodeMask must be exactly the kernel's 1024-bit mask");

}  // namespace taskmpol
