// SPDX-License-Identifier: MIT
// The pure parts of task.hpp: naming the cause of a refused policy, the diagnostic text, backend
// names and the nodes a migration sends pages to.
#include <taskmpol/task.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code with operator<<, declared there

#include <string>

namespace mp = taskmpol;
using mp::Mode;
using mp::ModeFlag;
using mp::NodeMask;
using mp::Policy;

namespace {

// The taskmpol VM's layout: memory on 0, 1 and 3, node 2 CPU-only; the target's cpuset allows 1 and 3.
mp::TaskDiagnostic vm_facts() {
  mp::TaskDiagnostic d;
  d.tid = 42;
  d.backend = mp::Backend::syscalls;
  d.topology_known = true;
  d.with_memory = NodeMask::of<0, 1, 3>();
  d.online = NodeMask::of<0, 1, 2, 3>();
  d.allowed_known = true;
  d.allowed = NodeMask::of<1, 3>();
  return d;
}

Policy bind(const NodeMask& nodes, mp::ModeFlags flags = {}) { return Policy::make(Mode::bind, flags, nodes).value(); }

const std::error_code einval{EINVAL, std::system_category()};

}  // namespace

TEST_SUITE("task diagnostics") {
  TEST_CASE("task diagnostics: the cause of an EINVAL is named") {
    mp::TaskDiagnostic d = vm_facts();
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<2>()), einval, false, d) == mp::errc::node_without_memory);
    CHECK(d.node == 2);
    CHECK(d.node_exists);

    d = vm_facts();
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<7>()), einval, false, d) == mp::errc::node_without_memory);
    CHECK(d.node == 7);
    CHECK_FALSE(d.node_exists);

    d = vm_facts();
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<0>()), einval, false, d) == mp::errc::nodes_not_allowed);
    CHECK(d.node == 0);

    // The syscalls narrow {0,2,3} to the allowed 3: a refusal then is not about these nodes.
    d = vm_facts();
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<0, 2, 3>()), einval, false, d) == einval);
    CHECK(d.node == NodeMask::npos);
    // The procfs grammar refuses node 2 outright.
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<0, 2, 3>()), einval, true, d) == mp::errc::node_without_memory);
    CHECK(d.node == 2);

    // Relative nodes are indices, other errors are kept, and so is EINVAL without facts.
    d = vm_facts();
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<0>(), ModeFlag::relative_nodes), einval, false, d) == einval);
    const std::error_code eperm{EPERM, std::system_category()};
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<2>()), eperm, false, d) == eperm);
    mp::TaskDiagnostic blind;
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<2>()), einval, false, blind) == einval);
    // self.hpp's answer is refined, or turned back into the kernel's EINVAL when it does not hold.
    d = vm_facts();
    CHECK(mp::detail::classify_policy_einval(bind(NodeMask::of<1>()), mp::errc::nodes_not_allowed, false, d) == einval);
  }

  TEST_CASE("task diagnostics: the message names the thread and the nodes") {
    mp::TaskDiagnostic d = vm_facts();
    d.error = mp::detail::classify_policy_einval(bind(NodeMask::of<0>()), einval, false, d);
    const std::string text = d.message();
    INFO(text);
    CHECK(text.rfind("thread 42 (syscalls): ", 0) == 0);
    CHECK(text.find("node 0 (nodes with memory: 0-1,3)") != std::string::npos);
    CHECK(text.find("may allocate from nodes 1,3") != std::string::npos);
    CHECK(text.find("cpuset.mems") != std::string::npos);

    d = vm_facts();
    d.error = mp::detail::classify_policy_einval(bind(NodeMask::of<9>()), einval, false, d);
    CHECK(d.error == mp::errc::node_without_memory);
    CHECK(d.message().find("node 9 does not exist") != std::string::npos);

    mp::TaskDiagnostic plain;
    plain.tid = 7;
    plain.error = mp::errc::target_exited;
    CHECK(plain.message() == "thread 7: the target task has exited");
  }

  TEST_CASE("task diagnostics: the advice for a refused mbind") {
    using mp::MbindFlag;
    const std::error_code eperm{EPERM, std::system_category()};
    const std::error_code eio{EIO, std::system_category()};
    const char* chosen = mp::detail::advice_nodes;
    // Another process's move refused with EINVAL: the policy, or a series without remote moves.
    CHECK(mp::detail::mbind_advice(MbindFlag::move, true, einval, chosen) == mp::detail::advice_move);
    CHECK(mp::detail::mbind_advice(MbindFlag::move_all, true, einval, "") == mp::detail::advice_move);
    CHECK(mp::detail::mbind_advice(MbindFlag::move | MbindFlag::strict, true, einval, "") == mp::detail::advice_move);
    const std::string move = mp::detail::advice_move;
    CHECK(move.find("nodes that have memory") != std::string::npos);
    CHECK(move.find("cannot move another process's pages yet") != std::string::npos);
    CHECK(move.find("TaskHandle::migrate_pages") != std::string::npos);
    CHECK(move.find("move_pages(2)") != std::string::npos);
    // No move, or the caller's own process: what the general rules chose stays.
    CHECK(mp::detail::mbind_advice({}, true, einval, chosen) == chosen);
    CHECK(mp::detail::mbind_advice(MbindFlag::strict, true, einval, chosen) == chosen);
    CHECK(mp::detail::mbind_advice(MbindFlag::move, false, einval, chosen) == chosen);
    // move_all without CAP_SYS_NICE, anywhere; a plain move's EPERM is the general one.
    CHECK(mp::detail::mbind_advice(MbindFlag::move_all, true, eperm, chosen) == mp::detail::advice_move_all);
    CHECK(mp::detail::mbind_advice(MbindFlag::move_all, false, eperm, "") == mp::detail::advice_move_all);
    CHECK(mp::detail::mbind_advice(MbindFlag::move, true, eperm, chosen) == chosen);
    CHECK(std::string(mp::detail::advice_move_all).find("CAP_SYS_NICE") != std::string::npos);
    // strict's EIO: the policy is set, some pages stay off its nodes.
    CHECK(mp::detail::mbind_advice(MbindFlag::strict, true, eio, "") == mp::detail::advice_strict);
    CHECK(mp::detail::mbind_advice(MbindFlag::move | MbindFlag::strict, false, eio, "") == mp::detail::advice_strict);
    CHECK(mp::detail::mbind_advice(MbindFlag::move, true, eio, chosen) == chosen);
  }

  TEST_CASE("task diagnostics: backend names and migration destinations") {
    CHECK(mp::backend_name(mp::Backend::automatic) == "automatic");
    CHECK(mp::backend_name(mp::Backend::syscalls) == "syscalls");
    CHECK(mp::backend_name(mp::Backend::procfs) == "procfs");
    CHECK(mp::backend_name(mp::Backend::self_only) == "self-only");
    CHECK(mp::detail::destination_nodes(bind(NodeMask::of<0, 3>()), NodeMask::of<1, 3>()) == NodeMask::of<0, 3>());
    // Relative: indices into the allowed nodes, folded modulo their count.
    CHECK(mp::detail::destination_nodes(bind(NodeMask::of<0>(), ModeFlag::relative_nodes), NodeMask::of<1, 3>()) == NodeMask::of<1>());
    CHECK(mp::detail::destination_nodes(bind(NodeMask::of<1, 2>(), ModeFlag::relative_nodes), NodeMask::of<1, 3>()) == NodeMask::of<1, 3>());
    CHECK(mp::detail::destination_nodes(bind(NodeMask::of<0>(), ModeFlag::relative_nodes), NodeMask{}).empty());
    CHECK(std::error_code(mp::errc::backend_unavailable) == std::errc::operation_not_supported);
  }
}
