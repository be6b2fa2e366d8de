// SPDX-License-Identifier: MIT
// taskmpol: the command-line front end of the library. numactl's option names, applied to a
// running process instead of a command to start:
//
//   taskmpol parse [--memory-nodes LIST] [--extended] [--] TEXT
//       Checks TEXT against the kernel's policy grammar (mpol_parse_str) and prints the kernel's
//       canonical form (mpol_to_str). Exit 1 when the kernel would reject TEXT (the reason and the
//       0-based column go to stderr, with a caret under the text).
//   taskmpol show [PID | --all] [--json]
//       Without PID: this process (numactl --show's spirit). With PID: every thread's policy,
//       its allowed nodes, the preferred node / next interleave node and the interleave weights.
//       --all: every process the caller may read (one line per thread).
//   taskmpol set PID (POLICY | --membind=N | --interleave=N | ...) [--thread TID] [--migrate]
//       Changes the policy of every thread of PID (default: a policy belongs to a thread and a
//       new thread inherits its creator's, so one thread alone would leave the others, and their
//       future threads, on the old policy) or of one thread (--thread).
//   taskmpol mbind PID ADDR LEN POLICY [--move]     a range policy in PID's address space
//   taskmpol home-node PID ADDR LEN NODE            the home node of bind / prefer (many) ranges
//   taskmpol weights [NODE=W ...]                   read or write the global interleave weights
//
// Targets: PID is pinned with a pidfd when a command starts (--thread TID: a pidfd of that thread)
// and every change goes through that pidfd (the kernel series' ABI 2), so a command never acts on
// a process that got the number later; show --all confirms each listed process through its pidfd
// (start time and name, TaskHandle::open_matched). --migrate is the exception: migrate_pages(2)
// takes the number (see TaskHandle::migrate_pages).
//
// Exit status: 0 success; 1 rejected policy or failed request (including a partial failure);
// 2 usage error; 3 the running kernel lacks the taskmpol series, or has it with another ABI than
// this build's (cross-task commands need it: ABI 2, targets addressed by pidfd).
//
// Only public headers are used: this is also an example of the API.
#include <taskmpol/self.hpp>
#include <taskmpol/task.hpp>
#include <taskmpol/topology.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace mp = taskmpol;

namespace {

constexpr int exit_accepted = 0;
constexpr int exit_rejected = 1;
constexpr int exit_usage = 2;
constexpr int exit_unsupported = 3;

// The text with every byte a terminal would not print as one column replaced, so a caret line
// under it points at the right column.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out;
}

// "nodes with memory" for parse: --memory-nodes, or this system's has_memory.
std::optional<mp::NodeMask> memory_nodes(const std::optional<std::string>& option) {
  if (option) {
    mp::ListError error;
    const auto parsed = mp::NodeMask::parse(*option, &error);
    if (!parsed) {
      std::fprintf(stderr, "taskmpol: --memory-nodes '%s': %s\n", printable(*option).c_str(), error.message().c_str());
      return std::nullopt;
    }
    return parsed.value();
  }
  mp::SysfsDiagnostic diag;
  const auto topology = mp::read_topology(mp::system_root, &diag);
  if (!topology) {
    std::fprintf(stderr, "taskmpol: cannot read this system's nodes with memory: %s\n"
                         "taskmpol: pass them with --memory-nodes LIST\n",
                 diag.message().c_str());
    return std::nullopt;
  }
  return topology.value().with_memory;
}

int run_parse(const std::string& text, const std::optional<std::string>& memory_option, bool extended) {
  const auto memory = memory_nodes(memory_option);
  if (!memory) return exit_usage;
  mp::PolicyDiagnostic diag;
  const auto policy =
      mp::parse_policy(text, *memory, extended ? mp::Dialect::extended : mp::Dialect::kernel, &diag);
  if (!policy) {
    // The library's message, its column (0-based, the library's convention) unless the message
    // already names one, then the text with a caret under the offending part.
    const std::string message = diag.message();
    if (message.find("column") != std::string::npos) {
      std::fprintf(stderr, "taskmpol: rejected: %s\n", message.c_str());
    } else {
      std::fprintf(stderr, "taskmpol: rejected: %s, at column %zu\n", message.c_str(), diag.column);
    }
    std::fprintf(stderr, "  %s\n  %s^", printable(text).c_str(), std::string(diag.column, ' ').c_str());
    for (std::size_t i = 1; i < diag.length; ++i) std::fputc('~', stderr);
    std::fputc('\n', stderr);
    return exit_rejected;
  }
  if (diag.has_warnings()) std::fprintf(stderr, "taskmpol: warning: %s\n", diag.message().c_str());
  std::printf("%s\n", mp::to_string(policy.value()).c_str());
  return exit_accepted;
}

std::vector<std::string> flag_names(mp::ModeFlags flags) {
  std::vector<std::string> names;
  if (flags.has(mp::ModeFlag::static_nodes)) names.emplace_back("static");
  if (flags.has(mp::ModeFlag::relative_nodes)) names.emplace_back("relative");
  if (flags.has(mp::ModeFlag::numa_balancing)) names.emplace_back("balancing");
  return names;
}

