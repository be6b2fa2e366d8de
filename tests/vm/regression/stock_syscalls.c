// SPDX-License-Identifier: GPL-2.0
/*
 * stock_syscalls.c - regression transcript of the stock NUMA memory-policy syscalls.
 *
 * The taskmpol series reworks the code behind set_mempolicy(2), get_mempolicy(2), mbind(2),
 * migrate_pages(2), move_pages(2) and set_mempolicy_home_node(2) so that it can act on another
 * task.  None of that may change what the stock calls do.  This program runs every call with
 * valid and invalid arguments and prints one line per case:
 *
 *	<case-name>: ret=<r> errno=<NAME> <observed state>
 *
 * The state names the calling task's policy (pol=), a VMA's policy (vma=), the nodes of pages
 * the case touched (pages= for exact per-page nodes, page-nodes= for the set of nodes used) and
 * whatever else the case is about.  Nothing in it depends on time, addresses or scheduling:
 * test mappings live at fixed addresses (interleave by VMA offset is then deterministic), the
 * task is pinned to the first CPU of node 0 so "local" means node 0, and the calling task is
 * reset to the default policy before each line is printed, so that incidental allocations never
 * land on a test node.
 *
 * Run on the stock and on the patched kernel of the same configuration, the transcripts
 * (between the BEGIN/END markers) must be byte-identical; compare.sh checks that.  The node
 * sets assume the taskmpol VM: four nodes, two with CPUs and memory (roles a and b), one with
 * memory only (m) and one with CPUs only (c); the roles come from sysfs and the topology is
 * printed first so that a mismatch is visible.  On another machine the program still runs and
 * prints a transcript, it just is not comparable.
 *
 * Build: cc -static -O2 -Wall -Wextra -Werror -pthread -o stock_syscalls stock_syscalls.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* uapi values of Linux 6.12 (the build host's headers may be older). */
#define MP_DEFAULT		0
#define MP_PREFERRED		1
#define MP_BIND			2
#define MP_INTERLEAVE		3
#define MP_LOCAL		4
#define MP_PREFERRED_MANY	5
#define MP_WEIGHTED_INTERLEAVE	6
#define MP_MAX			7
#define MP_F_STATIC		(1 << 15)
#define MP_F_RELATIVE		(1 << 14)
#define MP_F_BALANCING		(1 << 13)
#define MP_MODE_FLAGS		(MP_F_STATIC | MP_F_RELATIVE | MP_F_BALANCING)
#define MP_F_NODE		(1UL << 0)
#define MP_F_ADDR		(1UL << 1)
#define MP_F_MEMS_ALLOWED	(1UL << 2)
#define MP_MF_STRICT		(1U << 0)
#define MP_MF_MOVE		(1U << 1)
#define MP_MF_MOVE_ALL		(1U << 2)
#define MP_MF_LAZY		(1U << 3)
#define MP_MF_INTERNAL		(1U << 4)

#ifndef __NR_set_mempolicy_home_node
#define __NR_set_mempolicy_home_node 450
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TRANSCRIPT_BEGIN "=== TASKMPOL-REGRESSION-TRANSCRIPT BEGIN ==="
#define TRANSCRIPT_END "=== TASKMPOL-REGRESSION-TRANSCRIPT END ==="

/* 1024 bits: the largest MAX_NUMNODES of any x86_64 kernel. */
#define MASK_BITS	1024UL
#define MASK_WORDS	(MASK_BITS / (8 * sizeof(unsigned long)))
#define MAXN		(MASK_BITS + 1)
/* get_nodes() accepts at most PAGE_SIZE * 8 bits. */
#define BIG_BITS	32768UL
#define BIG_WORDS	(BIG_BITS / (8 * sizeof(unsigned long)))

#define REGION_BASE	0x200000000000UL	/* 32 TiB: far from anything the loader maps */
#define REGION_STRIDE	0x1000000UL		/* 16 MiB between regions */
#define NPAGES		12

static long page_size;
static int pinned_cpu = -1;
static int cases;

/*
 * Node roles, from sysfs: a and b have CPUs and memory, m has memory and no CPU (like a CXL
 * expander), c has CPUs and no memory.  Node lists in this file name roles by letter ("a,b,m");
 * digits are literal node numbers or, with MPOL_F_RELATIVE_NODES, bit positions.  The defaults
 * only matter when sysfs lacks a role; the transcript then says so.
 */
static int node_a, node_b = 1, node_m = 2, node_c = 3;
static int roles_ok;

/* ---------------------------------------------------------------- raw syscalls */

static long sys_set_mempolicy(int mode, const unsigned long *nmask, unsigned long maxnode)
{
	return syscall(__NR_set_mempolicy, mode, nmask, maxnode);
}

static long sys_get_mempolicy(int *mode, unsigned long *nmask, unsigned long maxnode,
			      unsigned long addr, unsigned long flags)
{
	return syscall(__NR_get_mempolicy, mode, nmask, maxnode, addr, flags);
}

static long sys_mbind(unsigned long start, unsigned long len, unsigned long mode,
		      const unsigned long *nmask, unsigned long maxnode, unsigned int flags)
{
	return syscall(__NR_mbind, start, len, mode, nmask, maxnode, flags);
}

static long sys_migrate_pages(pid_t pid, unsigned long maxnode, const unsigned long *from,
			      const unsigned long *to)
{
	return syscall(__NR_migrate_pages, pid, maxnode, from, to);
}

static long sys_move_pages(pid_t pid, unsigned long count, void **pages, const int *nodes,
			   int *status, int flags)
{
	return syscall(__NR_move_pages, pid, count, pages, nodes, status, flags);
}

static long sys_home_node(unsigned long start, unsigned long len, unsigned long home,
			  unsigned long flags)
{
	return syscall(__NR_set_mempolicy_home_node, start, len, home, flags);
}

/* The outcome of the one call a case is about: errno captured right after it. */
struct res {
	long ret;
	int err;
};

#define CALL(expr) ({						\
	long __r;						\
	errno = 0;						\
	__r = (expr);						\
	(struct res){ .ret = __r, .err = __r < 0 ? errno : 0 };	\
})

/* ---------------------------------------------------------------- output */

static char state[4096];
static size_t state_len;
static char line[8192];

/*
 * POSIX cksum(1) of everything printed between the markers, printed with the END marker: the
 * serial console can interleave kernel messages with our lines, and compare.sh uses the sum to
 * tell such damage from a real difference.
 */
static int summing;
static uint32_t sum_crc;
static unsigned long sum_len;
static uint32_t crc_table[256];

static void cksum_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i << 24;
		for (j = 0; j < 8; j++)
			c = c & 0x80000000U ? (c << 1) ^ 0x04C11DB7U : c << 1;
		crc_table[i] = c;
	}
}

static void cksum_add(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		sum_crc = (sum_crc << 8) ^ crc_table[((sum_crc >> 24) ^ (uint8_t)buf[i]) & 0xff];
	sum_len += len;
}

static uint32_t cksum_final(void)
{
	uint32_t crc = sum_crc;
	unsigned long n = sum_len;

	for (; n; n >>= 8)
		crc = (crc << 8) ^ crc_table[((crc >> 24) ^ (uint8_t)(n & 0xff)) & 0xff];
	return ~crc;
}

/* Where emit() writes: stdout, or in a cpuset child the pipe to the parent. */
static int out_fd = STDOUT_FILENO;

