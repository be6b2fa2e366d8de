// SPDX-License-Identifier: MIT
// rebalancer: a small daemon that gives running processes a memory policy by rule.
//
//   taskmpol-rebalancer [--once] [--interval MS] RULES      (installed under that name; the
//                                                            build tree and the VM demo call it rebalancer)
//
// RULES holds one rule per line ('#' starts a comment):
//
//   match comm=NAME      policy=TEXT  [migrate]
//   match cgroup=PATH    policy=TEXT  [migrate]
//
// comm matches /proc/<pid>/comm exactly; cgroup matches the process's cgroup v2 path
// (/proc/<pid>/cgroup, "0::PATH") or any cgroup below it. TEXT is the kernel's policy grammar or
// numactl's mode names (taskmpol parse --extended), and may contain spaces ("weighted
// interleave:0-1"); `migrate` then moves the process's pages onto the policy's nodes.
//
// Every --interval (default 1000 ms) it scans /proc, so it picks up processes started later.
// A process gets the first rule that matches it, once (on all its threads: a policy belongs to a
// thread, and threads inherit it from their creator), and one log line on stdout:
//   pid 123 comm=worker rule 2 (comm=worker policy=bind:1 migrate): ok, 4 threads
// A process that exits mid-action is logged and forgotten. The process a rule matched is the one
// that is changed, never another that got its pid meanwhile: it is pinned with a pidfd and
// confirmed through it (start time and comm, TaskHandle::open_matched), and the changes go through
// that pidfd. SIGHUP reloads RULES (processes are then matched against the new rules); SIGTERM
// and SIGINT end it with exit 0. --once scans once.
// Exit 1 on an unreadable or invalid RULES file at start (a bad reload keeps the old rules),
// 3 when the kernel lacks the taskmpol series (or has it with another ABI than the library's).
#include <taskmpol/config.hpp>
#include <taskmpol/policy.hpp>
#include <taskmpol/syscalls.hpp>
#include <taskmpol/task.hpp>
#include <taskmpol/topology.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace mp = taskmpol;

namespace {

struct Rule {
  std::size_t line = 0;
  bool by_comm = true;  // else by cgroup
  std::string value;    // NAME or PATH
  std::string text;     // the rule as written, for the log
  mp::Policy policy;
  bool migrate = false;
};

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Parses RULES; on any bad line prints file:line and the reason and returns nullopt.
std::optional<std::vector<Rule>> load_rules(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "rebalancer: cannot read %s: %s\n", path.c_str(), std::strerror(errno));
    return std::nullopt;
  }
  mp::SysfsDiagnostic sdiag;
  const auto topology = mp::read_topology(mp::system_root, &sdiag);
  if (!topology) {
    std::fprintf(stderr, "rebalancer: %s\n", sdiag.message().c_str());
    return std::nullopt;
  }
  std::vector<Rule> rules;
  std::string raw;
  for (std::size_t number = 1; std::getline(in, raw); ++number) {
    std::string line = trim(raw.substr(0, raw.find('#')));
    if (line.empty()) continue;
    const auto bad = [&](const std::string& why) {
      std::fprintf(stderr, "rebalancer: %s:%zu: %s\n  %s\n  want: match comm=NAME|cgroup=PATH  policy=TEXT  [migrate]\n",
                   path.c_str(), number, why.c_str(), line.c_str());
      return std::nullopt;
    };
    Rule r;
    r.line = number;
    // The rule for the log, with runs of blanks folded to one.
    for (char c : line) {
      const bool blank = c == ' ' || c == '\t';
      if (!blank || (!r.text.empty() && r.text.back() != ' ')) r.text += blank ? ' ' : c;
    }
    std::istringstream words(line);
    std::string match, selector;
    words >> match >> selector;
    if (match != "match") return bad("a rule starts with 'match'");
    if (selector.rfind("comm=", 0) == 0) {
      r.value = selector.substr(5);
    } else if (selector.rfind("cgroup=", 0) == 0) {
      r.by_comm = false;
      r.value = selector.substr(7);
      while (r.value.size() > 1 && r.value.back() == '/') r.value.pop_back();
    } else {
      return bad("the selector is comm=NAME or cgroup=PATH");
    }
    if (r.value.empty()) return bad("the selector names nothing");
    const auto at = line.find(" policy=");
    if (at == std::string::npos) return bad("missing policy=TEXT");
    std::string policy_text = trim(line.substr(at + 8));
    // `migrate` is the last word when present; a policy text never ends in it.
    constexpr std::string_view migrate_word = " migrate";
    if (policy_text.size() > migrate_word.size() &&
        policy_text.compare(policy_text.size() - migrate_word.size(), migrate_word.size(), migrate_word) == 0) {
      r.migrate = true;
      policy_text = trim(policy_text.substr(0, policy_text.size() - migrate_word.size()));
    }
    mp::PolicyDiagnostic pdiag;
    auto policy = mp::parse_policy(policy_text, topology.value().with_memory, mp::Dialect::extended, &pdiag);
    if (!policy) return bad("policy '" + policy_text + "': " + pdiag.message());
    r.policy = policy.value();
    rules.push_back(std::move(r));
  }
  return rules;
}

