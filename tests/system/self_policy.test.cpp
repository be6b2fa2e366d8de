// SPDX-License-Identifier: MIT
// The self-only API against the running kernel, cross-checked with libnuma (numa.h / numaif.h),
// which reads the same state through its own code. Every case restores MPOL_DEFAULT on exit
// (PolicyRestorer), even when an assertion ends it early.
#include <taskmpol/self.hpp>
#include <taskmpol/syscalls.hpp>

#include <doctest/doctest.h>

#include "../support/skip.hpp"

#include <ostream>  // doctest prints std::error_code with operator<<, declared there

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <numa.h>
#include <numaif.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../support/child.hpp"
#include "../support/grammar_printers.hpp"  // the shared doctest printers (one definition per program)

namespace mp = taskmpol;
using mp::Mode;
using mp::ModeFlag;
using mp::ModeFlags;
using mp::NodeMask;
using mp::Policy;

// Added in libnuma 2.0.19; Debian 12 ships 2.0.16. A weak declaration lets the test use it where it
// exists and say so where it does not.
extern "C" struct bitmask* numa_get_weighted_interleave_mask(void) __attribute__((weak));

namespace {

// Restores the default policy of the calling thread when the case ends, however it ends.
struct PolicyRestorer {
  PolicyRestorer() = default;
  PolicyRestorer(const PolicyRestorer&) = delete;
  PolicyRestorer& operator=(const PolicyRestorer&) = delete;
  ~PolicyRestorer() { (void)mp::set_self_policy(Policy{}); }
};

NodeMask from_libnuma(const bitmask* bm) {
  NodeMask m;
  if (bm == nullptr) return m;
  for (unsigned long i = 0; i < bm->size && i < NodeMask::capacity; ++i)
    if (numa_bitmask_isbitset(bm, static_cast<unsigned>(i)) != 0) REQUIRE(m.set(i));
  return m;
}

// Owns a bitmask returned by libnuma.
struct LibnumaMask {
  bitmask* bm;
  explicit LibnumaMask(bitmask* b) : bm(b) {}
  LibnumaMask(const LibnumaMask&) = delete;
  LibnumaMask& operator=(const LibnumaMask&) = delete;
  ~LibnumaMask() {
    if (bm != nullptr) numa_bitmask_free(bm);
  }
  [[nodiscard]] NodeMask nodes() const { return from_libnuma(bm); }
};

bool libnuma_ready() {
  static const bool ready = numa_available() >= 0;
  return ready;
}

// libnuma's raw get_mempolicy (numaif.h), an independent path to the kernel's answer.
struct RawView {
  int mode_and_flags = -1;
  NodeMask nodes;
};
RawView raw_view() {
  RawView v;
  std::array<unsigned long, NodeMask::word_count> words{};
  REQUIRE(get_mempolicy(&v.mode_and_flags, words.data(), NodeMask::kernel_maxnode, nullptr, 0) == 0);
  v.nodes = NodeMask::from_kernel(words, NodeMask::kernel_maxnode);
  return v;
}

Policy make(Mode mode, ModeFlags flags, NodeMask nodes) {
  auto p = Policy::make(mode, flags, nodes);
  REQUIRE(p);
  return p.value();
}

NodeMask memory_nodes() {
  REQUIRE(libnuma_ready());
  const LibnumaMask allowed(numa_get_mems_allowed());
  return allowed.nodes() & from_libnuma(numa_all_nodes_ptr);
}

// Node 0 on the development host; the first allowed node with memory anywhere else.
std::size_t home() { return memory_nodes().first(); }

// Sets p, reads it back with our API and with libnuma, restores the default (by the caller's guard).
void round_trip(const Policy& p) {
  INFO("policy " << doctest::toString(p));
  const auto set = mp::set_self_policy(p);
  REQUIRE_MESSAGE(set, set.error().message());
  const auto got = mp::get_self_policy();
  REQUIRE(got);
  CHECK(got.value() == p);

  const RawView raw = raw_view();
  CHECK(raw.mode_and_flags == p.to_raw().mode_and_flags);
  CHECK(raw.nodes == p.nodes());

  // libnuma's typed getters compare the raw mode against the plain mode without masking the
  // flags, so they only describe unflagged policies (userland-anchors §2.3).
  if (!p.flags().empty()) return;
  switch (p.mode()) {
    case Mode::bind: {
      const LibnumaMask bound(numa_get_membind());
      CHECK(bound.nodes() == p.nodes());
      break;
    }
    case Mode::interleave: {
      const LibnumaMask il(numa_get_interleave_mask());
      CHECK(il.nodes() == p.nodes());
      break;
    }
    case Mode::weighted_interleave:
      if (numa_get_weighted_interleave_mask == nullptr) {
        MESSAGE("libnuma " << "lacks numa_get_weighted_interleave_mask (added in 2.0.19); compared with get_mempolicy only");
      } else {
        const LibnumaMask wil(numa_get_weighted_interleave_mask());
        CHECK(wil.nodes() == p.nodes());
      }
      break;
    case Mode::preferred:
      CHECK(static_cast<std::size_t>(numa_preferred()) == p.nodes().first());
      break;
    default: {
      // Not bind: libnuma reports all allowed nodes as the membind; not interleave: empty.
      const LibnumaMask il(numa_get_interleave_mask());
      CHECK(il.nodes().empty());
      break;
    }
  }
}

}  // namespace

