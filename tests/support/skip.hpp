// SPDX-License-Identifier: MIT
// A host test that finds nothing to test here (no series, one node, not root, no numactl) says why
// and returns: it prints the marker that every doctest-discovered ctest test carries as its
// SKIP_REGULAR_EXPRESSION (tests/CMakeLists.txt), so ctest reports it as skipped, not passed.
// Use it only before the first check of a case: a skipped case counts as skipped even if a check
// before the marker failed.
#pragma once

#include <doctest/doctest.h>

#define TASKMPOL_SKIP(reason)                        \
  do {                                               \
    MESSAGE("taskmpol-test-skip: " << reason);       \
    return;                                          \
  } while (false)
