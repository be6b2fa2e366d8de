// SPDX-License-Identifier: MIT
// Umbrella header: every public taskmpol header, and nothing else.
// tests/headers checks that this list names every header in include/taskmpol/.
#pragma once

#include <taskmpol/config.hpp>
#include <taskmpol/error.hpp>
#include <taskmpol/node_mask.hpp>
#include <taskmpol/policy.hpp>
#include <taskmpol/self.hpp>
#include <taskmpol/syscalls.hpp>
#include <taskmpol/task.hpp>
#include <taskmpol/topology.hpp>
