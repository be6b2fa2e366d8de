// Tour 3: errors are values. result<T> holds a T or a std::error_code, and nothing throws.
#include <taskmpol/policy.hpp>

#include <iostream>
#include <system_error>

// Keep a task's mode and flags (as get_mempolicy() reported them) but move it to other nodes.
// TASKMPOL_TRY declares `current` or returns the error to the caller.
taskmpol::result<taskmpol::Policy> retarget(int mode_and_flags, const taskmpol::NodeMask& reported,
                                            const taskmpol::NodeMask& to) noexcept {
  TASKMPOL_TRY(current, taskmpol::Policy::from_raw(mode_and_flags, reported));
  return taskmpol::Policy::make(current.mode(), current.flags(), to);
}

int main() {
  constexpr int mpol_bind = 2;
  const taskmpol::NodeMask node0 = taskmpol::NodeMask::of<0>();
  const taskmpol::result<taskmpol::Policy> moved = retarget(mpol_bind, node0, {});  // bind to no node
  if (!moved) {
    const std::error_code& e = moved.error();
    std::cout << e.category().name() << ": " << e.message() << '\n';  // taskmpol: the node list selects no node
    // Compare with std::errc for the kind of failure, with taskmpol::errc for the exact cause.
    std::cout << (e == std::errc::invalid_argument) << (e == taskmpol::errc::empty_nodes) << '\n';  // 11
  }

  const taskmpol::result<taskmpol::Policy> unknown = retarget(42, node0, taskmpol::NodeMask::of<1>());  // no mode 42
  if (!unknown) std::cout << unknown.error().message() << '\n';  // unknown memory policy mode
}
