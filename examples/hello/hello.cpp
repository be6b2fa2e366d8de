// SPDX-License-Identifier: MIT
// Hello, taskmpol: parse a policy the way the kernel would, then print the kernel's own form.
#include <taskmpol/policy.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  const char* text = argc > 1 ? argv[1] : "bind:0,1,2";
  const taskmpol::NodeMask with_memory = taskmpol::NodeMask::of<0, 1, 2>();  // pretend nodes 0-2 have memory

  taskmpol::PolicyDiagnostic why;
  const auto policy = taskmpol::parse_policy(text, with_memory, taskmpol::Dialect::kernel, &why);
  if (!policy) {
    std::fprintf(stderr, "rejected: %s\n", why.message().c_str());
    return 1;
  }
  std::printf("%s\n", taskmpol::to_string(policy.value()).c_str());  // "bind:0-2"
  return 0;
}