std::vector<std::size_t> node_list(const mp::NodeMask& nodes) { return {nodes.begin(), nodes.end()}; }

int run_show(bool json) {
  const auto policy = mp::get_self_policy();
  if (!policy) {
    std::fprintf(stderr, "taskmpol: cannot read this process's policy: %s\n", policy.error().message().c_str());
    return exit_rejected;
  }
  const auto allowed = mp::self_mems_allowed();
  if (!allowed) {
    std::fprintf(stderr, "taskmpol: cannot read the allowed nodes: %s\n", allowed.error().message().c_str());
    return exit_rejected;
  }
  const mp::Policy& p = policy.value();
  const mp::Mode mode = p.mode();
  const bool interleaving = mode == mp::Mode::interleave || mode == mp::Mode::weighted_interleave;

  std::optional<std::size_t> next;
  if (interleaving) {
    if (const auto n = mp::interleave_next_node()) next = n.value();
  }
  std::optional<mp::InterleaveWeights> weights;
  std::string weights_error;
  if (mode == mp::Mode::weighted_interleave) {
    mp::SysfsDiagnostic diag;
    if (auto w = mp::read_interleave_weights(p.nodes(), mp::system_root, &diag)) {
      weights = w.value();
    } else {
      weights_error = diag.message();
    }
  }
  const std::vector<std::string> flags = flag_names(p.flags());

  if (json) {
    nlohmann::ordered_json out;
    out["mode"] = std::string(mp::traits(mode).kernel_name);
    out["flags"] = flags;
    out["nodes"] = node_list(p.nodes());
    out["kernel_text"] = mp::to_string(p);
    out["mems_allowed"] = node_list(allowed.value());
    out["preferred_node"] = mode == mp::Mode::preferred ? nlohmann::json(p.nodes().first()) : nlohmann::json(nullptr);
    out["interleave_next_node"] = next ? nlohmann::json(*next) : nlohmann::json(nullptr);
    if (mode == mp::Mode::weighted_interleave) {
      if (weights) {
        nlohmann::ordered_json w = nlohmann::ordered_json::object();
        for (std::size_t n : weights->nodes) w[std::to_string(n)] = weights->weight[n];
        out["interleave_weights"] = w;
      } else {
        out["interleave_weights"] = nullptr;
        out["interleave_weights_error"] = weights_error;
      }
    }
    std::printf("%s\n", out.dump(2).c_str());
    return exit_accepted;
  }

  std::string flag_text;
  for (const std::string& f : flags) flag_text += (flag_text.empty() ? "" : " ") + f;
  std::printf("policy: %s\n", std::string(mp::traits(mode).kernel_name).c_str());
  std::printf("flags: %s\n", flag_text.empty() ? "none" : flag_text.c_str());
  std::printf("nodes: %s\n", p.nodes().to_string().c_str());
  std::printf("kernel text: %s\n", mp::to_string(p).c_str());
  std::printf("mems allowed: %s\n", allowed.value().to_string().c_str());
  if (mode == mp::Mode::preferred) {
    std::printf("preferred node: %zu\n", p.nodes().first());
  } else if (mode == mp::Mode::preferred_many) {
    std::printf("preferred nodes: %s\n", p.nodes().to_string().c_str());
  } else if (mode == mp::Mode::default_policy || mode == mp::Mode::local) {
    std::printf("preferred node: current\n");  // allocation starts on the CPU's own node
  }
  if (interleaving) {
    if (next) {
      std::printf("interleave next node: %zu\n", *next);
    } else {
      std::printf("interleave next node: unknown\n");
    }
  }
  if (mode == mp::Mode::weighted_interleave) {
    if (weights) {
      std::string text;
      for (std::size_t n : weights->nodes)
        text += (text.empty() ? "" : " ") + std::to_string(n) + "=" + std::to_string(weights->weight[n]);
      std::printf("interleave weights: %s\n", text.c_str());
    } else {
      std::printf("interleave weights: unavailable (%s)\n", weights_error.c_str());
    }
  }
  return exit_accepted;
}


// ---------------------------------------------------------------------------------------------
// Cross-task commands (TaskHandle).

// The one sentence for a kernel without the series, with where to get it.
constexpr const char* unsupported_text =
    "this kernel lacks task mempolicy support (needs the taskmpol kernel series: see kernel/README.md)";

// No series, or the series with another ABI than this library's: exit 3 either way.
bool is_unsupported(std::error_code e) {
  return e == mp::errc::unsupported_kernel || e == mp::errc::series_abi_1 || e == mp::errc::series_abi_unknown;
}
bool is_permission(std::error_code e) {
  return e == std::errc::operation_not_permitted || e == std::errc::permission_denied;
}
bool is_gone(std::error_code e) { return e == mp::errc::target_exited || e == std::errc::no_such_process; }

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string comm_of(pid_t pid, pid_t tid = 0) {
  const std::string c = read_line("/proc/" + std::to_string(pid) + (tid > 0 ? "/task/" + std::to_string(tid) : "") + "/comm");
  return c.empty() ? "?" : c;
}

