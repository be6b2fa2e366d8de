// SPDX-License-Identifier: MIT
// Test fixture: a synthetic sysfs tree in a temporary directory, handed to the topology readers as
// their root. Layouts cover what one real test host cannot: sparse node ids, memory-less and
// CPU-less nodes, the 1024-node boundary, missing and malformed files.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <stdlib.h>
#include <sys/stat.h>

namespace taskmpol_test {

class FakeSysfs {
 public:
  FakeSysfs() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/taskmpol-sysfs-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::system_category(), "mkdtemp");
    root_ = pattern;
    // mkdtemp makes the directory 0700; tests that drop privileges must reach the files inside so
    // that only the files' own modes decide.
    ::chmod(root_.c_str(), 0755);
    std::filesystem::create_directories(node_dir());
    std::filesystem::create_directories(weights_dir());
  }
  ~FakeSysfs() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  FakeSysfs(const FakeSysfs&) = delete;
  FakeSysfs& operator=(const FakeSysfs&) = delete;

  [[nodiscard]] const std::string& root() const noexcept { return root_; }
  [[nodiscard]] std::string node_dir() const { return root_ + "/sys/devices/system/node"; }
  [[nodiscard]] std::string weights_dir() const { return root_ + "/sys/kernel/mm/mempolicy/weighted_interleave"; }
  [[nodiscard]] std::string weight_path(std::size_t node) const { return weights_dir() + "/node" + std::to_string(node); }

  // The four node lists, each written as the kernel prints them (%*pbl and a newline).
  FakeSysfs& nodes(std::string_view possible, std::string_view online, std::string_view memory, std::string_view cpus) {
    node_file("possible", std::string(possible) + "\n");
    node_file("online", std::string(online) + "\n");
    node_file("has_memory", std::string(memory) + "\n");
    node_file("has_cpu", std::string(cpus) + "\n");
    return *this;
  }
  // Exact content, no newline added (for malformed-file cases).
  FakeSysfs& node_file(std::string_view name, std::string_view content) {
    write(node_dir() + "/" + std::string(name), content);
    return *this;
  }
  FakeSysfs& remove_node_file(std::string_view name) {
    std::filesystem::remove(node_dir() + "/" + std::string(name));
    return *this;
  }
  FakeSysfs& weight(std::size_t node, unsigned value) { return weight_raw(node, std::to_string(value) + "\n"); }
  FakeSysfs& weight_raw(std::size_t node, std::string_view content) {
    write(weight_path(node), content);
    return *this;
  }
  FakeSysfs& weights_file(std::string_view name, std::string_view content) {
    write(weights_dir() + "/" + std::string(name), content);
    return *this;
  }
  FakeSysfs& remove_weights_dir() {
    std::filesystem::remove_all(weights_dir());
    return *this;
  }

  // Named layouts.
  // Sparse ids as on some multi-socket and CXL machines: 0, 2 and 8 exist, the rest is possible only.
  static void sparse(FakeSysfs& fs) { fs.nodes("0-8", "0,2,8", "0,2,8", "0,2,8").weight(0, 1).weight(2, 3).weight(8, 7); }
  // Node 1 has CPUs but no memory (N_MEMORY excludes it; the kernel makes no weight file for it).
  static void memoryless(FakeSysfs& fs) { fs.nodes("0-1", "0-1", "0", "0-1").weight(0, 1); }
  // Node 1 has memory but no CPUs, like a CXL expander.
  static void cpuless(FakeSysfs& fs) { fs.nodes("0-1", "0-1", "0-1", "0").weight(0, 2).weight(1, 1); }
  // MAX_NUMNODES = 1024 (NODES_SHIFT 10): node 1023 is the last id any kernel can have.
  static void boundary(FakeSysfs& fs) { fs.nodes("0-1023", "0,1023", "0,1023", "0").weight(0, 1).weight(1023, 255); }

 private:
  static void write(const std::string& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
  }

  std::string root_;
};

}  // namespace taskmpol_test
