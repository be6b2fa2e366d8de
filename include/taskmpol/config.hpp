// SPDX-License-Identifier: MIT
// Version, namespace and feature macros shared by every taskmpol header.
#pragma once

#define TASKMPOL_VERSION_MAJOR 0
#define TASKMPOL_VERSION_MINOR 1
#define TASKMPOL_VERSION_PATCH 0

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