// The target's allowed nodes from the world-readable status file: the error text shows them even
// when the caller may not read the target's policy.
std::optional<mp::NodeMask> status_mems_allowed(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  constexpr std::string_view key = "Mems_allowed_list:";
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    if (auto nodes = mp::NodeMask::parse(std::string_view(line).substr(key.size()).substr(1))) return nodes.value();
  }
  return std::nullopt;
}

// The message for a failed cross-task call: the cause and what to do. With the call's diagnostic
// the library's describe() names the node, the nodes with memory and the target's cpuset; without
// one (the all-threads walk keeps only the error) the same facts are looked up here.
std::string explain(std::error_code e, pid_t pid, pid_t tid, const mp::TaskDiagnostic* diag) {
  if (e == mp::errc::unsupported_kernel) return unsupported_text;
  if (is_unsupported(e)) return e.message();  // the ABI versions and what to do
  if (diag != nullptr) {
    std::string text = diag->message();
    if (e == mp::errc::nodes_not_allowed && !diag->allowed_known) {
      if (auto allowed = status_mems_allowed(pid)) text += "; the target may allocate from nodes " + allowed->to_string();
    }
    return text;
  }
  std::string text = "thread " + std::to_string(tid) + ": " + e.message();
  if (is_permission(e)) {
    text += "; changing another user's task needs CAP_SYS_NICE (run as root), reading it needs ptrace read "
            "access (the rule of /proc/<pid>/numa_maps); a Linux Security Module may also refuse";
  } else if (e == mp::errc::node_without_memory) {
    if (auto topo = mp::read_topology()) text += " (nodes with memory: " + topo.value().with_memory.to_string() + ")";
  } else if (e == mp::errc::nodes_not_allowed || e == std::errc::invalid_argument) {
    if (auto allowed = status_mems_allowed(pid))
      text += "; the target may allocate from nodes " + allowed->to_string() +
              " (its Mems_allowed): choose nodes there or widen its cpuset (cpuset.mems of its cgroup)";
  } else if (is_gone(e)) {
    text += " (it exited)";
  }
  return text;
}

int fail_with(std::error_code e, pid_t pid, pid_t tid, const mp::TaskDiagnostic* diag) {
  std::fprintf(stderr, "taskmpol: %s\n", explain(e, pid, tid, diag).c_str());
  return is_unsupported(e) ? exit_unsupported : exit_rejected;
}

// Opens PID (or one of its threads): the messages for a missing process and for no /proc.
std::optional<mp::TaskHandle> open_target(pid_t pid, std::optional<pid_t> tid, int& exit_code) {
  auto process = mp::TaskHandle::open(pid);
  if (!process) {
    if (is_gone(process.error()))
      std::fprintf(stderr, "taskmpol: no process %d (check the PID with ps)\n", pid);
    else
      std::fprintf(stderr, "taskmpol: cannot open process %d: %s\n", pid, process.error().message().c_str());
    exit_code = exit_rejected;
    return std::nullopt;
  }
  if (!tid) return std::move(process.value());
  auto thread = process.value().open_thread(*tid);
  if (!thread) {
    std::fprintf(stderr, "taskmpol: %d is not a thread of process %d (see /proc/%d/task)\n", *tid, pid, pid);
    exit_code = exit_rejected;
    return std::nullopt;
  }
  return std::move(thread.value());
}

// What `show PID` reports about one thread.
struct ThreadView {
  pid_t tid = 0;
  std::string comm;
  mp::Policy policy;
  std::optional<mp::NodeMask> allowed;
  std::optional<std::size_t> next;  // next interleave node
};

std::string weights_text(const mp::InterleaveWeights& w, char sep = ' ') {
  std::string text;
  for (std::size_t n : w.nodes)
    text += (text.empty() ? "" : std::string(1, sep)) + std::to_string(n) + "=" + std::to_string(w[n]);
  return text;
}

std::optional<mp::InterleaveWeights> weights_of(const mp::Policy& p) {
  if (p.mode() != mp::Mode::weighted_interleave) return std::nullopt;
  if (auto w = mp::read_interleave_weights(p.nodes())) return w.value();
  return std::nullopt;
}

// One line per thread: "  thread TID (comm)  POLICY  allowed LIST  [details]".
std::string thread_line(const ThreadView& t) {
  std::string line = "thread " + std::to_string(t.tid) + " (" + t.comm + ")  " + mp::to_string(t.policy);
  if (t.allowed) line += "  allowed " + t.allowed->to_string();
  const mp::Mode m = t.policy.mode();
  if (m == mp::Mode::preferred) line += "  preferred node " + std::to_string(t.policy.nodes().first());
  if (m == mp::Mode::interleave || m == mp::Mode::weighted_interleave)
    line += "  next node " + (t.next ? std::to_string(*t.next) : std::string("unknown"));
  if (auto w = weights_of(t.policy)) line += "  weights " + weights_text(*w, ',');
  return line;
}

