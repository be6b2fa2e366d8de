// SPDX-License-Identifier: MIT
// The topology reader against the running system, cross-checked with libnuma and numactl, which
// derive the same sets their own way (node directories, node sizes, get_mempolicy).
#include <taskmpol/self.hpp>
#include <taskmpol/topology.hpp>

#include <doctest/doctest.h>

#include "../support/skip.hpp"

#include <ostream>  // doctest prints std::error_code with operator<<, declared there

#include <cstdio>
#include <fstream>
#include <regex>
#include <string>

#include <numa.h>

namespace mp = taskmpol;
using mp::NodeMask;

namespace {

std::string run(const char* command) {
  std::string out;
  FILE* pipe = ::popen(command, "r");
  if (pipe == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  ::pclose(pipe);
  return out;
}

mp::Topology host() {
  mp::SysfsDiagnostic diag;
  auto t = mp::read_topology(mp::system_root, &diag);
  REQUIRE_MESSAGE(t, diag.message());
  return t.value();
}

}  // namespace

TEST_SUITE("host topology") {
  TEST_CASE("host topology: sets are consistent") {
    const mp::Topology t = host();
    CHECK(t.online.any());
    CHECK(t.with_memory.any());
    CHECK(t.online.is_subset_of(t.possible));
    CHECK(t.with_memory.is_subset_of(t.online));
    CHECK(t.with_cpus.is_subset_of(t.online));
  }

  TEST_CASE("host topology: matches libnuma") {
    REQUIRE(numa_available() >= 0);
    const mp::Topology t = host();
    // libnuma scans the nodeN directories (one per online node) and counts the ones with memory.
    CHECK(static_cast<std::size_t>(numa_max_node()) == t.online.last());
    CHECK(static_cast<std::size_t>(numa_num_configured_nodes()) == t.with_memory.count());
    NodeMask configured;
    for (unsigned long i = 0; i < numa_nodes_ptr->size && i < NodeMask::capacity; ++i)
      if (numa_bitmask_isbitset(numa_nodes_ptr, static_cast<unsigned>(i)) != 0) REQUIRE(configured.set(i));
    CHECK(configured == t.online);
    // Every node libnuma may allocate from is a node with memory.
    const mp::NodeMask allowed = mp::self_mems_allowed().value();  // a local: the loop must not outlive the result
    for (std::size_t n : allowed)
      if (numa_bitmask_isbitset(numa_all_nodes_ptr, static_cast<unsigned>(n)) != 0) CHECK(t.with_memory.test(n));
  }

  TEST_CASE("host topology: matches numactl hardware") {
    const std::string out = run("numactl --hardware 2>&1");
    if (out.find("available:") == std::string::npos) TASKMPOL_SKIP("numactl --hardware did not run here: " << out);
    const mp::Topology t = host();
    // numactl prints "node N cpus: ..." once per online node.
    NodeMask listed;
    const std::regex line(R"(node (\d+) cpus:)");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it)
      REQUIRE(listed.set(std::stoul((*it)[1].str())));
    CHECK(listed == t.online);
  }

  TEST_CASE("host topology: Mems_allowed_list agrees with get_mempolicy") {
    std::ifstream status("/proc/self/status");
    std::string text;
    for (std::string l; std::getline(status, l);)
      if (l.rfind("Mems_allowed_list:", 0) == 0) text = l.substr(l.find(':') + 1);
    REQUIRE_FALSE(text.empty());
    const auto first = text.find_first_not_of(" \t");
    const auto parsed = NodeMask::parse(text.substr(first == std::string::npos ? text.size() : first));
    REQUIRE(parsed);
    CHECK(parsed.value() == mp::self_mems_allowed().value());
  }

  TEST_CASE("host topology: interleave weights of the memory nodes") {
    const mp::Topology t = host();
    mp::SysfsDiagnostic diag;
    const auto w = mp::read_interleave_weights(t.with_memory, mp::system_root, &diag);
    if (!w && diag.os_error == ENOENT && diag.node == t.with_memory.first()) TASKMPOL_SKIP(diag.message());
    REQUIRE_MESSAGE(w, diag.message());
    CHECK(w.value().nodes == t.with_memory);
    for (std::size_t n : t.with_memory) {
      CHECK(w.value()[n] >= 1);
      // The same number the file holds.
      std::ifstream file("/sys/kernel/mm/mempolicy/weighted_interleave/node" + std::to_string(n));
      unsigned expected = 0;
      file >> expected;
      CHECK(w.value()[n] == expected);
    }
  }

  TEST_CASE("host topology: automatic weights flag") {
    mp::SysfsDiagnostic diag;
    const auto a = mp::read_interleave_auto(mp::system_root, &diag);
    if (!a && diag.os_error == ENOENT) TASKMPOL_SKIP(diag.message());
    REQUIRE_MESSAGE(a, diag.message());
    // Cross-check with whichever spelling exists.
    std::string text;
    for (const char* name : {"auto", "__auto_type"}) {
      std::ifstream f(std::string("/sys/kernel/mm/mempolicy/weighted_interleave/") + name);
      if (f && (f >> text)) break;
    }
    CHECK(a.value() == (text == "true"));
  }
}