static void write_all(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(out_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void __attribute__((format(printf, 1, 2))) emit(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (summing)
		cksum_add(line, (size_t)n);
	write_all(line, (size_t)n);
}

/* Appends " <text>" to the state of the current case. */
static void __attribute__((format(printf, 1, 2))) st(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (state_len + 2 >= sizeof(state))
		return;
	state[state_len++] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(state + state_len, sizeof(state) - state_len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	state_len += (size_t)n;
	if (state_len >= sizeof(state))
		state_len = sizeof(state) - 1;
}

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	}
	snprintf(buf, sizeof(buf), "E#%d", e);
	return buf;
}

/*
 * Prints the line of one case.  The calling task goes back to the default policy first: the
 * state was gathered under the case's policy, the printing must not allocate under it.
 */
static void report(const char *name, struct res r)
{
	sys_set_mempolicy(MP_DEFAULT, NULL, 0);
	cases++;
	state[state_len] = '\0';
	emit("%s: ret=%ld errno=%s%s\n", name, r.ret, errname(r.err), state);
	state_len = 0;
}

/* ---------------------------------------------------------------- node masks */

#define NMASKS 4
static unsigned long mask_pool[NMASKS][BIG_WORDS];
static int mask_next;

static void mask_set(unsigned long *m, unsigned long bit)
{
	m[bit / (8 * sizeof(long))] |= 1UL << (bit % (8 * sizeof(long)));
}

static int mask_test(const unsigned long *m, unsigned long bit)
{
	return !!(m[bit / (8 * sizeof(long))] & (1UL << (bit % (8 * sizeof(long)))));
}

/*
 * A mask from a node list ("a,b,m", "0-1,63"; "" is empty), in one of NMASKS rotating buffers of
 * BIG_BITS bits, so that a call can take two masks and any maxnode up to BIG_BITS + 1.
 */
static unsigned long *M(const char *list)
{
	unsigned long *m = mask_pool[mask_next];
	const char *p = list;

	mask_next = (mask_next + 1) % NMASKS;
	memset(m, 0, sizeof(mask_pool[0]));
	while (*p) {
		char *end;
		unsigned long a, b;

		if (*p == 'a' || *p == 'b' || *p == 'm' || *p == 'c') {
			int node = *p == 'a' ? node_a : *p == 'b' ? node_b : *p == 'm' ? node_m : node_c;

			mask_set(m, (unsigned long)node);
			p += p[1] == ',' ? 2 : 1;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		a = strtoul(p, &end, 10);
		b = a;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		for (; a <= b && a < BIG_BITS; a++)
			mask_set(m, a);
		p = *end == ',' ? end + 1 : end;
		if (end == p && *p)
			break;
	}
	return m;
}

/* "0-2,64-1023" / "none" for bits [0, nbits) of m. */
static const char *nodelist(const unsigned long *m, unsigned long nbits, char *buf, size_t len)
{
	size_t used = 0;
	unsigned long i = 0;

	buf[0] = '\0';
	while (i < nbits) {
		unsigned long j;

		if (!mask_test(m, i)) {
			i++;
			continue;
		}
		for (j = i; j + 1 < nbits && mask_test(m, j + 1); j++)
			;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%lu", used ? "," : "", i);
		if (j > i && used < len)
			used += (size_t)snprintf(buf + used, len - used, "-%lu", j);
		i = j + 1;
	}
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

static const char *modename(int raw, char *buf, size_t len)
{
	static const char *const names[] = {
		"default", "prefer", "bind", "interleave", "local", "prefer-many",
		"weighted-interleave",
	};
	unsigned int mode = (unsigned int)raw & ~(unsigned int)MP_MODE_FLAGS;
	size_t n;

	if (mode < MP_MAX)
		n = (size_t)snprintf(buf, len, "%s", names[mode]);
	else
		n = (size_t)snprintf(buf, len, "mode#%u", mode);
	if (raw & MP_F_STATIC && n < len)
		n += (size_t)snprintf(buf + n, len - n, "|static");
	if (raw & MP_F_RELATIVE && n < len)
		n += (size_t)snprintf(buf + n, len - n, "|relative");
	if (raw & MP_F_BALANCING && n < len)
		snprintf(buf + n, len - n, "|balancing");
	return buf;
}

/* ---------------------------------------------------------------- state probes */

/* The calling task's policy: "<key>=<mode>:<nodes>". */
static void st_policy_at(const char *key, unsigned long addr, unsigned long flags)
{
	unsigned long m[MASK_WORDS];
	char a[64], b[256];
	int mode = -99;

	memset(m, 0xff, sizeof(m));
	if (sys_get_mempolicy(&mode, m, MAXN, addr, flags) < 0) {
		st("%s=ERR(%s)", key, errname(errno));
		return;
	}
	st("%s=%s:%s", key, modename(mode, a, sizeof(a)), nodelist(m, MASK_BITS, b, sizeof(b)));
}

static void st_pol(void)
{
	st_policy_at("pol", 0, 0);
}

static void st_vma(const char *key, unsigned long addr)
{
	st_policy_at(key, addr, MP_F_ADDR);
}

static const char *status_name(int s, char *buf, size_t len)
{
	if (s == -9999)
		snprintf(buf, len, "unset");
	else if (s >= 0)
		snprintf(buf, len, "%d", s);
	else
		snprintf(buf, len, "%s", errname(-s));
	return buf;
}

/* Run-length list of statuses: "1*8", "0,1,2,0", "1,1,ENOENT"; "unset" = not written. */
static void st_status_list(const char *key, const int *status, int n)
{
	char out[512], a[24];
	size_t used = 0;
	int i = 0;

	out[0] = '\0';
	while (i < n) {
		int j = i;

		while (j + 1 < n && status[j + 1] == status[i])
			j++;
		status_name(status[i], a, sizeof(a));
		if (used < sizeof(out)) {
			if (j - i >= 2)
				used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s*%d",
							 used ? "," : "", a, j - i + 1);
			else
				used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s",
							 used ? "," : "", a);
		}
		if (j - i == 1 && used < sizeof(out))
			used += (size_t)snprintf(out + used, sizeof(out) - used, ",%s", a);
		i = j + 1;
	}
	st("%s=[%s]", key, n ? out : "");
}

static int query_nodes(pid_t pid, unsigned long base, int n, int *status)
{
	void *pages[64];
	int i;

	for (i = 0; i < n; i++) {
		pages[i] = (void *)(base + (unsigned long)i * (unsigned long)page_size);
		status[i] = -9999;
	}
	return (int)sys_move_pages(pid, (unsigned long)n, pages, NULL, status, 0);
}

/* Exact node of each page: "pages=[...]". */
static void st_pages_of(const char *key, pid_t pid, unsigned long base, int n)
{
	int status[64];

	if (query_nodes(pid, base, n, status) < 0) {
		st("%s=ERR(%s)", key, errname(errno));
		return;
	}
	st_status_list(key, status, n);
}

static void st_pages(unsigned long base, int n)
{
	st_pages_of("pages", 0, base, n);
}

/*
 * The set of nodes the pages are on.  For task interleave the exact sequence depends on
 * incidental kernel allocations (page tables, slabs) made under the task policy.
 */
static void st_page_nodes(unsigned long base, int n)
{
	unsigned long m[MASK_WORDS];
	int status[64], i, bad = 0;
	char b[256];

	memset(m, 0, sizeof(m));
	if (query_nodes(0, base, n, status) < 0) {
		st("page-nodes=ERR(%s)", errname(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		if (status[i] >= 0 && (unsigned long)status[i] < MASK_BITS)
			mask_set(m, (unsigned long)status[i]);
		else
			bad++;
	}
	st("page-nodes=%s", nodelist(m, MASK_BITS, b, sizeof(b)));
	if (bad)
		st("unplaced=%d", bad);
}

/* Number of VMAs that intersect [base, base + len), from /proc/self/maps. */
static void st_vmas(unsigned long base, unsigned long len)
{
	char buf[16384];
	ssize_t n, total = 0;
	int fd = open("/proc/self/maps", O_RDONLY), count = 0;
	char *p;

	if (fd < 0) {
		st("vmas=ERR(%s)", errname(errno));
		return;
	}
	while (total < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		unsigned long s, e;

		if (sscanf(p, "%lx-%lx", &s, &e) == 2 && s < base + len && e > base)
			count++;
	}
	st("vmas=%d", count);
}

/* ---------------------------------------------------------------- memory regions */

static unsigned long region_addr(int idx)
{
	return REGION_BASE + (unsigned long)idx * REGION_STRIDE;
}

static unsigned long pg(int n)
{
	return (unsigned long)n * (unsigned long)page_size;
}

/* Anonymous private mapping of n pages at the fixed address of region idx. */
static unsigned long region_map(int idx, int n)
{
	void *p = mmap((void *)region_addr(idx), pg(n), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED || (unsigned long)p != region_addr(idx)) {
		emit("FATAL: cannot map region %d: %s\n", idx, strerror(errno));
		exit(2);
	}
	madvise(p, pg(n), MADV_NOHUGEPAGE);
	return (unsigned long)p;
}

static void region_unmap(int idx, int n)
{
	munmap((void *)region_addr(idx), pg(n));
}

static void touch(unsigned long base, int n)
{
	int i;

	for (i = 0; i < n; i++)
		*(volatile char *)(base + pg(i)) = (char)(i + 1);
}

static void read_touch(unsigned long base, int n)
{
	int i;

	for (i = 0; i < n; i++)
		(void)*(volatile char *)(base + pg(i));
}

/* An address that faults: a PROT_NONE page at a fixed place. */
static unsigned long fault_page;

/* ---------------------------------------------------------------- children */

/*
 * A forked child runs setup(arg, out), sends `out` (outlen bytes) to the parent, then waits
 * until the parent releases it.  It lets the parent act on a live, known address space.
 */
struct kid {
	pid_t pid;
	int go;
};

typedef void (*kid_fn)(void *arg, void *out);

static int kid_start(struct kid *k, kid_fn setup, void *arg, void *out, size_t outlen)
{
	int up[2], down[2];
	ssize_t got = 0;

	if (pipe(up) || pipe(down))
		return -1;
	k->pid = fork();
	if (k->pid < 0)
		return -1;
	if (k->pid == 0) {
		char c;

		close(up[0]);
		close(down[1]);
		if (setup)
			setup(arg, out);
		if (write(up[1], out, outlen) != (ssize_t)outlen)
			_exit(3);
		while (read(down[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	while ((size_t)got < outlen) {
		ssize_t n = read(up[0], (char *)out + got, outlen - (size_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(up[0]);
	k->go = down[1];
	return (size_t)got == outlen ? 0 : -1;
}

static void kid_finish(struct kid *k)
{
	int st_;

	close(k->go);
	while (waitpid(k->pid, &st_, 0) < 0 && errno == EINTR)
		;
}

/* Child setups. */
struct kid_out {
	struct res r[4];
	int mode;
	unsigned long nodes;
};

static void kid_nothing(void *arg, void *out)
{
	(void)arg;
	(void)out;
}

/* Touches NPAGES of region 0 after binding it to node 1. */
static void kid_touch_bound(void *arg, void *out)
{
	unsigned long base = region_addr(0);

	(void)arg;
	(void)out;
	sys_mbind(base, pg(NPAGES), MP_BIND, M("b"), MAXN, 0);
	touch(base, NPAGES);
}

static void drop_privileges(void)
{
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		_exit(4);
}

/* ---------------------------------------------------------------- setup */

static void read_sysfs(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (!n)
		snprintf(buf, len, "none");
}

/* Bits of a sysfs node list ("0-1,3") in the first word: nodes 0-63 are enough here. */
static unsigned long list_bits(const char *list)
{
	unsigned long *m = M(list);

	return m[0];
}

static void detect_roles(void)
{
	char mem_s[64], cpu_s[64], online_s[64];
	unsigned long mem, cpu, online;
	int n, found_a = 0, found_b = 0, found_m = 0, found_c = 0;

	read_sysfs("/sys/devices/system/node/has_memory", mem_s, sizeof(mem_s));
	read_sysfs("/sys/devices/system/node/has_cpu", cpu_s, sizeof(cpu_s));
	read_sysfs("/sys/devices/system/node/online", online_s, sizeof(online_s));
	mem = list_bits(mem_s);
	cpu = list_bits(cpu_s);
	online = list_bits(online_s);
	for (n = 0; n < 64; n++) {
		unsigned long bit = 1UL << n;

		if ((mem & bit) && (cpu & bit) && !found_a) {
			node_a = n;
			found_a = 1;
		} else if ((mem & bit) && (cpu & bit) && !found_b) {
			node_b = n;
			found_b = 1;
		} else if ((mem & bit) && !(cpu & bit) && !found_m) {
			node_m = n;
			found_m = 1;
		} else if ((online & bit) && !(mem & bit) && !found_c) {
			node_c = n;
			found_c = 1;
		}
	}
	roles_ok = found_a && found_b && found_m && found_c;
}

static void print_topology(void)
{
	char possible[64], online[64], mem[64], cpu[64], w[64], path[128];
	char weights[256] = "";
	size_t used = 0;
	int node;

	read_sysfs("/sys/devices/system/node/possible", possible, sizeof(possible));
	read_sysfs("/sys/devices/system/node/online", online, sizeof(online));
	read_sysfs("/sys/devices/system/node/has_memory", mem, sizeof(mem));
	read_sysfs("/sys/devices/system/node/has_cpu", cpu, sizeof(cpu));
	emit("topology: possible=%s online=%s memory=%s cpu=%s\n", possible, online, mem, cpu);
	emit("roles: a=%d b=%d (CPU+memory) m=%d (memory only) c=%d (CPU only, no memory)\n",
	     node_a, node_b, node_m, node_c);
	for (node = 0; node < 4; node++) {
		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/mempolicy/weighted_interleave/node%d", node);
		read_sysfs(path, w, sizeof(w));
		used += (size_t)snprintf(weights + used, sizeof(weights) - used, "%s%d:%s",
					 used ? "," : "", node, w);
	}
	emit("weighted-interleave-weights: %s\n", weights);
	emit("pinned-to-node-a: %s\n", pinned_cpu >= 0 ? "yes" : "no");
	emit("topology-check: %s\n",
	     roles_ok && !strcmp(possible, "0-3") && !strcmp(online, "0-3") ?
	     "expected (4 nodes: two with CPU+memory, one memory-only, one CPU-only)" :
	     "UNEXPECTED (the cases assume the taskmpol VM's 4 nodes: two with CPU+memory, "
	     "one memory-only, one CPU-only; this transcript is not comparable with one from the VM)");
}

/* Pins the task to the first CPU of node a: "local" is then node a. */
static void pin_to_node_a(void)
{
	char list[256], path[96];
	cpu_set_t set;
	int cpu;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node_a);
	read_sysfs(path, list, sizeof(list));
	if (sscanf(list, "%d", &cpu) != 1)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (!sched_setaffinity(0, sizeof(set), &set))
		pinned_cpu = cpu;
}

/*
 * Automatic NUMA balancing would move pages behind the transcript's back.  Only a multi-node
 * system has it to switch off; the guest is thrown away after the run.
 */
static void quiesce(void)
{
	char online[64], v[16];
	int fd;

	read_sysfs("/sys/devices/system/node/online", online, sizeof(online));
	read_sysfs("/proc/sys/kernel/numa_balancing", v, sizeof(v));
	if (!strcmp(online, "0") || !strcmp(v, "0") || !strcmp(v, "?"))
		return;
	fd = open("/proc/sys/kernel/numa_balancing", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "0\n", 2) != 2)
			emit("note: cannot switch off numa_balancing\n");
		close(fd);
	}
}

static void prefault_stack(void)
{
	volatile char stack[512 * 1024];

	memset((char *)stack, 0, sizeof(stack));
}

/* ================================================================= cases */

/*
 * Argument validation shared by set_mempolicy(2) and mbind(2): both go through
 * sanitize_mpol_flags, get_nodes, mpol_new and mpol_set_nodemask.
 */
enum mask_kind { MK_LIST, MK_NULL, MK_FAULT, MK_EDGE };

struct arg_case {
	const char *name;
	int mode;
	const char *nodes;
	unsigned long maxnode;
	enum mask_kind kind;
};

static const struct arg_case arg_cases[] = {
	{ "default.null", MP_DEFAULT, "", 0, MK_NULL },
	{ "default.empty", MP_DEFAULT, "", MAXN, MK_LIST },
	{ "default.nonempty", MP_DEFAULT, "a", MAXN, MK_LIST },
	{ "default.static", MP_DEFAULT | MP_F_STATIC, "", MAXN, MK_LIST },
	{ "bind.b", MP_BIND, "b", MAXN, MK_LIST },
	{ "bind.a+b+m", MP_BIND, "a,b,m", MAXN, MK_LIST },
	{ "bind.m", MP_BIND, "m", MAXN, MK_LIST },
	{ "bind.c-nomem", MP_BIND, "c", MAXN, MK_LIST },
	{ "bind.m+c", MP_BIND, "m,c", MAXN, MK_LIST },
	{ "bind.all4", MP_BIND, "a,b,m,c", MAXN, MK_LIST },
	{ "bind.b+63", MP_BIND, "b,63", MAXN, MK_LIST },
	{ "bind.63", MP_BIND, "63", MAXN, MK_LIST },
	{ "bind.b+1000", MP_BIND, "b,1000", MAXN, MK_LIST },
	{ "bind.empty", MP_BIND, "", MAXN, MK_LIST },
	{ "bind.null-mask", MP_BIND, "", MAXN, MK_NULL },
	{ "bind.static.m+c", MP_BIND | MP_F_STATIC, "m,c", MAXN, MK_LIST },
	{ "bind.static.c", MP_BIND | MP_F_STATIC, "c", MAXN, MK_LIST },
	{ "bind.relative.bits0-1", MP_BIND | MP_F_RELATIVE, "0-1", MAXN, MK_LIST },
	{ "bind.relative.bit3", MP_BIND | MP_F_RELATIVE, "3", MAXN, MK_LIST },
	{ "bind.static-relative", MP_BIND | MP_F_STATIC | MP_F_RELATIVE, "b", MAXN, MK_LIST },
	{ "bind.balancing.b", MP_BIND | MP_F_BALANCING, "b", MAXN, MK_LIST },
	{ "bind.maxnode.0", MP_BIND, "0-1", 0, MK_LIST },
	{ "bind.maxnode.1", MP_BIND, "0-1", 1, MK_LIST },
	{ "bind.maxnode.2", MP_BIND, "0-1", 2, MK_LIST },
	{ "bind.maxnode.3", MP_BIND, "0-1", 3, MK_LIST },
	{ "bind.maxnode.65", MP_BIND, "b,m", 65, MK_LIST },
	{ "bind.maxnode.32769", MP_BIND, "b", BIG_BITS + 1, MK_LIST },
	{ "bind.maxnode.32770", MP_BIND, "b", BIG_BITS + 2, MK_LIST },
	{ "bind.maxnode.huge", MP_BIND, "b", ~0UL, MK_LIST },
	{ "bind.efault", MP_BIND, "b", MAXN, MK_FAULT },
	{ "bind.efault-edge", MP_BIND, "b", 129, MK_EDGE },
	{ "prefer.b", MP_PREFERRED, "b", MAXN, MK_LIST },
	{ "prefer.m", MP_PREFERRED, "m", MAXN, MK_LIST },
	{ "prefer.c-nomem", MP_PREFERRED, "c", MAXN, MK_LIST },
	{ "prefer.b+m", MP_PREFERRED, "b,m", MAXN, MK_LIST },
	{ "prefer.empty", MP_PREFERRED, "", MAXN, MK_LIST },
	{ "prefer.null-mask", MP_PREFERRED, "", MAXN, MK_NULL },
	{ "prefer.static.empty", MP_PREFERRED | MP_F_STATIC, "", MAXN, MK_LIST },
	{ "prefer.static.b", MP_PREFERRED | MP_F_STATIC, "b", MAXN, MK_LIST },
	{ "prefer.relative.bit1", MP_PREFERRED | MP_F_RELATIVE, "1", MAXN, MK_LIST },
	{ "prefer.balancing", MP_PREFERRED | MP_F_BALANCING, "b", MAXN, MK_LIST },
	{ "interleave.a+b+m", MP_INTERLEAVE, "a,b,m", MAXN, MK_LIST },
	{ "interleave.b+m", MP_INTERLEAVE, "b,m", MAXN, MK_LIST },
	{ "interleave.c-nomem", MP_INTERLEAVE, "c", MAXN, MK_LIST },
	{ "interleave.empty", MP_INTERLEAVE, "", MAXN, MK_LIST },
	{ "interleave.static.all4", MP_INTERLEAVE | MP_F_STATIC, "a,b,m,c", MAXN, MK_LIST },
	{ "interleave.relative.bits0-3", MP_INTERLEAVE | MP_F_RELATIVE, "0-3", MAXN, MK_LIST },
	{ "interleave.balancing", MP_INTERLEAVE | MP_F_BALANCING, "a,b,m", MAXN, MK_LIST },
	{ "local", MP_LOCAL, "", MAXN, MK_LIST },
	{ "local.nodes", MP_LOCAL, "b", MAXN, MK_LIST },
	{ "local.static", MP_LOCAL | MP_F_STATIC, "", MAXN, MK_LIST },
	{ "local.balancing", MP_LOCAL | MP_F_BALANCING, "", MAXN, MK_LIST },
	{ "prefer-many.b+m", MP_PREFERRED_MANY, "b,m", MAXN, MK_LIST },
	{ "prefer-many.m+c", MP_PREFERRED_MANY, "m,c", MAXN, MK_LIST },
	{ "prefer-many.c-nomem", MP_PREFERRED_MANY, "c", MAXN, MK_LIST },
	{ "prefer-many.empty", MP_PREFERRED_MANY, "", MAXN, MK_LIST },
	{ "prefer-many.balancing", MP_PREFERRED_MANY | MP_F_BALANCING, "b,m", MAXN, MK_LIST },
	{ "weighted.a+b+m", MP_WEIGHTED_INTERLEAVE, "a,b,m", MAXN, MK_LIST },
	{ "weighted.b+m", MP_WEIGHTED_INTERLEAVE, "b,m", MAXN, MK_LIST },
	{ "weighted.c-nomem", MP_WEIGHTED_INTERLEAVE, "c", MAXN, MK_LIST },
	{ "weighted.empty", MP_WEIGHTED_INTERLEAVE, "", MAXN, MK_LIST },
	{ "weighted.static.a+b+m", MP_WEIGHTED_INTERLEAVE | MP_F_STATIC, "a,b,m", MAXN, MK_LIST },
	{ "mode.max", MP_MAX, "b", MAXN, MK_LIST },
	{ "mode.minus1", -1, "b", MAXN, MK_LIST },
	{ "mode.bit12", MP_BIND | (1 << 12), "b", MAXN, MK_LIST },
	{ "mode.bit16", MP_BIND | (1 << 16), "b", MAXN, MK_LIST },
};

static const unsigned long *arg_mask(const struct arg_case *c)
{
	unsigned long *m;
	char *edge;

	switch (c->kind) {
	case MK_NULL:
		return NULL;
	case MK_FAULT:
		return (const unsigned long *)fault_page;
	case MK_EDGE:
		/* First word readable, second word in the PROT_NONE page. */
		m = M(c->nodes);
		edge = (char *)fault_page - sizeof(unsigned long);
		memcpy(edge, m, sizeof(unsigned long));
		return (const unsigned long *)edge;
	case MK_LIST:
		break;
	}
	return M(c->nodes);
}

/* set_mempolicy(2): the task's policy after the call and where its new pages go. */
static void run_set_cases(void)
{
	char name[96];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(arg_cases); i++) {
		const struct arg_case *c = &arg_cases[i];
		unsigned long base = region_map(0, NPAGES);
		const unsigned long *m = arg_mask(c);
		struct res r;

		sys_set_mempolicy(MP_PREFERRED, M("a"), MAXN);	/* known prior state */
		r = CALL(sys_set_mempolicy(c->mode, m, c->maxnode));
		st_pol();
		touch(base, NPAGES);
		st_page_nodes(base, NPAGES);
		snprintf(name, sizeof(name), "set.%s", c->name);
		report(name, r);
		region_unmap(0, NPAGES);
	}
}

/* mbind(2) with the same arguments: the VMA policy and the exact node of each new page. */
static void run_mbind_arg_cases(void)
{
	char name[96];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(arg_cases); i++) {
		const struct arg_case *c = &arg_cases[i];
		unsigned long base = region_map(0, NPAGES);
		const unsigned long *m;
		struct res r;

		sys_mbind(base, pg(NPAGES), MP_PREFERRED, M("a"), MAXN, 0);	/* prior state */
		m = arg_mask(c);
		r = CALL(sys_mbind(base, pg(NPAGES), (unsigned long)(unsigned int)c->mode, m,
				   c->maxnode, 0));
		st_vma("vma", base);
		st_pol();
		touch(base, NPAGES);
		st_pages(base, NPAGES);
		snprintf(name, sizeof(name), "mbind.%s", c->name);
		report(name, r);
		region_unmap(0, NPAGES);
	}
}

/* ---------------------------------------------------------------- get_mempolicy(2) */

static void get_case(const char *name, int prior_mode, const char *prior_nodes,
		     unsigned long maxnode, unsigned long addr, unsigned long flags)
{
	unsigned long *m = M("");
	char b[256];
	int mode = -2;
	struct res r;

	memset(m, 0xff, BIG_WORDS * sizeof(long));
	if (prior_mode >= 0)
		sys_set_mempolicy(prior_mode, M(prior_nodes), MAXN);
	r = CALL(sys_get_mempolicy(&mode, m, maxnode, addr, flags));
	st("policy-out=%d", mode);
	st("mask-out=%s", nodelist(m, maxnode > MASK_BITS + 64 ? BIG_BITS : MASK_BITS + 64, b,
				   sizeof(b)));
	report(name, r);
}

static void run_get_cases(void)
{
	unsigned long base, *m;
	char b[256];
	int mode, i;
	struct res r;

	get_case("get.flags0.default", -1, "", MAXN, 0, 0);
	get_case("get.flags0.bind.b", MP_BIND, "b", MAXN, 0, 0);
	get_case("get.flags0.bind.static.b+c", MP_BIND | MP_F_STATIC, "b,c", MAXN, 0, 0);
	get_case("get.flags0.interleave.relative.bits0+3", MP_INTERLEAVE | MP_F_RELATIVE, "0,3",
		 MAXN, 0, 0);
	get_case("get.flags0.prefer-many.balancing", MP_PREFERRED_MANY | MP_F_BALANCING, "b,m",
		 MAXN, 0, 0);
	get_case("get.flags0.prefer.empty-is-local", MP_PREFERRED, "", MAXN, 0, 0);
	get_case("get.maxnode.0", MP_BIND, "b", 0, 0, 0);
	get_case("get.maxnode.1", MP_BIND, "a", 1, 0, 0);
	get_case("get.maxnode.3", MP_BIND, "a,b", 3, 0, 0);
	get_case("get.maxnode.4", MP_BIND, "a,b,m", 4, 0, 0);
	get_case("get.maxnode.5", MP_BIND, "a,b,m", 5, 0, 0);
	get_case("get.maxnode.65", MP_BIND, "b,m", 65, 0, 0);
	get_case("get.maxnode.66", MP_BIND, "b,m", 66, 0, 0);
	get_case("get.maxnode.32769", MP_BIND, "b,m", BIG_BITS + 1, 0, 0);
	get_case("get.maxnode.32770", MP_BIND, "b,m", BIG_BITS + 2, 0, 0);
	get_case("get.flag.bit3", MP_BIND, "b", MAXN, 0, 1UL << 3);
	get_case("get.flag.bit40", MP_BIND, "b", MAXN, 0, 1UL << 40);
	get_case("get.addr-without-F_ADDR", MP_BIND, "b", MAXN, region_addr(5), 0);
	get_case("get.F_NODE.default", -1, "", MAXN, 0, MP_F_NODE);
	get_case("get.F_NODE.bind", MP_BIND, "b", MAXN, 0, MP_F_NODE);
	get_case("get.F_NODE.prefer", MP_PREFERRED, "m", MAXN, 0, MP_F_NODE);
	get_case("get.F_NODE.local", MP_LOCAL, "", MAXN, 0, MP_F_NODE);
	get_case("get.F_NODE.interleave.a+b+m", MP_INTERLEAVE, "a,b,m", MAXN, 0, MP_F_NODE);
	get_case("get.F_NODE.interleave.b+m", MP_INTERLEAVE, "b,m", MAXN, 0, MP_F_NODE);
	get_case("get.F_NODE.weighted.b+m", MP_WEIGHTED_INTERLEAVE, "b,m", MAXN, 0, MP_F_NODE);
	get_case("get.MEMS_ALLOWED", -1, "", MAXN, 0, MP_F_MEMS_ALLOWED);
	get_case("get.MEMS_ALLOWED.under-bind", MP_BIND, "b", MAXN, 0, MP_F_MEMS_ALLOWED);
	get_case("get.MEMS_ALLOWED.addr-ignored", -1, "", MAXN, region_addr(5),
		 MP_F_MEMS_ALLOWED);
	get_case("get.MEMS_ALLOWED|F_NODE", -1, "", MAXN, 0, MP_F_MEMS_ALLOWED | MP_F_NODE);
	get_case("get.MEMS_ALLOWED|F_ADDR", -1, "", MAXN, 0, MP_F_MEMS_ALLOWED | MP_F_ADDR);
	get_case("get.MEMS_ALLOWED|F_NODE|F_ADDR", -1, "", MAXN, 0,
		 MP_F_MEMS_ALLOWED | MP_F_NODE | MP_F_ADDR);
	get_case("get.F_ADDR.unmapped", -1, "", MAXN, region_addr(5), MP_F_ADDR);
	get_case("get.F_ADDR.null", -1, "", MAXN, 0, MP_F_ADDR);
	get_case("get.F_NODE|F_ADDR.unmapped", -1, "", MAXN, region_addr(5),
		 MP_F_NODE | MP_F_ADDR);

	/* Only the mode, only the mask. */
	sys_set_mempolicy(MP_INTERLEAVE, M("a,b"), MAXN);
	mode = -2;
	r = CALL(sys_get_mempolicy(&mode, NULL, MAXN, 0, 0));
	st("policy-out=%d", mode);
	report("get.nmask-null", r);

	sys_set_mempolicy(MP_INTERLEAVE, M("a,b"), MAXN);
	m = M("");
	r = CALL(sys_get_mempolicy(NULL, m, MAXN, 0, 0));
	st("mask-out=%s", nodelist(m, MASK_BITS, b, sizeof(b)));
	report("get.policy-null", r);

	sys_set_mempolicy(MP_INTERLEAVE, M("a,b"), MAXN);
	r = CALL(sys_get_mempolicy(NULL, NULL, 0, 0, 0));
	report("get.both-null", r);

	/* Bad user pointers. */
	sys_set_mempolicy(MP_BIND, M("b"), MAXN);
	r = CALL(sys_get_mempolicy((int *)fault_page, NULL, MAXN, 0, 0));
	report("get.efault.policy", r);
	sys_set_mempolicy(MP_BIND, M("b"), MAXN);
	mode = -2;
	r = CALL(sys_get_mempolicy(&mode, (unsigned long *)fault_page, MAXN, 0, 0));
	st("policy-out=%d", mode);
	report("get.efault.nmask", r);

	/* VMA policies through MPOL_F_ADDR. */
	base = region_map(1, NPAGES);
	sys_set_mempolicy(MP_BIND, M("b"), MAXN);
	mode = -2;
	m = M("");
	r = CALL(sys_get_mempolicy(&mode, m, MAXN, base, MP_F_ADDR));
	st("policy-out=%d mask-out=%s", mode, nodelist(m, MASK_BITS, b, sizeof(b)));
	report("get.F_ADDR.vma-without-policy", r);

	sys_mbind(base, pg(NPAGES), MP_BIND, M("m"), MAXN, 0);
	mode = -2;
	m = M("");
	r = CALL(sys_get_mempolicy(&mode, m, MAXN, base + pg(3) + 17, MP_F_ADDR));
	st("policy-out=%d mask-out=%s", mode, nodelist(m, MASK_BITS, b, sizeof(b)));
	report("get.F_ADDR.vma-bind.m", r);

	touch(base, 2);
	mode = -2;
	r = CALL(sys_get_mempolicy(&mode, NULL, 0, base + pg(1), MP_F_NODE | MP_F_ADDR));
	st("policy-out=%d", mode);
	st_pages(base, 2);
	report("get.F_NODE|F_ADDR.touched-bind-m", r);

	mode = -2;
	r = CALL(sys_get_mempolicy(&mode, NULL, 0, base + pg(5), MP_F_NODE | MP_F_ADDR));
	st("policy-out=%d", mode);
	st_pages(base + pg(5), 1);
	report("get.F_NODE|F_ADDR.untouched", r);
	region_unmap(1, NPAGES);

	base = region_map(1, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_INTERLEAVE | MP_F_STATIC, M("a,b,m,c"), MAXN, 0);
	touch(base, NPAGES);
	for (i = 0; i < 4; i++) {
		mode = -2;
		sys_get_mempolicy(&mode, NULL, 0, base + pg(i), MP_F_NODE | MP_F_ADDR);
		st("page%d=%d", i, mode);
	}
	mode = -2;
	m = M("");
	r = CALL(sys_get_mempolicy(&mode, m, MAXN, base, MP_F_ADDR));
	st("policy-out=%d mask-out=%s", mode, nodelist(m, MASK_BITS, b, sizeof(b)));
	st_pages(base, NPAGES);
	report("get.F_ADDR.vma-interleave.static.all4", r);
	region_unmap(1, NPAGES);

	base = region_map(1, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_BIND | MP_F_BALANCING, M("a,b"), MAXN, 0);
	mode = -2;
	r = CALL(sys_get_mempolicy(&mode, NULL, 0, base, MP_F_ADDR));
	st("policy-out=%d", mode);
	st_vma("vma", base);
	report("get.F_ADDR.vma-bind.balancing", r);
	region_unmap(1, NPAGES);

	/* F_NODE right after installing interleave: the first node of the set. */
	sys_set_mempolicy(MP_INTERLEAVE, M("b,m"), MAXN);
	mode = -2;
	r = CALL(sys_get_mempolicy(&mode, NULL, 0, 0, MP_F_NODE));
	sys_set_mempolicy(MP_WEIGHTED_INTERLEAVE, M("a,b,m"), MAXN);
	i = -2;
	sys_get_mempolicy(&i, NULL, 0, 0, MP_F_NODE);
	st("interleave.b+m=%d weighted.a+b+m=%d", mode, i);
	report("get.F_NODE.fresh-interleave-pair", r);
}

/* ---------------------------------------------------------------- mbind(2) ranges and flags */

static void run_mbind_cases(void)
{
	unsigned long base, b2;
	struct res r;
	struct kid k;
	struct kid_out o;

	base = region_map(2, 4);
	r = CALL(sys_mbind(base + 1, pg(1), MP_BIND, M("b"), MAXN, 0));
	st_vma("vma", base);
	report("mbind.range.unaligned-start", r);
	region_unmap(2, 4);

	base = region_map(2, 4);
	r = CALL(sys_mbind(base, 0, MP_BIND, M("b"), MAXN, 0));
	st_vma("vma", base);
	st_vmas(base, pg(4));
	report("mbind.range.len-0", r);
	region_unmap(2, 4);

	base = region_map(2, 4);
	r = CALL(sys_mbind(base, 1, MP_BIND, M("b"), MAXN, 0));
	st_vma("vma0", base);
	st_vma("vma1", base + pg(1));
	st_vmas(base, pg(4));
	report("mbind.range.len-1-rounds-up", r);
	region_unmap(2, 4);

	base = region_map(2, 4);
	r = CALL(sys_mbind(base, pg(3) + 1, MP_BIND, M("b"), MAXN, 0));
	st_vma("vma3", base + pg(3));
	st_vmas(base, pg(4));
	report("mbind.range.len-unaligned-tail", r);
	region_unmap(2, 4);

	base = region_map(2, 4);
	r = CALL(sys_mbind(base, -(unsigned long)page_size, MP_BIND, M("b"), MAXN, 0));
	st_vma("vma", base);
	report("mbind.range.wraps", r);
	region_unmap(2, 4);

	r = CALL(sys_mbind(region_addr(2), pg(4), MP_BIND, M("b"), MAXN, 0));
	report("mbind.range.unmapped", r);

	base = region_map(2, 6);
	munmap((void *)(base + pg(2)), pg(2));
	r = CALL(sys_mbind(base, pg(6), MP_BIND, M("b"), MAXN, 0));
	st_vma("head", base);
	st_vma("tail", base + pg(4));
	report("mbind.range.hole-middle", r);
	r = CALL(sys_mbind(base, pg(6), MP_DEFAULT, NULL, 0, 0));
	st_vma("head", base);
	report("mbind.range.hole-middle.default", r);
	sys_mbind(base, pg(2), MP_BIND, M("b"), MAXN, 0);
	r = CALL(sys_mbind(base, pg(6), MP_DEFAULT, NULL, 0, 0));
	st_vma("head", base);
	st_vma("tail", base + pg(4));
	report("mbind.range.hole-middle.default-resets", r);
	munmap((void *)base, pg(6));

	base = region_map(2, 4);
	r = CALL(sys_mbind(base - pg(2), pg(6), MP_BIND, M("b"), MAXN, 0));
	st_vma("vma", base);
	report("mbind.range.hole-head", r);
	r = CALL(sys_mbind(base, pg(6), MP_BIND, M("b"), MAXN, 0));
	st_vma("vma", base);
	report("mbind.range.hole-tail", r);
	region_unmap(2, 4);

	base = region_map(2, 6);
	r = CALL(sys_mbind(base + pg(2), pg(2), MP_BIND, M("b"), MAXN, 0));
	st_vma("p0", base);
	st_vma("p2", base + pg(2));
	st_vma("p4", base + pg(4));
	st_vmas(base, pg(6));
	report("mbind.split.middle", r);
	r = CALL(sys_mbind(base, pg(2), MP_BIND, M("b"), MAXN, 0));
	st_vma("p0", base);
	st_vmas(base, pg(6));
	report("mbind.merge.head", r);
	r = CALL(sys_mbind(base + pg(4), pg(2), MP_BIND, M("b"), MAXN, 0));
	st_vmas(base, pg(6));
	report("mbind.merge.all", r);
	r = CALL(sys_mbind(base + pg(2), pg(2), MP_INTERLEAVE, M("a,b"), MAXN, 0));
	st_vma("p2", base + pg(2));
	st_vmas(base, pg(6));
	report("mbind.split.other-mode", r);
	r = CALL(sys_mbind(base, pg(6), MP_DEFAULT, NULL, 0, 0));
	st_vma("p2", base + pg(2));
	st_vmas(base, pg(6));
	report("mbind.merge.default", r);
	region_unmap(2, 6);

	/* Flags. */
	base = region_map(2, 4);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("b"), MAXN, MP_MF_LAZY));
	st_vma("vma", base);
	report("mbind.flags.lazy", r);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("b"), MAXN, MP_MF_INTERNAL));
	report("mbind.flags.internal", r);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("b"), MAXN, 1U << 31));
	report("mbind.flags.bit31", r);
	region_unmap(2, 4);

	/* STRICT and MOVE on touched pages (local: node 0). */
	base = region_map(2, 4);
	touch(base, 4);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("b"), MAXN, MP_MF_STRICT));
	st_vma("vma", base);
	st_pages(base, 4);
	report("mbind.strict.misplaced", r);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("a,b"), MAXN, MP_MF_STRICT));
	st_vma("vma", base);
	st_pages(base, 4);
	report("mbind.strict.placed", r);
	r = CALL(sys_mbind(base, pg(4), MP_DEFAULT, NULL, 0, MP_MF_STRICT));
	st_vma("vma", base);
	report("mbind.strict.default-ignores", r);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("b"), MAXN, MP_MF_MOVE));
	st_vma("vma", base);
	st_pages(base, 4);
	report("mbind.move.to-b", r);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("m"), MAXN, MP_MF_MOVE | MP_MF_STRICT));
	st_vma("vma", base);
	st_pages(base, 4);
	report("mbind.move-strict.to-m", r);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("a"), MAXN, MP_MF_MOVE_ALL));
	st_vma("vma", base);
	st_pages(base, 4);
	report("mbind.move-all.to-a", r);
	r = CALL(sys_mbind(base, pg(4), MP_PREFERRED, M("m"), MAXN, MP_MF_MOVE));
	st_pages(base, 4);
	report("mbind.move.prefer-m", r);
	r = CALL(sys_mbind(base, pg(4), MP_BIND, M("c"), MAXN, MP_MF_MOVE));
	st_vma("vma", base);
	st_pages(base, 4);
	report("mbind.move.to-c-nomem", r);
	region_unmap(2, 4);

	base = region_map(2, NPAGES);
	touch(base, NPAGES);
	r = CALL(sys_mbind(base, pg(NPAGES), MP_INTERLEAVE, M("a,b,m"), MAXN, MP_MF_MOVE));
	st_pages(base, NPAGES);
	report("mbind.move.interleave-a+b+m", r);
	r = CALL(sys_mbind(base, pg(NPAGES), MP_WEIGHTED_INTERLEAVE, M("b,m"), MAXN,
			   MP_MF_MOVE));
	st_pages(base, NPAGES);
	report("mbind.move.weighted-b+m", r);
	r = CALL(sys_mbind(base + pg(4), pg(4), MP_BIND, M("a"), MAXN, MP_MF_MOVE));
	st_pages(base, NPAGES);
	st_vmas(base, pg(NPAGES));
	report("mbind.move.part-to-a", r);
	region_unmap(2, NPAGES);

	/* Pages shared copy-on-write with a child: MOVE leaves them, MOVE_ALL moves them. */
	base = region_map(2, 4);
	touch(base, 4);
	if (kid_start(&k, kid_nothing, NULL, &o, sizeof(o)) == 0) {
		r = CALL(sys_mbind(base, pg(4), MP_BIND, M("b"), MAXN, MP_MF_MOVE));
		st_pages(base, 4);
		report("mbind.move.cow-shared", r);
		r = CALL(sys_mbind(base, pg(4), MP_BIND, M("b"), MAXN,
				   MP_MF_MOVE | MP_MF_STRICT));
		st_pages(base, 4);
		report("mbind.move-strict.cow-shared", r);
		r = CALL(sys_mbind(base, pg(4), MP_BIND, M("m"), MAXN, MP_MF_MOVE_ALL));
		st_pages(base, 4);
		st_pages_of("kid-pages", k.pid, base, 4);
		report("mbind.move-all.cow-shared", r);
		kid_finish(&k);
	}
	region_unmap(2, 4);

	/* Shared memory (shmem): the policy lives in the shared-policy tree. */
	{
		int fd = memfd_create("stock-syscalls", 0);
		void *p;

		if (fd < 0 || ftruncate(fd, pg(NPAGES))) {
			emit("FATAL: memfd: %s\n", strerror(errno));
			exit(2);
		}
		p = mmap((void *)region_addr(3), pg(NPAGES), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
		if (p == MAP_FAILED) {
			emit("FATAL: memfd mmap: %s\n", strerror(errno));
			exit(2);
		}
		b2 = (unsigned long)p;
		r = CALL(sys_mbind(b2, pg(NPAGES), MP_INTERLEAVE, M("b,m"), MAXN, 0));
		touch(b2, NPAGES);
		st_vma("vma", b2);
		st_pages(b2, NPAGES);
		report("mbind.shmem.interleave-b+m", r);
		r = CALL(sys_mbind(b2, pg(2), MP_BIND, M("a"), MAXN, MP_MF_MOVE));
		st_vma("vma0", b2);
		st_vma("vma2", b2 + pg(2));
		st_pages(b2, NPAGES);
		report("mbind.shmem.bind-a-move", r);
		munmap(p, pg(NPAGES));
		close(fd);
	}
}

