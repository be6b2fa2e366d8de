// SPDX-License-Identifier: MIT
// What odr_b.cpp defines for odr_a.test.cpp. Both TUs include <taskmpol/taskmpol.hpp> first.
#pragma once

#include <taskmpol/taskmpol.hpp>

#include <system_error>

namespace odr_b {

const std::error_category* category() noexcept;
const void* mode_table_address() noexcept;
taskmpol::result<taskmpol::Policy> bind_to(std::size_t node) noexcept;
taskmpol::result<taskmpol::Policy> bind_to_nothing() noexcept;

}  // namespace odr_b
