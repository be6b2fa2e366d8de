// SPDX-License-Identifier: GPL-2.0
/*
 * vm-smoke: asserts, inside the taskmpol VM, that the guest has the NUMA
 * topology and the kernel features the taskmpol tests rely on. It checks the
 * VM tooling, not the series: it runs on the stock kernel as well.
 *
 *   vm-smoke [--online LIST] [--has-memory LIST] [--has-cpu LIST]
 *            [--cpu-node CPU:NODE]... [--fail]
 *
 * Defaults are the default topology of kernel/vm (guest node numbers): node0
 * CPU0+memory, node1 CPU1+memory, node2 CPU2 only (memory-less), node3 memory
 * only (CXL-like); with the default topology it also checks placement:
 * binding to and migrating onto the memory-only node, tmpfs interleave over
 * the memory nodes, cpuset.mems, and the SLIT-nearest fallback of node2.
 * --fail adds a check that always fails; kernel/tests/vm-selfcheck uses it
 * to prove that a failing test fails the whole VM run.
 *
 * Output is TAP (like kselftest); exit 0 when every check passed, 1 otherwise.
 * Built with `gcc -static`; raw syscalls so that it needs no libnuma.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXNODE 64	/* bits passed to the mempolicy syscalls */

static int checks, failures;

static void result(int ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("%s %d - ", ok ? "ok" : "not ok", checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Reads a small sysfs/proc file into buf without the trailing newline. */
static int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

static int write_text(const char *path, const char *text)
{
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Parses a kernel list ("0-1,3", "" = empty) into a bit mask; -1 on error. */
static int64_t parse_list(const char *s)
{
	int64_t mask = 0;

	while (*s) {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;

		if (end == s || lo < 0 || lo > 62)
			return -1;
		s = end;
		if (*s == '-') {
			hi = strtol(s + 1, &end, 10);
			if (end == s + 1 || hi < lo || hi > 62)
				return -1;
			s = end;
		}
		for (long i = lo; i <= hi; i++)
			mask |= (int64_t)1 << i;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return mask;
}

static void check_list_file(const char *path, const char *want)
{
	char got[256];
	int err = read_text(path, got, sizeof(got));

	if (err) {
		result(0, "%s readable (%s)", path, strerror(-err));
		return;
	}
	result(parse_list(got) == parse_list(want) && parse_list(want) >= 0,
	       "%s is '%s' (got '%s')", path, want, got);
}

static long node_memtotal_kb(int node)
{
	char path[96], buf[4096], *p;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	if (read_text(path, buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "MemTotal:");
	return p ? strtol(p + strlen("MemTotal:"), NULL, 10) : -1;
}

/*
 * Present pages of a node's Normal zone from /proc/zoneinfo, -1 if the node
 * has no such zone. MPOL_BIND only constrains zones >= policy_zone, so the
 * default topology gives every memory node a Normal zone, as real machines do.
 */
static long node_normal_present(int node)
{
	static char buf[65536];
	char header[64], *p;
	int fd = open("/proc/zoneinfo", O_RDONLY | O_CLOEXEC);
	ssize_t n, len = 0;

	if (fd < 0)
		return -1;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	snprintf(header, sizeof(header), "Node %d, zone   Normal", node);
	p = strstr(buf, header);
	if (!p || !(p = strstr(p, "present")))
		return -1;
	return strtol(p + strlen("present"), NULL, 10);
}

static long sys_set_mempolicy(int mode, const unsigned long *mask)
{
	return syscall(SYS_set_mempolicy, mode, mask, mask ? MAXNODE : 0);
}

/* Node of the page at addr (faulted in first), or -1. */
static int page_node(void *addr)
{
	int node = -1;

	if (syscall(SYS_get_mempolicy, &node, NULL, 0, addr,
		    MPOL_F_NODE | MPOL_F_ADDR))
		return -1;
	return node;
}

static void *map_pages(size_t n)
{
	void *p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The default topology's memory-only (CXL-like) node. */
#define MEM_ONLY_NODE 3

static void check_bind_memory_only_node(void)
{
	unsigned long mask = 1UL << MEM_ONLY_NODE;
	char *p;
	int node;

	if (sys_set_mempolicy(MPOL_BIND, &mask)) {
		result(0, "set_mempolicy(MPOL_BIND, {%d}) (%s)", MEM_ONLY_NODE, strerror(errno));
		return;
	}
	p = map_pages(1);
	if (p)
		p[0] = 1;
	node = p ? page_node(p) : -1;
	sys_set_mempolicy(MPOL_DEFAULT, NULL);
	result(node == MEM_ONLY_NODE, "MPOL_BIND to memory-only node %d allocates there (got node %d)",
	       MEM_ONLY_NODE, node);
	if (p)
		munmap(p, 4096);
}

static void check_move_and_migrate(void)
{
	unsigned long mask = 1UL << 0, from = 1UL << 1, to = 1UL << MEM_ONLY_NODE;
	int target = 1, status = -1, node;
	void *pages[1];
	char *p;
	long left;

	if (sys_set_mempolicy(MPOL_BIND, &mask)) {
		result(0, "set_mempolicy(MPOL_BIND, {0}) (%s)", strerror(errno));
		return;
	}
	p = map_pages(1);
	if (!p) {
		sys_set_mempolicy(MPOL_DEFAULT, NULL);
		result(0, "mmap for move_pages");
		return;
	}
	p[0] = 1;
	sys_set_mempolicy(MPOL_DEFAULT, NULL);
	pages[0] = p;
	if (syscall(SYS_move_pages, 0, 1UL, pages, &target, &status, MPOL_MF_MOVE))
		result(0, "move_pages node0 -> node1 (%s)", strerror(errno));
	else
		result(status == 1 && page_node(p) == 1,
		       "move_pages node0 -> node1 (status %d, now on node %d)",
		       status, page_node(p));

	left = syscall(SYS_migrate_pages, 0, MAXNODE, &from, &to);
	node = page_node(p);
	result(left == 0 && node == MEM_ONLY_NODE,
	       "migrate_pages {1} -> {%d} (returned %ld, page on node %d)", MEM_ONLY_NODE, left, node);
	munmap(p, 4096);
}

/*
 * The libtaskmpol tests put tmpfs mounts with mpol= under test; shmem
 * interleaves by page offset, so 12 pages must hit all three memory nodes.
 * The comma in the node list also exercises shmem's re-joining of mount
 * options that the comma split.
 */
static void check_tmpfs_interleave(void)
{
	const char *dir = "/tmp/vm-smoke-tmpfs";
	char mounts[8192], path[128];
	void *pages[12];
	int status[12], seen = 0, bad = 0, fd;
	char *p;

	mkdir(dir, 0700);
	if (mount("tmpfs", dir, "tmpfs", 0, "mpol=interleave:0-1,3,size=16m")) {
		result(0, "mount tmpfs -o mpol=interleave:0-1,3 (%s)", strerror(errno));
		return;
	}
	read_text("/proc/self/mounts", mounts, sizeof(mounts));
	result(strstr(mounts, "mpol=interleave:0-1,3") != NULL,
	       "/proc/self/mounts shows mpol=interleave:0-1,3");

	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 12 * 4096)) {
		result(0, "create a 12-page tmpfs file (%s)", strerror(errno));
		goto out;
	}
	p = mmap(NULL, 12 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		result(0, "mmap the tmpfs file (%s)", strerror(errno));
		goto out;
	}
	for (int i = 0; i < 12; i++) {
		p[i * 4096] = 1;
		pages[i] = p + i * 4096;
	}
	if (syscall(SYS_move_pages, 0, 12UL, pages, NULL, status, 0)) {
		result(0, "move_pages query (%s)", strerror(errno));
	} else {
		for (int i = 0; i < 12; i++) {
			if (status[i] == 0 || status[i] == 1 || status[i] == MEM_ONLY_NODE)
				seen |= 1 << status[i];
			else
				bad++;
		}
		result(seen == 0xb && !bad,
		       "tmpfs pages interleave over nodes 0-1,3 (node mask 0x%x, %d outside)",
		       seen, bad);
	}
	munmap(p, 12 * 4096);
out:
	if (fd >= 0)
		close(fd);
	unlink(path);
	umount(dir);
	rmdir(dir);
}

static void check_cpuset_cgroup(void)
{
	const char *cg = "/sys/fs/cgroup/vm-smoke";
	char buf[512], pid[32];
	char *p = NULL;
	int node = -1;

	if (read_text("/sys/fs/cgroup/cgroup.controllers", buf, sizeof(buf))) {
		result(0, "cgroup2 mounted at /sys/fs/cgroup");
		return;
	}
	result(strstr(buf, "cpuset") != NULL, "cgroup2 offers the cpuset controller ('%s')", buf);
	read_text("/sys/fs/cgroup/cgroup.subtree_control", buf, sizeof(buf));
	result(strstr(buf, "cpuset") != NULL, "cpuset enabled in the root subtree_control ('%s')", buf);

	rmdir(cg);
	if (mkdir(cg, 0755)) {
		result(0, "mkdir %s (%s)", cg, strerror(errno));
		return;
	}
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (write_text("/sys/fs/cgroup/vm-smoke/cpuset.mems", "3") ||
	    write_text("/sys/fs/cgroup/vm-smoke/cgroup.procs", pid)) {
		result(0, "child cpuset with cpuset.mems=3 (%s)", strerror(errno));
	} else {
		p = map_pages(1);
		if (p)
			p[0] = 1;
		node = p ? page_node(p) : -1;
		result(node == MEM_ONLY_NODE, "cpuset.mems=3 confines allocations to node 3 (got node %d)",
		       node);
		if (p)
			munmap(p, 4096);
	}
	write_text("/sys/fs/cgroup/cgroup.procs", pid);
	rmdir(cg);
}

/*
 * A CPU of the memory-less node must get memory from a node that has some;
 * want_fallback >= 0 names the node the SLIT makes nearest.
 */
static void check_cpu_node(int cpu, int want_node, int64_t memory_nodes, int want_fallback)
{
	cpu_set_t set, old;
	unsigned int got_cpu = ~0u, got_node = ~0u;
	char *p;
	int node;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_getaffinity(0, sizeof(old), &old);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		result(0, "pin to CPU %d (%s)", cpu, strerror(errno));
		return;
	}
	syscall(SYS_getcpu, &got_cpu, &got_node, NULL);
	result(got_cpu == (unsigned int)cpu && got_node == (unsigned int)want_node,
	       "CPU %d belongs to node %d (getcpu: cpu %u node %u)",
	       cpu, want_node, got_cpu, got_node);
	p = map_pages(1);
	if (p)
		p[0] = 1;
	node = p ? page_node(p) : -1;
	if (!(memory_nodes & ((int64_t)1 << want_node))) {
		if (want_fallback >= 0)
			result(node == want_fallback,
			       "local allocation on memory-less node %d falls back to the nearest node %d (got %d)",
			       want_node, want_fallback, node);
		else
			result(node >= 0 && (memory_nodes & ((int64_t)1 << node)),
			       "local allocation on memory-less node %d falls back to a memory node (got %d)",
			       want_node, node);
	}
	if (p)
		munmap(p, 4096);
	sched_setaffinity(0, sizeof(old), &old);
}

int main(int argc, char **argv)
{
	const char *online = "0-3", *has_memory = "0-1,3", *has_cpu = "0-2";
	int cpu_nodes[8][2] = { { 0, 0 }, { 1, 1 }, { 2, 2 } };
	int n_cpu_nodes = 3, custom_cpu_nodes = 0, force_fail = 0, default_topology;
	int64_t memory_nodes;
	long pidfd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--online") && i + 1 < argc) {
			online = argv[++i];
		} else if (!strcmp(argv[i], "--has-memory") && i + 1 < argc) {
			has_memory = argv[++i];
		} else if (!strcmp(argv[i], "--has-cpu") && i + 1 < argc) {
			has_cpu = argv[++i];
		} else if (!strcmp(argv[i], "--cpu-node") && i + 1 < argc) {
			if (!custom_cpu_nodes)
				n_cpu_nodes = 0;
			custom_cpu_nodes = 1;
			if (n_cpu_nodes == 8 ||
			    sscanf(argv[++i], "%d:%d", &cpu_nodes[n_cpu_nodes][0],
				   &cpu_nodes[n_cpu_nodes][1]) != 2) {
				fprintf(stderr, "vm-smoke: bad --cpu-node\n");
				return 2;
			}
			n_cpu_nodes++;
		} else if (!strcmp(argv[i], "--fail")) {
			force_fail = 1;
		} else {
			fprintf(stderr, "usage: %s [--online LIST] [--has-memory LIST] "
				"[--has-cpu LIST] [--cpu-node CPU:NODE]... [--fail]\n", argv[0]);
			return 2;
		}
	}
	memory_nodes = parse_list(has_memory);
	/* The placement checks know the default topology's node numbers. */
	default_topology = !custom_cpu_nodes && memory_nodes == 0xb &&
			   parse_list(online) == 0xf && parse_list(has_cpu) == 0x7;

	printf("TAP version 13\n");
	check_list_file("/sys/devices/system/node/online", online);
	check_list_file("/sys/devices/system/node/has_memory", has_memory);
	check_list_file("/sys/devices/system/node/has_cpu", has_cpu);
	for (int node = 0; node < 63; node++) {
		long kb;

		if (!(parse_list(online) & ((int64_t)1 << node)))
			continue;
		kb = node_memtotal_kb(node);
		if (memory_nodes & ((int64_t)1 << node)) {
			result(kb > 0, "node%d has memory (MemTotal %ld kB)", node, kb);
			if (default_topology)
				result(node_normal_present(node) > 0,
				       "node%d has a Normal zone (%ld pages present)",
				       node, node_normal_present(node));
		} else
			result(kb == 0, "node%d is memory-less (MemTotal %ld kB)", node, kb);
	}
	for (int i = 0; i < n_cpu_nodes; i++)
		check_cpu_node(cpu_nodes[i][0], cpu_nodes[i][1], memory_nodes,
			       default_topology ? 1 : -1);

	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	result(pidfd >= 0, "pidfd_open(self) (%s)", pidfd >= 0 ? "ok" : strerror(errno));
	if (pidfd >= 0)
		close((int)pidfd);

	if (default_topology) {
		check_bind_memory_only_node();
		check_move_and_migrate();
		check_tmpfs_interleave();
		check_cpuset_cgroup();
	} else {
		diag("custom topology: skipping the placement checks");
	}
	if (force_fail)
		result(0, "--fail: deliberately failing check");

	printf("1..%d\n", checks);
	diag("%d checks, %d failed", checks, failures);
	return failures ? 1 : 0;
}
