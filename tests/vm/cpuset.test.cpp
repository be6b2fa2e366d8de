// SPDX-License-Identifier: MIT
// cpuset interaction. Node roles (vm_support.hpp): a and b have CPUs and memory, m memory only.
// The caller stays in the root cgroup (mems a,b,m); the target lives in a child cgroup with
// cpuset.mems = b,m. Every node computation must use the TARGET's mems_allowed:
//   interleave=relative:0-1 -> the 1st and 2nd allowed nodes of the target = b,m;
//   bind=static:a,b,m       -> a,b,m & b,m = b,m;
//   bind:a,b,m              -> b,m;
//   bind:a (outside)        -> EINVAL, target unchanged.
// With static and relative flags get_mempolicy(2) reports the nodes as the caller gave them (stock
// behaviour); /proc/<pid>/mempolicy prints the nodes in effect; the target's pages show the truth.
#include "vm_support.hpp"

using namespace vmtest;

namespace {

constexpr unsigned long fixed_range = 0x300000000000UL;

unsigned long bytes(unsigned long npages) { return npages * static_cast<unsigned long>(page_size); }

// The target's own view, the remote view and the text form of one policy.
struct Views {
  PolicyView own;
  PolicyView remote;
  std::string text;
};

Views views_of(Target& t) {
  Views v;
  v.own = t.policy();
  auto remote = get_task(t.pidfd());
  REQUIRE(remote.has_value());
  v.remote = remote.value();
  auto text = read_text(proc_file(t.pid()));
  REQUIRE(text.has_value());
  v.text = text.value();
  return v;
}

struct Setter {
  const char* name;
  int (*apply)(const Target& t, int mode, const NodeMask& nodes, const char* text);
};

int by_syscall(const Target& t, int mode, const NodeMask& nodes, const char*) {
  return errno_of(set_task(t.pidfd(), mode, nodes));
}
int by_procfs(const Target& t, int, const NodeMask&, const char* text) {
  return errno_of(write_text(proc_file(t.pid()), text));
}

const Setter setters[] = {{"set_task_mempolicy", by_syscall}, {"/proc/<pid>/mempolicy", by_procfs}};

}  // namespace

TEST_SUITE("vm.cpuset" * doctest::skip(skip_all())) {

TEST_CASE("cpuset: the target's mems_allowed and not the caller's") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m});
  Cgroup cg(bm);
  Target t;
  cg.add(t.pid());
  REQUIRE(cg.effective_mems() == to_list(bm));
  CHECK(t.mems_allowed() == bm);
  auto remote = get_task(t.pidfd(), 0, sys::mpol_f_mems_allowed);
  REQUIRE(remote.has_value());
  CHECK(remote.value().nodes == bm);
  auto mine = get_self(0, sys::mpol_f_mems_allowed);
  REQUIRE(mine.has_value());
  CHECK(mine.value().nodes == r.memory());
  t.stop();
}

TEST_CASE("cpuset: interleave=relative:0-1 maps onto the target's nodes b and m") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m});
  for (const Setter& s : setters) {
    CAPTURE(s.name);
    Cgroup cg(bm);
    Target t;
    cg.add(t.pid());
    REQUIRE(s.apply(t, mpol_interleave | mpol_f_relative, NodeMask::of<0, 1>(), "interleave=relative:0-1") == 0);
    const Views v = views_of(t);
    CHECK(v.own.mode == (mpol_interleave | mpol_f_relative));
    CHECK(to_list(v.own.nodes) == "0-1");
    CHECK(v.remote.mode == v.own.mode);
    CHECK(v.remote.nodes == v.own.nodes);
    CHECK(v.text == "interleave=relative:0-1\n");  // the nodes as given, so the text writes back the same
    const Reply pages = t.alloc(300);
    INFO("pages: " << pages.histogram());
    CHECK(pages.used() == bm);
    CHECK(std::abs(pages.counts[r.b] - pages.counts[r.m]) <= 30);
    t.stop();
  }
}

TEST_CASE("cpuset: bind=static on a+b+m is masked to the target's nodes b and m") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m});
  const std::string text = "bind=static:" + to_list(r.memory());
  for (const Setter& s : setters) {
    CAPTURE(s.name);
    Cgroup cg(bm);
    Target t;
    cg.add(t.pid());
    REQUIRE(s.apply(t, mpol_bind | mpol_f_static, r.memory(), text.c_str()) == 0);
    const Views v = views_of(t);
    CHECK(v.own.mode == (mpol_bind | mpol_f_static));
    CHECK(v.own.nodes == r.memory());
    CHECK(v.remote.mode == v.own.mode);
    CHECK(v.remote.nodes == v.own.nodes);
    CHECK(v.text == text + "\n");  // the nodes as given (ABI 2), not the effective b+m
    const Reply pages = t.alloc(128);
    INFO("pages: " << pages.histogram());
    CHECK(pages.used().is_subset_of(bm));
    CHECK(pages.unplaced == 0);
    t.stop();
  }
}

