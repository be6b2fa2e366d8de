// SPDX-License-Identifier: MIT
// The translation unit ./check's tidy stage hands to clang-tidy: every public header, so that
// bugprone-exception-escape sees every noexcept function of the library (header-filter keeps the
// findings to include/taskmpol/). Not built by CMake.
#include <taskmpol/taskmpol.hpp>

int main() { return 0; }
