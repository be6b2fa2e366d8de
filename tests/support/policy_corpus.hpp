// SPDX-License-Identifier: MIT
// A deterministic corpus of policy texts, valid and invalid, for the differential test against
// the kernel, the zero-allocation test and the fuzzer's seeds. Test-only.
//
// It crosses mode names (kernel names, numactl aliases, misspellings, case and space variants)
// with flag texts (none, static, relative, balancing, lists, garbage) and node-list shapes (none,
// empty, single, range, stride, all, N, whitespace, newlines, reversed, overflow, nodes without
// memory, duplicates, stray characters), then adds hand-written cases for the kernel's strchr()
// splitting and for length limits.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace taskmpol_test {

inline const std::vector<std::string>& corpus_modes() {
  static const std::vector<std::string> modes = {
      "default", "prefer", "bind", "interleave", "local", "prefer (many)", "weighted interleave",
      // numactl's names (Dialect::extended only)
      "preferred", "preferred-many", "weighted-interleave",
      // misspellings, case, spacing, punctuation
      "interleav", "Bind", "BIND", "bind ", " bind", "bind\t", "prefer(many)", "prefer  (many)", "prefer (many) ",
      "prefer (Many)", "weighted_interleave", "weightedinterleave", "weighted  interleave", "", "defaults", "prefe",
      "many", "static", "local\n", "default\n"};
  return modes;
}

inline const std::vector<std::string>& corpus_flags() {
  static const std::vector<std::string> flags = {
      "", "=", "=static", "=relative", "=balancing", "=static|relative", "=static|balancing", "=relative|balancing",
      "=balancing|static", "=static|static", "=Static", "=static ", "=garbage", "=static\n", "=relative=static",
      "=static,relative"};
  return flags;
}

// A few node lists crossed with every mode and flag.
inline const std::vector<std::string>& corpus_short_lists() {
  static const std::vector<std::string> lists = {"", ":", ":0", ":00", ":1", ":0-1", ":all", ":N", ":0\n", ": 0", ":0,", ":1-0"};
  return lists;
}

// Every node-list shape, crossed with the core modes.
inline const std::vector<std::string>& corpus_long_lists() {
  static const std::vector<std::string> lists = {
      "", ":", ":0", ":00", ":01", ":000000000000000000000000000", ":1", ":2", ":7", ":63", ":64", ":1023", ":1024",
      ":0-0", ":0,0", ":0,0,0", ":0-1", ":1-0", ":0-3", ":3-1", ":0-N", ":N", ":N-N", ":N-0", ":n", ":all", ":ALL",
      ":aLl", ":all:1/1024", ":all:1/2", ":all,0", ":0,all", ":alL:0/1", ":0-1023:1/1024", ":0-1023:2/256",
      ":0-0:1/1", ":0-3:1/4", ":0-3:0/4", ":0-3:1/0", ":0-3:5/4", ":0-3:4/4", ":0-3:1/2", ":0-3:1/", ":0-3:",
      ":0-3:1/2,0", ":0-3:1/2N", ":0-3:1/2all", ":1-5:1/4294967295", ":0-5:1/4294967295", ":0:1/2", ":4294967295",
      ":4294967294", ":4294967296", ":99999999999999999999", ":0-4294967295", ":0x0", ":0x3", ":-0", ":+0", ":!0",
      ":0,", ":,0", ":,", ":,,", ":0,,0", ": 0", ":0 ", ": 0 ", ":\t0", ":0\t", ":0\v", ":\f0", ":0\r",
      ":\xa0" "0", ":0\xa0", ":0\n", ":0\nx", ":0\n1", ":0,\n1", ":\n0", ":0 \n1", ":0-3:1/2\n1", ":0-\n1", ":0;1",
      ":0 1", ":0.0", ":0-", ":-", ":0--1", ":0-0-0", ":1,0", ":0,1,2,3", ":1-3", ":0=1"};
  return lists;
}

// Texts that exercise the strchr() split, empty parts and odd punctuation.
inline const std::vector<std::string>& corpus_handwritten() {
  static const std::vector<std::string> texts = {
      "bind:0=static", "bind:0=relative", "bind:0=balancing", "prefer:0=static", "prefer:0=relative",
      "interleave:0=static", "interleave:0=", "local:=static", "default:=x", "bind:0=static:1", "bind=static:0=1",
      "bind=static=relative:0", "bind==static:0", "bind=:0", "bind:=static", "=static:0", ":0", "=", ":", "=:",
      ":=", "", " ", "\n", "bind::0", "bind:0:", "prefer:", "prefer=", "prefer=static", "prefer=relative",
      "prefer=relative:0", "prefer=static:0", "prefer:0-0", "prefer:0,", "prefer:,0", "prefer: 0", "prefer:0 ",
      "prefer:0\n", "prefer:00", "prefer:1", "prefer:N", "prefer:all", "local=relative", "local=balancing",
      "default=static", "default=relative", "default=balancing", "default=", "default=anything at all",
      "default=static:0", "weighted interleave", "weighted interleave=static", "weighted interleave=relative:0",
      "weighted interleave:", "interleave:", "interleave: ", "interleave=static", "interleave=relative",
      "prefer (many)", "prefer (many):", "prefer (many)=static:0", "prefer (many)=relative:0",
      "prefer (many)=balancing:0", "bind=balancing:0", "bind=static|balancing:0", "bind=relative|balancing:0",
      "local", "local:", "local:0", "default", "default:", "bind", "bind:", "bind: ", "bind:,"};
  return texts;
}

// The whole corpus, duplicates removed, in a stable order.
inline std::vector<std::string> policy_corpus() {
  std::vector<std::string> out;
  std::set<std::string> seen;
  const auto add = [&](const std::string& text) {
    if (seen.insert(text).second) out.push_back(text);
  };
  for (const std::string& mode : corpus_modes())
    for (const std::string& flags : corpus_flags())
      for (const std::string& list : corpus_short_lists()) add(mode + flags + list);
  for (const std::string& list : corpus_long_lists())
    for (const char* mode : {"bind", "prefer", "interleave", "weighted interleave", "prefer (many)", "local", "default"})
      for (const char* flags : {"", "=static", "=relative"}) add(mode + std::string(flags) + list);
  for (const std::string& text : corpus_handwritten()) add(text);
  return out;
}

// Texts longer than fsconfig() passes (255 bytes): the kernel refuses them before parsing.
inline std::vector<std::string> overlong_corpus() {
  std::string list = "bind:0";
  while (list.size() < 255) list += ",0";
  list.resize(255);                    // 255 bytes: still passed whole
  if (list.back() == ',') list.back() = '0';
  std::string longer = list + "0";     // 256 bytes: refused by the transport
  return {list, longer};
}

}  // namespace taskmpol_test
