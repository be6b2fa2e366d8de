#include <taskmpol/error.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code through its operator<<, declared here

namespace tk = taskmpol;  // not `tm`: doctest pulls in <signal.h>, which declares struct tm

TEST_SUITE("error") {
  TEST_CASE("error: library codes map to std::errc conditions") {
    CHECK(std::error_code(tk::errc::unknown_mode) == std::errc::invalid_argument);
    CHECK(std::error_code(tk::errc::unsupported_kernel) == std::errc::function_not_supported);
    CHECK(std::error_code(tk::errc::target_exited) == std::errc::no_such_process);
    CHECK(std::error_code(tk::errc::target_changed) == std::errc::no_such_process);
    CHECK(std::error_code(tk::errc::node_out_of_range) == std::errc::result_out_of_range);
    CHECK(std::string(std::error_code(tk::errc::unsupported_kernel).category().name()) == "taskmpol");
    CHECK_FALSE(std::error_code(tk::errc::ok));
  }

  TEST_CASE("error: another ABI of the kernel series reads as function not supported") {
    CHECK(std::error_code(tk::errc::series_abi_1) == std::errc::function_not_supported);
    CHECK(std::error_code(tk::errc::series_abi_unknown) == std::errc::function_not_supported);
    CHECK(std::error_code(tk::errc::series_abi_1) != tk::errc::unsupported_kernel);
  }

  TEST_CASE("error: the ABI messages name both versions and what to do") {
    const std::string v1 = std::error_code(tk::errc::series_abi_1).message();
    INFO(v1);
    CHECK(v1.find("ABI 1") != std::string::npos);
    CHECK(v1.find("ABI 2") != std::string::npos);
    CHECK(v1.find("kernel/patches") != std::string::npos);
    const std::string other = std::error_code(tk::errc::series_abi_unknown).message();
    INFO(other);
    CHECK(other.find("task_mempolicy_abi") != std::string::npos);
    CHECK(other.find("read 2") != std::string::npos);
    CHECK(other.find("same taskmpol checkout") != std::string::npos);
  }

  TEST_CASE("error: posix_error keeps errno in the system category") {
    const std::error_code ec = tk::detail::posix_error(ESRCH);
    CHECK(ec.category() == std::system_category());
    CHECK(ec == std::errc::no_such_process);
  }

  TEST_CASE("error: every library code has its own message") {
    for (int v = 1; v <= static_cast<int>(tk::errc::target_changed); ++v) {
      const std::string msg = std::error_code(static_cast<tk::errc>(v)).message();
      CHECK_FALSE(msg.empty());
      CHECK(msg != "unknown taskmpol error");
    }
  }

  TEST_CASE("error: TASKMPOL_TRY declares the value on this Boost") {
    auto half = [](int x) noexcept -> tk::result<int> {
      if (x % 2 != 0) return tk::errc::invalid_syntax;
      return x / 2;
    };
    auto quarter = [&](int x) noexcept -> tk::result<int> {
      TASKMPOL_TRY(h, half(x));
      return half(h);
    };
    CHECK(quarter(8).value() == 2);
    CHECK(quarter(6).error() == tk::errc::invalid_syntax);
  }
}
