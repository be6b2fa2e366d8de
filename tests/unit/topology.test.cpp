// SPDX-License-Identifier: MIT
// The topology readers against synthetic sysfs trees (tests/support/fake_sysfs.hpp): layouts one
// real host cannot show, and every way the files can be missing or wrong.
#include <taskmpol/topology.hpp>

#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code with operator<<, declared there

#include <string>

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/child.hpp"
#include "../support/grammar_printers.hpp"  // the shared doctest printers (one definition per program)
#include "../support/fake_sysfs.hpp"

namespace mp = taskmpol;
using taskmpol_test::FakeSysfs;
using mp::NodeMask;

namespace {

mp::Topology read_ok(const FakeSysfs& fs) {
  mp::SysfsDiagnostic diag;
  auto t = mp::read_topology(fs.root(), &diag);
  REQUIRE_MESSAGE(t, diag.message());
  return t.value();
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

TEST_SUITE("topology") {
  TEST_CASE("topology: sparse node ids") {
    FakeSysfs fs;
    FakeSysfs::sparse(fs);
    const mp::Topology t = read_ok(fs);
    CHECK(t.possible == NodeMask::first_n(9));
    CHECK(t.online == NodeMask::of<0, 2, 8>());
    CHECK(t.with_memory == NodeMask::of<0, 2, 8>());
    CHECK(t.with_cpus == NodeMask::of<0, 2, 8>());
    CHECK(t.memory_only().empty());
    CHECK(t.memoryless().empty());

    const auto w = mp::read_interleave_weights(t.with_memory, fs.root());
    REQUIRE(w);
    CHECK(w.value().nodes == t.with_memory);
    CHECK(w.value()[0] == 1);
    CHECK(w.value()[2] == 3);
    CHECK(w.value()[8] == 7);
    CHECK(w.value()[1] == 0);     // not read: not in the mask
    CHECK(w.value()[5000] == 0);  // beyond capacity: no UB, just 0
  }

  TEST_CASE("topology: memory-less node") {
    FakeSysfs fs;
    FakeSysfs::memoryless(fs);
    const mp::Topology t = read_ok(fs);
    CHECK(t.with_memory == NodeMask::of<0>());
    CHECK(t.memoryless() == NodeMask::of<1>());
    // No weight file for a node without memory; the diagnostic names node, file and the remedy.
    mp::SysfsDiagnostic diag;
    const auto w = mp::read_interleave_weight(1, fs.root(), &diag);
    REQUIRE_FALSE(w);
    CHECK(w.error() == mp::errc::topology_unavailable);
    CHECK(diag.node == 1);
    CHECK(diag.os_error == ENOENT);
    CHECK(ends_with(diag.path_view(), "/weighted_interleave/node1"));
    const std::string text = diag.message();
    CHECK(text.find("node 1") != std::string::npos);
    CHECK(text.find("has_memory") != std::string::npos);
    // Reading the weights of the online nodes stops at the same node.
    mp::SysfsDiagnostic all_diag;
    CHECK_FALSE(mp::read_interleave_weights(t.online, fs.root(), &all_diag));
    CHECK(all_diag.node == 1);
  }

  TEST_CASE("topology: CPU-less memory node") {
    FakeSysfs fs;
    FakeSysfs::cpuless(fs);
    const mp::Topology t = read_ok(fs);
    CHECK(t.with_cpus == NodeMask::of<0>());
    CHECK(t.memory_only() == NodeMask::of<1>());
    CHECK(mp::read_interleave_weight(1, fs.root()).value() == 1);
  }

  TEST_CASE("topology: node 1023 boundary") {
    FakeSysfs fs;
    FakeSysfs::boundary(fs);
    const mp::Topology t = read_ok(fs);
    CHECK(t.possible.count() == NodeMask::capacity);
    CHECK(t.possible.last() == 1023);
    CHECK(t.online == NodeMask::of<0, 1023>());
    CHECK(t.with_memory.test(1023));
    CHECK(t.memory_only() == NodeMask::of<1023>());
    CHECK(mp::read_interleave_weight(1023, fs.root()).value() == 255);

    mp::SysfsDiagnostic diag;
    const auto beyond = mp::read_interleave_weight(1024, fs.root(), &diag);
    REQUIRE_FALSE(beyond);
    CHECK(beyond.error() == mp::errc::node_out_of_range);
    CHECK(diag.node == 1024);
  }

  TEST_CASE("topology: a node list beyond 1023 is refused") {
    FakeSysfs fs;
    fs.nodes("0-1024", "0", "0", "0");
    mp::SysfsDiagnostic diag;
    const auto t = mp::read_topology(fs.root(), &diag);
    REQUIRE_FALSE(t);
    CHECK(t.error() == mp::errc::topology_unavailable);
    CHECK(ends_with(diag.path_view(), "/possible"));
    CHECK(diag.os_error == 0);
  }

  TEST_CASE("topology: each missing file is named") {
    for (const char* name : {"possible", "online", "has_memory", "has_cpu"}) {
      CAPTURE(name);
      FakeSysfs fs;
      FakeSysfs::sparse(fs);
      fs.remove_node_file(name);
      mp::SysfsDiagnostic diag;
      const auto t = mp::read_topology(fs.root(), &diag);
      REQUIRE_FALSE(t);
      CHECK(t.error() == mp::errc::topology_unavailable);
      CHECK(t.error() == std::errc::no_such_file_or_directory);
      CHECK(diag.os_error == ENOENT);
      CHECK(ends_with(diag.path_view(), std::string("/sys/devices/system/node/") + name));
      const std::string text = diag.message();
      CHECK(text.find(name) != std::string::npos);
      CHECK(text.find("sysfs is mounted") != std::string::npos);  // says what to do
    }
  }

  TEST_CASE("topology: an empty root has no node directory") {
    FakeSysfs fs;  // directories only, no files
    mp::SysfsDiagnostic diag;
    const auto t = mp::read_topology(fs.root(), &diag);
    REQUIRE_FALSE(t);
    CHECK(t.error() == mp::errc::topology_unavailable);
    CHECK(ends_with(diag.path_view(), "/possible"));
    // Without a diagnostic the error alone still says what failed.
    CHECK(mp::read_topology(fs.root()).error() == mp::errc::topology_unavailable);
  }

  TEST_CASE("topology: malformed node lists") {
    // (Repeated separators such as "0,,2" are valid: bitmap_parselist accepts them.)
    for (const std::string bad : {"0-x\n", "3-1\n", "0;2\n", "-1\n", "abc\n", "0x3\n", "5:1/2\n"}) {
      CAPTURE(bad);
      FakeSysfs fs;
      FakeSysfs::sparse(fs);
      fs.node_file("online", bad);
      mp::SysfsDiagnostic diag;
      const auto t = mp::read_topology(fs.root(), &diag);
      REQUIRE_FALSE(t);
      CHECK(t.error() == mp::errc::topology_unavailable);
      CHECK(diag.os_error == 0);
      CHECK(ends_with(diag.path_view(), "/online"));
      CHECK(std::string(diag.advice).find("node list") != std::string::npos);
    }
  }

  TEST_CASE("topology: an empty set is a bare newline") {
    FakeSysfs fs;
    fs.nodes("0-1", "0-1", "0-1", "");  // no node has CPUs, printed as "\n"
    const mp::Topology t = read_ok(fs);
    CHECK(t.with_cpus.empty());
    fs.node_file("has_cpu", "");  // and no newline at all
    CHECK(read_ok(fs).with_cpus.empty());
  }

  TEST_CASE("topology: a file longer than a sysfs page is refused") {
    FakeSysfs fs;
    FakeSysfs::sparse(fs);
    fs.node_file("online", std::string(5000, '0'));
    mp::SysfsDiagnostic diag;
    REQUIRE_FALSE(mp::read_topology(fs.root(), &diag));
    CHECK(diag.os_error == EFBIG);
  }

  TEST_CASE("topology: root spelling") {
    FakeSysfs fs;
    FakeSysfs::cpuless(fs);
    CHECK(read_ok(fs) == mp::read_topology(fs.root() + "///").value());

    mp::SysfsDiagnostic diag;
    const std::string with_nul = fs.root() + std::string(1, '\0') + "x";
    const auto nul = mp::read_topology(with_nul, &diag);
    REQUIRE_FALSE(nul);
    CHECK(nul.error() == std::errc::invalid_argument);
    CHECK(std::string(diag.advice).find("NUL") != std::string::npos);

    const std::string long_root(5000, 'a');
    const auto too_long = mp::read_topology(long_root, &diag);
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error() == std::errc::filename_too_long);
    CHECK(diag.path_view().empty());
  }

  TEST_CASE("topology: malformed weights") {
    for (const std::string bad : {"0\n", "256\n", "abc\n", "\n", "1000\n", "-1\n", "0x10\n"}) {
      CAPTURE(bad);
      FakeSysfs fs;
      FakeSysfs::sparse(fs);
      fs.weight_raw(2, bad);
      mp::SysfsDiagnostic diag;
      const auto w = mp::read_interleave_weight(2, fs.root(), &diag);
      REQUIRE_FALSE(w);
      CHECK(w.error() == mp::errc::topology_unavailable);
      CHECK(diag.node == 2);
      CHECK(diag.os_error == 0);
    }
  }

  TEST_CASE("topology: a kernel without weighted interleave") {
    FakeSysfs fs;
    FakeSysfs::sparse(fs);
    fs.remove_weights_dir();
    mp::SysfsDiagnostic diag;
    const auto w = mp::read_interleave_weight(0, fs.root(), &diag);
    REQUIRE_FALSE(w);
    CHECK(w.error() == mp::errc::topology_unavailable);
    CHECK(std::string(diag.advice).find("6.9") != std::string::npos);
  }

  TEST_CASE("topology: write a weight and read it back") {
    FakeSysfs fs;
    FakeSysfs::sparse(fs);
    REQUIRE(mp::write_interleave_weight(8, 42, fs.root()));
    CHECK(mp::read_interleave_weight(8, fs.root()).value() == 42);
    REQUIRE(mp::write_interleave_weight(8, 255, fs.root()));
    CHECK(mp::read_interleave_weight(8, fs.root()).value() == 255);
    REQUIRE(mp::write_interleave_weight(8, 1, fs.root()));
    CHECK(mp::read_interleave_weight(8, fs.root()).value() == 1);
  }

  TEST_CASE("topology: weight writes are validated first") {
    FakeSysfs fs;
    FakeSysfs::sparse(fs);
    mp::SysfsDiagnostic diag;
    CHECK(mp::write_interleave_weight(0, 0, fs.root(), &diag).error() == mp::errc::invalid_weight);
    CHECK(diag.node == 0);
    CHECK(mp::write_interleave_weight(0, 256, fs.root()).error() == mp::errc::invalid_weight);
    CHECK(mp::write_interleave_weight(1024, 1, fs.root()).error() == mp::errc::node_out_of_range);
    // The file still holds the old value.
    CHECK(mp::read_interleave_weight(0, fs.root()).value() == 1);
    // No file for the node: named, and no file is created.
    const auto missing = mp::write_interleave_weight(5, 1, fs.root(), &diag);
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == mp::errc::topology_unavailable);
    CHECK(diag.node == 5);
    CHECK(::access(fs.weight_path(5).c_str(), F_OK) != 0);
  }