/* ---------------------------------------------------------------- set_mempolicy_home_node(2) */

static void run_home_node_cases(void)
{
	unsigned long base;
	struct res r;

	base = region_map(4, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_BIND, M("a,b,m"), MAXN, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_m, 0));
	touch(base, NPAGES);
	st_vma("vma", base);
	st_pages(base, NPAGES);
	report("home.bind-a+b+m.home-m", r);
	region_unmap(4, NPAGES);

	base = region_map(4, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_PREFERRED_MANY, M("a,b"), MAXN, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_b, 0));
	touch(base, NPAGES);
	st_vma("vma", base);
	st_pages(base, NPAGES);
	report("home.prefer-many-a+b.home-b", r);
	region_unmap(4, NPAGES);

	base = region_map(4, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_BIND, M("b,m"), MAXN, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_a, 0));
	touch(base, NPAGES);
	st_pages(base, NPAGES);
	report("home.bind-b+m.home-a-outside", r);
	region_unmap(4, NPAGES);

	base = region_map(4, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_BIND, M("a,b,m"), MAXN, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_c, 0));
	touch(base, NPAGES);
	st_pages(base, NPAGES);
	report("home.bind-a+b+m.home-c-nomem", r);
	region_unmap(4, NPAGES);

	base = region_map(4, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_BIND, M("a,b,m"), MAXN, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), 4, 0));
	report("home.node-4-offline", r);
	r = CALL(sys_home_node(base, pg(NPAGES), 1024, 0));
	report("home.node-1024", r);
	r = CALL(sys_home_node(base, pg(NPAGES), ~0UL, 0));
	report("home.node-ulong-max", r);
	r = CALL(sys_home_node(base, pg(NPAGES), node_b, 1));
	report("home.flags-1", r);
	r = CALL(sys_home_node(base + 8, pg(NPAGES), node_b, 0));
	report("home.unaligned", r);
	r = CALL(sys_home_node(base, 0, node_b, 0));
	report("home.len-0", r);
	r = CALL(sys_home_node(base, -(unsigned long)page_size, node_b, 0));
	report("home.wraps", r);
	r = CALL(sys_home_node(base + pg(4), pg(4), node_b, 0));
	st_vmas(base, pg(NPAGES));
	st_vma("vma4", base + pg(4));
	report("home.split-middle", r);
	region_unmap(4, NPAGES);

	base = region_map(4, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_INTERLEAVE, M("a,b,m"), MAXN, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_b, 0));
	report("home.interleave", r);
	sys_mbind(base, pg(NPAGES), MP_PREFERRED, M("b"), MAXN, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_b, 0));
	report("home.prefer", r);
	sys_mbind(base, pg(NPAGES), MP_LOCAL, NULL, 0, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_b, 0));
	report("home.local", r);
	sys_mbind(base, pg(NPAGES), MP_DEFAULT, NULL, 0, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_b, 0));
	report("home.no-vma-policy", r);
	sys_mbind(base, pg(4), MP_BIND, M("a,b"), MAXN, 0);
	r = CALL(sys_home_node(base, pg(NPAGES), node_b, 0));
	touch(base, NPAGES);
	st_pages(base, NPAGES);
	st_vmas(base, pg(NPAGES));
	report("home.mixed-bind-and-none", r);
	region_unmap(4, NPAGES);

	r = CALL(sys_home_node(region_addr(4), pg(NPAGES), node_b, 0));
	report("home.unmapped", r);
}

