// SPDX-License-Identifier: MIT
// libFuzzer target for the text grammar: NodeMask::parse and parse_policy in both dialects, over
// arbitrary bytes and arbitrary sets of nodes with memory. Besides "no crash, no UB, no leak"
// (ASan + UBSan), it checks the properties the grammar promises:
//   - print never overflows: every printer writes into a heap buffer of exactly the announced
//     size (ASan traps one byte too far), one byte less reports value_too_large, and the text
//     never exceeds max_list_chars / max_policy_chars;
//   - round trip: whenever parse(x) succeeds, parse(print(parse(x))) == parse(x); the kernel
//     dialect never yields balancing (which it cannot read back), the extended dialect reads
//     everything it prints, and its canonical output is kernel-parseable unless it has balancing;
//   - the dialects nest: kernel accepts => extended accepts the same policy with no warning;
//     extended accepts what kernel refuses => a warning says so;
//   - the result and the diagnostic agree (error code, failed()), messages fit any buffer, and
//     every parsed policy is one Policy::make builds from its parts.
//
// Input layout: byte 0 picks the dialect (bit 0) and the nodes with memory (bits 1-3: seven fixed
// layouts, or 7 = the next 8 bytes are a 64-node window placed by bits 4-7); the rest is the text.
#include <taskmpol/policy.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

namespace tp = taskmpol;

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

tp::NodeMask memory_layout(const std::uint8_t*& data, std::size_t& size, std::uint8_t control) {
  switch ((control >> 1) & 7u) {
    case 0: return tp::NodeMask::of<0>();
    case 1: return tp::NodeMask::of<0, 1, 2>();
    case 2: return tp::NodeMask{};
    case 3: return ~tp::NodeMask{};
    case 4: return tp::NodeMask::first_n(64);
    case 5: return tp::NodeMask::of<1023>();
    case 6: return tp::NodeMask::of<0, 2, 5, 64>();
    default: break;
  }
  tp::NodeMask m;
  const std::size_t base = static_cast<std::size_t>(control >> 4) * 64;
  for (std::size_t i = 0; i < 8 && size > 0; ++i, ++data, --size)
    for (std::size_t b = 0; b < 8; ++b)
      if ((*data >> b) & 1u) FUZZ_CHECK(m.set(base + i * 8 + b));
  return m;
}

// Prints through to_chars into a heap buffer of exactly `length` bytes (ASan catches any write
// past it), then checks that one byte less is reported, not overrun.
template <class Print>
void check_exact_print(std::size_t length, std::string_view expected, const Print& print) {
  std::unique_ptr<char[]> exact(new char[length == 0 ? 1 : length]);
  const std::to_chars_result ok = print(exact.get(), exact.get() + length);
  FUZZ_CHECK(ok.ec == std::errc{});
  FUZZ_CHECK(static_cast<std::size_t>(ok.ptr - exact.get()) == length);
  FUZZ_CHECK(std::string_view(exact.get(), length) == expected);
  if (length > 0) {
    std::unique_ptr<char[]> shorter(new char[length - 1 == 0 ? 1 : length - 1]);
    const std::to_chars_result cut = print(shorter.get(), shorter.get() + (length - 1));
    FUZZ_CHECK(cut.ec == std::errc::value_too_large);
  }
}

// Formats a message into heap buffers of several exact sizes.
template <class Diagnostic>
void check_format(const Diagnostic& d) {
  const std::size_t full = d.message().size();
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{7}, full, full + 1}) {
    std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);
    const std::size_t n = d.format(std::span<char>(buf.get(), size));
    FUZZ_CHECK(size == 0 ? n == 0 : n < size && buf[n] == '\0');
    FUZZ_CHECK(n <= full);
  }
}

