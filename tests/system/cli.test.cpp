// SPDX-License-Identifier: MIT
// The taskmpol program, run as users run it: exit status, stdout and stderr for accepted and
// rejected policy texts (against --memory-nodes 0-2, so the answers do not depend on the host),
// and `show` under numactl, which sets the policy the program then reports.
#include <taskmpol/config.hpp>
#include <taskmpol/self.hpp>
#include <taskmpol/syscalls.hpp>
#include <taskmpol/topology.hpp>

#include <doctest/doctest.h>

#include "../support/fake_sysfs.hpp"
#include "../support/skip.hpp"

#include <ostream>  // doctest prints std::error_code with operator<<, declared there
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <fstream>
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
Run run(std::vector<std::string> args, const mp::Policy* policy = nullptr, bool terminal_stdin = false) {
  Run r;
  // A pseudo-terminal for stdin when asked (the child sees isatty(0)), else /dev/null.
  int tty = -1;
  int master = -1;
  if (terminal_stdin) {
    master = ::posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    tty = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
    REQUIRE(tty >= 0);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(tty, F_SETFD, FD_CLOEXEC);  // dup2 makes the child's stdin without the flag
  }
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
    if (tty >= 0) ::dup2(tty, 0);
    else if (const int null = ::open("/dev/null", O_RDONLY); null >= 0) ::dup2(null, 0);
    if (policy != nullptr && !mp::set_self_policy(*policy)) ::_exit(126);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (tty >= 0) ::close(tty);
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
  if (master >= 0) ::close(master);
  return r;
}

Run cli(std::vector<std::string> args, const mp::Policy* policy = nullptr, bool terminal_stdin = false) {
  args.insert(args.begin(), TASKMPOL_CLI_PATH);
  return run(std::move(args), policy, terminal_stdin);
}

// No message of the command names a C++ spelling.
bool speaks_cli(const std::string& err) {
  for (const char* cpp : {"Dialect::", "to_string(", "errc::", "PolicyIssue", "std::", "TaskHandle", "result<"})
    if (err.find(cpp) != std::string::npos) return false;
  return true;
}

