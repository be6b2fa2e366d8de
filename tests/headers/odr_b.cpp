// SPDX-License-Identifier: MIT
// The second translation unit of the ODR test: it instantiates the same inline functions and
// variables as odr_a.test.cpp. A header that defines a non-inline function or variable breaks the
// link of this program; one whose inline entities differ per TU fails the checks in odr_a.
#include <taskmpol/taskmpol.hpp>

#include "odr.hpp"

namespace odr_b {

const std::error_category* category() noexcept { return &taskmpol::error_category(); }

const void* mode_table_address() noexcept { return &taskmpol::mode_table; }

taskmpol::result<taskmpol::Policy> bind_to(std::size_t node) noexcept {
  taskmpol::NodeMask nodes;
  if (!nodes.set(node)) return taskmpol::errc::node_out_of_range;
  return taskmpol::Policy::make(taskmpol::Mode::bind, {}, nodes);
}

taskmpol::result<taskmpol::Policy> bind_to_nothing() noexcept { return taskmpol::Policy::make(taskmpol::Mode::bind); }

}  // namespace odr_b
