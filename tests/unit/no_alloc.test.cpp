// SPDX-License-Identifier: MIT
// Proves that parsing and printing never touch the heap: this executable replaces the global
// operator new/delete with counting versions, then runs the whole grammar corpus through every
// parse, print and message-formatting entry point that promises to be heap-free, in both
// dialects and against several memory layouts, and asserts that not one allocation happened.
// A positive control shows the counter does see allocations (the documented allocating
// conveniences), so a zero cannot come from a replacement that is not in effect.
#include <support/policy_corpus.hpp>
#include <taskmpol/policy.hpp>

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace {

std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};

void* counted_allocate(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  std::abort();  // this test binary has no use for bad_alloc
}

void* counted_allocate_aligned(std::size_t size, std::align_val_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  std::abort();
}

// Counts the allocations made by `body`.
template <class Body>
std::size_t allocations_during(const Body& body) {
  allocations.store(0);
  counting.store(true);
  body();
  counting.store(false);
  return allocations.load();
}

}  // namespace

void* operator new(std::size_t size) { return counted_allocate(size); }
void* operator new[](std::size_t size) { return counted_allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_allocate(size); }
void* operator new(std::size_t size, std::align_val_t align) { return counted_allocate_aligned(size, align); }
void* operator new[](std::size_t size, std::align_val_t align) { return counted_allocate_aligned(size, align); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace tp = taskmpol;

TEST_SUITE("no heap") {
  TEST_CASE("no heap: the allocation counter sees allocations") {
    tp::PolicyDiagnostic d;
    (void)tp::parse_policy("bind:7", tp::NodeMask::of<0>(), tp::Dialect::kernel, &d);
    const std::size_t seen = allocations_during([&] {
      const std::string message = d.message();  // documented to allocate
      // documented to allocate (longer than the small-string buffer)
      const std::string text = tp::NodeMask::of<0, 2, 4, 6, 8, 10, 12, 14>().to_string();
      CHECK_FALSE(message.empty());
      CHECK(text == "0,2,4,6,8,10,12,14");
    });
    CHECK(seen >= 2);
  }

  TEST_CASE("no heap: parse and print the whole corpus without one allocation") {
    // Everything the loop needs is prepared before counting starts.
    const std::vector<std::string> corpus = taskmpol_test::policy_corpus();
    const std::array<tp::NodeMask, 4> memories{tp::NodeMask::of<0>(), tp::NodeMask::of<0, 1, 2>(), tp::NodeMask{}, ~tp::NodeMask{}};
    std::array<char, tp::max_policy_chars> text{};
    std::array<char, 512> message{};
    std::size_t accepted = 0, rejected = 0, printed = 0, lists = 0;

    const std::size_t seen = allocations_during([&] {
      for (const std::string& input : corpus) {
        for (const tp::NodeMask& memory : memories) {
          for (const tp::Dialect dialect : {tp::Dialect::kernel, tp::Dialect::extended}) {
            tp::PolicyDiagnostic d;
            const tp::result<tp::Policy> p = tp::parse_policy(input, memory, dialect, &d);
            (void)d.format(message);
            if (!p) {
              ++rejected;
              (void)p.error().value();  // error_code: no allocation either
              continue;
            }
            ++accepted;
            const std::to_chars_result r = tp::to_chars(text.data(), text.data() + text.size(), p.value());
            if (r.ec == std::errc{}) ++printed;
            const tp::FixedString<tp::max_policy_chars> fixed = tp::to_fixed_string(p.value());
            if (!fixed.empty()) ++printed;
            (void)tp::parse_policy(fixed.view(), memory, dialect);
          }
        }
        // The node-list layer on its own, on whatever follows the first ':'.
        const std::size_t colon = input.find(':');
        const std::string_view list = colon == std::string::npos ? std::string_view(input) : std::string_view(input).substr(colon + 1);
        tp::ListError error;
        const tp::result<tp::NodeMask> m = tp::NodeMask::parse(list, &error);
        (void)error.format(message);
        if (m) {
          ++lists;
          (void)m.value().to_chars(text.data(), text.data() + text.size());
          (void)m.value().to_fixed_string();
          (void)m.value().list_length();
        }
      }
    });

    MESSAGE(corpus.size() << " texts x 4 memory layouts x 2 dialects: " << accepted << " accepted, " << rejected << " rejected, "
                          << printed << " prints, " << lists << " node lists; heap allocations: " << seen);
    CHECK(accepted > 1000);
    CHECK(rejected > 1000);
    CHECK(lists > 100);
    CHECK(seen == 0);
  }
}
