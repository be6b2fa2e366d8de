// SPDX-License-Identifier: MIT
// The first translation unit of the ODR test (odr_b.cpp is the second, tests/main.cpp a third that
// does not include taskmpol). Entities defined inline in the headers must exist once per program.
#include <taskmpol/taskmpol.hpp>

#include "odr.hpp"

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code through <system_error>'s operator<<

TEST_SUITE("headers") {
  TEST_CASE("two translation units share one error category instance") {
    CHECK(&taskmpol::error_category() == odr_b::category());
  }

  TEST_CASE("two translation units share one mode table") {
    CHECK(static_cast<const void*>(&taskmpol::mode_table) == odr_b::mode_table_address());
  }

  TEST_CASE("an error made in another translation unit compares equal to its code here") {
    const taskmpol::result<taskmpol::Policy> r = odr_b::bind_to_nothing();
    REQUIRE(r.has_error());
    CHECK(r.error() == taskmpol::errc::empty_nodes);
    CHECK(r.error() == std::errc::invalid_argument);
  }

  TEST_CASE("a policy made in another translation unit equals one made here") {
    const taskmpol::result<taskmpol::Policy> there = odr_b::bind_to(3);
    const taskmpol::result<taskmpol::Policy> here = taskmpol::Policy::make(taskmpol::Mode::bind, {}, taskmpol::NodeMask::of<3>());
    REQUIRE(there.has_value());
    REQUIRE(here.has_value());
    CHECK(there.value() == here.value());
  }
}
