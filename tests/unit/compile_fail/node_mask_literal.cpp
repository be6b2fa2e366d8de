// SPDX-License-Identifier: MIT
// A node list fixed at compile time with a node beyond the capacity must not compile (NodeMask's
// list constructor used to drop such a node silently): built by the ctest test
// unit:compile_fail:node_literal, which expects the compiler to name the reason. With
// TASKMPOL_NODE in range the same file compiles (the control).
#include <taskmpol/node_mask.hpp>

#ifndef TASKMPOL_NODE
#define TASKMPOL_NODE 2000
#endif

constexpr taskmpol::NodeMask literal = taskmpol::NodeMask::of<0, TASKMPOL_NODE>();
static_assert(literal.test(0));