// A sysfs layout for `weights`: nodes 0-1 with memory, weights 1 and 2, automatic weights on.
struct WeightsLayout {
  taskmpol_test::FakeSysfs fs;
  WeightsLayout() {
    fs.nodes("0-1", "0-1", "0-1", "0-1").weight(0, 1).weight(1, 2);
    fs.weights_file("auto", "true\n");
  }
  [[nodiscard]] std::string weight(std::size_t node) const {
    std::ifstream in(fs.weight_path(node));
    std::string line;
    std::getline(in, line);
    return line;
  }
};

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
        {"mbind", self, "0x10000", "4K", "bind:0", "--move=all"},
        {"mbind", self, "0x10000", "4K", "--membind=0", "--move", "--strict"},
        {"mbind", self, "0x10000", "4K", "bind:0", "--strict"},
        {"home-node", self, "0x10000", "4K", "0"},
    };
    for (const auto& args : commands) {
      std::string joined;
      for (const auto& a : args) joined += a + " ";
      CAPTURE(joined);
      const Run r = cli(args);
      CHECK(r.exit_code() == 3);
      CHECK(r.err.find("this kernel lacks task mempolicy support (needs the taskmpol kernel series, task mempolicy "
                       "ABI 2: see kernel/README.md)") != std::string::npos);
      CHECK(r.out.empty());
    }
  }

  // --move and --move=all (a flag whose value comes only after '='), checked before anything
  // reaches the kernel: the same answer on every kernel.
  TEST_CASE("cli: mbind --move takes no value or =all") {
    const std::string self = std::to_string(::getpid());
    for (const std::string bad : {"--move=ALL", "--move=shared", "--move=false", "--move=1"}) {
      CAPTURE(bad);
      const Run r = cli({"mbind", self, "0x10000", "4K", "bind:0", bad});
      CHECK(r.exit_code() == 2);
      CHECK(r.err.find("--move takes no value (the pages only PID maps) or '=all'") != std::string::npos);
      CHECK(r.err.find("not '" + bad + "'") != std::string::npos);
      CHECK(r.out.empty());
    }
    // With a blank, "all" is no value of --move but one argument too many.
    const Run blank = cli({"mbind", self, "0x10000", "4K", "bind:0", "--move", "all"});
    CHECK(blank.exit_code() == 2);
    CHECK(blank.err.find("unexpected argument 'all'") != std::string::npos);
    // A flag, not an option with a value: --move before POLICY leaves POLICY alone.
    const Run before = cli({"mbind", self, "0x10000", "4K", "--move", "bind:1023"});
    CHECK(before.exit_code() == 1);  // POLICY was read (node 1023 has no memory), not taken by --move
    CHECK(before.err.find("1023") != std::string::npos);
    const Run help = cli({"mbind", "--help"});
    CHECK(help.exit_code() == 0);
    CHECK(help.out.find("--move=all also pages other processes map (needs CAP_SYS_NICE)") != std::string::npos);
    CHECK(help.out.find("--strict") != std::string::npos);
    CHECK(help.out.find("refused by the kernel") == std::string::npos);
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
    CHECK(cli({"set", self, "--preferred=0-1"}).exit_code() == 2);  // one node only: on any system
    CHECK(cli({"set", self, "--interleave=0", "--balancing"}).exit_code() == 2);

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

  TEST_CASE("cli: version") {
    for (const char* flag : {"--version", "-V"}) {
      CAPTURE(flag);
      const Run r = cli({flag});
      CHECK(r.exit_code() == 0);
      CHECK(r.out.rfind(std::string("taskmpol ") + TASKMPOL_VERSION_STRING + " ", 0) == 0);
      CHECK(r.out.find("ABI 2") != std::string::npos);
    }
  }

  TEST_CASE("cli: unknown options and commands are named") {
    const Run option = cli({"--bogus"});
    CHECK(option.exit_code() == 2);
    CHECK(option.err.find("unknown option --bogus") != std::string::npos);
    CHECK(option.err.find("subcommand is required") == std::string::npos);
    const Run command = cli({"frobnicate"});
    CHECK(command.exit_code() == 2);
    CHECK(command.err.find("unknown command 'frobnicate'") != std::string::npos);
    const Run sub_option = cli({"set", "1", "bind:0", "--bogus"});
    CHECK(sub_option.exit_code() == 2);
    CHECK(sub_option.err.find("unknown option --bogus") != std::string::npos);
    CHECK(sub_option.err.find("taskmpol set --help") != std::string::npos);
    const Run none = cli({});
    CHECK(none.exit_code() == 2);
    CHECK(none.err.find("a command is required: parse, show, set") != std::string::npos);
  }

  TEST_CASE("cli: a bad PID is not a positive integer") {
    for (const std::string pid : {"0", "-5", "abc", "1x", " 7", "+7", "99999999999999999999"}) {
      for (const std::vector<std::string>& args :
           {std::vector<std::string>{"set", pid, "bind:0"}, {"show", pid}, {"mbind", pid, "0x10000", "4K", "bind:0"},
            {"home-node", pid, "0x10000", "4K", "0"}}) {
        CAPTURE(args[0]);
        CAPTURE(pid);
        const Run r = cli(args);
        CHECK(r.exit_code() == 2);
        CHECK(r.err.find("PID must be a positive integer") != std::string::npos);
        CHECK(r.err.size() < 200);  // no 300-digit range
      }
    }
    const Run tid = cli({"set", std::to_string(::getpid()), "bind:0", "--thread", "-1"});
    CHECK(tid.exit_code() == 2);
    CHECK(tid.err.find("TID (--thread) must be a positive integer") != std::string::npos);
  }

  TEST_CASE("cli: preferred with several nodes suggests preferred-many") {
    const Run r = cli({"set", std::to_string(::getpid()), "--preferred=0,1"});
    CHECK(r.exit_code() == 2);
    CHECK(r.err.find("--preferred-many=0,1") != std::string::npos);
  }

  TEST_CASE("cli: the same misuse exits 2 whichever options spell it") {
    const std::string self = std::to_string(::getpid());
    // Each pair: the policy text and the numactl options that mean the same (wrong) thing.
    const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> pairs{
        {{"bind:abc"}, {"--membind=abc"}},
        {{"prefer:0,1"}, {"--preferred=0,1"}},
        {{"interleave=balancing:0"}, {"--interleave=0", "--balancing"}},
        {{"bind=static|relative:0"}, {"--membind=0", "--static", "--relative"}},
        {{"bind:3-1"}, {"--membind=3-1"}},
    };
    for (const auto& [text, options] : pairs) {
      std::vector<std::string> a{"set", self};
      a.insert(a.end(), text.begin(), text.end());
      std::vector<std::string> b{"set", self};
      b.insert(b.end(), options.begin(), options.end());
      CAPTURE(text[0]);
      const Run by_text = cli(a);
      const Run by_options = cli(b);
      CHECK(by_text.exit_code() == 2);
      CHECK(by_options.exit_code() == 2);
      CHECK(speaks_cli(by_text.err));
      CHECK(speaks_cli(by_options.err));
    }
    // A fact of this system (no memory on node 1023) is a refusal, however it is spelled.
    CHECK(cli({"set", self, "bind:1023"}).exit_code() == 1);
    CHECK(cli({"set", self, "--membind=1023"}).exit_code() == 1);
  }

  TEST_CASE("cli: messages speak the command line") {
    const Run alias = parse("preferred-many:0");
    CHECK(alias.exit_code() == 1);
    CHECK(alias.err.find("use --extended") != std::string::npos);
    CHECK(speaks_cli(alias.err));
    const Run balancing = parse("bind=balancing:0");
    CHECK(balancing.err.find("use --extended") != std::string::npos);
    CHECK(speaks_cli(balancing.err));
    const Run warned = cli({"parse", "--memory-nodes", "0-2", "--extended", "bind=static|balancing:0\n"});
    CHECK(warned.exit_code() == 0);
    CHECK(speaks_cli(warned.err));
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"set", "1", "local=static"}, {"mbind", "1", "0x10000", "4K", "bind"},
          {"set", "1", "--localalloc", "--static"}, {"weights", "x=1"}}) {
      CAPTURE(args[0]);
      CHECK(speaks_cli(cli(args).err));
    }
  }

  TEST_CASE("cli: on this system only for this system's nodes") {
    const Run given = parse("bind:7");  // --memory-nodes 0-2
    CHECK(given.err.find("node 7 has no memory (--memory-nodes 0-2)") != std::string::npos);
    CHECK(given.err.find("on this system") == std::string::npos);
    const Run here = cli({"parse", "bind:1023"});
    CHECK(here.exit_code() == 1);
    CHECK(here.err.find("node 1023 has no memory on this system") != std::string::npos);
  }

  TEST_CASE("cli: long input is shortened in messages") {
    const std::string long_text = "bind:" + std::string(100000, '1') + "x";
    const Run r = parse(long_text);
    CHECK(r.exit_code() == 1);
    CHECK(r.err.size() < 1000);
    const Run option = cli({"set", "1", "--membind=" + std::string(5000, 'z')});
    CHECK(option.exit_code() == 2);
    CHECK(option.err.size() < 600);
    CHECK(option.err.find("bytes)") != std::string::npos);
    const Run pid = cli({"show", std::string(5000, '9')});
    CHECK(pid.exit_code() == 2);
    CHECK(pid.err.size() < 300);
  }

  TEST_CASE("cli: ADDR and LEN take no octal sign or blank") {
    const std::string self = std::to_string(::getpid());
    for (const std::string bad : {"010", " 4096", "+4096", "-4096", "0x", "4096 ", "1e3", "0x1z", "K"}) {
      CAPTURE(bad);
      const Run addr = cli({"mbind", self, bad, "4K", "bind:0"});
      CHECK(addr.exit_code() == 2);
      CHECK(addr.err.find("ADDR and LEN are numbers") != std::string::npos);
      const Run len = cli({"mbind", self, "0x10000", bad, "bind:0"});
      CHECK(len.exit_code() == 2);
    }
    CHECK(cli({"mbind", self, "0x10000", "99999999999999999999", "bind:0"}).exit_code() == 2);  // overflow
    CHECK(cli({"mbind", self, "0x10000", "17179869184G", "bind:0"}).exit_code() == 2);        // 2^64 bytes
  }

  TEST_CASE("cli: home-node checks NODE before anything else") {
    // A PID and range that are wrong too: the NODE is named first.
    const Run big = cli({"home-node", "999999999", "zzz", "4K", "5000"});
    CHECK(big.exit_code() == 2);
    CHECK(big.err.find("NODE must be a node number from 0 to 1023") != std::string::npos);
    const Run word = cli({"home-node", "1", "0x10000", "4K", "one"});
    CHECK(word.exit_code() == 2);
    CHECK(word.err.find("NODE must be") != std::string::npos);
    const auto topology = mp::read_topology();
    REQUIRE(topology);
    const std::size_t offline = topology.value().online.last() + 1;
    REQUIRE(offline < 1024);
    const Run missing = cli({"home-node", "999999999", "0x10000", "4K", std::to_string(offline)});
    CHECK(missing.exit_code() == 1);
    CHECK(missing.err.find("is not online on this system") != std::string::npos);
    CHECK(missing.err.find("no process") == std::string::npos);
  }

  TEST_CASE("cli: weights refuses a node given twice and bad weights") {
    WeightsLayout layout;
    const Run twice = cli({"weights", "--sysfs-root", layout.fs.root(), "0=3", "1=2", "0=4"});
    CHECK(twice.exit_code() == 2);
    CHECK(twice.err.find("node 0 is given twice") != std::string::npos);
    CHECK(cli({"weights", "--sysfs-root", layout.fs.root(), "0=0"}).exit_code() == 2);
    CHECK(cli({"weights", "--sysfs-root", layout.fs.root(), "0=256"}).exit_code() == 2);
    CHECK(cli({"weights", "--sysfs-root", layout.fs.root(), "0=+3"}).exit_code() == 2);
    CHECK(cli({"weights", "--sysfs-root", layout.fs.root(), "1024=3"}).exit_code() == 2);
    CHECK(layout.weight(0) == "1");  // nothing written
  }

  TEST_CASE("cli: weights shows the change and that automatic weights go off") {
    WeightsLayout layout;
    const Run r = cli({"weights", "--sysfs-root", layout.fs.root(), "0=4"});  // stdin: not a terminal
    CHECK(r.exit_code() == 0);
    CHECK(r.out.find("node 0: 1 -> 4") != std::string::npos);
    CHECK(r.out.find("switches the kernel's automatic weights off (they were on)") != std::string::npos);
    CHECK(r.out.find("interleave weights: 0=4 1=2") != std::string::npos);
    CHECK(layout.weight(0) == "4");
  }

  TEST_CASE("cli: weights asks for yes when stdin is a terminal") {
    WeightsLayout layout;
    const Run asked = cli({"weights", "--sysfs-root", layout.fs.root(), "0=4"}, nullptr, true);
    CHECK(asked.exit_code() == 2);
    CHECK(asked.err.find("node 0: 1 -> 4") != std::string::npos);
    CHECK(asked.err.find("--yes") != std::string::npos);
    CHECK(asked.err.find("automatic weights off") != std::string::npos);
    CHECK(layout.weight(0) == "1");
    const Run yes = cli({"weights", "--sysfs-root", layout.fs.root(), "--yes", "0=4"}, nullptr, true);
    CHECK(yes.exit_code() == 0);
    CHECK(layout.weight(0) == "4");
    // Reading needs no confirmation.
    CHECK(cli({"weights", "--sysfs-root", layout.fs.root()}, nullptr, true).exit_code() == 0);
  }

  TEST_CASE("cli: weights json") {
    WeightsLayout layout;
    const Run r = cli({"weights", "--sysfs-root", layout.fs.root(), "--json", "1=5"});
    REQUIRE(r.exit_code() == 0);
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.at("weights").at("0") == 1);
    CHECK(j.at("weights").at("1") == 5);
    CHECK(j.at("automatic").is_boolean());
    REQUIRE(j.at("changes").size() == 1);
    CHECK(j.at("changes")[0].at("node") == 1);
    CHECK(j.at("changes")[0].at("from") == 2);
    CHECK(j.at("changes")[0].at("to") == 5);
    const Run read = cli({"weights", "--sysfs-root", layout.fs.root(), "--json"});
    REQUIRE(read.exit_code() == 0);
    CHECK(nlohmann::json::parse(read.out).at("changes").empty());
  }

  TEST_CASE("cli: show json carries pid and tid") {
    const Run r = cli({"show", "--json"});
    REQUIRE(r.exit_code() == 0);
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.at("pid").is_number_integer());
    CHECK(j.at("tid").is_number_integer());
    CHECK(j.at("pid") == j.at("tid"));  // the program's only thread
  }

  TEST_CASE("cli: rebalancer and retarget parse their arguments strictly") {
    // strtol without end checks took "10x" as 10 and "abc" as 0; retarget --interval 1000 made a
    // timespec with a full second in tv_nsec, which nanosleep refuses at once: the workload spun.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--interval", "0", "rules"}, {"--interval", "abc", "rules"},
          {"--interval", "10x", "rules"}, {"--interval", "-5", "rules"}, {"--bogus", "rules"}, {}}) {
      std::vector<std::string> a = args;
      a.insert(a.begin(), TASKMPOL_REBALANCER_PATH);
      const Run r = run(a);
      CAPTURE(r.err);
      CHECK(r.exit_code() == 2);
      CHECK(r.err.rfind("taskmpol-rebalancer: ", 0) == 0);
    }
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--interval", "0"}, {"--interval", "99999999"}, {"--interval", "2s"},
          {"--chunks", "-1"}, {"--chunks", "zero"}, {"--bogus"}}) {
      std::vector<std::string> a = args;
      a.insert(a.begin(), TASKMPOL_RETARGET_PATH);
      const Run r = run(a);
      CAPTURE(r.err);
      CHECK(r.exit_code() == 2);
      CHECK(r.err.rfind("retarget: ", 0) == 0);
    }
    const Run version = run({TASKMPOL_REBALANCER_PATH, "--version"});
    CHECK(version.exit_code() == 0);
    CHECK(version.out.find("ABI 2") != std::string::npos);
  }
}