  TEST_CASE("topology: a weight write without permission names node and privilege") {
    FakeSysfs fs;
    FakeSysfs::sparse(fs);
    // Root ignores file modes, so as root the write runs in a child that has dropped to "nobody";
    // otherwise the file is made read-only for its owner.
    const bool as_root = ::geteuid() == 0;
    if (!as_root) REQUIRE(::chmod(fs.weight_path(2).c_str(), 0444) == 0);
    const std::string root = fs.root();
    const int status = taskmpol_test::run_in_child([&] {
      if (as_root && (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
                      ::setresuid(65534, 65534, 65534) != 0))
        return 100;
      mp::SysfsDiagnostic diag;
      const auto r = mp::write_interleave_weight(2, 9, root, &diag);
      if (r) return 1;
      if (r.error() != std::errc::permission_denied) return 2;
      if (diag.node != 2 || diag.os_error != EACCES) return 3;
      const std::string text = diag.message();
      if (text.find("node 2") == std::string::npos || text.find("root") == std::string::npos) return 4;
      return 0;
    });
    INFO("child wait status " << status);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(mp::read_interleave_weight(2, fs.root()).value() == 3);  // unchanged
  }

  TEST_CASE("topology: automatic weights flag in both spellings") {
    FakeSysfs fs;
    mp::SysfsDiagnostic diag;
    const auto none = mp::read_interleave_auto(fs.root(), &diag);
    REQUIRE_FALSE(none);
    CHECK(none.error() == mp::errc::topology_unavailable);
    CHECK(ends_with(diag.path_view(), "/auto"));
    CHECK(std::string(diag.advice).find("6.16") != std::string::npos);

    fs.weights_file("__auto_type", "true\n");
    CHECK(mp::read_interleave_auto(fs.root()).value() == true);
    fs.weights_file("auto", "false\n");  // the proper name wins
    CHECK(mp::read_interleave_auto(fs.root()).value() == false);
    fs.weights_file("auto", "maybe\n");
    CHECK_FALSE(mp::read_interleave_auto(fs.root()));
  }
}
