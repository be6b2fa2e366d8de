// SPDX-License-Identifier: MIT
// doctest printers for the grammar tests, so that a failing CHECK shows "0-2,5" or
// "bind=static:0" instead of "{?}". Test-only.
#pragma once

#include <taskmpol/policy.hpp>

#include <doctest/doctest.h>

#include <ostream>  // std::error_code's operator<<, which doctest uses to print it
#include <string>

namespace doctest {

template <>
struct StringMaker<taskmpol::NodeMask> {
  static String convert(const taskmpol::NodeMask& m) { return ("{" + m.to_string() + "}").c_str(); }
};

template <>
struct StringMaker<taskmpol::Policy> {
  static String convert(const taskmpol::Policy& p) { return ("'" + taskmpol::to_string(p) + "'").c_str(); }
};

template <>
struct StringMaker<taskmpol::ListIssue> {
  static String convert(taskmpol::ListIssue i) { return ("ListIssue " + std::to_string(static_cast<int>(i))).c_str(); }
};

template <>
struct StringMaker<taskmpol::PolicyIssue> {
  static String convert(taskmpol::PolicyIssue i) { return ("PolicyIssue " + std::to_string(static_cast<int>(i))).c_str(); }
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
  static String convert(const taskmpol::FixedString<N>& s) { return ("\"" + std::string(s.view()) + "\"").c_str(); }
};

}  // namespace doctest