nlohmann::ordered_json thread_json(const ThreadView& t) {
  nlohmann::ordered_json j;
  j["tid"] = t.tid;
  j["comm"] = t.comm;
  j["mode"] = std::string(mp::traits(t.policy.mode()).kernel_name);
  j["flags"] = flag_names(t.policy.flags());
  j["nodes"] = node_list(t.policy.nodes());
  j["kernel_text"] = mp::to_string(t.policy);
  j["mems_allowed"] = t.allowed ? nlohmann::json(node_list(*t.allowed)) : nlohmann::json(nullptr);
  j["preferred_node"] =
      t.policy.mode() == mp::Mode::preferred ? nlohmann::json(t.policy.nodes().first()) : nlohmann::json(nullptr);
  j["interleave_next_node"] = t.next ? nlohmann::json(*t.next) : nlohmann::json(nullptr);
  if (auto w = weights_of(t.policy)) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (std::size_t n : w->nodes) o[std::to_string(n)] = (*w)[n];
    j["interleave_weights"] = o;
  }
  return j;
}

// Every thread of PID. Threads that exit meanwhile are left out; the first other error is returned.
mp::result<std::vector<ThreadView>> read_threads(const mp::TaskHandle& process, mp::TaskDiagnostic& diag) {
  std::vector<pid_t> tids;
  TASKMPOL_TRYV(process.list_threads(tids));
  std::vector<ThreadView> out;
  for (pid_t tid : tids) {
    auto thread = process.open_thread(tid);
    if (!thread && is_gone(thread.error())) continue;
    if (!thread) return thread.error();
    auto policy = thread.value().policy(&diag);
    if (!policy && is_gone(policy.error())) continue;
    if (!policy) return policy.error();
    ThreadView t;
    t.tid = tid;
    t.comm = comm_of(process.pid(), tid);
    t.policy = policy.value();
    if (auto allowed = thread.value().mems_allowed()) t.allowed = allowed.value();
    const mp::Mode m = t.policy.mode();
    if (m == mp::Mode::interleave || m == mp::Mode::weighted_interleave) {
      if (auto next = thread.value().interleave_next()) t.next = next.value();
    }
    out.push_back(std::move(t));
  }
  if (out.empty()) return mp::errc::target_exited;
  return out;
}

int run_show_pid(pid_t pid, bool json) {
  int code = exit_accepted;
  auto process = open_target(pid, std::nullopt, code);
  if (!process) return code;
  mp::TaskDiagnostic diag;
  auto threads = read_threads(*process, diag);
  if (!threads) return fail_with(threads.error(), pid, diag.tid, &diag);
  if (json) {
    nlohmann::ordered_json out;
    out["pid"] = pid;
    out["comm"] = comm_of(pid);
    out["threads"] = nlohmann::ordered_json::array();
    for (const ThreadView& t : threads.value()) out["threads"].push_back(thread_json(t));
    std::printf("%s\n", out.dump(2).c_str());
    return exit_accepted;
  }
  std::printf("pid %d (%s), %zu thread%s\n", pid, comm_of(pid).c_str(), threads.value().size(),
              threads.value().size() == 1 ? "" : "s");
  for (const ThreadView& t : threads.value()) std::printf("  %s\n", thread_line(t).c_str());
  return exit_accepted;
}

// Every process in /proc the caller may read. Processes of other users (EPERM: reading a policy
// needs ptrace read access) and processes that exit meanwhile are counted, not errors. Each one is
// pinned as the listing saw it (TaskHandle::open_matched: a pid recycled since is never read).
int run_show_all(bool json) {
  std::vector<pid_t> pids;
  if (auto listed = taskmpol::sys::list_processes(pids); !listed) {
    std::fprintf(stderr, "taskmpol: cannot list /proc: %s (is procfs mounted?)\n",
                 listed.error().message().c_str());
    return exit_rejected;
  }
  std::sort(pids.begin(), pids.end());
  std::size_t denied = 0;
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (pid_t pid : pids) {
    const auto seen = mp::sys::read_process_stat(pid);
    if (!seen) continue;  // exited since the listing
    auto process = mp::TaskHandle::open_matched(seen.value());
    if (!process) continue;  // exited, or not the process the listing saw any more
    const std::string comm(seen.value().name());
    mp::TaskDiagnostic diag;
    auto threads = read_threads(process.value(), diag);
    if (!threads) {
      if (is_unsupported(threads.error())) return fail_with(threads.error(), pid, pid, nullptr);
      if (is_permission(threads.error())) ++denied;
      continue;
    }
    if (json) {
      nlohmann::ordered_json p;
      p["pid"] = pid;
      p["comm"] = comm;
      p["threads"] = nlohmann::ordered_json::array();
      for (const ThreadView& t : threads.value()) p["threads"].push_back(thread_json(t));
      all.push_back(std::move(p));
    } else {
      for (const ThreadView& t : threads.value()) std::printf("pid %-7d %s\n", pid, thread_line(t).c_str());
    }
  }
  if (json) std::printf("%s\n", all.dump(2).c_str());
  if (denied > 0)
    std::fprintf(stderr, "taskmpol: %zu process%s not shown: reading another user's policy needs ptrace read access "
                         "(run as root)\n", denied, denied == 1 ? "" : "es");
  return exit_accepted;
}

