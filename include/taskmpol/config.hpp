// SPDX-License-Identifier: MIT
// Version, namespace and feature macros shared by every taskmpol header.
#pragma once

#define TASKMPOL_VERSION_MAJOR 0
#define TASKMPOL_VERSION_MINOR 1
#define TASKMPOL_VERSION_PATCH 0
// "MAJOR.MINOR.PATCH", the same as CMake's PROJECT_VERSION (tests/package checks that they agree).
#define TASKMPOL_VERSION_STRING "0.1.0"

#if !defined(__linux__)
#error "taskmpol wraps Linux NUMA memory-policy system calls and builds only for Linux."
#endif

#if __cplusplus < 202002L
#error "taskmpol needs C++20 (-std=c++20)."
#endif

// Exceptions are optional: result<T> switches to a terminating no-value policy without them, so
// nothing in the library ever needs boost::throw_exception.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define TASKMPOL_HAS_EXCEPTIONS 1
#else
#define TASKMPOL_HAS_EXCEPTIONS 0
#endif

#include <cstddef>

namespace taskmpol {

// The largest MAX_NUMNODES any Linux kernel is built with (1 << NODES_SHIFT, NODES_SHIFT at most 10
// on x86_64 MAXSMP): the capacity of NodeMask, and the reason node 1024 is out of range everywhere.
inline constexpr std::size_t max_nodes = 1024;

}  // namespace taskmpol