TEST_SUITE("self policy") {
  TEST_CASE("self policy: default round trip") {
    const PolicyRestorer restore;
    REQUIRE(libnuma_ready());
    round_trip(Policy{});
    CHECK(mp::get_self_policy().value().mode() == Mode::default_policy);
  }

  TEST_CASE("self policy: local round trip") {
    const PolicyRestorer restore;
    REQUIRE(libnuma_ready());
    round_trip(make(Mode::local, {}, {}));
  }

  TEST_CASE("self policy: bind round trips with every flag") {
    const PolicyRestorer restore;
    REQUIRE(libnuma_ready());
    const NodeMask n = NodeMask::make({home()}).value();
    round_trip(make(Mode::bind, {}, n));
    round_trip(make(Mode::bind, ModeFlag::static_nodes, n));
    round_trip(make(Mode::bind, ModeFlag::relative_nodes, n));
    round_trip(make(Mode::bind, ModeFlag::numa_balancing, n));
  }

  TEST_CASE("self policy: interleave round trips") {
    const PolicyRestorer restore;
    REQUIRE(libnuma_ready());
    const NodeMask n = memory_nodes();
    round_trip(make(Mode::interleave, {}, n));
    round_trip(make(Mode::interleave, ModeFlag::static_nodes, n));
    round_trip(make(Mode::interleave, ModeFlag::relative_nodes, NodeMask::of<0>()));
  }

  TEST_CASE("self policy: weighted interleave round trips") {
    const PolicyRestorer restore;
    REQUIRE(libnuma_ready());
    const NodeMask n = memory_nodes();
    round_trip(make(Mode::weighted_interleave, {}, n));
    round_trip(make(Mode::weighted_interleave, ModeFlag::static_nodes, n));
    round_trip(make(Mode::weighted_interleave, ModeFlag::relative_nodes, NodeMask::of<0>()));
  }

  TEST_CASE("self policy: preferred round trips") {
    const PolicyRestorer restore;
    REQUIRE(libnuma_ready());
    const NodeMask n = NodeMask::make({home()}).value();
    round_trip(make(Mode::preferred, {}, n));
    round_trip(make(Mode::preferred, ModeFlag::static_nodes, n));
    round_trip(make(Mode::preferred, ModeFlag::relative_nodes, NodeMask::of<0>()));
  }

  TEST_CASE("self policy: preferred many round trips") {
    const PolicyRestorer restore;
    REQUIRE(libnuma_ready());
    const NodeMask n = memory_nodes();
    round_trip(make(Mode::preferred_many, {}, n));
    round_trip(make(Mode::preferred_many, ModeFlag::static_nodes, n));
    round_trip(make(Mode::preferred_many, ModeFlag::relative_nodes, NodeMask::of<0>()));
    // MPOL_F_NUMA_BALANCING with prefer (many) is newer than the mode itself; older kernels refuse
    // it with EINVAL, so say so instead of failing.
    const Policy balancing = make(Mode::preferred_many, ModeFlag::numa_balancing, n);
    const auto probe = mp::set_self_policy(balancing);
    if (!probe && probe.error() == std::errc::invalid_argument) {
      MESSAGE("skipped: this kernel refuses balancing with prefer (many): " << probe.error().message());
    } else {
      round_trip(balancing);
    }
  }

  TEST_CASE("self policy: node 1023 reaches the kernel") {
    // prefer with an empty mask silently becomes local, so it shows whether the kernel saw the
    // last bit: had our maxnode dropped bit 1023, this would succeed as "local". It must fail
    // instead, because node 1023 has no memory.
    const PolicyRestorer restore;
    const auto r = mp::set_self_policy(make(Mode::preferred, {}, NodeMask::of<1023>()));
    REQUIRE_FALSE(r);
    CHECK(r.error() == mp::errc::nodes_not_allowed);
    CHECK(mp::get_self_policy().value() == Policy{});
  }

  TEST_CASE("self policy: mems allowed matches libnuma and proc status") {
    REQUIRE(libnuma_ready());
    const auto ours = mp::self_mems_allowed();
    REQUIRE(ours);
    const LibnumaMask theirs(numa_get_mems_allowed());
    CHECK(ours.value() == theirs.nodes());
    CHECK(ours.value().test(home()));
  }

  TEST_CASE("self policy: nodes outside mems allowed name the cause") {
    const PolicyRestorer restore;
    const auto allowed = mp::self_mems_allowed();
    REQUIRE(allowed);
    // Node 1023 is outside every real cpuset (no machine has 1024 populated nodes).
    REQUIRE_FALSE(allowed.value().test(1023));
    const auto r = mp::set_self_policy(make(Mode::bind, {}, NodeMask::of<1023>()));
    REQUIRE_FALSE(r);
    CHECK(r.error() == mp::errc::nodes_not_allowed);
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(r.error().message().find("Mems_allowed_list") != std::string::npos);
    // The failed call left the policy alone.
    CHECK(mp::get_self_policy().value() == Policy{});
  }

  TEST_CASE("self policy: interleave next node") {
    const PolicyRestorer restore;
    const auto none = mp::interleave_next_node();
    REQUIRE_FALSE(none);
    CHECK(none.error() == mp::errc::not_interleaved);

    const NodeMask n = memory_nodes();
    REQUIRE(mp::set_self_policy(make(Mode::interleave, {}, n)));
    const auto next = mp::interleave_next_node();
    REQUIRE(next);
    CHECK(n.test(next.value()));

    REQUIRE(mp::set_self_policy(make(Mode::weighted_interleave, {}, n)));
    const auto wnext = mp::interleave_next_node();
    REQUIRE(wnext);
    CHECK(n.test(wnext.value()));
  }
}

