// SPDX-License-Identifier: MIT
// taskmpol: the command-line front end of the library. numactl's option names, applied to a
// running process instead of a command to start. The manual is docs/taskmpol.8 (man taskmpol):
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
//   taskmpol mbind PID ADDR LEN POLICY [--move[=all]] [--strict]
//       A range policy in PID's address space, as mbind(2) run by PID: --move also moves the
//       range's pages that only PID maps onto the policy's nodes, --move=all the pages other
//       processes map as well (CAP_SYS_NICE), --strict fails when pages stay off those nodes.
//   taskmpol home-node PID ADDR LEN NODE            the home node of bind / prefer (many) ranges
//   taskmpol weights [--json] [--yes] [NODE=W ...]  read or write the global interleave weights
//   taskmpol --version
//
// Targets: PID is pinned with a pidfd when a command starts (--thread TID: a pidfd of that thread)
// and every change goes through that pidfd (the kernel series' ABI 2), so a command never acts on
// a process that got the number later; show --all confirms each listed process through its pidfd
// (start time and name, TaskHandle::open_matched). --migrate is the exception: migrate_pages(2)
// takes the number (see TaskHandle::migrate_pages).
//
// Exit status: 0 success; 1 a request this system or kernel refused (a node without memory here,
// EPERM, a partial failure) or, for parse, a rejected text; 2 a usage error -- anything wrong with
// the command line itself, whichever options spell it; 3 the running kernel lacks the taskmpol
// series, or has it with another ABI than this build's (cross-task commands need ABI 2).
//
// Only public headers are used: this is also an example of the API.
#include <taskmpol/config.hpp>
#include <taskmpol/self.hpp>
#include <taskmpol/task.hpp>
#include <taskmpol/topology.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace mp = taskmpol;

namespace {

constexpr int exit_accepted = 0;
constexpr int exit_rejected = 1;
constexpr int exit_usage = 2;
constexpr int exit_unsupported = 3;

constexpr const char* version_text =
    "taskmpol " TASKMPOL_VERSION_STRING " (library " TASKMPOL_VERSION_STRING
    ", kernel interface: the taskmpol series, task mempolicy ABI 2)";

// ---------------------------------------------------------------------------------------------
// Text for the terminal.

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

// User input quoted in a message: printable, and cut in the middle when it is long, so a pasted
// megabyte does not flood the terminal.
std::string shown(std::string_view text, std::size_t limit = 60) {
  if (text.size() <= limit) return printable(text);
  const std::size_t half = (limit - 5) / 2;
  return printable(text.substr(0, half)) + " ... " + printable(text.substr(text.size() - half)) + " (" +
         std::to_string(text.size()) + " bytes)";
}

// The text and a caret line under [column, column + length), cut to a window around the column
// when the text is long.
void print_caret(std::string_view text, std::size_t column, std::size_t length) {
  constexpr std::size_t window = 36;
  std::size_t begin = 0;
  std::size_t end = text.size();
  if (text.size() > 2 * window + 8) {
    begin = column > window ? column - window : 0;
    end = std::min(text.size(), std::max(column, begin) + window);
  }
  const std::string lead = begin > 0 ? "..." : "";
  const std::string tail = end < text.size() ? "..." : "";
  std::fprintf(stderr, "  %s%s%s\n  %s^", lead.c_str(), printable(text.substr(begin, end - begin)).c_str(),
               tail.c_str(), std::string(lead.size() + (column >= begin ? column - begin : 0), ' ').c_str());
  const std::size_t marks = std::min(length, end > column ? end - column : 0);
  for (std::size_t i = 1; i < marks; ++i) std::fputc('~', stderr);
  std::fputc('\n', stderr);
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "taskmpol: %s\n", message.c_str());
  return exit_usage;
}

// ---------------------------------------------------------------------------------------------
// Numbers on the command line: decimal, no sign, no blanks, nothing after them.

std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// A PID or TID: a positive decimal that fits pid_t (the kernel's limit is 2^22).
std::optional<pid_t> parse_pid(std::string_view text) {
  const auto v = parse_decimal(text, 0x7fffffff);
  if (!v || *v == 0) return std::nullopt;
  return static_cast<pid_t>(*v);
}

