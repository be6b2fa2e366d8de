// SPDX-License-Identifier: MIT
// doctest printers for the grammar tests, so that a failing CHECK shows "0-2,5" or
// "bind=static:0" instead of "{?}". Test-only.
#pragma once

#include <taskmpol/policy.hpp>

#include <doctest/doctest.h>

#include <initializer_list>
#include <ostream>  // std::error_code's operator<<, which doctest uses to print it
#include <string>
#include <string_view>

namespace taskmpol_test {

// The pieces appended into one string. Not `"{" + text + "}"`: with a temporary std::string on the
// right, GCC 12 at -O3 inlines operator+ into a memcpy it wrongly believes may overlap and warns
// -Wrestrict (GCC bug 105329), an error under -Werror in every Release build of the tests.
inline std::string joined(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  std::string s;
  s.reserve(size);
  for (std::string_view p : parts) s.append(p);
  return s;
}

}  // namespace taskmpol_test

namespace doctest {

template <>
struct StringMaker<taskmpol::NodeMask> {
  static String convert(const taskmpol::NodeMask& m) { return taskmpol_test::joined({"{", m.to_string(), "}"}).c_str(); }
};

template <>
struct StringMaker<taskmpol::Policy> {
  static String convert(const taskmpol::Policy& p) {
    return taskmpol_test::joined({"'", taskmpol::to_string(p), "'"}).c_str();
  }
};

template <>
struct StringMaker<taskmpol::ListIssue> {
  static String convert(taskmpol::ListIssue i) {
    return taskmpol_test::joined({"ListIssue ", std::to_string(static_cast<int>(i))}).c_str();
  }
};

template <>
struct StringMaker<taskmpol::PolicyIssue> {
  static String convert(taskmpol::PolicyIssue i) {
    return taskmpol_test::joined({"PolicyIssue ", std::to_string(static_cast<int>(i))}).c_str();
  }
};

template <>
struct StringMaker<taskmpol::errc> {
  static String convert(taskmpol::errc e) { return std::error_code(e).message().c_str(); }
};

template <>
struct StringMaker<taskmpol::Mode> {
  static String convert(taskmpol::Mode m) { return std::string(taskmpol::traits(m).kernel_name).c_str(); }
};

template <std::size_t N>
struct StringMaker<taskmpol::FixedString<N>> {
  static String convert(const taskmpol::FixedString<N>& s) { return taskmpol_test::joined({"\"", s.view(), "\""}).c_str(); }
};

}  // namespace doctest
