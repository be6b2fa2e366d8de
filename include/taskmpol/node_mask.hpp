// SPDX-License-Identifier: MIT
// NodeMask: a fixed-capacity set of NUMA node ids, constexpr and heap-free, plus the single
// conversion to and from the kernel's (unsigned long *nmask, unsigned long maxnode) ABI.
#pragma once

#include <taskmpol/error.hpp>

#include <array>
#include <bit>
#include <climits>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <span>

namespace taskmpol {

// Arguments for the kernel's node-mask parameters, produced only by NodeMask::kernel_arg().
struct KernelMaskArg {
  const unsigned long* nmask;
  unsigned long maxnode;
};

class NodeMask {
 public:
  using word_type = unsigned long;  // the kernel ABI's word: `unsigned long *nmask`

  // 1024 = 1 << NODES_SHIFT with the largest NODES_SHIFT (10) any x86_64 kernel allows, so every
  // kernel's nodemask_t fits.
  static constexpr std::size_t capacity = 1024;
  static constexpr std::size_t word_bits = sizeof(word_type) * CHAR_BIT;
  static constexpr std::size_t word_count = capacity / word_bits;
  // Returned by first()/next() when there is no further node.
  static constexpr std::size_t npos = capacity;
  // The kernel's get_nodes() decrements maxnode before using it: to pass N bits, say N + 1.
  // This constant is the only place that knows the rule.
  static constexpr unsigned long kernel_maxnode = capacity + 1;

  static_assert(capacity % word_bits == 0);

  constexpr NodeMask() noexcept = default;

  // Nodes >= capacity are ignored (there is no such node on any kernel).
  constexpr NodeMask(std::initializer_list<std::size_t> nodes) noexcept {
    for (std::size_t n : nodes) set(n);
  }

  // All nodes 0..count-1 (count is clamped to capacity).
  static constexpr NodeMask first_n(std::size_t count) noexcept {
    NodeMask m;
    for (std::size_t n = 0; n < count && n < capacity; ++n) m.set(n);
    return m;
  }

  // Returns false (and changes nothing) when node >= capacity.
  constexpr bool set(std::size_t node) noexcept {
    if (node >= capacity) return false;
    words_[node / word_bits] |= bit(node);
    return true;
  }
  constexpr bool reset(std::size_t node) noexcept {
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

  // The one conversion back: reads the maxnode - 1 bits the kernel wrote (get_mempolicy,
  // get_task_mempolicy). Bits at or beyond capacity are dropped; they cannot name a node.
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

  template <class Op>
  constexpr NodeMask& combine(const NodeMask& o, Op op) noexcept {
    for (std::size_t i = 0; i < word_count; ++i) words_[i] = op(words_[i], o.words_[i]);
    return *this;
  }

  std::array<word_type, word_count> words_{};
};

static_assert(sizeof(NodeMask) == NodeMask::capacity / CHAR_BIT, "NodeMask must be exactly the kernel's 1024-bit mask");

}  // namespace taskmpol