/* ---------------------------------------------------------------- migrate_pages(2) */

struct unpriv_arg {
	pid_t parent;
	unsigned long base;
};

static void kid_unpriv(void *arg, void *out)
{
	struct unpriv_arg *a = arg;
	struct kid_out *o = out;
	void *pages[1] = { (void *)a->base };
	int nodes[1] = { node_m }, status[1];

	drop_privileges();
	o->r[0] = CALL(sys_migrate_pages(a->parent, MAXN, M("b"), M("m")));
	o->r[1] = CALL(sys_move_pages(a->parent, 1, pages, nodes, status, 0));
	o->r[2] = CALL(sys_move_pages(0, 1, pages, nodes, status, MP_MF_MOVE_ALL));
	o->r[3] = CALL(sys_mbind(a->base, pg(1), MP_BIND, M("b"), MAXN, MP_MF_MOVE_ALL));
}

static void run_migrate_cases(void)
{
	unsigned long base;
	struct res r;
	struct kid k;
	struct kid_out o;

	base = region_map(0, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_BIND, M("b"), MAXN, 0);
	touch(base, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_DEFAULT, NULL, 0, 0);
	r = CALL(sys_migrate_pages(0, MAXN, M("b"), M("m")));
	st_pages(base, NPAGES);
	report("migrate.self.b-to-m", r);
	r = CALL(sys_migrate_pages(0, MAXN, M("m"), M("m")));
	st_pages(base, NPAGES);
	report("migrate.self.same", r);
	r = CALL(sys_migrate_pages(0, MAXN, M(""), M("b")));
	st_pages(base, NPAGES);
	report("migrate.self.from-empty", r);
	r = CALL(sys_migrate_pages(0, MAXN, M("m"), M("")));
	st_pages(base, NPAGES);
	report("migrate.self.to-empty", r);
	r = CALL(sys_migrate_pages(0, MAXN, M("m"), M("c")));
	st_pages(base, NPAGES);
	report("migrate.self.to-c-nomem", r);
	r = CALL(sys_migrate_pages(0, MAXN, M("m"), M("b,c")));
	st_pages(base, NPAGES);
	report("migrate.self.to-b+c", r);
	r = CALL(sys_migrate_pages(0, MAXN, M("b"), M("a,m")));
	st_pages(base, NPAGES);
	report("migrate.self.remap-b-to-a+m", r);
	r = CALL(sys_migrate_pages(0, 3, M("a,b"), M("m")));
	st_pages(base, NPAGES);
	report("migrate.self.maxnode-3-masks-0", r);
	r = CALL(sys_migrate_pages(0, MAXN, (unsigned long *)fault_page, M("m")));
	report("migrate.efault.old", r);
	r = CALL(sys_migrate_pages(0, MAXN, M("b"), (unsigned long *)fault_page));
	report("migrate.efault.new", r);
	r = CALL(sys_migrate_pages(0, BIG_BITS + 2, M("b"), M("m")));
	report("migrate.maxnode.32770", r);
	r = CALL(sys_migrate_pages(0, MAXN, M("b,1000"), M("m")));
	report("migrate.bit1000", r);
	r = CALL(sys_migrate_pages(INT_MAX, MAXN, M("b"), M("m")));
	report("migrate.esrch.int-max", r);
	r = CALL(sys_migrate_pages(-1, MAXN, M("b"), M("m")));
	report("migrate.esrch.minus-1", r);
	region_unmap(0, NPAGES);

	/* A child's pages. */
	base = region_map(0, NPAGES);
	if (kid_start(&k, kid_touch_bound, NULL, &o, sizeof(o)) == 0) {
		st_pages_of("before", k.pid, base, NPAGES);
		r = CALL(sys_migrate_pages(k.pid, MAXN, M("b"), M("m")));
		st_pages_of("kid-pages", k.pid, base, NPAGES);
		st_pages_of("own-pages", 0, base, NPAGES);
		report("migrate.child.b-to-m", r);
		r = CALL(sys_migrate_pages(k.pid, MAXN, M("m"), M("a")));
		st_pages_of("kid-pages", k.pid, base, NPAGES);
		report("migrate.child.m-to-a", r);
		kid_finish(&k);
	}
	region_unmap(0, NPAGES);

	/* An unprivileged child against its root parent. */
	base = region_map(0, NPAGES);
	sys_mbind(base, pg(NPAGES), MP_BIND, M("b"), MAXN, 0);
	touch(base, NPAGES);
	{
		struct unpriv_arg a = { .parent = getpid(), .base = base };

		memset(&o, 0, sizeof(o));
		if (kid_start(&k, kid_unpriv, &a, &o, sizeof(o)) == 0) {
			kid_finish(&k);
			st_pages(base, 1);
			report("migrate.unpriv.other-process", o.r[0]);
			report("move.unpriv.other-process", o.r[1]);
			report("move.unpriv.move-all-self", o.r[2]);
			report("mbind.unpriv.move-all", o.r[3]);
		}
	}
	region_unmap(0, NPAGES);
}