// ---------------------------------------------------------------------------------------------
// The policy of `set` and `mbind`: kernel text, or numactl's options.

struct PolicyOptions {
  std::optional<std::string> text;  // positional POLICY
  std::optional<std::string> interleave, weighted, membind, preferred, preferred_many;
  bool localalloc = false;
  bool balancing = false;
  bool static_nodes = false;
  bool relative_nodes = false;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--interleave,-i", interleave, "Interleave over NODES (numactl -i)");
    cmd->add_option("--weighted-interleave,-w", weighted, "Weighted interleave over NODES (weights: taskmpol weights)");
    cmd->add_option("--membind,-m", membind, "Allocate only from NODES (numactl -m)");
    cmd->add_option("--preferred,-p", preferred, "Prefer one NODE (numactl -p)");
    cmd->add_option("--preferred-many,-P", preferred_many, "Prefer NODES (numactl -P)");
    cmd->add_flag("--localalloc,-l", localalloc, "Allocate on the node of the CPU that runs the thread");
    cmd->add_flag("--balancing,-b", balancing, "With --membind/--preferred-many: let NUMA balancing move pages");
    cmd->add_flag("--static", static_nodes, "Node numbers are absolute and stay so when the cpuset changes");
    cmd->add_flag("--relative", relative_nodes, "Node numbers index the target's allowed nodes (numactl's '+')");
  }
};

// A numactl-style node list: the kernel's list grammar, "all" (the target's allowed nodes that
// have memory), and a leading '+' for nodes relative to the allowed set (as numactl reads it).
mp::result<mp::NodeMask> option_nodes(std::string text, const mp::NodeMask& allowed, bool& relative,
                                      const std::string& option) {
  if (!text.empty() && text.front() == '+') {
    relative = true;
    text.erase(0, 1);
  }
  if (text == "all") return allowed;
  mp::ListError error;
  auto nodes = mp::NodeMask::parse(text, &error);
  if (!nodes) {
    std::fprintf(stderr, "taskmpol: %s=%s: %s\n", option.c_str(), printable(text).c_str(), error.message().c_str());
    return nodes.error();
  }
  return nodes.value();
}

// The policy, or nullopt after printing why (code: the exit status).
std::optional<mp::Policy> build_policy(const PolicyOptions& o, pid_t pid, int& code) {
  code = exit_usage;
  int given = o.text ? 1 : 0;
  for (const auto* opt : {&o.interleave, &o.weighted, &o.membind, &o.preferred, &o.preferred_many}) given += *opt ? 1 : 0;
  given += o.localalloc ? 1 : 0;
  if (given == 0) {
    std::fprintf(stderr, "taskmpol: no policy: give POLICY (e.g. 'interleave:0-1') or one of --membind, --interleave, "
                         "--weighted-interleave, --preferred, --preferred-many, --localalloc\n");
    return std::nullopt;
  }
  if (given > 1) {
    std::fprintf(stderr, "taskmpol: conflicting policies: give one policy (POLICY text or one policy option)\n");
    return std::nullopt;
  }
  mp::SysfsDiagnostic sdiag;
  const auto topology = mp::read_topology(mp::system_root, &sdiag);
  if (!topology) {
    std::fprintf(stderr, "taskmpol: %s\n", sdiag.message().c_str());
    code = exit_rejected;
    return std::nullopt;
  }
  const mp::NodeMask memory = topology.value().with_memory;
  if (o.text) {
    if (o.balancing || o.static_nodes || o.relative_nodes) {
      std::fprintf(stderr, "taskmpol: --balancing/--static/--relative go with the policy options; in POLICY text "
                           "write the flags as the kernel does, e.g. 'bind=static:0-1'\n");
      return std::nullopt;
    }
    mp::PolicyDiagnostic diag;
    auto policy = mp::parse_policy(*o.text, memory, mp::Dialect::extended, &diag);
    if (!policy) {
      std::fprintf(stderr, "taskmpol: rejected: %s\n  %s\n  %s^\n", diag.message().c_str(), printable(*o.text).c_str(),
                   std::string(diag.column, ' ').c_str());
      code = exit_rejected;
      return std::nullopt;
    }
    return policy.value();
  }
  // "all" means the target's allowed nodes that have memory, as numactl's "all" means its own.
  const mp::NodeMask allowed = status_mems_allowed(pid).value_or(memory) & memory;
  bool relative = o.relative_nodes;
  mp::Mode mode = mp::Mode::local;
  mp::NodeMask nodes;
  const std::pair<const std::optional<std::string>*, std::pair<mp::Mode, const char*>> table[] = {
      {&o.interleave, {mp::Mode::interleave, "--interleave"}},
      {&o.weighted, {mp::Mode::weighted_interleave, "--weighted-interleave"}},
      {&o.membind, {mp::Mode::bind, "--membind"}},
      {&o.preferred, {mp::Mode::preferred, "--preferred"}},
      {&o.preferred_many, {mp::Mode::preferred_many, "--preferred-many"}},
  };
  for (const auto& [value, what] : table) {
    if (!*value) continue;
    mode = what.first;
    auto parsed = option_nodes(**value, allowed, relative, what.second);
    if (!parsed) return std::nullopt;
    nodes = parsed.value();
  }
  mp::ModeFlags flags;
  if (o.static_nodes) flags = flags | mp::ModeFlag::static_nodes;
  if (relative) flags = flags | mp::ModeFlag::relative_nodes;
  if (o.balancing) flags = flags | mp::ModeFlag::numa_balancing;
  auto policy = mp::Policy::make(mode, flags, nodes);
  if (!policy) {
    std::fprintf(stderr, "taskmpol: %s%s\n", policy.error().message().c_str(),
                 o.balancing ? " (--balancing goes with --membind and --preferred-many only)" : "");
    code = exit_rejected;
    return std::nullopt;
  }
  // Absolute nodes without memory: the kernel would silently drop them (or refuse an empty set).
  if (!relative && (nodes & ~memory).any()) {
    std::fprintf(stderr, "taskmpol: node %zu has no memory on this system (nodes with memory: %s)\n",
                 (nodes & ~memory).first(), memory.to_string().c_str());
    code = exit_rejected;
    return std::nullopt;
  }
  return policy.value();
}

