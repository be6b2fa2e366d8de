// SPDX-License-Identifier: MIT
// The taskmpol program, run as users run it: exit status, stdout and stderr for accepted and
// rejected policy texts (against --memory-nodes 0-2, so the answers do not depend on the host),
// and `show` under numactl, which sets the policy the program then reports.
#include <taskmpol/self.hpp>
#include <taskmpol/syscalls.hpp>
#include <taskmpol/topology.hpp>

#include <doctest/doctest.h>

#include "../support/skip.hpp"

#include <ostream>  // doctest prints std::error_code with operator<<, declared there
#include <nlohmann/json.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TASKMPOL_CLI_PATH
#error "TASKMPOL_CLI_PATH must name the built taskmpol program"
#endif

namespace mp = taskmpol;

namespace {

struct Run {
  int status = -1;
  std::string out;
  std::string err;
  [[nodiscard]] int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// fork + execvp with stdout and stderr on pipes, drained together with poll() so a chatty child
// cannot block on a full pipe. With `policy`, the child sets it before exec: a memory policy is
// inherited across exec, which is how `show` gets something to show.
Run run(std::vector<std::string> args, const mp::Policy* policy = nullptr) {
  Run r;
  int out_pipe[2];
  int err_pipe[2];
  REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err_pipe, O_CLOEXEC) == 0);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    if (policy != nullptr && !mp::set_self_policy(*policy)) ::_exit(126);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
  }
  return r;
}

Run cli(std::vector<std::string> args, const mp::Policy* policy = nullptr) {
  args.insert(args.begin(), TASKMPOL_CLI_PATH);
  return run(std::move(args), policy);
}

Run parse(const std::string& text) { return cli({"parse", "--memory-nodes", "0-2", "--", text}); }

