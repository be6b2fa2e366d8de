// Tour 1: NodeMask, a set of up to 1024 NUMA nodes laid out as the kernel's nodemask.
#include <taskmpol/node_mask.hpp>

#include <iostream>

int main() {
  taskmpol::NodeMask nodes = taskmpol::NodeMask::of<0, 2>();  // fixed at compile time: of<4096>() would not compile
  const bool stored = nodes.set(5);
  const bool refused = !nodes.set(4096);  // beyond 1024 nodes: refused, the mask is unchanged
  // Nodes known only at run time: make() says node_out_of_range instead of dropping one.
  const taskmpol::result<taskmpol::NodeMask> from_input = taskmpol::NodeMask::make({1, 4096});

  for (std::size_t node : nodes) std::cout << "node " << node << '\n';  // 0, 2, 5
  std::cout << nodes.count() << " nodes, 5 stored: " << stored << ", 4096 refused: " << refused << '\n';
  std::cout << "make({1, 4096}): " << from_input.error().message() << '\n';

  // Set algebra; everything is constexpr.
  constexpr taskmpol::NodeMask first_four = taskmpol::NodeMask::first_n(4);  // 0-3
  static_assert((first_four & taskmpol::NodeMask::of<2, 9>()) == taskmpol::NodeMask::of<2>());
  std::cout << "within 0-3: " << nodes.is_subset_of(first_four) << '\n';  // 0: node 5 is not

  // What a syscall takes: the words, and maxnode = 1024 + 1 (the kernel's get_nodes() drops one).
  const taskmpol::KernelMaskArg arg = nodes.kernel_arg();
  std::cout << "word 0 = " << arg.nmask[0] << ", maxnode = " << arg.maxnode << '\n';  // 37, 1025
}