/* ---------------------------------------------------------------- move_pages(2) */

static void move_case(const char *name, unsigned long base, int n, const int *nodes_in,
		      int flags)
{
	void *pages[64];
	int status[64], nodes[64], i;
	struct res r;

	for (i = 0; i < n; i++) {
		pages[i] = (void *)(base + pg(i));
		nodes[i] = nodes_in[i];
		status[i] = -9999;
	}
	r = CALL(sys_move_pages(0, (unsigned long)n, pages, nodes, status, flags));
	st_status_list("status", status, n);
	st_pages(base, n);
	report(name, r);
}

static void run_move_cases(void)
{
	const int mixed[NPAGES] = { node_a, node_b, node_m, node_m, node_b, node_a,
				    node_a, node_a, node_b, node_b, node_m, node_m };
	const int to_c[4] = { node_b, node_c, node_b, node_b };
	const int to64[4] = { node_b, node_b, 64, node_b };
	const int tominus[4] = { -1, node_b, node_b, node_b };
	int to_m[NPAGES], to_b[NPAGES];
	void *pages[NPAGES];
	int status[NPAGES], i;
	unsigned long base;
	struct res r;
	struct kid k;
	struct kid_out o;

	for (i = 0; i < NPAGES; i++) {
		to_m[i] = node_m;
		to_b[i] = node_b;
	}
	base = region_map(5, NPAGES);
	for (i = 0; i < NPAGES; i++)
		pages[i] = (void *)(base + pg(i));
	sys_mbind(base, pg(NPAGES), MP_BIND, M("b"), MAXN, 0);
	touch(base, 8);
	read_touch(base + pg(8), 2);
	munmap((void *)(base + pg(11)), pg(1));
	r = CALL(sys_move_pages(0, NPAGES, pages, NULL, status, 0));
	st_status_list("status", status, NPAGES);
	report("move.query.touched-zero-untouched-unmapped", r);
	sys_mbind(base, pg(11), MP_DEFAULT, NULL, 0, 0);

	move_case("move.to-m", base, 8, to_m, 0);
	move_case("move.to-m-again", base, 8, to_m, 0);
	move_case("move.mixed", base, NPAGES, mixed, 0);
	move_case("move.to-b.move-flag", base, 8, to_b, MP_MF_MOVE);
	move_case("move.to-b.zero-untouched-unmapped", base + pg(7), 5, to_b, 0);
	move_case("move.to-c-nomem", base, 4, to_c, 0);
	move_case("move.to-node-64", base, 4, to64, 0);
	move_case("move.to-node-minus-1", base, 4, tominus, 0);
	move_case("move.flags.strict", base, 4, to_m, MP_MF_STRICT);
	move_case("move.flags.bit3", base, 4, to_m, 1 << 3);
	move_case("move.move-all.root", base, 4, to_m, MP_MF_MOVE_ALL);

	r = CALL(sys_move_pages(0, 0, pages, NULL, status, 0));
	report("move.count-0", r);
	r = CALL(sys_move_pages(0, 4, (void **)fault_page, NULL, status, 0));
	report("move.efault.pages.query", r);
	r = CALL(sys_move_pages(0, 4, pages, NULL, (int *)fault_page, 0));
	report("move.efault.status.query", r);
	r = CALL(sys_move_pages(0, 4, (void **)fault_page, to_b, status, 0));
	report("move.efault.pages.move", r);
	for (i = 0; i < 4; i++)
		status[i] = -9999;
	r = CALL(sys_move_pages(0, 4, pages, (const int *)fault_page, status, 0));
	st_status_list("status", status, 4);
	report("move.efault.nodes", r);
	r = CALL(sys_move_pages(INT_MAX, 4, pages, NULL, status, 0));
	report("move.esrch", r);
	region_unmap(5, NPAGES);

	/* Pages shared copy-on-write with a child. */
	base = region_map(5, 4);
	touch(base, 4);
	if (kid_start(&k, kid_nothing, NULL, &o, sizeof(o)) == 0) {
		move_case("move.cow-shared.move", base, 4, to_b, MP_MF_MOVE);
		move_case("move.cow-shared.move-all", base, 4, to_b, MP_MF_MOVE_ALL);
		kid_finish(&k);
	}
	region_unmap(5, 4);

	/* Another process's pages, by pid. */
	base = region_map(0, NPAGES);
	if (kid_start(&k, kid_touch_bound, NULL, &o, sizeof(o)) == 0) {
		for (i = 0; i < NPAGES; i++) {
			pages[i] = (void *)(base + pg(i));
			status[i] = -9999;
		}
		r = CALL(sys_move_pages(k.pid, NPAGES, pages, to_m, status, 0));
		st_status_list("status", status, NPAGES);
		st_pages_of("kid-pages", k.pid, base, NPAGES);
		st_pages_of("own-pages", 0, base, NPAGES);
		report("move.child.to-m", r);
		kid_finish(&k);
	}
	region_unmap(0, NPAGES);
}

