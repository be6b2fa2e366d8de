// SPDX-License-Identifier: MIT
// One table of policies, applied to a target from outside by each setter (set_task_mempolicy,
// /proc/<pid>/mempolicy, /proc/<pid>/task/<tid>/mempolicy) and verified from the target itself:
// its own get_mempolicy(2), libnuma's view, and where the pages it allocates afterwards land.
#pragma once

#include "vm_support.hpp"

#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace vmtest {

enum class Placement {
  all_on,  // every page on `nodes` (one node)
  spread,  // pages spread over `nodes` in proportion to `weights` (+-5 points of the total)
  within,  // every page on some node of `nodes`
};

struct ModeCase {
  std::string name;
  int mode;               // for the syscall setter: MPOL_* | MPOL_F_*
  NodeMask nodes;         // for the syscall setter
  std::string text;       // for the procfs setter (mpol_parse_str grammar)
  std::string read_back;  // what /proc/<pid>/mempolicy shows afterwards
  int own_mode;           // what the target's get_mempolicy(2) reports
  NodeMask own_nodes;
  Placement placement;
  NodeMask placed_on;
  std::vector<unsigned> weights;  // per node of placed_on, for Placement::spread
  unsigned long pages;
};

// Node roles (vm_support.hpp): a and b have CPUs and memory, m memory only, c CPUs only. Targets
// run on node a's first CPU, so "local" and "default" place pages on node a.
inline std::vector<ModeCase> mode_cases() {
  const Roles& r = roles();
  const NodeMask b = node_set({r.b}), m = node_set({r.m}), bm = node_set({r.b, r.m}), abm = r.memory(), a = node_set({r.a});
  const std::string lb = to_list(b), lm = to_list(m), lbm = to_list(bm), labm = to_list(abm);
  return {
      {"bind b", mpol_bind, b, "bind:" + lb, "bind:" + lb + "\n", mpol_bind, b, Placement::all_on, b, {}, 256},
      {"bind a+b+m", mpol_bind, abm, "bind:" + labm, "bind:" + labm + "\n", mpol_bind, abm, Placement::within, abm,
       {}, 128},
      {"interleave a+b+m", mpol_interleave, abm, "interleave:" + labm, "interleave:" + labm + "\n", mpol_interleave,
       abm, Placement::spread, abm, {1, 1, 1}, 300},
      {"interleave b+m", mpol_interleave, bm, "interleave:" + lbm, "interleave:" + lbm + "\n", mpol_interleave, bm,
       Placement::spread, bm, {1, 1}, 300},
      {"weighted interleave a+b+m (weights 1,2,3)", mpol_weighted_interleave, abm, "weighted interleave:" + labm,
       "weighted interleave:" + labm + "\n", mpol_weighted_interleave, abm, Placement::spread, abm, {1, 2, 3}, 600},
      {"prefer m", mpol_preferred, m, "prefer:" + lm, "prefer:" + lm + "\n", mpol_preferred, m, Placement::all_on, m,
       {}, 256},
      {"prefer (many) b+m", mpol_preferred_many, bm, "prefer (many):" + lbm, "prefer (many):" + lbm + "\n",
       mpol_preferred_many, bm, Placement::within, bm, {}, 128},
      {"local", mpol_local, {}, "local", "local\n", mpol_local, {}, Placement::all_on, a, {}, 128},
      {"default", mpol_default, {}, "default", "default\n", mpol_default, {}, Placement::all_on, a, {}, 128},
  };
}

// A policy that differs from every case, set first so that each change is observable: prefer b.
inline std::string baseline_text() { return "prefer:" + std::to_string(roles().b); }
inline std::string baseline_read() { return baseline_text() + "\n"; }

inline void check_placement(const Reply& rp, const ModeCase& c) {
  INFO("pages: " << rp.histogram());
  CHECK(rp.unplaced == 0);
  const long total = rp.total();
  REQUIRE(total > 0);
  switch (c.placement) {
    case Placement::all_on: {
      const std::size_t node = c.placed_on.first();
      CHECK(rp.counts[node] == total);
      break;
    }
    case Placement::within: CHECK(rp.used().is_subset_of(c.placed_on)); break;
    case Placement::spread: {
      CHECK(rp.used().is_subset_of(c.placed_on));
      unsigned sum = 0;
      for (unsigned w : c.weights) sum += w;
      std::size_t i = 0;
      for (std::size_t node : c.placed_on) {
        const double expected = static_cast<double>(c.weights.at(i++)) / static_cast<double>(sum);
        const double actual = static_cast<double>(rp.counts[node]) / static_cast<double>(total);
        INFO("node " << node << ": expected share " << expected << ", got " << actual);
        CHECK(std::fabs(actual - expected) <= 0.05);
      }
      break;
    }
  }
}

inline void check_libnuma(const Reply& rp, const ModeCase& c) {
  if (rp.have_libnuma == 0) {
    MESSAGE("libnuma is not linked into this binary: its view is not checked");
    return;
  }
  const int base = c.own_mode & ~(mpol_f_static | mpol_f_relative | mpol_f_balancing);
  if (base == mpol_bind) CHECK(to_list(mask_from(rp.numa_membind)) == to_list(c.own_nodes));
  if (base == mpol_interleave) CHECK(to_list(mask_from(rp.numa_interleave)) == to_list(c.own_nodes));
  if (base == mpol_preferred) CHECK(rp.numa_preferred == static_cast<int>(c.own_nodes.first()));
  if (base != mpol_interleave) CHECK(mask_from(rp.numa_interleave).empty());
}

// Applies each case to one worker of a fresh target through `set`, then checks the target's view.
// `set(target, worker, case)` returns the errno of the change (0 on success).
inline void run_mode_matrix(const std::function<int(Target&, std::size_t, const ModeCase&)>& set,
                            std::size_t threads = 1, std::size_t worker = 0) {
  const Roles& r = roles();
  const WeightsGuard weights({{r.a, 1}, {r.b, 2}, {r.m, 3}});
  for (const ModeCase& c : mode_cases()) {
    CAPTURE(c.name);
    Target t(TargetOptions{.threads = threads});
    REQUIRE(errno_of(set_task(t.thread_pidfd(worker), mpol_preferred, node_set({r.b}))) == 0);
    REQUIRE(t.policy(worker).mode == mpol_preferred);

    REQUIRE(set(t, worker, c) == 0);

    // The target's own view.
    const PolicyView own = t.policy(worker);
    CHECK(own.mode == c.own_mode);
    CHECK(to_list(own.nodes) == to_list(c.own_nodes));
    // The remote view agrees with it.
    auto remote = get_task(t.thread_pidfd(worker));
    REQUIRE(remote.has_value());
    CHECK(remote.value().mode == own.mode);
    CHECK(to_list(remote.value().nodes) == to_list(own.nodes));
    // The kernel's text form.
    auto text = read_text(proc_file(t.pid(), t.tid(worker)));
    REQUIRE(text.has_value());
    CHECK(text.value() == c.read_back);
    // libnuma in the target.
    check_libnuma(t.ask({Op::libnuma, 0, 0}, worker), c);
    // Where the target's new pages go.
    check_placement(t.alloc(c.pages, worker), c);
    // Sibling threads keep the baseline.
    for (std::size_t other = 0; other < t.workers(); ++other) {
      if (other == worker) continue;
      CAPTURE(other);
      CHECK(t.policy(other).mode == mpol_default);
    }
  }
}

}  // namespace vmtest