int run_set(pid_t pid, const PolicyOptions& o, std::optional<pid_t> tid, bool migrate) {
  if (tid && migrate) {
    // migrate_pages(2) works on the whole address space: refuse before changing anything.
    std::fprintf(stderr, "taskmpol: --migrate moves the pages of the whole process, not of one thread: "
                         "run it without --thread\n");
    return exit_usage;
  }
  int code = exit_accepted;
  const auto policy = build_policy(o, pid, code);
  if (!policy) return code;
  auto target = open_target(pid, tid, code);
  if (!target) return code;
  const std::string text = mp::to_string(*policy);
  if (tid) {
    mp::TaskDiagnostic diag;
    if (auto r = target->set_policy(*policy, &diag); !r) return fail_with(r.error(), pid, *tid, &diag);
    std::printf("pid %d (%s) thread %d: %s\n", pid, comm_of(pid).c_str(), *tid, text.c_str());
    return exit_accepted;
  }
  mp::AllThreadsOptions options;
  options.migrate_pages = migrate;
  auto report = mp::set_policy_on_all_threads(*target, *policy, options);
  if (!report) {
    // No thread took it: explain with one thread's diagnostic (the error is the same for all).
    mp::TaskDiagnostic diag;
    if (auto again = target->set_policy(*policy, &diag); !again && again.error() == report.error())
      return fail_with(report.error(), pid, pid, &diag);
    return fail_with(report.error(), pid, pid, nullptr);
  }
  const mp::AllThreadsReport& r = report.value();
  const std::size_t done = r.threads_set + r.threads_already;
  std::printf("pid %d (%s): %s on %zu thread%s", pid, comm_of(pid).c_str(), text.c_str(), done, done == 1 ? "" : "s");
  if (r.threads_exited > 0) std::printf(" (%zu exited meanwhile)", r.threads_exited);
  if (migrate) {
    if (r.migrate_error)
      std::printf("; migrating pages failed: %s", explain(r.migrate_error, pid, pid, nullptr).c_str());
    else if (policy->nodes().empty())
      std::printf("; nothing to migrate (the policy names no nodes)");
    else
      std::printf("; pages migrated (%lu could not be moved)", r.pages_not_moved);
  }
  std::printf("\n");
  for (const mp::ThreadFailure& f : r.failures)
    std::printf("  FAILED %s\n", explain(f.error, pid, f.tid, nullptr).c_str());
  if (!r.stable)
    std::printf("  not stable: new threads kept appearing after %zu passes over /proc/%d/task; run again\n",
                r.rounds, pid);
  if (!r.ok()) {
    std::fprintf(stderr, "taskmpol: pid %d: the policy is not in force on every thread (see above)\n", pid);
    return exit_rejected;
  }
  return exit_accepted;
}

// ADDR and LEN: decimal or 0x hex; LEN may end in K, M or G (binary units).
std::optional<std::uint64_t> parse_size(const std::string& text, bool suffix) {
  if (text.empty() || text.front() == '-') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  std::uint64_t v = std::strtoull(text.c_str(), &end, 0);
  if (errno != 0 || end == text.c_str()) return std::nullopt;
  std::string_view rest(end);
  if (suffix && rest.size() == 1) {
    const int shift = rest[0] == 'K' || rest[0] == 'k' ? 10 : rest[0] == 'M' || rest[0] == 'm' ? 20
                      : rest[0] == 'G' || rest[0] == 'g' ? 30 : -1;
    if (shift < 0 || v > (UINT64_MAX >> shift)) return std::nullopt;
    return v << shift;
  }
  if (!rest.empty()) return std::nullopt;
  return v;
}