/* ---------------------------------------------------------------- inheritance */

static void kid_report_policy(void *arg, void *out)
{
	struct kid_out *o = out;
	unsigned long m[MASK_WORDS];

	(void)arg;
	memset(m, 0, sizeof(m));
	o->r[0] = CALL(sys_get_mempolicy(&o->mode, m, MAXN, 0, 0));
	o->nodes = m[0];
}

struct thread_arg {
	int set_own;
	int mode;
	unsigned long nodes;
	struct res r;
};

static void *thread_fn(void *p)
{
	struct thread_arg *a = p;
	unsigned long m[MASK_WORDS];

	if (a->set_own)
		sys_set_mempolicy(MP_BIND, M("m"), MAXN);
	memset(m, 0, sizeof(m));
	a->r = CALL(sys_get_mempolicy(&a->mode, m, MAXN, 0, 0));
	a->nodes = m[0];
	return NULL;
}

static void st_raw(const char *key, int mode, unsigned long nodes)
{
	char a[64], b[256];

	st("%s=%s:%s", key, modename(mode, a, sizeof(a)), nodelist(&nodes, 64, b, sizeof(b)));
}

static void run_inherit_cases(void)
{
	struct thread_arg ta;
	struct kid_out o;
	pthread_t t;
	struct kid k;
	struct res r;

	r = CALL(sys_set_mempolicy(MP_INTERLEAVE | MP_F_STATIC, M("a,b,m"), MAXN));
	memset(&o, 0, sizeof(o));
	if (kid_start(&k, kid_report_policy, NULL, &o, sizeof(o)) == 0) {
		kid_finish(&k);
		st_raw("child", o.mode, o.nodes);
		st("child-ret=%ld child-errno=%s", o.r[0].ret, errname(o.r[0].err));
	}
	st_pol();
	report("inherit.fork", r);

	r = CALL(sys_set_mempolicy(MP_PREFERRED_MANY, M("b,m"), MAXN));
	memset(&ta, 0, sizeof(ta));
	if (pthread_create(&t, NULL, thread_fn, &ta) == 0) {
		pthread_join(t, NULL);
		st_raw("thread", ta.mode, ta.nodes);
	}
	st_pol();
	report("inherit.thread", r);

	r = CALL(sys_set_mempolicy(MP_BIND, M("b"), MAXN));
	memset(&ta, 0, sizeof(ta));
	ta.set_own = 1;
	if (pthread_create(&t, NULL, thread_fn, &ta) == 0) {
		pthread_join(t, NULL);
		st_raw("thread", ta.mode, ta.nodes);
	}
	st_pol();
	report("thread.own-policy-is-per-thread", r);
}

