// SPDX-License-Identifier: MIT
// Differential test: taskmpol's parse_policy()/to_string() against the RUNNING kernel's
// mpol_parse_str()/mpol_to_str(), reached through tmpfs' "mpol=" mount option. For every corpus
// text, both must accept or both reject, and when they accept, mountinfo must show exactly our
// rendering (cut to shmem_show_mpol's 63 characters; nothing at all for default).
//
// Needs root (CAP_SYS_ADMIN) for unshare(CLONE_NEWNS) and the new mount API (Linux >= 5.2).
// Without them every case prints why it is skipped and checks that the refusal is a permission or
// availability error, not something else. The binary is standalone: the same test runs on the
// development host (Linux 6.18, one node) and inside the 6.12 VM (several nodes, one without
// memory), reading the topology of whichever kernel it runs on.
//
// Linux 6.12 vs the host's 6.18: lib/bitmap-str.c's bitmap_parselist() is identical upstream, and
// the mm/mempolicy.c parser/printer pair has had no grammar change in that range that we know of;
// the 6.18 run below agrees on every input (see the MESSAGE lines). Should a kernel version ever
// differ, it goes into known_differences() with the version that introduced it, so the test pins
// the difference instead of hiding it.
#include "tmpfs_mpol.hpp"

#include <support/policy_corpus.hpp>
#include <taskmpol/policy.hpp>

#include <doctest/doctest.h>

#include <support/skip.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace tp = taskmpol;
using taskmpol_test::KernelVerdict;
using taskmpol_test::TmpfsMpolProbe;

namespace {

// Inputs on which a kernel release is known to differ from Linux 6.12's grammar: none so far.
struct KnownDifference {
  const char* text;
  const char* kernel_since;  // first release that behaves differently
  bool accepted;             // what that release does
};
const std::vector<KnownDifference>& known_differences() {
  static const std::vector<KnownDifference> none;
  return none;
}

std::string visible(const std::string& text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}

// What mountinfo should show for a policy we accepted.
std::string expected_shown(const tp::Policy& policy) {
  if (policy.mode() == tp::Mode::default_policy) return "";  // shmem_show_mpol: "show nothing"
  std::string text = tp::to_string(policy);
  if (text.size() > taskmpol_test::shmem_mpol_buffer - 1) text.resize(taskmpol_test::shmem_mpol_buffer - 1);
  return text;
}

// Explains a skip and checks that the reason is a missing privilege or feature.
void report_skip(const TmpfsMpolProbe& probe) {
  const int e = probe.setup_errno();
  if (e == EPERM || e == EACCES || e == ENOSYS || e == ENODEV)
    TASKMPOL_SKIP("the running kernel's mpol_parse_str is reachable only by mounting tmpfs in a private mount "
                  "namespace, which failed here: "
                  << probe.why() << ". Run as root (CAP_SYS_ADMIN) on Linux >= 5.2 to compare.");
  FAIL_CHECK("setting up the private tmpfs failed for an unexpected reason, errno " << e << ": " << probe.why());
}

}  // namespace