namespace {

// An anonymous private mapping of `pages` pages, unmapped on scope exit.
struct Mapping {
  std::size_t len;
  void* addr;
  explicit Mapping(std::size_t pages)
      : len(pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))),
        addr(::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (addr != MAP_FAILED) ::munmap(addr, len);
  }
  [[nodiscard]] char* bytes() const { return static_cast<char*>(addr); }
};

}  // namespace

TEST_SUITE("self memory") {
  TEST_CASE("self memory: mbind then node of each touched page") {
    const Mapping m(4);
    REQUIRE(m.addr != MAP_FAILED);
    const Policy bind = make(Mode::bind, {}, NodeMask::make({home()}).value());
    const auto r = mp::mbind_self(m.addr, m.len, bind, mp::MbindFlag::strict | mp::MbindFlag::move);
    REQUIRE_MESSAGE(r, r.error().message());

    const auto vma = mp::get_self_policy_at(m.addr);
    REQUIRE(vma);
    CHECK(vma.value() == bind);
    // The thread policy is untouched by mbind.
    CHECK(mp::get_self_policy().value() == Policy{});

    std::memset(m.addr, 0x5a, m.len);  // fault every page in under the VMA policy
    const std::size_t page = m.len / 4;
    for (std::size_t off = 0; off < m.len; off += page) {
      const auto node = mp::node_of_address(m.bytes() + off);
      REQUIRE(node);
      CHECK(node.value() == home());
    }
    // libnuma's raw call agrees for the first page.
    int node = -1;
    REQUIRE(get_mempolicy(&node, nullptr, 0, m.addr, MPOL_F_NODE | MPOL_F_ADDR) == 0);
    CHECK(static_cast<std::size_t>(node) == home());
  }

  TEST_CASE("self memory: mbind errors name their cause") {
    const Mapping m(1);
    REQUIRE(m.addr != MAP_FAILED);
    const auto unaligned = mp::mbind_self(m.bytes() + 1, 16, make(Mode::bind, {}, NodeMask::make({home()}).value()));
    REQUIRE_FALSE(unaligned);
    CHECK(unaligned.error() == std::errc::invalid_argument);

    const auto outside = mp::mbind_self(m.addr, m.len, make(Mode::bind, {}, NodeMask::of<1023>()));
    REQUIRE_FALSE(outside);
    CHECK(outside.error() == mp::errc::nodes_not_allowed);
  }

  TEST_CASE("self memory: node of an unmapped address is EFAULT") {
    void* hole = nullptr;
    {
      const Mapping m(1);
      REQUIRE(m.addr != MAP_FAILED);
      hole = m.addr;
    }  // unmapped here
    const auto r = mp::node_of_address(hole);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::bad_address);
  }

  TEST_CASE("self memory: home node after mbind bind") {
    const Mapping m(4);
    REQUIRE(m.addr != MAP_FAILED);
    const Policy bind = make(Mode::bind, {}, NodeMask::make({home()}).value());
    REQUIRE(mp::mbind_self(m.addr, m.len, bind));
    const auto r = mp::set_self_home_node(m.addr, m.len, home());
    if (!r && r.error() == std::errc::function_not_supported)
      TASKMPOL_SKIP("this kernel predates set_mempolicy_home_node (Linux 5.17)");
    REQUIRE_MESSAGE(r, r.error().message());
    std::memset(m.addr, 1, m.len);
    CHECK(mp::node_of_address(m.addr).value() == home());
    CHECK(mp::get_self_policy_at(m.addr).value() == bind);
  }

  TEST_CASE("self memory: home node errors name their cause") {
    const Mapping m(2);
    REQUIRE(m.addr != MAP_FAILED);
    REQUIRE(mp::mbind_self(m.addr, m.len, make(Mode::interleave, {}, memory_nodes())));
    const auto wrong_policy = mp::set_self_home_node(m.addr, m.len, home());
    REQUIRE_FALSE(wrong_policy);
    CHECK(wrong_policy.error() == mp::errc::home_node_needs_bind);
    CHECK(wrong_policy.error() == std::errc::operation_not_supported);

    const auto too_big = mp::set_self_home_node(m.addr, m.len, NodeMask::capacity);
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error() == mp::errc::node_out_of_range);

    // Node 1023 is possible (NODES_SHIFT 10) but offline on any real host.
    REQUIRE(mp::mbind_self(m.addr, m.len, make(Mode::bind, {}, NodeMask::make({home()}).value())));
    const auto offline = mp::set_self_home_node(m.addr, m.len, 1023);
    REQUIRE_FALSE(offline);
    CHECK(offline.error() == std::errc::invalid_argument);
  }
}