/* ---------------------------------------------------------------- cpusets */

/*
 * The same calls from a task whose cpuset allows only nodes b and m: the series makes the node
 * computations use the target's mems_allowed, which for these calls must stay the caller's.
 * A child runs the cases inside a cgroup v2 cpuset and sends its lines to the parent, which
 * prints them.
 */
#define CG_ROOT "/sys/fs/cgroup"
#define CG_DIR CG_ROOT "/taskmpol-regression"

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, text, strlen(text));
	if (n < 0) {
		int e = errno;

		close(fd);
		return e;
	}
	close(fd);
	return 0;
}

static void cpuset_cases(void)
{
	void *pages[NPAGES];
	int status[NPAGES], nodes[NPAGES], i;
	unsigned long base;
	struct res r;

	r = CALL(sys_get_mempolicy(NULL, M(""), MAXN, 0, MP_F_MEMS_ALLOWED));
	st_policy_at("allowed", 0, MP_F_MEMS_ALLOWED);
	report("cpuset.mems-allowed", r);

	base = region_map(6, NPAGES);
	r = CALL(sys_set_mempolicy(MP_BIND, M("a,b,m"), MAXN));
	st_pol();
	touch(base, NPAGES);
	st_page_nodes(base, NPAGES);
	report("cpuset.set.bind.a+b+m", r);
	region_unmap(6, NPAGES);

	r = CALL(sys_set_mempolicy(MP_BIND, M("a"), MAXN));
	st_pol();
	report("cpuset.set.bind.a-outside", r);

	base = region_map(6, NPAGES);
	r = CALL(sys_set_mempolicy(MP_BIND | MP_F_STATIC, M("a,b,m"), MAXN));
	st_pol();
	touch(base, NPAGES);
	st_page_nodes(base, NPAGES);
	report("cpuset.set.bind.static.a+b+m", r);
	region_unmap(6, NPAGES);

	base = region_map(6, NPAGES);
	r = CALL(sys_set_mempolicy(MP_INTERLEAVE | MP_F_RELATIVE, M("0-1"), MAXN));
	st_pol();
	touch(base, NPAGES);
	st_page_nodes(base, NPAGES);
	report("cpuset.set.interleave.relative.bits0-1", r);
	region_unmap(6, NPAGES);

	r = CALL(sys_set_mempolicy(MP_PREFERRED, M("a"), MAXN));
	st_pol();
	report("cpuset.set.prefer.a-outside", r);

	base = region_map(6, NPAGES);
	r = CALL(sys_set_mempolicy(MP_PREFERRED | MP_F_RELATIVE, M("0"), MAXN));
	st_pol();
	touch(base, NPAGES);
	st_page_nodes(base, NPAGES);
	report("cpuset.set.prefer.relative.bit0", r);
	region_unmap(6, NPAGES);

	base = region_map(6, NPAGES);
	r = CALL(sys_mbind(base, pg(NPAGES), MP_INTERLEAVE, M("a,b,m"), MAXN, 0));
	st_vma("vma", base);
	touch(base, NPAGES);
	st_pages(base, NPAGES);
	report("cpuset.mbind.interleave.a+b+m", r);
	r = CALL(sys_mbind(base, pg(NPAGES), MP_BIND, M("a"), MAXN, MP_MF_MOVE));
	st_vma("vma", base);
	st_pages(base, NPAGES);
	report("cpuset.mbind.bind.a-outside", r);
	r = CALL(sys_mbind(base, pg(NPAGES), MP_BIND | MP_F_RELATIVE, M("1"), MAXN, MP_MF_MOVE));
	st_vma("vma", base);
	st_pages(base, NPAGES);
	report("cpuset.mbind.bind.relative.bit1-move", r);

	for (i = 0; i < NPAGES; i++) {
		pages[i] = (void *)(base + pg(i));
		nodes[i] = node_a;
		status[i] = -9999;
	}
	r = CALL(sys_move_pages(0, NPAGES, pages, nodes, status, 0));
	st_status_list("status", status, NPAGES);
	st_pages(base, NPAGES);
	report("cpuset.move.to-a-outside", r);

	r = CALL(sys_migrate_pages(0, MAXN, M("m"), M("a")));
	st_pages(base, NPAGES);
	report("cpuset.migrate.m-to-a-outside", r);
	r = CALL(sys_migrate_pages(0, MAXN, M("m"), M("a,b")));
	st_pages(base, NPAGES);
	report("cpuset.migrate.m-to-a+b", r);
	region_unmap(6, NPAGES);
}

