// SPDX-License-Identifier: MIT
// The program every package test builds against taskmpol as a consumer would get it: installed
// (find_package, pkg-config) or added as a subdirectory. It includes nothing but public headers.
#include <taskmpol/policy.hpp>
#include <taskmpol/taskmpol.hpp>

#include <cstdio>
#include <string_view>

#define CONSUMER_STR2(x) #x
#define CONSUMER_STR(x) CONSUMER_STR2(x)

int main() {
  using taskmpol::Mode;
  using taskmpol::ModeFlag;
  using taskmpol::NodeMask;
  using taskmpol::Policy;

  // The build passes the package's version (CMake or pkg-config): config.hpp must agree with it.
#ifdef CONSUMER_EXPECTED_VERSION
  constexpr std::string_view header_version =
      CONSUMER_STR(TASKMPOL_VERSION_MAJOR) "." CONSUMER_STR(TASKMPOL_VERSION_MINOR) "." CONSUMER_STR(TASKMPOL_VERSION_PATCH);
  if (header_version != CONSUMER_EXPECTED_VERSION) {
    std::fprintf(stderr, "config.hpp says %s, the package says %s\n", header_version.data(), CONSUMER_EXPECTED_VERSION);
    return 1;
  }
#endif

  const NodeMask nodes = NodeMask::of<0, 2>();
  const taskmpol::result<Policy> policy = Policy::make(Mode::interleave, ModeFlag::static_nodes, nodes);
  if (!policy) {
    std::fprintf(stderr, "Policy::make failed: %s\n", policy.error().message().c_str());
    return 1;
  }

  const taskmpol::RawPolicy raw = policy.value().to_raw();
  const taskmpol::result<Policy> back = Policy::from_raw(raw.mode_and_flags, raw.nodes);
  if (!back || !(back.value() == policy.value())) {
    std::fprintf(stderr, "to_raw/from_raw did not round-trip\n");
    return 1;
  }

  std::printf("taskmpol consumer: mode_and_flags=%d, %zu nodes, maxnode=%lu\n", raw.mode_and_flags, raw.nodes.count(),
              raw.nodes.kernel_arg().maxnode);
  return 0;
}
