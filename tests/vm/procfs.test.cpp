// SPDX-License-Identifier: MIT
// /proc/<pid>/mempolicy and /proc/<pid>/task/<tid>/mempolicy: the kernel's mpol_to_str text on
// read, the tmpfs mpol= grammar on write, verified from the target itself.
#include "mode_matrix.hpp"
#include "vm_support.hpp"

#include <memory>

using namespace vmtest;

namespace {

// Writes `text` to the worker's per-thread file (for the leader: /proc/<pid>/mempolicy).
int write_policy(Target& t, std::size_t worker, std::string_view text) {
  const std::string path = worker == 0 ? proc_file(t.pid()) : proc_file(t.pid(), t.tid(worker));
  auto r = write_text(path, text);
  if (!r) return errno_of(r);
  CHECK_MESSAGE(r.value() == text.size(), "write(2) consumed " << r.value() << " of " << text.size() << " bytes");
  return 0;
}

}  // namespace

TEST_SUITE("vm.procfs" * doctest::skip(skip_all())) {

TEST_CASE("procfs: writing /proc/<pid>/mempolicy in every mode is seen by the target and its new pages") {
  run_mode_matrix([](Target& t, std::size_t worker, const ModeCase& c) { return write_policy(t, worker, c.text); });
}

TEST_CASE("procfs: writing /proc/<pid>/task/<tid>/mempolicy changes that thread only") {
  run_mode_matrix([](Target& t, std::size_t worker, const ModeCase& c) { return write_policy(t, worker, c.text); },
                  3, 1);
}

TEST_CASE("procfs: read shows the kernel's text form of every mode and flag") {
  const Roles& r = roles();
  const std::string A = std::to_string(r.a), B = std::to_string(r.b), M = std::to_string(r.m);
  const NodeMask abm = r.memory(), bm = node_set({r.b, r.m}), am = node_set({r.a, r.m});
  // Static and relative nodes read back as they were given (ABI 2), so that the text writes back
  // the same policy: relative bits are indices into the allowed nodes, not node numbers.
  struct Form {
    int mode;
    NodeMask nodes;
    std::string text;
  };
  const Form forms[] = {
      {mpol_default, {}, "default\n"},
      {mpol_local, {}, "local\n"},
      {mpol_preferred, node_set({r.m}), "prefer:" + M + "\n"},
      {mpol_preferred, {}, "local\n"},  // prefer without nodes is local
      {mpol_preferred | mpol_f_static, node_set({r.b}), "prefer=static:" + B + "\n"},
      {mpol_preferred | mpol_f_relative, NodeMask::of<0>(), "prefer=relative:0\n"},  // relative nodes as given (ABI 2)
      {mpol_bind, node_set({r.b}), "bind:" + B + "\n"},
      {mpol_bind, am, "bind:" + to_list(am) + "\n"},
      {mpol_bind, node_set({r.m, r.c}), "bind:" + M + "\n"},  // node c has no memory: masked off
      {mpol_bind | mpol_f_static, abm, "bind=static:" + to_list(abm) + "\n"},
      {mpol_bind | mpol_f_relative, NodeMask::of<0, 1>(), "bind=relative:0-1\n"},
      {mpol_bind | mpol_f_balancing, node_set({r.b}), "bind=balancing:" + B + "\n"},
      {mpol_bind | mpol_f_relative | mpol_f_balancing, NodeMask::of<0, 1>(),
       "bind=relative|balancing:0-1\n"},
      {mpol_interleave, abm, "interleave:" + to_list(abm) + "\n"},
      {mpol_interleave | mpol_f_static, bm, "interleave=static:" + to_list(bm) + "\n"},
      {mpol_weighted_interleave, abm, "weighted interleave:" + to_list(abm) + "\n"},
      {mpol_weighted_interleave | mpol_f_relative, NodeMask::of<0, 1>(),
       "weighted interleave=relative:0-1\n"},
      {mpol_preferred_many, bm, "prefer (many):" + to_list(bm) + "\n"},
      {mpol_preferred_many | mpol_f_static | mpol_f_balancing, bm,
       "prefer (many)=static|balancing:" + to_list(bm) + "\n"},
  };
  Target t(TargetOptions{.threads = 2});
  for (const Form& f : forms) {
    CAPTURE(f.text);
    REQUIRE(errno_of(set_task(t.pidfd(), f.mode, f.nodes)) == 0);
    CHECK(read_text(proc_file(t.pid())).value() == f.text);
    CHECK(read_text(proc_file(t.pid(), t.tid(0))).value() == f.text);
    CHECK(read_text(proc_file(t.pid(), t.tid(1))).value() == "default\n");
  }
}

TEST_CASE("procfs: write and read back round-trip") {
  const Roles& r = roles();
  const std::string A = std::to_string(r.a), B = std::to_string(r.b), M = std::to_string(r.m);
  const NodeMask abm = r.memory(), bm = node_set({r.b, r.m}), am = node_set({r.a, r.m}), ab = node_set({r.a, r.b});
  const std::string labm = to_list(abm), lbm = to_list(bm), lam = to_list(am), lab = to_list(ab);
  struct Trip {
    std::string write;
    std::string read;
    int own_mode;
    NodeMask own_nodes;
  };
  const Trip trips[] = {
      {"default", "default\n", mpol_default, {}},
      {"local", "local\n", mpol_local, {}},
      {"prefer", "local\n", mpol_local, {}},
      {"prefer:" + M, "prefer:" + M + "\n", mpol_preferred, node_set({r.m})},
      {"prefer=static:" + B, "prefer=static:" + B + "\n", mpol_preferred | mpol_f_static, node_set({r.b})},
      {"prefer=relative:0", "prefer=relative:0\n", mpol_preferred | mpol_f_relative, NodeMask::of<0>()},
      {"bind:" + B, "bind:" + B + "\n", mpol_bind, node_set({r.b})},
      {"bind:" + lam, "bind:" + lam + "\n", mpol_bind, am},
      {"bind=static:" + lbm, "bind=static:" + lbm + "\n", mpol_bind | mpol_f_static, bm},
      {"bind=relative:0-1", "bind=relative:0-1\n", mpol_bind | mpol_f_relative, NodeMask::of<0, 1>()},
      {"interleave", "interleave:" + labm + "\n", mpol_interleave, abm},  // no nodes: all with memory
      {"interleave:" + labm, "interleave:" + labm + "\n", mpol_interleave, abm},
      {"interleave=static:" + lam, "interleave=static:" + lam + "\n", mpol_interleave | mpol_f_static, am},
      {"weighted interleave", "weighted interleave:" + labm + "\n", mpol_weighted_interleave, abm},
      {"weighted interleave:" + lbm, "weighted interleave:" + lbm + "\n", mpol_weighted_interleave, bm},
      {"prefer (many):" + lbm, "prefer (many):" + lbm + "\n", mpol_preferred_many, bm},
      {"prefer (many)=static:" + lab, "prefer (many)=static:" + lab + "\n", mpol_preferred_many | mpol_f_static, ab},
      {"bind:" + B + "\n", "bind:" + B + "\n", mpol_bind, node_set({r.b})},  // a trailing newline, as echo writes it
  };
  Target t;
  for (const Trip& trip : trips) {
    CAPTURE(trip.write);
    REQUIRE(write_policy(t, 0, baseline_text()) == 0);
    REQUIRE(write_policy(t, 0, trip.write) == 0);
    const std::string text = read_text(proc_file(t.pid())).value();
    CHECK(text == trip.read);
    const PolicyView own = t.policy();
    CHECK(own.mode == trip.own_mode);
    CHECK(to_list(own.nodes) == to_list(trip.own_nodes));
    // What was read back, written again, reads the same.
    REQUIRE(write_policy(t, 0, text) == 0);
    CHECK(read_text(proc_file(t.pid())).value() == text);
  }
}

TEST_CASE("procfs: invalid text is EINVAL and changes nothing") {
  const Roles& r = roles();
  const std::string B = std::to_string(r.b), C = std::to_string(r.c);
  const std::string bad[] = {
      "bogus",
      "bind",                        // bind needs nodes
      "prefer (many)",               // so does prefer (many)
      "bind:" + C,                   // node c has no memory
      "bind:63",                     // no such node
      "bind:1-0",                    // not a node list
      "bind:x",
      "prefer:" + std::to_string(r.a) + "," + B,  // prefer takes one node
      "local:" + B,                  // local takes none
      "default:" + B,
      "bind=bogus:" + B,             // unknown flag
      "bind=static|relative:" + B,
      "prefer=static",               // static without nodes
      "Bind:" + B,                   // mode names are case-sensitive
      "bind=balancing:" + B,         // printed, but the grammar has no balancing flag
  };
  Target t;
  REQUIRE(write_policy(t, 0, baseline_text()) == 0);
  for (const std::string& text : bad) {
    CAPTURE(text);
    CHECK(errno_of(write_text(proc_file(t.pid()), text)) == EINVAL);
    CHECK(read_text(proc_file(t.pid())).value() == baseline_read());
    CHECK(t.policy().mode == mpol_preferred);
  }
}

TEST_CASE("procfs: the file of a task that is gone") {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(errno_of(read_text(proc_file(pid))) == ENOENT);
  CHECK(errno_of(write_text(proc_file(pid), "local")) == ENOENT);
}

TEST_CASE("procfs: a descriptor opened by root gives a less privileged writer no power") {
  Target t;
  const int fd = ::open(proc_file(t.pid()).c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  const std::string text = "bind:" + std::to_string(roles().b);
  const int err = in_child(65534, [fd, &text] {
    const ssize_t n = ::write(fd, text.data(), text.size());
    return n < 0 ? errno : 0;
  });
  ::close(fd);
  CHECK((err == EPERM || err == EACCES));
  CHECK(t.policy().mode == mpol_default);
}

TEST_CASE("procfs: descriptors of a thread that has exited report ESRCH") {
  // While the thread lives its file is readable and writable; once the target is gone, descriptors
  // opened earlier must fail cleanly instead of reaching freed state.
  auto t = std::make_unique<Target>(TargetOptions{.threads = 2});
  const std::string path = proc_file(t->pid(), t->tid(1));
  const int rfd = ::open(path.c_str(), O_RDONLY);
  const int wfd = ::open(path.c_str(), O_WRONLY);
  REQUIRE(rfd >= 0);
  REQUIRE(wfd >= 0);
  const std::string text = "interleave:" + to_list(node_set({roles().a, roles().b}));
  REQUIRE(::write(wfd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  CHECK(t->policy(1).mode == mpol_interleave);
  t.reset();
  char buf[64];
  const ssize_t r = ::read(rfd, buf, sizeof(buf));
  const int read_err = r < 0 ? errno : 0;
  const ssize_t w = ::write(wfd, text.data(), text.size());
  const int write_err = w < 0 ? errno : 0;
  ::close(rfd);
  ::close(wfd);
  MESSAGE("after exit: read errno " << read_err << ", write errno " << write_err);
  CHECK(read_err == ESRCH);
  CHECK(write_err == ESRCH);
}

}  // TEST_SUITE