TEST_CASE("cpuset: plain bind on a+b+m becomes bind on b+m in every view") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m});
  const std::string text = "bind:" + to_list(r.memory());
  for (const Setter& s : setters) {
    CAPTURE(s.name);
    Cgroup cg(bm);
    Target t;
    cg.add(t.pid());
    REQUIRE(s.apply(t, mpol_bind, r.memory(), text.c_str()) == 0);
    const Views v = views_of(t);
    CHECK(v.own.mode == mpol_bind);
    CHECK(v.own.nodes == bm);
    CHECK(v.remote.mode == mpol_bind);
    CHECK(v.remote.nodes == bm);
    CHECK(v.text == "bind:" + to_list(bm) + "\n");
    t.stop();
  }
}

TEST_CASE("cpuset: nodes entirely outside the target's cpuset are EINVAL and change nothing") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m});
  const std::string bind_a = "bind:" + std::to_string(r.a);
  const std::string static_a = "interleave=static:" + std::to_string(r.a);
  for (const Setter& s : setters) {
    CAPTURE(s.name);
    Cgroup cg(bm);
    Target t;
    cg.add(t.pid());
    REQUIRE(errno_of(set_task(t.pidfd(), mpol_preferred, node_set({r.m}))) == 0);
    CHECK(s.apply(t, mpol_bind, node_set({r.a}), bind_a.c_str()) == EINVAL);
    CHECK(s.apply(t, mpol_interleave | mpol_f_static, node_set({r.a}), static_a.c_str()) == EINVAL);
    const Views v = views_of(t);
    CHECK(v.own.mode == mpol_preferred);
    CHECK(v.own.nodes == node_set({r.m}));
    CHECK(v.text == "prefer:" + std::to_string(r.m) + "\n");
    // The caller's own cpuset would have allowed node a: the check used the target's.
    CHECK(errno_of(set_task(sys::pidfd_self_thread, mpol_bind, node_set({r.a}))) == 0);
    REQUIRE(errno_of(sys::set_mempolicy(mpol_default, nullptr, 0)) == 0);
    t.stop();
  }
}

TEST_CASE("cpuset: task_mbind computes the target's range policy against the target's cpuset") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m});
  Cgroup cg(bm);
  Target t;
  cg.add(t.pid());
  const unsigned long range = t.map(32, fixed_range);
  REQUIRE(errno_of(task_mbind(t.pidfd(), range, bytes(16), mpol_bind, r.memory())) == 0);
  const PolicyView at = get_task(t.pidfd(), range, sys::mpol_f_addr).value();
  CHECK(at.mode == mpol_bind);
  CHECK(at.nodes == bm);
  CHECK(t.policy_at(range).nodes == bm);
  const Reply pages = t.touch(range, 16);
  INFO("pages: " << pages.histogram());
  CHECK(pages.used().is_subset_of(bm));
  CHECK(pages.unplaced == 0);

  REQUIRE(errno_of(task_mbind(t.pidfd(), range + bytes(16), bytes(16), mpol_interleave | mpol_f_relative,
                              NodeMask::of<0, 1>())) == 0);
  const Reply il = t.touch(range + bytes(16), 16);
  INFO("relative interleave pages: " << il.histogram());
  CHECK(il.counts[r.b] == 8);
  CHECK(il.counts[r.m] == 8);

  CHECK(errno_of(task_mbind(t.pidfd(), range, bytes(16), mpol_bind, node_set({r.a}))) == EINVAL);
  CHECK(t.policy_at(range).nodes == bm);
  t.stop();
}

TEST_CASE("cpuset: a home node on a target in a cpuset") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m});
  Cgroup cg(bm);
  Target t;
  cg.add(t.pid());
  const unsigned long range = t.map(16, fixed_range);
  REQUIRE(errno_of(task_mbind(t.pidfd(), range, bytes(16), mpol_bind, bm)) == 0);
  REQUIRE(errno_of(sys::set_task_mempolicy_home_node(t.pidfd(), range, bytes(16), r.m, 0)) == 0);
  const Reply pages = t.touch(range, 16);
  INFO("pages: " << pages.histogram());
  CHECK(pages.counts[r.m] == 16);
  t.stop();
}

TEST_CASE("cpuset: moving the target to another cpuset rebinds a policy set from outside") {
  const Roles& r = roles();
  const NodeMask bm = node_set({r.b, r.m}), ab = node_set({r.a, r.b});
  Cgroup first(bm);
  Cgroup second(ab);
  Target t;
  first.add(t.pid());
  REQUIRE(errno_of(set_task(t.pidfd(), mpol_interleave | mpol_f_relative, NodeMask::of<0, 1>())) == 0);
  CHECK(read_text(proc_file(t.pid())).value() == "interleave=relative:0-1\n");
  second.add(t.pid());
  CHECK(t.mems_allowed() == ab);
  // The text is the policy as given; the pages show that it now maps onto the new cpuset.
  CHECK(read_text(proc_file(t.pid())).value() == "interleave=relative:0-1\n");
  const Reply pages = t.alloc(200);
  INFO("pages: " << pages.histogram());
  CHECK(pages.used() == ab);
  t.stop();
}

}  // TEST_SUITE
