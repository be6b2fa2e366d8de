// Tour 4: text, in the kernel's own grammar: node lists as bitmap_parselist() reads and "%*pbl"
// prints them, policies as mpol_parse_str() reads and mpol_to_str() prints them (Linux 6.12).
#include <taskmpol/policy.hpp>

#include <iostream>

int main() {
  const taskmpol::result<taskmpol::NodeMask> nodes = taskmpol::NodeMask::parse("3,0-2,8");
  if (nodes) std::cout << nodes.value().to_string() << '\n';  // 0-3,8

  taskmpol::ListError where;
  if (!taskmpol::NodeMask::parse("0,5-3", &where)) std::cout << where.message() << '\n';  // range 5-3 at column 2 ...

  // Policies are checked against the nodes with memory (topology.hpp reads them from sysfs).
  const taskmpol::NodeMask with_memory = taskmpol::NodeMask::first_n(4);
  const auto policy = taskmpol::parse_policy("interleave=static:0-1,3", with_memory);
  if (policy) std::cout << taskmpol::to_string(policy.value()) << '\n';  // interleave=static:0-1,3

  taskmpol::PolicyDiagnostic why;
  if (!taskmpol::parse_policy("bind:7", with_memory, taskmpol::Dialect::kernel, &why))
    std::cout << why.message() << '\n';  // node 7 has no memory on this system (nodes with memory: 0-3)

  // Dialect::extended also reads numactl's names, and says why the kernel would not.
  const auto alias = taskmpol::parse_policy("preferred:2", with_memory, taskmpol::Dialect::extended, &why);
  if (alias) std::cout << taskmpol::to_string(alias.value()) << " (" << why.message() << ")\n";  // prefer:2 (...)
}
