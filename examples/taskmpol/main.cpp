// SPDX-License-Identifier: MIT
// taskmpol: the command-line front end of the library. This skeleton has two subcommands:
//
//   taskmpol parse [--memory-nodes LIST] [--extended] [--] TEXT
//       Checks TEXT against the kernel's policy grammar (mpol_parse_str) and prints the kernel's
//       canonical form (mpol_to_str). Exit 0: accepted; 1: the kernel would reject TEXT (the
//       reason and the 0-based column go to stderr, with a caret under the text); 2: usage error
//       or the topology could not be read.
//   taskmpol show [--json]
//       The memory policy of this process (in numactl --show spirit: run it under numactl or a
//       cpuset to see theirs), its allowed nodes, and mode-specific details.
//
// Only public headers are used: this is also an example of the API.
#include <taskmpol/self.hpp>
#include <taskmpol/topology.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace mp = taskmpol;

namespace {

constexpr int exit_accepted = 0;
constexpr int exit_rejected = 1;
constexpr int exit_usage = 2;

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
                 mp::describe(topology.error(), diag).c_str());
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
      weights_error = mp::describe(w.error(), diag);
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"taskmpol: read, check and (with the kernel series) change NUMA memory policies"};
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 rejected policy text or failed request, 2 usage error.");

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
  CLI::App* show = app.add_subcommand("show", "Print this process's memory policy and allowed nodes");
  show->add_flag("--json", json, "Print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help (code 0) or the usage error
    return code == 0 ? exit_accepted : exit_usage;
  }

  if (parse->parsed()) return run_parse(text, memory_option, extended);
  return run_show(json);
}
