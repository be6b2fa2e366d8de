// SPDX-License-Identifier: MIT
// Built with -fno-exceptions. result<T> must then use a terminating no-value policy: with Outcome's
// default policy, .value() and .error() reference boost::throw_exception, which nothing in this
// program defines, so the link would fail.
#include <taskmpol/taskmpol.hpp>

#include <cstdio>

static_assert(TASKMPOL_HAS_EXCEPTIONS == 0, "this TU must be compiled with -fno-exceptions");

int main(int argc, char**) {
  using taskmpol::Mode;
  using taskmpol::NodeMask;
  using taskmpol::Policy;

  int failures = 0;
  const auto check = [&failures](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "no_exceptions: FAILED: %s\n", what);
      ++failures;
    }
  };

  // Nodes from argc: the optimizer cannot settle the results at compile time and drop the
  // observers' no-value paths, which are what would reference boost::throw_exception.
  NodeMask nodes = NodeMask::of<0>();
  check(nodes.set(static_cast<std::size_t>(argc)), "node argc is in range");

  const taskmpol::result<Policy> engaged = Policy::make(Mode::interleave, {}, nodes);
  check(engaged.has_value(), "interleave over nodes 0-1 is valid");
  if (engaged) check(engaged.value().nodes().count() == 2, ".value() of an engaged result");

  const taskmpol::result<Policy> failed = Policy::make(Mode::local, {}, nodes);
  check(failed.has_error(), "local with nodes is refused");
  if (!failed) {
    check(failed.error() == taskmpol::errc::nodes_forbidden, ".error() of a failed result");
    check(failed.error() == std::errc::invalid_argument, "library errors map to std::errc");
  }

  return failures == 0 ? 0 : 1;
}