TEST_SUITE("maxnode") {
  TEST_CASE("maxnode: the kernel reads maxnode minus one bits") {
    // Raw libnuma syscalls, no taskmpol code: node 0 needs maxnode 2, not 1 (userland-anchors §1.6).
    const PolicyRestorer restore;
    unsigned long word = 1UL;  // node 0
    errno = 0;
    CHECK(set_mempolicy(MPOL_BIND, &word, 1) == -1);
    CHECK(errno == EINVAL);
    CHECK(set_mempolicy(MPOL_BIND, &word, 2) == 0);

    // At the top, with prefer (an empty mask means local): maxnode 1024 silently drops node
    // 1023 and the call "succeeds" as local; 1025 hands the kernel node 1023, which it refuses
    // (no memory there). get_mempolicy cannot show this: it reports only nr_node_ids bits.
    std::array<unsigned long, NodeMask::word_count> words{};
    words.back() = 1UL << (NodeMask::word_bits - 1);  // node 1023
    REQUIRE(set_mempolicy(MPOL_DEFAULT, nullptr, 0) == 0);
    CHECK(set_mempolicy(MPOL_PREFERRED, words.data(), 1024) == 0);
    int mode = -1;
    REQUIRE(get_mempolicy(&mode, nullptr, 0, nullptr, 0) == 0);
    CHECK(mode == MPOL_LOCAL);
    errno = 0;
    CHECK(set_mempolicy(MPOL_PREFERRED, words.data(), 1025) == -1);
    CHECK(errno == EINVAL);
  }

  TEST_CASE("maxnode: a faked success is never decoded") {
    // get_self_policy does not zero its mask buffer; it relies on the kernel writing the mode and
    // then the mask. A filter answering get_mempolicy with ERRNO(0) "succeeds" without writing
    // either: the result must be an error, not a policy decoded from stack garbage.
    if (!taskmpol_test::have_seccomp_arch) TASKMPOL_SKIP("the seccomp helper knows only x86_64 and i386");
    const int status = taskmpol_test::run_in_child([] {
      const std::array<taskmpol_test::SeccompRule, 1> rules{{{SYS_get_mempolicy, taskmpol_test::seccomp_errno(0)}}};
      if (!taskmpol_test::install_seccomp(rules)) return 100;
      const auto got = mp::get_self_policy();
      if (got) return 1;
      if (got.error() != std::errc::io_error) return 2;
      return 0;
    });
    INFO("child wait status " << status);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  TEST_CASE("maxnode: our wrappers pass kernel_maxnode") {
    // A seccomp filter in a child lets set_mempolicy and get_mempolicy through only when their
    // maxnode argument (index 2) is NodeMask::kernel_maxnode; anything else gets errno 4001/4002.
    if (!taskmpol_test::have_seccomp_arch) TASKMPOL_SKIP("the seccomp helper knows only x86_64 and i386");
    static_assert(NodeMask::kernel_maxnode == NodeMask::capacity + 1);
    const int status = taskmpol_test::run_in_child([] {
      const std::array<taskmpol_test::SeccompRule, 2> rules{{
          {SYS_set_mempolicy, taskmpol_test::seccomp_errno(4001), 2, NodeMask::kernel_maxnode},
          {SYS_get_mempolicy, taskmpol_test::seccomp_errno(4002), 2, NodeMask::kernel_maxnode},
      }};
      if (!taskmpol_test::install_seccomp(rules)) return 100;
      if (!mp::set_self_policy(make(Mode::bind, {}, NodeMask::make({home()}).value()))) return 1;
      const auto got = mp::get_self_policy();
      if (!got || got.value().mode() != Mode::bind) return 2;
      if (!mp::self_mems_allowed()) return 3;
      // The control: the filter does catch another maxnode.
      const auto other = mp::sys::set_mempolicy(0, nullptr, 2);
      if (other || other.error().value() != 4001) return 4;
      return 0;
    });
    INFO("child wait status " << status);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}
