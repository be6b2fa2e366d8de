// Tour 2: Policy, a mode plus flags plus nodes, checked against the kernel's rules when made.
#include <taskmpol/policy.hpp>

#include <iostream>

int main() {
  using taskmpol::Mode;
  using taskmpol::ModeFlag;
  using taskmpol::NodeMask;
  using taskmpol::Policy;

  // Interleave over nodes 0-3, pinned to those physical nodes (MPOL_F_STATIC_NODES).
  const taskmpol::result<Policy> interleave =
      Policy::make(Mode::interleave, ModeFlag::static_nodes, NodeMask::first_n(4));
  if (!interleave) return 1;
  std::cout << taskmpol::traits(interleave.value().mode()).kernel_name << ": "
            << interleave.value().nodes().count() << " nodes\n";  // interleave: 4 nodes

  // 'prefer' takes one node: two are refused instead of silently keeping the first.
  const taskmpol::result<Policy> prefer = Policy::make(Mode::preferred, {}, NodeMask::of<1, 2>());
  if (!prefer) std::cout << "prefer 1,2: " << prefer.error().message() << '\n';

  // The raw form of the syscalls: an int holding mode | flags, and the mask. from_raw decodes
  // what get_mempolicy() reports and applies the same rules.
  const taskmpol::RawPolicy raw = interleave.value().to_raw();
  std::cout << "mode_and_flags = " << std::hex << raw.mode_and_flags << std::dec << '\n';  // 8003
  const taskmpol::result<Policy> back = Policy::from_raw(raw.mode_and_flags, raw.nodes);
  std::cout << "round trip: " << (back && back.value() == interleave.value()) << '\n';  // 1
}