// ADDR and LEN: decimal, or hexadecimal after 0x; LEN may end in K, M or G (binary units). No
// octal (a leading 0 is refused rather than read as base 8), no sign, no blanks.
std::optional<std::uint64_t> parse_size(std::string_view text, bool suffix) {
  int shift = 0;
  if (suffix && !text.empty()) {
    const char last = text.back();
    if (last == 'K' || last == 'k') shift = 10;
    if (last == 'M' || last == 'm') shift = 20;
    if (last == 'G' || last == 'g') shift = 30;
    if (shift != 0) text.remove_suffix(1);
  }
  std::uint64_t v = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    if (text.size() > 16) return std::nullopt;
    for (char c : text) {
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<std::uint64_t>(d);
    }
  } else {
    if (text.size() > 1 && text[0] == '0') return std::nullopt;  // would be octal to strtoul
    const auto d = parse_decimal(text, UINT64_MAX);
    if (!d) return std::nullopt;
    v = *d;
  }
  if (v > (UINT64_MAX >> shift)) return std::nullopt;
  return v << shift;
}

// ---------------------------------------------------------------------------------------------
// parse

// "nodes with memory" for parse: --memory-nodes, or this system's has_memory.
std::optional<mp::NodeMask> memory_nodes(const std::optional<std::string>& option) {
  if (option) {
    mp::ListError error;
    const auto parsed = mp::NodeMask::parse(*option, &error);
    if (!parsed) {
      std::fprintf(stderr, "taskmpol: --memory-nodes '%s': %s\n", shown(*option).c_str(), error.message().c_str());
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

// The library's message, said for the command line: where the nodes with memory came from.
std::string policy_message(const mp::PolicyDiagnostic& d, bool from_option) {
  if (d.issue == mp::PolicyIssue::node_without_memory) {
    std::string text = "node " + std::to_string(d.node) + " has no memory";
    if (from_option) {
      text += " (--memory-nodes " + (d.nodes_with_memory.empty() ? std::string("is empty") : d.nodes_with_memory.to_string()) + ")";
    } else {
      text += " on this system (" +
              (d.nodes_with_memory.empty() ? std::string("no node has memory") : "nodes with memory: " + d.nodes_with_memory.to_string()) +
              ")";
    }
    return text;
  }
  return d.message();
}

// Prints why TEXT was refused: the message, the column, a caret under the text, and --extended
// when that grammar would take it.
void print_rejection(const std::string& text, const mp::PolicyDiagnostic& diag, bool from_option,
                     const mp::NodeMask& memory) {
  const std::string message = policy_message(diag, from_option);
  if (message.find("column") != std::string::npos) {
    std::fprintf(stderr, "taskmpol: rejected: %s\n", message.c_str());
  } else {
    std::fprintf(stderr, "taskmpol: rejected: %s, at column %zu\n", message.c_str(), diag.column);
  }
  print_caret(text, diag.column, diag.length);
  if (diag.dialect == mp::Dialect::kernel && mp::parse_policy(text, memory, mp::Dialect::extended).has_value())
    std::fprintf(stderr, "taskmpol: use --extended to accept it (numactl's mode names, 'balancing', several flags, a "
                         "trailing newline); the kernel's form is printed then\n");
}

int run_parse(const std::string& text, const std::optional<std::string>& memory_option, bool extended) {
  const auto memory = memory_nodes(memory_option);
  if (!memory) return exit_usage;
  mp::PolicyDiagnostic diag;
  const auto policy =
      mp::parse_policy(text, *memory, extended ? mp::Dialect::extended : mp::Dialect::kernel, &diag);
  if (!policy) {
    print_rejection(text, diag, memory_option.has_value(), *memory);
    return exit_rejected;
  }
  if (diag.has_warnings()) std::fprintf(stderr, "taskmpol: warning: %s\n", diag.message().c_str());
  std::printf("%s\n", mp::to_string(policy.value()).c_str());
  return exit_accepted;
}

// ---------------------------------------------------------------------------------------------
// show (this process)

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
    out["pid"] = mp::sys::getpid();
    out["tid"] = mp::sys::gettid();
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
    "this kernel lacks task mempolicy support (needs the taskmpol kernel series, task mempolicy ABI 2: see "
    "kernel/README.md)";

// No series, or the series with another ABI than this library's: exit 3 either way.
bool is_unsupported(std::error_code e) {
  return e == mp::errc::unsupported_kernel || e == mp::errc::series_abi_1 || e == mp::errc::series_abi_unknown;
}
bool is_permission(std::error_code e) {
  return e == std::errc::operation_not_permitted || e == std::errc::permission_denied;
}
bool is_gone(std::error_code e) { return e == mp::errc::target_exited || e == std::errc::no_such_process; }

// The name of a process or thread (comm), "?" when it is gone.
std::string comm_of(pid_t pid, pid_t tid = 0) {
  std::array<char, 64> path{};
  if (tid > 0)
    std::snprintf(path.data(), path.size(), "/proc/%d/task/%d/comm", static_cast<int>(pid), static_cast<int>(tid));
  else
    std::snprintf(path.data(), path.size(), "/proc/%d/comm", static_cast<int>(pid));
  std::array<char, 64> text{};
  const auto size = mp::sys::read_file(AT_FDCWD, path.data(), text);
  if (!size || size.value() == 0) return "?";
  std::string name(text.data(), size.value());
  if (name.back() == '\n') name.pop_back();
  return name;
}

// The message for a failed cross-task call: the library's diagnostic (the cause, the node, the
// nodes with memory, the target's cpuset and what to do), or the one sentence for a kernel
// without the series.
std::string explain(const mp::TaskDiagnostic& diag) {
  if (diag.error == mp::errc::unsupported_kernel) return unsupported_text;
  if (is_unsupported(diag.error)) return diag.error.message();  // the ABI versions and what to do
  std::string text = diag.message();
  if (is_gone(diag.error)) text += " (it exited)";
  return text;
}

int fail_with(const mp::TaskDiagnostic& diag) {
  std::fprintf(stderr, "taskmpol: %s\n", explain(diag).c_str());
  return is_unsupported(diag.error) ? exit_unsupported : exit_rejected;
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
  pid_t pid = 0;
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

// One entry per thread: each carries its process and its thread, wherever it ends up.
nlohmann::ordered_json thread_json(const ThreadView& t) {
  nlohmann::ordered_json j;
  j["pid"] = t.pid;
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

// Every thread of PID. Threads that exit meanwhile are left out; the first other error is returned
// with its diagnostic in `diag`.
mp::result<std::vector<ThreadView>> read_threads(const mp::TaskHandle& process, mp::TaskDiagnostic& diag) {
  std::vector<pid_t> tids;
  if (auto listed = process.list_threads(tids); !listed) {
    diag.error = listed.error();
    diag.tid = process.tid();
    return listed.error();
  }
  std::vector<ThreadView> out;
  for (pid_t tid : tids) {
    auto thread = process.open_thread(tid);
    if (!thread && is_gone(thread.error())) continue;
    if (!thread) {
      diag.error = thread.error();
      diag.tid = tid;
      return thread.error();
    }
    auto policy = thread.value().policy(&diag);
    if (!policy && is_gone(policy.error())) continue;
    if (!policy) return policy.error();
    ThreadView t;
    t.pid = process.pid();
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
  if (out.empty()) {
    diag.error = mp::errc::target_exited;
    return mp::errc::target_exited;
  }
  return out;
}

int run_show_pid(pid_t pid, bool json) {
  int code = exit_accepted;
  auto process = open_target(pid, std::nullopt, code);
  if (!process) return code;
  mp::TaskDiagnostic diag;
  auto threads = read_threads(*process, diag);
  if (!threads) return fail_with(diag);
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
      if (is_unsupported(threads.error())) return fail_with(diag);
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

// The target's allowed nodes from the world-readable status file: "all" means those that have
// memory, as numactl's "all" means its own.
std::optional<mp::NodeMask> status_mems_allowed(pid_t pid) {
  std::array<char, 64> path{};
  std::snprintf(path.data(), path.size(), "/proc/%d/status", static_cast<int>(pid));
  std::array<char, 4096> value{};
  const auto size = mp::sys::read_proc_field(AT_FDCWD, path.data(), "Mems_allowed_list", value);
  if (!size) return std::nullopt;
  auto nodes = mp::NodeMask::parse(std::string_view(value.data(), size.value()));
  if (!nodes) return std::nullopt;
  return nodes.value();
}

// A numactl-style node list: the kernel's list grammar, "all" (the target's allowed nodes that
// have memory), and a leading '+' for nodes relative to the allowed set (as numactl reads it).
// Usage errors print themselves.
std::optional<mp::NodeMask> option_nodes(std::string text, const mp::NodeMask& allowed, bool& relative,
                                         const std::string& option) {
  const std::string given = text;
  if (!text.empty() && text.front() == '+') {
    relative = true;
    text.erase(0, 1);
  }
  if (text == "all") return allowed;
  mp::ListError error;
  auto nodes = mp::NodeMask::parse(text, &error);
  if (!nodes) {
    std::fprintf(stderr, "taskmpol: %s=%s: %s\n", option.c_str(), shown(given).c_str(), error.message().c_str());
    return std::nullopt;
  }
  return nodes.value();
}

// The exit status of a policy refusal: system-dependent facts (a node without memory here) are
// refusals (1); everything else is wrong on any system, a usage error (2), however it is spelled.
int policy_exit(std::error_code e, bool had_list) {
  if (e == mp::errc::node_without_memory) return exit_rejected;
  if (e == mp::errc::empty_nodes && !had_list) return exit_rejected;  // no node with memory at all
  return exit_usage;
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
  if (o.text && (o.balancing || o.static_nodes || o.relative_nodes)) {
    std::fprintf(stderr, "taskmpol: --balancing/--static/--relative go with the policy options; in POLICY text "
                         "write the flags as the kernel does, e.g. 'bind=static:0-1'\n");
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
    mp::PolicyDiagnostic diag;
    auto policy = mp::parse_policy(*o.text, memory, mp::Dialect::extended, &diag);
    if (!policy) {
      print_rejection(*o.text, diag, false, memory);
      code = policy_exit(policy.error(), diag.has_list);
      return std::nullopt;
    }
    return policy.value();
  }
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
    nodes = *parsed;
    if (mode == mp::Mode::preferred && nodes.count() > 1) {
      std::fprintf(stderr, "taskmpol: --preferred takes one node; to prefer several, use --preferred-many=%s\n",
                   shown(**value).c_str());
      return std::nullopt;
    }
    if (nodes.empty()) {
      std::fprintf(stderr, "taskmpol: %s=%s selects no node\n", what.second, shown(**value).c_str());
      code = **value == "all" ? exit_rejected : exit_usage;  // "all" is empty only where nothing is allowed
      return std::nullopt;
    }
  }
  mp::ModeFlags flags;
  if (o.static_nodes) flags = flags | mp::ModeFlag::static_nodes;
  if (relative) flags = flags | mp::ModeFlag::relative_nodes;
  if (o.balancing) flags = flags | mp::ModeFlag::numa_balancing;
  auto policy = mp::Policy::make(mode, flags, nodes);
  if (!policy) {
    std::string why = policy.error().message();
    if (policy.error() == mp::errc::flag_not_allowed && o.balancing)
      why = "--balancing goes with --membind and --preferred-many only";
    else if (policy.error() == mp::errc::conflicting_flags)
      why = "--static and --relative exclude each other";
    std::fprintf(stderr, "taskmpol: %s\n", why.c_str());
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

// ---------------------------------------------------------------------------------------------
// set, mbind, home-node

int run_set(pid_t pid, const PolicyOptions& o, std::optional<pid_t> tid, bool migrate) {
  if (tid && migrate) {
    // migrate_pages(2) works on the whole address space: refuse before changing anything.
    return usage_error("--migrate moves the pages of the whole process, not of one thread: run it without --thread");
  }
  int code = exit_accepted;
  const auto policy = build_policy(o, pid, code);
  if (!policy) return code;
  auto target = open_target(pid, tid, code);
  if (!target) return code;
  const std::string text = mp::to_string(*policy);
  if (tid) {
    mp::TaskDiagnostic diag;
    if (auto r = target->set_policy(*policy, &diag); !r) return fail_with(diag);
    std::printf("pid %d (%s) thread %d: %s\n", pid, comm_of(pid).c_str(), *tid, text.c_str());
    return exit_accepted;
  }
  mp::AllThreadsOptions options;
  options.migrate_pages = migrate;
  mp::TaskDiagnostic diag;
  auto report = mp::set_policy_on_all_threads(*target, *policy, options, &diag);
  // No thread took it: the diagnostic of the call that failed says why (never asked again).
  if (!report) return fail_with(diag);
  const mp::AllThreadsReport& r = report.value();
  const std::size_t done = r.threads_set + r.threads_already;
  std::printf("pid %d (%s): %s on %zu thread%s", pid, comm_of(pid).c_str(), text.c_str(), done, done == 1 ? "" : "s");
  if (r.threads_exited > 0) std::printf(" (%zu exited meanwhile)", r.threads_exited);
  if (migrate) {
    if (r.migrate_error) {
      mp::TaskDiagnostic m;
      m.error = r.migrate_error;
      m.tid = pid;
      std::printf("; migrating pages failed: %s", explain(m).c_str());
    } else if (policy->nodes().empty()) {
      std::printf("; nothing to migrate (the policy names no nodes)");
    } else {
      std::printf("; pages migrated (%lu could not be moved)", r.pages_not_moved);
    }
  }
  std::printf("\n");
  for (const mp::ThreadFailure& f : r.failures) std::printf("  FAILED %s\n", explain(f.diagnostic).c_str());
  if (!r.stable)
    std::printf("  not stable: new threads kept appearing after %zu passes over /proc/%d/task; run again\n",
                r.rounds, pid);
  if (!r.ok()) {
    std::fprintf(stderr, "taskmpol: pid %d: the policy is not in force on every thread (see above)\n", pid);
    return exit_rejected;
  }
  return exit_accepted;
}

std::optional<mp::AddressRange> parse_range(const std::string& addr, const std::string& len) {
  const auto a = parse_size(addr, false);
  const auto l = parse_size(len, true);
  if (!a || !l) {
    std::fprintf(stderr, "taskmpol: ADDR and LEN are numbers, decimal or 0x... hex (LEN may end in K, M or G; no "
                         "sign, blanks or octal): '%s' '%s'\n",
                 shown(addr).c_str(), shown(len).c_str());
    return std::nullopt;
  }
  if (*a % static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) != 0) {
    std::fprintf(stderr, "taskmpol: ADDR 0x%llx is not page aligned (the kernel refuses it): round it down\n",
                 static_cast<unsigned long long>(*a));
    return std::nullopt;
  }
  return mp::AddressRange{static_cast<std::uintptr_t>(*a), static_cast<std::size_t>(*l)};
}

// mbind's --move: absent, plain (the pages only PID maps) or =all (shared pages too).
enum class MoveOption { none, own, all };

// The value of --move as CLI11 hands it over: a flag without a value reads "true".
std::optional<MoveOption> move_option(const std::optional<std::string>& value) {
  if (!value) return MoveOption::none;
  if (*value == "true") return MoveOption::own;
  if (*value == "all") return MoveOption::all;
  return std::nullopt;
}

// A refused mbind, in the command's words: the library's diagnostic without its advice (which
// names API calls), then what to do on the command line.
int fail_mbind(mp::TaskDiagnostic diag, const std::string& advice) {
  diag.advice = "";
  std::fprintf(stderr, "taskmpol: %s\ntaskmpol: %s\n", explain(diag).c_str(), advice.c_str());
  return is_unsupported(diag.error) ? exit_unsupported : exit_rejected;
}

int run_mbind(pid_t pid, const std::string& addr, const std::string& len, const PolicyOptions& o, MoveOption move,
              bool strict) {
  const auto range = parse_range(addr, len);
  if (!range) return exit_usage;
  int code = exit_accepted;
  const auto policy = build_policy(o, pid, code);
  if (!policy) return code;
  auto target = open_target(pid, std::nullopt, code);
  if (!target) return code;
  mp::TaskDiagnostic diag;
  mp::MbindFlags flags;
  if (move == MoveOption::own) flags = mp::MbindFlag::move;
  if (move == MoveOption::all) flags = mp::MbindFlag::move_all;
  if (strict) flags = flags | mp::MbindFlag::strict;
  if (auto r = target->mbind(*range, *policy, flags, &diag); !r) {
    const bool other_process = target->pid() != ::getpid();
    if (move != MoveOption::none && other_process && r.error() == std::errc::invalid_argument) {
      // Two causes, the same errno: the policy, or a series whose task_mbind moves no other
      // process's pages yet (an earlier version, with the same ABI 2).
      const std::string p = std::to_string(pid);
      return fail_mbind(diag, "either POLICY does not fit pid " + p +
                                  " (nodes with memory, in its cpuset), or this kernel's taskmpol series cannot "
                                  "move another process's pages yet; then run without --move and move the pages "
                                  "with `taskmpol set " + p + " POLICY --migrate` or migratepages(8)");
    }
    if (move == MoveOption::all && r.error() == std::errc::operation_not_permitted) {
      return fail_mbind(diag, "--move=all also moves pages that other processes map and needs CAP_SYS_NICE (run as "
                              "root); --move moves the pages only PID maps without it. A range of another user's "
                              "process also needs CAP_SYS_NICE, and ptrace attach rights (Yama's ptrace_scope)");
    }
    if (strict && r.error() == std::errc::io_error) {
      return fail_mbind(diag, std::string("--strict: the range's policy is set, but some of its pages are not on "
                                          "the policy's nodes") +
                                  (move == MoveOption::none ? " (add --move to move them)"
                                       : " and could not be moved (pinned, e.g. by a pipe or I/O in flight, or in "
                                         "a mapping that cannot migrate)"));
    }
    return fail_with(diag);
  }
  const char* moved = move == MoveOption::none  ? ""
                      : move == MoveOption::own ? "; existing pages moved (those only this process maps)"
                                                : "; existing pages moved (shared ones too)";
  std::printf("pid %d (%s): 0x%llx+%zu: %s%s\n", pid, comm_of(pid).c_str(),
              static_cast<unsigned long long>(range->start), range->length, mp::to_string(*policy).c_str(), moved);
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
    if (r.error() == mp::errc::home_node_needs_bind) {
      std::fprintf(stderr, "taskmpol: %s: first `taskmpol mbind %d %s %s --membind=NODES` (or --preferred-many)\n",
                   r.error().message().c_str(), pid, shown(addr).c_str(), shown(len).c_str());
      return exit_rejected;
    }
    return fail_with(diag);
  }
  std::printf("pid %d (%s): 0x%llx+%zu: home node %zu\n", pid, comm_of(pid).c_str(),
              static_cast<unsigned long long>(range->start), range->length, node);
  return exit_accepted;
}

// NODE of home-node, checked before anything else: a number below 1024 (else a usage error) that
// is online on this system (else a refusal: the kernel would say EINVAL).
std::optional<std::size_t> home_node_of(const std::string& text, int& code) {
  const auto node = parse_decimal(text, mp::NodeMask::capacity - 1);
  if (!node) {
    code = usage_error("NODE must be a node number from 0 to " + std::to_string(mp::NodeMask::capacity - 1) +
                       ", not '" + shown(text) + "'");
    return std::nullopt;
  }
  mp::SysfsDiagnostic sdiag;
  const auto topology = mp::read_topology(mp::system_root, &sdiag);
  if (!topology) {
    std::fprintf(stderr, "taskmpol: %s\n", sdiag.message().c_str());
    code = exit_rejected;
    return std::nullopt;
  }
  if (!topology.value().online.test(*node)) {
    std::fprintf(stderr, "taskmpol: node %llu is not online on this system (online nodes: %s); a home node must be "
                         "one of them\n",
                 static_cast<unsigned long long>(*node), topology.value().online.to_string().c_str());
    code = exit_rejected;
    return std::nullopt;
  }
  return static_cast<std::size_t>(*node);
}

// ---------------------------------------------------------------------------------------------
// weights

struct WeightsOptions {
  std::vector<std::string> assignments;
  bool json = false;
  bool yes = false;
  std::string root = std::string(mp::system_root);
};

int run_weights(const WeightsOptions& o) {
  // The command line first: NODE=WEIGHT, each node once.
  constexpr std::uint64_t last_node = mp::NodeMask::capacity - 1;
  std::map<std::size_t, unsigned> writes;
  for (const std::string& a : o.assignments) {
    const auto eq = a.find('=');
    const auto node = eq == std::string::npos ? std::nullopt : parse_decimal(std::string_view(a).substr(0, eq), last_node);
    const auto weight = eq == std::string::npos ? std::nullopt : parse_decimal(std::string_view(a).substr(eq + 1), 255);
    if (!node || !weight || *weight < 1)
      return usage_error("'" + shown(a) + "': write NODE=WEIGHT with a node from 0 to " + std::to_string(last_node) +
                         " and a weight from 1 to 255, e.g. 3=4");
    if (!writes.emplace(static_cast<std::size_t>(*node), static_cast<unsigned>(*weight)).second)
      return usage_error("node " + std::to_string(*node) + " is given twice: give each NODE=WEIGHT once");
  }

  mp::SysfsDiagnostic diag;
  const auto topology = mp::read_topology(o.root, &diag);
  if (!topology) {
    std::fprintf(stderr, "taskmpol: %s\n", diag.message().c_str());
    return exit_rejected;
  }
  const mp::NodeMask memory = topology.value().with_memory;
  mp::SysfsDiagnostic rdiag;
  const auto before = mp::read_interleave_weights(memory, o.root, &rdiag);
  if (!before) {
    std::fprintf(stderr, "taskmpol: %s\n", rdiag.message().c_str());
    return exit_rejected;
  }
  const auto automatic_before = mp::read_interleave_auto(o.root);  // Linux 6.16+

  struct Change {
    std::size_t node;
    unsigned from;
    unsigned to;
  };
  std::vector<Change> changes;
  for (const auto& [node, weight] : writes) {
    if (!memory.test(node)) {
      std::fprintf(stderr, "taskmpol: node %zu has no memory on this system, so it has no interleave weight (nodes "
                           "with memory: %s)\n",
                   node, memory.to_string().c_str());
      return exit_rejected;
    }
    changes.push_back({node, before.value()[node], weight});
  }
  const bool auto_on = automatic_before.has_value() && automatic_before.value();

  if (!changes.empty()) {
    // The weights are global: every weighted-interleave policy on the system uses them.
    std::string plan;
    for (const Change& c : changes)
      plan += "  node " + std::to_string(c.node) + ": " + std::to_string(c.from) + " -> " + std::to_string(c.to) +
              (c.from == c.to ? " (unchanged)" : "") + "\n";
    if (::isatty(STDIN_FILENO) == 1 && !o.yes) {
      std::fprintf(stderr, "taskmpol: this would change the interleave weights of the whole system:\n%s", plan.c_str());
      if (auto_on)
        std::fprintf(stderr, "taskmpol: and switch the kernel's automatic weights off (Linux 6.16+)\n");
      std::fprintf(stderr, "taskmpol: run again with --yes to write them\n");
      return exit_usage;
    }
    for (const Change& c : changes) {
      mp::SysfsDiagnostic wdiag;
      if (auto r = mp::write_interleave_weight(c.node, c.to, o.root, &wdiag); !r) {
        std::fprintf(stderr, "taskmpol: %s\n", wdiag.message().c_str());
        return exit_rejected;
      }
    }
    if (!o.json) {
      std::printf("changed interleave weights:\n%s", plan.c_str());
      if (automatic_before)
        std::printf("writing a weight switches the kernel's automatic weights off%s\n",
                    auto_on ? " (they were on)" : " (they were off already)");
    }
  }

  mp::SysfsDiagnostic adiag;
  const auto weights = mp::read_interleave_weights(memory, o.root, &adiag);
  if (!weights) {
    std::fprintf(stderr, "taskmpol: %s\n", adiag.message().c_str());
    return exit_rejected;
  }
  const auto automatic = mp::read_interleave_auto(o.root);
  if (o.json) {
    nlohmann::ordered_json out;
    nlohmann::ordered_json w = nlohmann::ordered_json::object();
    for (std::size_t n : weights.value().nodes) w[std::to_string(n)] = weights.value()[n];
    out["weights"] = w;
    out["automatic"] = automatic ? nlohmann::json(automatic.value()) : nlohmann::json(nullptr);
    out["changes"] = nlohmann::ordered_json::array();
    for (const Change& c : changes) out["changes"].push_back({{"node", c.node}, {"from", c.from}, {"to", c.to}});
    std::printf("%s\n", out.dump(2).c_str());
    return exit_accepted;
  }
  std::printf("interleave weights: %s\n", weights_text(weights.value()).c_str());
  if (automatic) std::printf("automatic weights: %s\n", automatic.value() ? "on" : "off");
  return exit_accepted;
}

// ---------------------------------------------------------------------------------------------
// The command line.

constexpr const char* commands_text = "parse, show, set, mbind, home-node, weights";

// CLI11's parse errors, said in taskmpol's words: the unknown option or command by name.
int report_parse_error(const CLI::App& app, const CLI::ParseError& e) {
  const std::string name = e.get_name();
  std::string command;
  for (const CLI::App* sub : app.get_subcommands()) command = sub->get_name();
  const std::string where = command.empty() ? "taskmpol" : "taskmpol " + command;
  std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    // "The following argument(s) was/were not expected: A B"
    const auto colon = what.find(": ");
    std::string extras = colon == std::string::npos ? what : what.substr(colon + 2);
    const std::string first = extras.substr(0, extras.find(' '));
    if (!first.empty() && first[0] == '-')
      return usage_error("unknown option " + shown(first) + " (" + where + " --help lists the options)");
    if (command.empty())
      return usage_error("unknown command '" + shown(first) + "' (commands: " + commands_text + ")");
    std::fprintf(stderr, "%s: unexpected argument '%s' (%s --help)\n", where.c_str(), shown(first).c_str(), where.c_str());
    return exit_usage;
  }
  std::fprintf(stderr, "%s: %s (%s --help)\n", where.c_str(), shown(what, 200).c_str(), where.c_str());
  return exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"taskmpol: read, check and (with the kernel series) change the NUMA memory policies of running processes"};
  app.name("taskmpol");
  app.require_subcommand(0, 1);
  app.set_version_flag("-V,--version", version_text);
  app.footer("Exit status: 0 success; 1 the system or kernel refused a request (also a partial failure), or parse "
             "rejected the text; 2 usage error; 3 the running kernel lacks the taskmpol series (task mempolicy ABI 2). "
             "See man taskmpol.\n");

  std::string text;
  std::optional<std::string> memory_option;
  bool extended = false;
  CLI::App* parse = app.add_subcommand("parse", "Check a policy text as the kernel would and print its canonical form");
  parse->add_option("--memory-nodes", memory_option,
                    "Nodes with memory to check against, as a node list (default: this system's has_memory)");
  parse->add_flag("--extended", extended,
                  "Also accept numactl's mode names, 'balancing', flag lists and a trailing newline (with a warning)");
  parse->add_option("TEXT", text, "The policy, e.g. 'bind=static:0-3' or 'prefer (many):1,3'")->required();

  bool json = false;
  bool show_all = false;
  std::optional<std::string> show_pid;
  CLI::App* show = app.add_subcommand("show", "Print the memory policy of each thread of PID (default: this process)");
  show->add_flag("--json", json, "Print JSON (each thread entry carries its pid and tid)");
  auto* show_pid_opt = show->add_option("PID", show_pid, "The process (default: taskmpol itself)");
  show->add_flag("--all", show_all, "Every process the caller may read")->excludes(show_pid_opt);

  std::string set_pid;
  PolicyOptions set_policy;
  std::optional<std::string> set_tid;
  bool all_threads = false;
  bool migrate = false;
  CLI::App* set = app.add_subcommand("set", "Change the memory policy of a running process (all its threads)");
  set->add_option("PID", set_pid, "The process")->required();
  set->add_option("POLICY", set_policy.text, "Kernel policy text, e.g. 'interleave:0-2' or 'bind=static:1'");
  set_policy.add_to(set);
  auto* tid_opt = set->add_option("--thread", set_tid, "Only this thread of PID");
  set->add_flag("--all-threads", all_threads, "Every thread of PID, also threads created meanwhile (the default)")
      ->excludes(tid_opt);
  set->add_flag("--migrate", migrate, "Then move the process's pages from the other nodes onto the policy's (migrate_pages)");

  std::string mbind_pid;
  std::string addr;
  std::string len;
  PolicyOptions mbind_policy;
  std::optional<std::string> move;
  bool strict = false;
  CLI::App* mbind = app.add_subcommand("mbind", "Set the policy of a range of PID's address space (task_mbind)");
  mbind->add_option("PID", mbind_pid, "The process")->required();
  mbind->add_option("ADDR", addr, "Start address (page aligned; 0x... for hex)")->required();
  mbind->add_option("LEN", len, "Length in bytes (K, M, G suffixes)")->required();
  mbind->add_option("POLICY", mbind_policy.text, "Kernel policy text, e.g. 'bind:1'");
  mbind_policy.add_to(mbind);
  // A flag that takes a value only after '=': `--move all` leaves "all" a positional argument.
  mbind->add_flag("--move", move,
                  "Also move the range's existing pages onto the policy's nodes: --move those only PID maps, "
                  "--move=all also pages other processes map (needs CAP_SYS_NICE)");
  mbind->add_flag("--strict", strict, "Fail (exit 1) when pages of the range stay off the policy's nodes");

  std::string home_pid;
  std::string home;
  CLI::App* home_node = app.add_subcommand("home-node", "Set the home node of the bind / prefer (many) ranges in a range");
  home_node->add_option("PID", home_pid, "The process")->required();
  home_node->add_option("ADDR", addr, "Start address (page aligned)")->required();
  home_node->add_option("LEN", len, "Length in bytes (K, M, G suffixes)")->required();
  home_node->add_option("NODE", home, "The home node (an online node)")->required();

  WeightsOptions weights_options;
  CLI::App* weights = app.add_subcommand("weights", "Print the global weighted-interleave weights, or set them (root)");
  weights->add_option("NODE=WEIGHT", weights_options.assignments, "NODE=WEIGHT (1..255) to write, e.g. 3=4");
  weights->add_flag("--json", weights_options.json, "Print JSON");
  weights->add_flag("--yes,-y", weights_options.yes, "Write without asking (needed when stdin is a terminal)");
  weights->add_option("--sysfs-root", weights_options.root,
                      "Read and write below DIR instead of / (a sysfs mounted elsewhere, a recorded layout)")
      ->type_name("DIR");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e);
  }

  // PIDs and TIDs are positive integers, whichever command takes them.
  const auto pid_of = [](const std::string& value, const char* what) -> std::optional<pid_t> {
    const auto pid = parse_pid(value);
    if (!pid) usage_error(std::string(what) + " must be a positive integer, not '" + shown(value) + "'");
    return pid;
  };

  if (parse->parsed()) return run_parse(text, memory_option, extended);
  if (set->parsed()) {
    const auto pid = pid_of(set_pid, "PID");
    if (!pid) return exit_usage;
    std::optional<pid_t> tid;
    if (set_tid) {
      tid = pid_of(*set_tid, "TID (--thread)");
      if (!tid) return exit_usage;
    }
    return run_set(*pid, set_policy, tid, migrate);
  }
  if (mbind->parsed()) {
    const auto how = move_option(move);
    if (!how)
      return usage_error("--move takes no value (the pages only PID maps) or '=all' (shared pages too), not '--move=" +
                         shown(*move) + "'");
    const auto pid = pid_of(mbind_pid, "PID");
    if (!pid) return exit_usage;
    return run_mbind(*pid, addr, len, mbind_policy, *how, strict);
  }
  if (home_node->parsed()) {
    int code = exit_usage;
    const auto node = home_node_of(home, code);  // NODE before anything else
    if (!node) return code;
    const auto pid = pid_of(home_pid, "PID");
    if (!pid) return exit_usage;
    return run_home_node(*pid, addr, len, *node);
  }
  if (weights->parsed()) return run_weights(weights_options);
  if (show->parsed()) {
    if (show_all) return run_show_all(json);
    if (show_pid) {
      const auto pid = pid_of(*show_pid, "PID");
      if (!pid) return exit_usage;
      return run_show_pid(*pid, json);
    }
    return run_show(json);
  }
  return usage_error(std::string("a command is required: ") + commands_text + " (taskmpol --help)");
}