TEST_SUITE("kernel differential") {
  TEST_CASE("kernel differential: tmpfs mpol accepts exactly what parse_policy accepts and shows our text") {
    TmpfsMpolProbe probe;
    if (!probe.ready()) return report_skip(probe);

    const tp::NodeMask memory = taskmpol_test::read_nodes_with_memory();
    const std::vector<std::string> corpus = taskmpol_test::policy_corpus();
    REQUIRE(corpus.size() >= 2000);

    std::size_t compared = 0, accepted = 0, rejected = 0, disagreements = 0, pinned = 0;
    std::ostringstream report;
    for (const std::string& text : corpus) {
      if (text.size() > taskmpol_test::fsconfig_max_value) continue;  // covered by the next case
      const std::optional<KernelVerdict> kernel = probe.probe(text);
      REQUIRE_MESSAGE(kernel.has_value(), "probe broke on '" << visible(text) << "': " << probe.why());
      ++compared;

      tp::PolicyDiagnostic diag;
      const tp::result<tp::Policy> ours = tp::parse_policy(text, memory, tp::Dialect::kernel, &diag);

      bool expect_accept = ours.has_value();
      for (const KnownDifference& d : known_differences())
        if (text == d.text) {
          expect_accept = d.accepted;
          ++pinned;
        }

      std::string problem;
      if (kernel->accepted != expect_accept) {
        problem = kernel->accepted ? "kernel accepts, taskmpol rejects (" + diag.message() + ")"
                                   : "kernel rejects (errno " + std::to_string(kernel->error) + "), taskmpol accepts as '" +
                                         tp::to_string(ours.value()) + "'";
      } else if (kernel->accepted && ours.has_value() && kernel->shown != expected_shown(ours.value())) {
        problem = "kernel shows '" + visible(kernel->shown) + "', taskmpol prints '" + visible(expected_shown(ours.value())) + "'";
      } else if (!kernel->accepted && kernel->error != EINVAL) {
        problem = "kernel rejects with errno " + std::to_string(kernel->error) + " instead of EINVAL";
      }
      if (kernel->accepted) ++accepted; else ++rejected;
      if (!problem.empty()) {
        if (++disagreements <= 30) report << "\n  '" << visible(text) << "': " << problem;
      }
    }

    MESSAGE("kernel " << taskmpol_test::kernel_release() << ", nodes with memory '" << memory.to_string() << "': "
                      << compared << " inputs compared (" << accepted << " accepted, " << rejected
                      << " rejected by the kernel), " << disagreements << " disagreements, " << pinned
                      << " pinned version differences" << report.str());
    CHECK(compared >= 2000);
    CHECK(accepted > 100);  // the corpus really exercises both outcomes
    CHECK(rejected > 100);
    CHECK(disagreements == 0);
  }

  TEST_CASE("kernel differential: texts over 255 bytes never reach mpol_parse_str") {
    TmpfsMpolProbe probe;
    if (!probe.ready()) return report_skip(probe);
    const tp::NodeMask memory = taskmpol_test::read_nodes_with_memory();
    const std::vector<std::string> texts = taskmpol_test::overlong_corpus();
    REQUIRE(texts.size() == 2);
    REQUIRE(texts[0].size() == 255);
    REQUIRE(texts[1].size() == 256);
    // 255 bytes pass through fsconfig whole and parse like any other text.
    const auto at_limit = probe.probe(texts[0]);
    REQUIRE(at_limit.has_value());
    CHECK(at_limit->accepted == tp::parse_policy(texts[0], memory).has_value());
    // 256 bytes: strndup_user(value, 256) refuses with EINVAL although taskmpol (like
    // mpol_parse_str itself) accepts the text: a limit of the transport, not of the grammar.
    const auto over = probe.probe(texts[1]);
    REQUIRE(over.has_value());
    CHECK(tp::parse_policy(texts[1], memory).has_value());
    CHECK_FALSE(over->accepted);
    CHECK(over->error == EINVAL);
  }

  TEST_CASE("kernel differential: the quirks pinned one by one on the running kernel") {
    TmpfsMpolProbe probe;
    if (!probe.ready()) return report_skip(probe);
    struct Case {
      const char* text;
      bool accepted;
      const char* shown;
    };
    // Only node 0 is assumed to have memory (true on every machine).
    const Case cases[] = {
        {"default", true, ""},                      // default shows nothing
        {"default=anything", true, ""},             // default never looks at its flags
        {"prefer", true, "local"},                  // prefer without a node is local
        {"prefer:00", true, "prefer:0"},            // digits only, leading zeros fine
        {"prefer:0-0", false, ""},                  // a range is not a plain number
        {"prefer: 0", false, ""},                   // nor is a space
        {"prefer:0\n", false, ""},                  // nor a newline
        {"bind:0\n", true, "bind:0"},               // the node list ends at the newline
        {"bind:0\nanything", true, "bind:0"},       // ... and ignores what follows it
        {"interleave\n", false, ""},                // the mode is strcmp()ed, newline included
        {"bind:0=static", true, "bind=static:0"},   // strchr(): flags after the node list
        {"bind=balancing:0", false, ""},            // printed, never parsed
        {"local:", false, ""},                      // local takes no list, not even an empty one
        {"prefer (many)=relative:0", true, "prefer (many)=relative:0"},
        {"weighted interleave=static:0", true, "weighted interleave=static:0"},
        {"bind:\xa0" "0", true, "bind:0"},          // kernel isspace() includes 0xA0
        {"bind:0-1023:1/1024", true, "bind:0"},     // strides
        {"bind:4294967295", false, ""},             // end + 1 wraps to a zero group: EINVAL
    };
    for (const Case& c : cases) {
      CAPTURE(visible(c.text));
      const auto kernel = probe.probe(c.text);
      REQUIRE(kernel.has_value());
      CHECK(kernel->accepted == c.accepted);
      if (c.accepted) CHECK(kernel->shown == c.shown);
      const auto ours = tp::parse_policy(c.text, tp::NodeMask::of<0>());
      CHECK(ours.has_value() == c.accepted);
      if (ours) CHECK(expected_shown(ours.value()) == c.shown);
    }
  }
}