bool have_numactl() { return run({"numactl", "--show"}).exit_code() == 0; }

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("cli: parse prints the canonical kernel form") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"bind:0-2", "bind:0-2"},
        {"bind:0,1,2", "bind:0-2"},
        {"bind:2,0", "bind:0,2"},
        {"interleave", "interleave:0-2"},
        {"weighted interleave", "weighted interleave:0-2"},
        {"weighted interleave=static:1", "weighted interleave=static:1"},
        {"prefer:1", "prefer:1"},
        {"prefer", "local"},
        {"local", "local"},
        {"default", "default"},
        {"prefer (many)=relative:0", "prefer (many)=relative:0"},
        {"bind=static:0-2:1/2", "bind=static:0,2"},
        {"bind:0=static", "bind=static:0"},  // the kernel's strchr split: flags after the list
    };
    for (const auto& c : cases) {
      const std::string& text = c.first;  // not a structured binding: clang 14 cannot capture those
      const std::string& canonical = c.second;
      CAPTURE(text);
      const Run r = parse(text);
      CHECK(r.exit_code() == 0);
      CHECK(r.out == canonical + "\n");
      CHECK(r.err.empty());
    }
  }

  TEST_CASE("cli: parse rejects what the kernel rejects") {
    // Each: the text, a fragment the message must contain, the (0-based) column it must name.
    struct Case {
      std::string text;
      std::string fragment;
      std::string column;
    };
    const std::vector<Case> cases{
        {"bind:3", "3", "column 5"},           // no memory on node 3
        {"bind:0-x", "x", "column 7"},         // not a number
        {"bind:2-1", "2-1", "column 5"},       // reversed range
        {"bind:1024", "1024", "column 5"},     // beyond the last possible node
        {"bind", "bind", "column"},            // needs nodes
        {"local:0", "local", "column"},        // takes none
        {"prefer:0-1", "prefer", "column 7"},  // one plain node only
        {"interleave=balancing:0", "balancing", "column 11"},
        {"preferred:0", "prefer", "column 0"},  // numactl's name: only with --extended
        {"bind=static=relative:0", "static", "column"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const Run r = parse(c.text);
      CHECK(r.exit_code() == 1);
      CHECK(r.out.empty());
      CHECK(r.err.find("rejected") != std::string::npos);
      CHECK(r.err.find(c.fragment) != std::string::npos);
      CHECK(r.err.find(c.column) != std::string::npos);
      CHECK(r.err.find('^') != std::string::npos);  // the caret line under the text
    }
    INFO(parse("bind:3").err);
    CHECK(parse("bind:3").err.find("memory") != std::string::npos);
  }

  TEST_CASE("cli: extended dialect accepts numactl names with a warning") {
    const Run r = cli({"parse", "--memory-nodes", "0-2", "--extended", "preferred-many:0-1"});
    CHECK(r.exit_code() == 0);
    CHECK(r.out == "prefer (many):0-1\n");
    CHECK(r.err.find("warning") != std::string::npos);
    CHECK(r.err.find("prefer (many)") != std::string::npos);
  }

  TEST_CASE("cli: usage errors exit 2") {
    CHECK(cli({"parse", "--memory-nodes", "0-2"}).exit_code() == 2);  // no TEXT
    const Run bad_nodes = cli({"parse", "--memory-nodes", "0-x", "bind:0"});
    CHECK(bad_nodes.exit_code() == 2);
    CHECK(bad_nodes.err.find("--memory-nodes") != std::string::npos);
    CHECK(cli({}).exit_code() == 2);  // no subcommand
    CHECK(cli({"frobnicate"}).exit_code() == 2);
    const Run help = cli({"--help"});
    CHECK(help.exit_code() == 0);
    CHECK(help.out.find("parse") != std::string::npos);
  }

  TEST_CASE("cli: parse defaults to this system's memory nodes") {
    const auto topology = mp::read_topology();
    REQUIRE(topology);
    const std::size_t node = topology.value().with_memory.first();
    const Run ok = cli({"parse", "bind:" + std::to_string(node)});
    CHECK(ok.exit_code() == 0);
    CHECK(ok.out == "bind:" + std::to_string(node) + "\n");
    // Node 1023 has memory on no real machine.
    CHECK(cli({"parse", "bind:1023"}).exit_code() == 1);
  }

  TEST_CASE("cli: show prints the default policy") {
    const Run r = cli({"show"});
    CHECK(r.exit_code() == 0);
    CHECK(r.out.find("policy: default\n") != std::string::npos);
    CHECK(r.out.find("mems allowed: ") != std::string::npos);
    CHECK(r.out.find("kernel text: default\n") != std::string::npos);
  }

  TEST_CASE("cli: show reports what numactl set") {
    if (!have_numactl()) TASKMPOL_SKIP("numactl is not installed");
    const auto topology = mp::read_topology();
    REQUIRE(topology);
    const std::string node = std::to_string(topology.value().with_memory.first());

    const Run bind = run({"numactl", "--membind=" + node, TASKMPOL_CLI_PATH, "show"});
    CHECK(bind.exit_code() == 0);
    CHECK(bind.out.find("policy: bind\nflags: none\nnodes: " + node + "\n") != std::string::npos);

    // numactl --show itself prints "policy: [8194]" here; the flags must be masked off the mode.
    const Run balancing = run({"numactl", "--balancing", "--membind=" + node, TASKMPOL_CLI_PATH, "show"});
    CHECK(balancing.exit_code() == 0);
    CHECK(balancing.out.find("policy: bind\nflags: balancing\n") != std::string::npos);
    CHECK(balancing.out.find("kernel text: bind=balancing:" + node + "\n") != std::string::npos);

    const Run il = run({"numactl", "--interleave=" + node, TASKMPOL_CLI_PATH, "show"});
    CHECK(il.exit_code() == 0);
    CHECK(il.out.find("policy: interleave\n") != std::string::npos);
    CHECK(il.out.find("interleave next node: " + node + "\n") != std::string::npos);

    const Run pref = run({"numactl", "--preferred=" + node, TASKMPOL_CLI_PATH, "show"});
    CHECK(pref.exit_code() == 0);
    CHECK(pref.out.find("policy: prefer\n") != std::string::npos);
    CHECK(pref.out.find("preferred node: " + node + "\n") != std::string::npos);
  }

  TEST_CASE("cli: show weighted interleave and prefer many") {
    const auto topology = mp::read_topology();
    REQUIRE(topology);
    const mp::NodeMask memory = topology.value().with_memory;
    const std::string list = memory.to_string();

    const mp::Policy weighted = mp::Policy::make(mp::Mode::weighted_interleave, {}, memory).value();
    const Run w = cli({"show"}, &weighted);
    CHECK(w.exit_code() == 0);
    CHECK(w.out.find("policy: weighted interleave\n") != std::string::npos);
    CHECK(w.out.find("kernel text: weighted interleave:" + list + "\n") != std::string::npos);
    CHECK(w.out.find("interleave next node: ") != std::string::npos);
    const auto weights = mp::read_interleave_weights(memory);
    if (weights) {
      const std::size_t n = memory.first();
      CHECK(w.out.find("interleave weights: " + std::to_string(n) + "=" + std::to_string(weights.value()[n])) !=
            std::string::npos);
    } else {
      CHECK(w.out.find("interleave weights: unavailable") != std::string::npos);
    }

    const mp::Policy many = mp::Policy::make(mp::Mode::preferred_many, mp::ModeFlag::static_nodes, memory).value();
    const Run m = cli({"show", "--json"}, &many);
    REQUIRE(m.exit_code() == 0);
    const auto j = nlohmann::json::parse(m.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.at("mode") == "prefer (many)");
    CHECK(j.at("flags") == nlohmann::json::array({"static"}));
    CHECK(j.at("kernel_text") == "prefer (many)=static:" + list);
  }

  TEST_CASE("cli: show json") {
    const Run r = cli({"show", "--json"});
    REQUIRE(r.exit_code() == 0);
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.at("mode") == "default");
    CHECK(j.at("flags").empty());
    CHECK(j.at("nodes").empty());
    CHECK(j.at("kernel_text") == "default");
    CHECK(j.at("mems_allowed").is_array());
    CHECK_FALSE(j.at("mems_allowed").empty());
    CHECK(j.at("interleave_next_node").is_null());

    if (!have_numactl()) {
      MESSAGE("skipped the numactl part: numactl is not installed");
      return;
    }
    const auto topology = mp::read_topology();
    REQUIRE(topology);
    const std::size_t node = topology.value().with_memory.first();
    const Run b = run({"numactl", "--membind=" + std::to_string(node), TASKMPOL_CLI_PATH, "show", "--json"});
    REQUIRE(b.exit_code() == 0);
    const auto jb = nlohmann::json::parse(b.out, nullptr, false);
    REQUIRE_FALSE(jb.is_discarded());
    CHECK(jb.at("mode") == "bind");
    CHECK(jb.at("nodes") == nlohmann::json::array({node}));
  }

  // The cross-task commands need the kernel series; on a stock kernel each one must say so with
  // the typed error (exit 3) and the pointer to kernel/README.md, and never pretend to work.
  TEST_CASE("cli: cross-task commands on a kernel without the series") {
    if (mp::sys::task_mempolicy_available()) TASKMPOL_SKIP("this kernel has the taskmpol series (the VM demo covers it)");
    const std::string self = std::to_string(::getpid());
    const std::vector<std::vector<std::string>> commands{
        {"show", self},
        {"show", self, "--json"},
        {"show", "--all"},
        {"set", self, "interleave:0"},
        {"set", self, "--membind=0"},
        {"set", self, "--localalloc", "--thread", self},
        {"set", self, "--preferred=0", "--migrate"},
        {"mbind", self, "0x10000", "4K", "bind:0"},
        {"mbind", self, "0x10000", "4K", "bind:0", "--move"},
        {"home-node", self, "0x10000", "4K", "0"},
    };
    for (const auto& args : commands) {
      std::string joined;
      for (const auto& a : args) joined += a + " ";
      CAPTURE(joined);
      const Run r = cli(args);
      CHECK(r.exit_code() == 3);
      CHECK(r.err.find("this kernel lacks task mempolicy support (needs the taskmpol kernel series: see "
                       "kernel/README.md)") != std::string::npos);
      CHECK(r.out.empty());
    }
  }

  TEST_CASE("cli: show without PID works on any kernel") {
    const Run r = cli({"show"});
    CHECK(r.exit_code() == 0);
    CHECK(r.out.find("kernel text: ") != std::string::npos);
  }

  TEST_CASE("cli: argument errors of the cross-task commands") {
    const std::string self = std::to_string(::getpid());
    // No policy, two policies, a policy option with POLICY text, bad numbers: usage errors (2).
    const Run none = cli({"set", self});
    CHECK(none.exit_code() == 2);
    CHECK(none.err.find("no policy") != std::string::npos);
    const Run two = cli({"set", self, "--membind=0", "--interleave=0"});
    CHECK(two.exit_code() == 2);
    CHECK(two.err.find("conflicting policies") != std::string::npos);
    CHECK(cli({"set", self, "bind:0", "--static"}).exit_code() == 2);
    CHECK(cli({"set", "0", "bind:0"}).exit_code() == 2);
    CHECK(cli({"set", "-5", "bind:0"}).exit_code() == 2);
    CHECK(cli({"set"}).exit_code() == 2);
    CHECK(cli({"set", self, "bind:0", "--thread", self, "--all-threads"}).exit_code() == 2);
    CHECK(cli({"show", self, "--all"}).exit_code() == 2);
    CHECK(cli({"set", self, "bind:0", "--thread", self, "--migrate"}).exit_code() == 2);  // migrate is per process
    CHECK(cli({"mbind", self, "zzz", "4K", "bind:0"}).exit_code() == 2);
    const Run unaligned = cli({"mbind", self, "0x10001", "4K", "bind:0"});
    CHECK(unaligned.exit_code() == 2);
    CHECK(unaligned.err.find("page aligned") != std::string::npos);
    CHECK(cli({"home-node", self, "0x10000"}).exit_code() == 2);
    const Run weight = cli({"weights", "0=300"});
    CHECK(weight.exit_code() == 2);
    CHECK(weight.err.find("1 to 255") != std::string::npos);
    CHECK(cli({"weights", "zero"}).exit_code() == 2);

    // Policies the kernel would refuse, caught before any syscall (exit 1, the cause named).
    const Run text = cli({"set", self, "bind:1023"});
    CHECK(text.exit_code() == 1);
    CHECK(text.err.find("rejected") != std::string::npos);
    const Run no_memory = cli({"set", self, "--membind=1023"});
    CHECK(no_memory.exit_code() == 1);
    CHECK(no_memory.err.find("node 1023 has no memory") != std::string::npos);
    const Run bad_list = cli({"set", self, "--interleave=0-x"});
    CHECK(bad_list.exit_code() == 2);  // a malformed option value is a usage error, as for parse
    CHECK(bad_list.err.find("--interleave") != std::string::npos);
    CHECK(cli({"set", self, "--preferred=0-1"}).exit_code() == 1);  // one node only
    CHECK(cli({"set", self, "--interleave=0", "--balancing"}).exit_code() == 1);

    // A process that does not exist: named, exit 1 (checked before the kernel's support).
    const Run gone = cli({"set", "999999999", "bind:0"});
    CHECK(gone.exit_code() == 1);
    CHECK(gone.err.find("no process 999999999") != std::string::npos);
  }

  TEST_CASE("cli: weights reads the global interleave weights") {
    const Run r = cli({"weights"});
    if (!mp::read_interleave_weights(mp::read_topology().value().with_memory)) {
      CHECK(r.exit_code() == 1);  // a kernel before 6.9 has no weight files: named on stderr
      CHECK_FALSE(r.err.empty());
      return;
    }
    CHECK(r.exit_code() == 0);
    CHECK(r.out.rfind("interleave weights: ", 0) == 0);
  }
}
