// SPDX-License-Identifier: MIT
// Asks the running kernel's mpol_parse_str() (through tmpfs' "mpol" mount option) whether it
// accepts a policy text and how mpol_to_str() renders it. Test-only helper.
//
// Why the new mount API: the classic mount(2) data string is split by tmpfs at every comma not
// followed by a digit, and by the LSM option parser before that, so "mpol=bind:0,all" would not
// reach mpol_parse_str() whole. fsconfig(FSCONFIG_SET_STRING, "mpol", text) passes the value as
// one string (up to 255 bytes: strndup_user(value, 256); longer values fail with EINVAL before any
// parsing). A NUL cannot be passed at all.
//
// Why a private mount namespace: every probe mounts a tmpfs on a temporary directory; unshare()
// plus MS_PRIVATE keeps those mounts invisible to the rest of the system, and they vanish with the
// process even if it dies halfway.
#pragma once

#include <taskmpol/node_mask.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace taskmpol_test {

// uapi values from <linux/mount.h> (stable ABI). Spelled out because <linux/mount.h> and glibc's
// <sys/mount.h> cannot both be included with the glibc of Debian 12.
inline constexpr unsigned fsopen_cloexec = 0x1;           // FSOPEN_CLOEXEC
inline constexpr unsigned fsconfig_set_string = 1;        // FSCONFIG_SET_STRING
inline constexpr unsigned fsconfig_cmd_create = 6;        // FSCONFIG_CMD_CREATE
inline constexpr unsigned fsmount_cloexec = 0x1;          // FSMOUNT_CLOEXEC
inline constexpr unsigned move_mount_f_empty_path = 0x4;  // MOVE_MOUNT_F_EMPTY_PATH

// Syscall numbers: the new mount API has the same numbers on every architecture but alpha.
#ifdef SYS_fsopen
inline constexpr long nr_fsopen = SYS_fsopen;
inline constexpr long nr_fsconfig = SYS_fsconfig;
inline constexpr long nr_fsmount = SYS_fsmount;
inline constexpr long nr_move_mount = SYS_move_mount;
#else
inline constexpr long nr_fsopen = 430;
inline constexpr long nr_fsconfig = 431;
inline constexpr long nr_fsmount = 432;
inline constexpr long nr_move_mount = 429;
#endif

// The largest value fsconfig() passes on (strndup_user(_value, 256) keeps 255 bytes + NUL).
inline constexpr std::size_t fsconfig_max_value = 255;
// shmem_show_mpol() renders into char buffer[64]: at most 63 characters reach mountinfo.
inline constexpr std::size_t shmem_mpol_buffer = 64;

struct KernelVerdict {
  bool accepted = false;
  int error = 0;        // errno of the failing fsconfig(), when rejected
  std::string shown;    // the "mpol=" value in mountinfo ("" when none is shown: default)
};

// Nodes with memory as the kernel sees them (N_MEMORY). A kernel without NUMA has no such file:
// then node 0 is the only node and it has memory.
inline taskmpol::NodeMask read_nodes_with_memory(const char* path = "/sys/devices/system/node/has_memory") {
  std::ifstream in(path);
  if (!in) return taskmpol::NodeMask::of<0>();
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The file is "%*pbl\n": exactly the grammar NodeMask::parse reads, newline included.
  auto parsed = taskmpol::NodeMask::parse(text);
  return parsed ? parsed.value() : taskmpol::NodeMask::of<0>();
}

inline std::string kernel_release() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return u.release;
}

// mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo in some fields (and kernels differ in
// whether super options are escaped): undo any such escape.
inline std::string unescape_octal(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const char a = text[i + 1], b = text[i + 2], c = text[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out.push_back(static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

class TmpfsMpolProbe {
 public:
  // Sets up the private namespace and the mount point. On failure `why()` says what failed and
  // `setup_errno()` holds the errno.
  TmpfsMpolProbe() { ready_ = setup(); }
  ~TmpfsMpolProbe() {
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  TmpfsMpolProbe(const TmpfsMpolProbe&) = delete;
  TmpfsMpolProbe& operator=(const TmpfsMpolProbe&) = delete;

  bool ready() const { return ready_; }
  const std::string& why() const { return why_; }
  int setup_errno() const { return setup_errno_; }

  // Mounts a tmpfs with mpol=<text>; on success reads back how mountinfo shows it.
  // Returns nullopt when something other than the mpol value failed (then `why()` explains).
  std::optional<KernelVerdict> probe(const std::string& text) {
    KernelVerdict verdict;
    const int fs = static_cast<int>(syscall(nr_fsopen, "tmpfs", fsopen_cloexec));
    if (fs < 0) return broken("fsopen");
    // A source name of our own makes the mountinfo line easy to recognise.
    if (syscall(nr_fsconfig, fs, fsconfig_set_string, "source", "taskmpol-probe", 0) != 0) return broken("fsconfig(source)", fs);
    if (syscall(nr_fsconfig, fs, fsconfig_set_string, "mpol", text.c_str(), 0) != 0) {
      verdict.error = errno;
      close(fs);
      return verdict;
    }
    verdict.accepted = true;
    if (syscall(nr_fsconfig, fs, fsconfig_cmd_create, nullptr, nullptr, 0) != 0) return broken("fsconfig(CMD_CREATE)", fs);
    const int mnt = static_cast<int>(syscall(nr_fsmount, fs, fsmount_cloexec, 0));
    if (mnt < 0) return broken("fsmount", fs);
    if (syscall(nr_move_mount, mnt, "", AT_FDCWD, dir_.c_str(), move_mount_f_empty_path) != 0) {
      close(mnt);
      return broken("move_mount", fs);
    }
    const std::optional<std::string> shown = read_shown_mpol();
    umount2(dir_.c_str(), MNT_DETACH);
    close(mnt);
    close(fs);
    if (!shown) return broken("reading /proc/self/mountinfo");
    verdict.shown = *shown;
    return verdict;
  }

 private:
  bool setup() {
    if (unshare(CLONE_NEWNS) != 0) return fail("unshare(CLONE_NEWNS)");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail("mount(/, MS_REC|MS_PRIVATE)");
    char dir[] = "/tmp/taskmpol-mpol-XXXXXX";
    if (mkdtemp(dir) == nullptr) return fail("mkdtemp");
    dir_ = dir;
    const int fd = static_cast<int>(syscall(nr_fsopen, "tmpfs", fsopen_cloexec));
    if (fd < 0) return fail("fsopen(\"tmpfs\")");
    close(fd);
    return true;
  }
  bool fail(const char* what) {
    setup_errno_ = errno;
    why_ = std::string(what) + " failed: " + std::strerror(setup_errno_);
    return false;
  }
  std::optional<KernelVerdict> broken(const char* what, int fd = -1) {
    const int e = errno;
    if (fd >= 0) close(fd);
    why_ = std::string(what) + " failed: " + std::strerror(e);
    return std::nullopt;
  }

  // Our mount's line: "<id> <parent> <dev> / <mountpoint> <opts> ... - tmpfs taskmpol-probe <super opts>".
  // shmem_show_options() prints mpol after size/nr_inodes/mode/uid/gid/inode64/huge and before
  // noswap/quota options, none of which we set: "mpol=" runs to the end of the line.
  std::optional<std::string> read_shown_mpol() const {
    std::ifstream in("/proc/self/mountinfo");
    if (!in) return std::nullopt;
    std::string line;
    const std::string point = " " + dir_ + " ";
    while (std::getline(in, line)) {
      if (line.find(point) == std::string::npos) continue;
      const std::size_t sep = line.find(" - tmpfs taskmpol-probe ");
      if (sep == std::string::npos) continue;
      const std::string super = unescape_octal(line.substr(sep + std::strlen(" - tmpfs taskmpol-probe ")));
      std::size_t at = super.find(",mpol=");
      if (at != std::string::npos) return super.substr(at + std::strlen(",mpol="));
      if (super.rfind("mpol=", 0) == 0) return super.substr(std::strlen("mpol="));
      return std::string();
    }
    return std::nullopt;
  }

  std::string dir_;
  std::string why_;
  int setup_errno_ = 0;
  bool ready_ = false;
};

}  // namespace taskmpol_test