void check_list(std::string_view text) {
  const tp::ListParse parsed = tp::NodeMask::parse_detailed(text);
  tp::ListError error;
  const tp::result<tp::NodeMask> r = tp::NodeMask::parse(text, &error);
  FUZZ_CHECK(r.has_value() == parsed.ok());
  FUZZ_CHECK(error == parsed.error);
  if (!parsed.ok()) {
    FUZZ_CHECK(r.error() == error.code());
    FUZZ_CHECK(error.column <= text.size());
    FUZZ_CHECK(error.column + error.length <= text.size());
    check_format(error);
    return;
  }
  const tp::NodeMask& nodes = parsed.nodes;
  FUZZ_CHECK(r.value() == nodes);
  // parse() is the transcription of bitmap_parselist itself.
  tp::NodeMask scanned;
  FUZZ_CHECK(!tp::detail::NodeListScanner(text).run(scanned).failed());
  FUZZ_CHECK(scanned == nodes);
  const tp::FixedString<tp::NodeMask::max_list_chars> printed = nodes.to_fixed_string();
  FUZZ_CHECK(printed.size() == nodes.list_length());
  FUZZ_CHECK(printed.size() <= tp::NodeMask::max_list_chars);
  check_exact_print(printed.size(), printed.view(), [&](char* first, char* last) { return nodes.to_chars(first, last); });
  const tp::ListParse again = tp::NodeMask::parse_detailed(printed.view());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.nodes == nodes);
}

void check_policy(std::string_view text, const tp::NodeMask& memory) {
  tp::PolicyDiagnostic kd;
  tp::PolicyDiagnostic ed;
  const tp::result<tp::Policy> k = tp::parse_policy(text, memory, tp::Dialect::kernel, &kd);
  const tp::result<tp::Policy> e = tp::parse_policy(text, memory, tp::Dialect::extended, &ed);

  for (const auto* pair : {&kd, &ed}) check_format(*pair);
  FUZZ_CHECK(kd.failed() != k.has_value());
  FUZZ_CHECK(ed.failed() != e.has_value());
  if (!k) FUZZ_CHECK(k.error() == kd.code());
  if (!e) FUZZ_CHECK(e.error() == ed.code());
  if (kd.failed()) FUZZ_CHECK(kd.column <= text.size());
  if (ed.failed()) FUZZ_CHECK(ed.column <= text.size());

  if (k) {
    FUZZ_CHECK(!kd.has_warnings());
    FUZZ_CHECK(!k.value().flags().has(tp::ModeFlag::numa_balancing));
    FUZZ_CHECK(e.has_value());
    FUZZ_CHECK(e.value() == k.value());
    FUZZ_CHECK(!ed.has_warnings());
  } else if (e) {
    FUZZ_CHECK(ed.has_warnings());
  }
  if (!e) return;

  const tp::Policy& policy = e.value();
  const tp::result<tp::Policy> made = tp::Policy::make(policy.mode(), policy.flags(), policy.nodes());
  FUZZ_CHECK(made.has_value() && made.value() == policy);

  const tp::FixedString<tp::max_policy_chars> printed = tp::to_fixed_string(policy);
  FUZZ_CHECK(printed.size() <= tp::max_policy_chars);
  check_exact_print(printed.size(), printed.view(), [&](char* first, char* last) { return tp::to_chars(first, last, policy); });

  tp::PolicyDiagnostic back;
  const tp::result<tp::Policy> extended_again = tp::parse_policy(printed.view(), memory, tp::Dialect::extended, &back);
  FUZZ_CHECK(extended_again.has_value() && extended_again.value() == policy);
  const tp::result<tp::Policy> kernel_again = tp::parse_policy(printed.view(), memory, tp::Dialect::kernel);
  if (policy.flags().has(tp::ModeFlag::numa_balancing)) {
    FUZZ_CHECK(!kernel_again.has_value());  // '=balancing' is printed, never parsed by the kernel
    FUZZ_CHECK(back.has_warning(tp::PolicyWarning::balancing_flag));
  } else {
    FUZZ_CHECK(kernel_again.has_value() && kernel_again.value() == policy);
    FUZZ_CHECK(!back.has_warnings());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = *data++;
  --size;
  const tp::NodeMask memory = memory_layout(data, size, control);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_list(text);
  check_policy(text, memory);
  // Also the node list as parse_policy sees it: everything after the first ':'.
  if (const std::size_t colon = text.find(':'); colon != std::string_view::npos) check_list(text.substr(colon + 1));
  return 0;
}