// The cgroup v2 path ("0::/a/b"), empty when unknown. Read through the library's one reader of
// kernel files, like everything else the daemon reads from /proc.
std::string cgroup_of(pid_t pid) {
  std::array<char, 8192> buf{};
  const std::string path = "/proc/" + std::to_string(pid) + "/cgroup";
  const auto size = mp::sys::read_file(AT_FDCWD, path.c_str(), buf);
  if (!size) return {};
  std::istringstream in(std::string(buf.data(), size.value()));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return {};
}

bool matches(const Rule& r, const std::string& comm, pid_t pid) {
  if (r.by_comm) return comm == r.value;
  const std::string cg = cgroup_of(pid);
  if (cg.empty()) return false;
  if (r.value == "/") return true;
  return cg == r.value || (cg.size() > r.value.size() && cg.compare(0, r.value.size(), r.value) == 0 &&
                           cg[r.value.size()] == '/');
}

// A process's identity across pid reuse: pid plus its start time (/proc/<pid>/stat).
struct Identity {
  pid_t pid = 0;
  unsigned long long start = 0;
  friend bool operator<(const Identity& a, const Identity& b) { return std::tie(a.pid, a.start) < std::tie(b.pid, b.start); }
};

// Why this kernel cannot serve the daemon: no series, or the series with another ABI.
void print_unsupported(std::error_code e) {
  if (e == mp::errc::unsupported_kernel) {
    std::fprintf(stderr, "rebalancer: this kernel lacks task mempolicy support (needs the taskmpol kernel series: "
                         "see kernel/README.md)\n");
  } else {
    std::fprintf(stderr, "rebalancer: %s\n", e.message().c_str());
  }
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

enum class Applied { done, retry, unsupported };

// Applies a rule to the process the scan saw (`seen`), and to no other: the handle is pinned and
// confirmed against `seen`. One log line. retry: the process changed its name since the scan (it
// is matched again next time); unsupported: the kernel lacks the series.
Applied apply(const Rule& r, std::size_t index, const mp::sys::ProcessStat& seen) {
  std::string result;
  Applied outcome = Applied::done;
  auto handle = mp::TaskHandle::open_matched(seen);
  if (!handle) {
    if (handle.error() == mp::errc::target_changed) {
      result = "skipped: it changed its name since the scan (exec or rename); it is matched again next scan";
      outcome = Applied::retry;
    } else if (handle.error() == mp::errc::target_exited || handle.error() == std::errc::no_such_process) {
      result = "skipped: the process exited";
    } else {
      result = "failed: " + handle.error().message();
    }
  } else {
    mp::AllThreadsOptions options;
    options.migrate_pages = r.migrate;
    auto report = mp::set_policy_on_all_threads(handle.value(), r.policy, options);
    if (!report) {
      if (auto support = mp::sys::task_mempolicy_support(); !support) {
        print_unsupported(support.error());
        return Applied::unsupported;
      }
      if (report.error() == mp::errc::target_exited || report.error() == std::errc::no_such_process) {
        result = "skipped: the process exited";
      } else if (report.error() == std::errc::operation_not_permitted) {
        result = "failed: " + report.error().message() + " (changing another user's process needs CAP_SYS_NICE)";
      } else {
        result = "failed: " + report.error().message();
      }
    } else {
      const mp::AllThreadsReport& rep = report.value();
      const std::size_t n = rep.threads_set + rep.threads_already;
      result = std::string(rep.ok() ? "ok" : "partial") + ", " + std::to_string(n) + " thread" + (n == 1 ? "" : "s");
      for (const mp::ThreadFailure& f : rep.failures)
        result += "; thread " + std::to_string(f.tid) + ": " + f.error.message();
      if (r.migrate) {
        if (rep.migrate_error)
          result += "; migrate failed: " + rep.migrate_error.message();
        else
          result += "; migrated (" + std::to_string(rep.pages_not_moved) + " pages not moved)";
      }
    }
  }
  const std::string comm(seen.name());
  std::printf("%s pid %d comm=%s rule %zu (%s): %s\n", now_text().c_str(), seen.pid, comm.c_str(), index + 1,
              r.text.substr(6).c_str(), result.c_str());
  return outcome;
}

// One pass over /proc. `done` holds the processes already handled under the current rules.
bool scan(const std::vector<Rule>& rules, std::set<Identity>& done) {
  std::vector<pid_t> pids;
  if (!taskmpol::sys::list_processes(pids)) pids.clear();  // no /proc: nothing to do this pass
  std::sort(pids.begin(), pids.end());
  std::set<Identity> alive;
  for (pid_t pid : pids) {
    if (pid == ::getpid()) continue;
    // What the rules are matched against, read once: the name and the identity the pin confirms.
    const auto seen = mp::sys::read_process_stat(pid);
    if (!seen || seen.value().kernel_thread()) continue;  // gone, or a kernel thread (no user policy)
    const Identity id{pid, seen.value().start_time};
    alive.insert(id);
    if (done.count(id) != 0) continue;
    const std::string comm(seen.value().name());
    Applied outcome = Applied::done;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (!matches(rules[i], comm, pid)) continue;
      outcome = apply(rules[i], i, seen.value());
      break;  // the first matching rule wins
    }
    if (outcome == Applied::unsupported) return false;
    // Handled (or matched by no rule): not looked at again until the rules change.
    if (outcome == Applied::done) done.insert(id);
  }
  // Forget processes that have exited, so the set does not grow without bound.
  for (auto it = done.begin(); it != done.end();) it = alive.count(*it) != 0 ? std::next(it) : done.erase(it);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bool once = false;
  long interval_ms = 1000;
  std::string rules_path;
  CLI::App app{"taskmpol-rebalancer: give running processes a memory policy by rule. RULES holds one rule per line, "
               "'match comm=NAME|cgroup=PATH  policy=TEXT  [migrate]' ('#' starts a comment; the first match wins). "
               "It scans /proc every --interval; SIGHUP reloads RULES, SIGTERM and SIGINT end it."};
  app.name("taskmpol-rebalancer");
  app.set_version_flag("-V,--version", "taskmpol-rebalancer " TASKMPOL_VERSION_STRING " (task mempolicy ABI 2)");
  app.add_flag("--once", once, "Scan /proc once and exit");
  app.add_option("--interval", interval_ms, "Milliseconds between scans (1 to 3600000)")
      ->check(CLI::Range(1L, 3'600'000L))
      ->type_name("MS");
  app.add_option("RULES", rules_path, "The rules file: match comm=NAME|cgroup=PATH policy=TEXT [migrate]")->required();
  app.footer("Exit status: 0 done (--once) or stopped by SIGTERM/SIGINT; 1 bad RULES; 2 usage error; 3 the kernel "
             "lacks the taskmpol series (task mempolicy ABI 2).\n");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "taskmpol-rebalancer: %s (taskmpol-rebalancer --help)\n", e.what());
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one log line at a time, also into a pipe

  auto rules = load_rules(rules_path);
  if (!rules) return 1;
  if (auto support = mp::sys::task_mempolicy_support(); !support) {
    print_unsupported(support.error());
    return 3;
  }

  // The signals are blocked and taken synchronously with sigtimedwait(), which is also the sleep
  // between scans: no handler races, and a signal ends the sleep at once.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigprocmask(SIG_BLOCK, &signals, nullptr);

  std::printf("%s rebalancer: %zu rule%s from %s, every %ld ms\n", now_text().c_str(), rules->size(),
              rules->size() == 1 ? "" : "s", rules_path.c_str(), interval_ms);
  std::set<Identity> done;
  for (;;) {
    if (!scan(*rules, done)) return 3;
    if (once) return 0;
    const timespec wait{interval_ms / 1000, (interval_ms % 1000) * 1'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      std::printf("%s rebalancer: %s, exiting\n", now_text().c_str(), sig == SIGTERM ? "SIGTERM" : "SIGINT");
      return 0;
    }
    if (sig == SIGHUP) {
      if (auto fresh = load_rules(rules_path)) {
        rules = std::move(fresh);
        done.clear();  // every process is matched against the new rules
        std::printf("%s rebalancer: SIGHUP, reloaded %zu rule%s\n", now_text().c_str(), rules->size(),
                    rules->size() == 1 ? "" : "s");
      } else {
        std::printf("%s rebalancer: SIGHUP, %s is invalid: keeping the old rules\n", now_text().c_str(),
                    rules_path.c_str());
      }
    }
  }
}