static void run_cpuset_cases(void)
{
	char buf[4096], ctl[256], mems[32];
	int up[2], down[2], err;
	ssize_t n;
	pid_t pid;
	int st_;

	read_sysfs(CG_ROOT "/cgroup.controllers", ctl, sizeof(ctl));
	if (!strstr(ctl, "cpuset")) {
		emit("cpuset: unavailable (no cgroup v2 cpuset controller at " CG_ROOT ")\n");
		return;
	}
	read_sysfs(CG_ROOT "/cgroup.subtree_control", ctl, sizeof(ctl));
	if (!strstr(ctl, "cpuset"))
		write_file(CG_ROOT "/cgroup.subtree_control", "+cpuset");
	rmdir(CG_DIR);
	if (mkdir(CG_DIR, 0755)) {
		emit("cpuset: cannot create " CG_DIR ": %s\n", errname(errno));
		return;
	}
	snprintf(mems, sizeof(mems), "%d,%d", node_b, node_m);
	err = write_file(CG_DIR "/cpuset.mems", mems);
	if (err) {
		emit("cpuset: cannot set cpuset.mems=b,m: %s\n", errname(err));
		rmdir(CG_DIR);
		return;
	}
	if (pipe(up) || pipe(down)) {
		rmdir(CG_DIR);
		return;
	}
	pid = fork();
	if (pid == 0) {
		char c;

		close(up[0]);
		close(down[1]);
		if (read(down[0], &c, 1) != 1 || c != 'g')
			_exit(1);
		out_fd = up[1];
		summing = 0;
		cpuset_cases();
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	snprintf(ctl, sizeof(ctl), "%d", (int)pid);
	err = pid < 0 ? EAGAIN : write_file(CG_DIR "/cgroup.procs", ctl);
	if (err) {
		emit("cpuset: cannot move the child into " CG_DIR ": %s\n", errname(err));
		if (pid > 0)
			kill(pid, SIGKILL);
	} else if (write(down[1], "g", 1) != 1) {
		kill(pid, SIGKILL);
	}
	close(down[1]);
	/* The child's lines, one at a time, through emit() so that they are summed. */
	{
		char linebuf[8192];
		size_t used = 0;

		while ((n = read(up[0], buf, sizeof(buf))) != 0) {
			ssize_t k;

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			for (k = 0; k < n; k++) {
				if (used < sizeof(linebuf) - 1)
					linebuf[used++] = buf[k];
				if (buf[k] == '\n') {
					linebuf[used] = '\0';
					emit("%s", linebuf);
					if (strstr(linebuf, ": ret="))
						cases++;
					used = 0;
				}
			}
		}
	}
	close(up[0]);
	if (pid > 0)
		while (waitpid(pid, &st_, 0) < 0 && errno == EINTR)
			;
	if (rmdir(CG_DIR))
		emit("cpuset: cannot remove " CG_DIR ": %s\n", errname(errno));
}

/* ================================================================= main */

int main(void)
{
	void *fp;

	page_size = sysconf(_SC_PAGESIZE);
	memset(state, 0, sizeof(state));
	memset(line, 0, sizeof(line));
	memset(mask_pool, 0, sizeof(mask_pool));
	prefault_stack();
	detect_roles();
	pin_to_node_a();
	quiesce();
	sys_set_mempolicy(MP_DEFAULT, NULL, 0);

	/* Two pages: the first readable and writable (for MK_EDGE), the second PROT_NONE. */
	fp = mmap((void *)(REGION_BASE - 2 * REGION_STRIDE), pg(2), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (fp == MAP_FAILED || mprotect((char *)fp + pg(1), pg(1), PROT_NONE)) {
		emit("FATAL: cannot map the fault page: %s\n", strerror(errno));
		return 2;
	}
	memset(fp, 0, pg(1));
	fault_page = (unsigned long)fp + pg(1);

	cksum_init();
	emit("%s\n", TRANSCRIPT_BEGIN);
	summing = 1;
	print_topology();
	run_set_cases();
	run_mbind_arg_cases();
	run_get_cases();
	run_mbind_cases();
	run_home_node_cases();
	run_migrate_cases();
	run_move_cases();
	run_inherit_cases();
	run_cpuset_cases();
	emit("cases: %d\n", cases);
	summing = 0;
	emit("%s cksum=%u %lu\n", TRANSCRIPT_END, cksum_final(), sum_len);
	return 0;
}