std::optional<mp::AddressRange> parse_range(const std::string& addr, const std::string& len) {
  const auto a = parse_size(addr, false);
  const auto l = parse_size(len, true);
  if (!a || !l) {
    std::fprintf(stderr, "taskmpol: ADDR and LEN are numbers (0x... for hex; LEN may end in K, M or G): '%s' '%s'\n",
                 printable(addr).c_str(), printable(len).c_str());
    return std::nullopt;
  }
  if (*a % static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) != 0) {
    std::fprintf(stderr, "taskmpol: ADDR 0x%llx is not page aligned (the kernel refuses it): round it down\n",
                 static_cast<unsigned long long>(*a));
    return std::nullopt;
  }
  return mp::AddressRange{static_cast<std::uintptr_t>(*a), static_cast<std::size_t>(*l)};
}

int run_mbind(pid_t pid, const std::string& addr, const std::string& len, const PolicyOptions& o, bool move) {
  const auto range = parse_range(addr, len);
  if (!range) return exit_usage;
  int code = exit_accepted;
  const auto policy = build_policy(o, pid, code);
  if (!policy) return code;
  auto target = open_target(pid, std::nullopt, code);
  if (!target) return code;
  mp::TaskDiagnostic diag;
  mp::MbindFlags flags;
  if (move) flags = mp::MbindFlags(mp::MbindFlag::move);
  if (auto r = target->mbind(*range, *policy, flags, &diag); !r) {
    if (move && !target->is_caller() && r.error() == std::errc::invalid_argument) {
      std::fprintf(stderr, "taskmpol: the kernel refuses --move for another process (EINVAL): task_mbind moves no "
                           "pages of another process. Drop --move; to move the pages already there use "
                           "migratepages(8) or `taskmpol set %d POLICY --migrate`\n", pid);
      return exit_rejected;
    }
    return fail_with(r.error(), pid, pid, &diag);
  }
  std::printf("pid %d (%s): 0x%llx+%zu: %s\n", pid, comm_of(pid).c_str(), static_cast<unsigned long long>(range->start),
              range->length, mp::to_string(*policy).c_str());
  return exit_accepted;
}

int run_home_node(pid_t pid, const std::string& addr, const std::string& len, std::size_t node) {
  const auto range = parse_range(addr, len);
  if (!range) return exit_usage;
  int code = exit_accepted;
  auto target = open_target(pid, std::nullopt, code);
  if (!target) return code;
  mp::TaskDiagnostic diag;
  if (auto r = target->set_home_node(*range, node, &diag); !r) {
    if (r.error() == mp::errc::home_node_needs_bind)
      std::fprintf(stderr, "taskmpol: %s: first `taskmpol mbind %d %s %s --membind=NODES` (or --preferred-many)\n",
                   r.error().message().c_str(), pid, addr.c_str(), len.c_str());
    else
      return fail_with(r.error(), pid, pid, &diag);
    return exit_rejected;
  }
  std::printf("pid %d (%s): 0x%llx+%zu: home node %zu\n", pid, comm_of(pid).c_str(),
              static_cast<unsigned long long>(range->start), range->length, node);
  return exit_accepted;
}

