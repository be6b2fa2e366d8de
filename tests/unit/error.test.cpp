#include <taskmpol/error.hpp>

#include <doctest/doctest.h>

namespace tm = taskmpol;

TEST_SUITE("error") {
  TEST_CASE("error: library codes map to std::errc conditions") {
    CHECK(std::error_code(tm::errc::unknown_mode) == std::errc::invalid_argument);
    CHECK(std::error_code(tm::errc::unsupported_kernel) == std::errc::function_not_supported);
    CHECK(std::error_code(tm::errc::target_exited) == std::errc::no_such_process);
    CHECK(std::error_code(tm::errc::node_out_of_range) == std::errc::result_out_of_range);
    CHECK(std::string(std::error_code(tm::errc::unsupported_kernel).category().name()) == "taskmpol");
    CHECK_FALSE(std::error_code(tm::errc::ok));
  }

  TEST_CASE("error: posix_error keeps errno in the system category") {
    const std::error_code ec = tm::detail::posix_error(ESRCH);
    CHECK(ec.category() == std::system_category());
    CHECK(ec == std::errc::no_such_process);
  }

  TEST_CASE("error: every library code has its own message") {
    for (int v = 1; v <= static_cast<int>(tm::errc::topology_unavailable); ++v) {
      const std::string msg = std::error_code(static_cast<tm::errc>(v)).message();
      CHECK_FALSE(msg.empty());
      CHECK(msg != "unknown taskmpol error");
    }
  }

  TEST_CASE("error: TASKMPOL_TRY declares the value on this Boost") {
    auto half = [](int x) noexcept -> tm::result<int> {
      if (x % 2 != 0) return tm::errc::invalid_syntax;
      return x / 2;
    };
    auto quarter = [&](int x) noexcept -> tm::result<int> {
      TASKMPOL_TRY(h, half(x));
      return half(h);
    };
    CHECK(quarter(8).value() == 2);
    CHECK(quarter(6).error() == tm::errc::invalid_syntax);
  }
}