// Reads the weights of the nodes with memory; with NODE=W arguments writes them first.
int run_weights(const std::vector<std::string>& assignments) {
  mp::SysfsDiagnostic diag;
  const auto topology = mp::read_topology(mp::system_root, &diag);
  if (!topology) {
    std::fprintf(stderr, "taskmpol: %s\n", diag.message().c_str());
    return exit_rejected;
  }
  std::vector<std::pair<std::size_t, unsigned>> writes;
  for (const std::string& a : assignments) {
    const auto eq = a.find('=');
    const auto node = eq == std::string::npos ? std::nullopt : parse_size(a.substr(0, eq), false);
    const auto weight = eq == std::string::npos ? std::nullopt : parse_size(a.substr(eq + 1), false);
    if (!node || !weight || *weight > 255 || *weight < 1) {
      std::fprintf(stderr, "taskmpol: '%s': write NODE=WEIGHT with a weight from 1 to 255, e.g. 3=4\n",
                   printable(a).c_str());
      return exit_usage;
    }
    writes.emplace_back(static_cast<std::size_t>(*node), static_cast<unsigned>(*weight));
  }
  for (const auto& [node, weight] : writes) {
    mp::SysfsDiagnostic wdiag;
    if (auto r = mp::write_interleave_weight(node, weight, mp::system_root, &wdiag); !r) {
      std::fprintf(stderr, "taskmpol: %s\n", wdiag.message().c_str());
      return exit_rejected;
    }
  }
  mp::SysfsDiagnostic rdiag;
  const auto weights = mp::read_interleave_weights(topology.value().with_memory, mp::system_root, &rdiag);
  if (!weights) {
    std::fprintf(stderr, "taskmpol: %s\n", rdiag.message().c_str());
    return exit_rejected;
  }
  std::printf("interleave weights: %s\n", weights_text(weights.value()).c_str());
  if (auto automatic = mp::read_interleave_auto()) std::printf("automatic weights: %s\n", automatic.value() ? "on" : "off");
  return exit_accepted;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"taskmpol: read, check and (with the kernel series) change the NUMA memory policies of running processes"};
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 rejected policy text or failed request (also a partial failure), "
             "2 usage error, 3 the running kernel lacks the taskmpol series (or has another ABI of it).");

  std::string text;
  std::optional<std::string> memory_option;
  bool extended = false;
  CLI::App* parse = app.add_subcommand("parse", "Check a policy text as the kernel would and print its canonical form");
  parse->add_option("--memory-nodes", memory_option,
                    "Nodes with memory to check against, as a node list (default: this system's has_memory)");
  parse->add_flag("--extended", extended,
                  "Also accept numactl's mode names, 'balancing', flag lists and a trailing newline (with a warning)");
  parse->add_option("text", text, "The policy, e.g. 'bind=static:0-3' or 'prefer (many):1,3'")->required();

  bool json = false;
  bool show_all = false;
  std::optional<pid_t> show_pid;
  CLI::App* show = app.add_subcommand("show", "Print the memory policy of each thread of PID (default: this process)");
  show->add_flag("--json", json, "Print JSON");
  auto* show_pid_opt = show->add_option("pid", show_pid, "The process (default: taskmpol itself)")->check(CLI::PositiveNumber);
  show->add_flag("--all", show_all, "Every process the caller may read")->excludes(show_pid_opt);

  pid_t set_pid = 0;
  PolicyOptions set_policy;
  std::optional<pid_t> set_tid;
  bool all_threads = false;
  bool migrate = false;
  CLI::App* set = app.add_subcommand("set", "Change the memory policy of a running process (all its threads)");
  set->add_option("pid", set_pid, "The process")->required()->check(CLI::PositiveNumber);
  set->add_option("policy", set_policy.text, "Kernel policy text, e.g. 'interleave:0-2' or 'bind=static:1'");
  set_policy.add_to(set);
  auto* tid_opt = set->add_option("--thread", set_tid, "Only this thread of PID")->check(CLI::PositiveNumber);
  set->add_flag("--all-threads", all_threads, "Every thread of PID, also threads created meanwhile (the default)")
      ->excludes(tid_opt);
  set->add_flag("--migrate", migrate, "Then move the process's pages from the other nodes onto the policy's (migrate_pages)");

  pid_t mbind_pid = 0;
  std::string addr;
  std::string len;
  PolicyOptions mbind_policy;
  bool move = false;
  CLI::App* mbind = app.add_subcommand("mbind", "Set the policy of a range of PID's address space (task_mbind)");
  mbind->add_option("pid", mbind_pid, "The process")->required()->check(CLI::PositiveNumber);
  mbind->add_option("addr", addr, "Start address (page aligned; 0x... for hex)")->required();
  mbind->add_option("len", len, "Length in bytes (K, M, G suffixes)")->required();
  mbind->add_option("policy", mbind_policy.text, "Kernel policy text, e.g. 'bind:1'");
  mbind_policy.add_to(mbind);
  mbind->add_flag("--move", move, "Move existing pages (refused by the kernel for another process)");

  pid_t home_pid = 0;
  std::size_t home = 0;
  CLI::App* home_node = app.add_subcommand("home-node", "Set the home node of the bind / prefer (many) ranges in a range");
  home_node->add_option("pid", home_pid, "The process")->required()->check(CLI::PositiveNumber);
  home_node->add_option("addr", addr, "Start address (page aligned)")->required();
  home_node->add_option("len", len, "Length in bytes (K, M, G suffixes)")->required();
  home_node->add_option("node", home, "The home node")->required();

  std::vector<std::string> assignments;
  CLI::App* weights = app.add_subcommand("weights", "Print the global weighted-interleave weights, or set them (root)");
  weights->add_option("assignments", assignments, "NODE=WEIGHT (1..255) to write, e.g. 3=4");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help (code 0) or the usage error
    return code == 0 ? exit_accepted : exit_usage;
  }

  if (parse->parsed()) return run_parse(text, memory_option, extended);
  if (set->parsed()) return run_set(set_pid, set_policy, set_tid, migrate);
  if (mbind->parsed()) return run_mbind(mbind_pid, addr, len, mbind_policy, move);
  if (home_node->parsed()) return run_home_node(home_pid, addr, len, home);
  if (weights->parsed()) return run_weights(assignments);
  if (show_all) return run_show_all(json);
  if (show_pid) return run_show_pid(*show_pid, json);
  return run_show(json);
}
