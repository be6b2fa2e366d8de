// SPDX-License-Identifier: MIT
/*
 * move_bench: what moving a running process's memory costs three ways, in one boot of the patched
 * kernel (tests/vm/bench/move.sh runs it under -icount):
 *
 *   local       the process calls mbind(MPOL_BIND to, MPOL_MF_MOVE) on its own range
 *   task_mbind  another process calls task_mbind() with the same arguments on it
 *   move_pages  another process calls move_pages(2) with every page of the range and the node,
 *               what a daemon does today (and that sets no policy)
 *
 *   move_bench [--mib N] [--rounds N] [--from NODE] [--to NODE] [--thp] [--target RATIO]
 *              [--local-only]
 *
 * --local-only measures the local mbind() alone, on any kernel (the stock one too), and prints
 * "move-bench: local SECONDS" per round: move.sh --ab compares stock and patched kernels with it,
 * since the series changes mbind()'s migration path.
 *
 * Each round moves the range from one node to the other once per method, in a rotating order,
 * with a move back (untimed) before each, and checks with move_pages(2) as a query that every
 * page landed. Reports the median per method, its time per GiB and its ratio to local. Exit 0
 * when task_mbind's median is within --target (default 1.10) of local's, 1 otherwise, 2 on a
 * setup error, 77 on a kernel without the series (ABI 2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../safety/safety.h"

enum method { LOCAL, REMOTE, MOVE_PAGES, METHODS };
static const char *const method_names[METHODS] = { "local mbind", "task_mbind", "move_pages" };

struct cmd {
	int to; /* node to move the range to */
};

struct reply {
	long ret; /* 0 or -errno */
	double seconds;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "move_bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long bind_move(void *addr, size_t len, int node)
{
	unsigned long mask[16] = { 0 };

	mask[node / 64] |= 1UL << (node % 64);
	return syscall(SYS_mbind, addr, len, MPOL_BIND, mask, 16 * 64 + 1, MPOL_MF_MOVE | MPOL_MF_STRICT) ? -errno
													 : 0;
}

/* The target: map and fault the range on from, then move it on request, timing its own mbind(). */
static void target(int in, int out, size_t len, int from, bool thp)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct reply r = { 0 };
	struct cmd c;

	if (p == MAP_FAILED || madvise(p, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		_exit(2);
	if (bind_move(p, len, from))
		_exit(2);
	memset(p, 1, len);
	r.ret = (long)(uintptr_t)p;
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	while (read(in, &c, sizeof(c)) == sizeof(c)) {
		double t0 = now();

		r.ret = bind_move(p, len, c.to);
		r.seconds = now() - t0;
		if (write(out, &r, sizeof(r)) != sizeof(r))
			_exit(2);
	}
	_exit(0);
}

static struct reply ask(int req, int rsp, int to)
{
	struct cmd c = { .to = to };
	struct reply r;

	if (write(req, &c, sizeof(c)) != sizeof(c) || read(rsp, &r, sizeof(r)) != sizeof(r))
		die("target");
	return r;
}

/* Every page of the range on node, by move_pages(2) as a query. */
static long pages_off(pid_t pid, void **pages, int *status, long n, int node)
{
	long off = 0;

	if (syscall(SYS_move_pages, pid, n, pages, NULL, status, 0))
		die("move_pages query");
	for (long i = 0; i < n; i++)
		off += status[i] != node;
	return off;
}

int main(int argc, char **argv)
{
	long mib = 256, rounds = 3, n;
	int from = 0, to = 1, req[2], rsp[2], pidfd, *nodes, *status;
	double target_ratio = 1.10, times[METHODS][64];
	bool thp = false, local_only = false;
	char abi[8] = "";
	void **pages;
	char *base;
	pid_t pid;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--from") && i + 1 < argc)
			from = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--target") && i + 1 < argc)
			target_ratio = atof(argv[++i]);
		else if (!strcmp(argv[i], "--thp"))
			thp = true;
		else if (!strcmp(argv[i], "--local-only"))
			local_only = true;
		else {
			fprintf(stderr, "usage: move_bench [--mib N] [--rounds N] [--from NODE] [--to NODE] [--thp] "
					"[--target RATIO]\n");
			return 2;
		}
	}
	if (mib < 1 || rounds < 1 || rounds > 64 || from < 0 || to < 0 || from == to || from >= 1024 || to >= 1024) {
		fprintf(stderr, "move_bench: bad arguments\n");
		return 2;
	}
	f = fopen("/sys/kernel/mm/mempolicy/task_mempolicy_abi", "r");
	if (!local_only && (!f || !fgets(abi, sizeof(abi), f) || strcmp(abi, "2\n"))) {
		printf("move_bench: SKIP: the kernel does not have the task mempolicy calls (ABI 2)\n");
		return 77;
	}
	if (f)
		fclose(f);

	size_t len = (size_t)mib << 20;
	n = (long)(len / 4096);
	pages = calloc(n, sizeof(*pages));
	nodes = calloc(n, sizeof(*nodes));
	status = calloc(n, sizeof(*status));
	if (!pages || !nodes || !status || pipe(req) || pipe(rsp))
		die("setup");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		close(req[1]);
		close(rsp[0]);
		target(req[0], rsp[1], len, from, thp);
	}
	close(req[0]);
	close(rsp[1]);
	struct reply first;

	if (read(rsp[0], &first, sizeof(first)) != sizeof(first))
		die("the target did not start");
	base = (char *)(uintptr_t)first.ret;
	pidfd = local_only ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
	if (!local_only && pidfd < 0)
		die("pidfd_open");
	for (long i = 0; i < n; i++) {
		pages[i] = base + i * 4096;
		nodes[i] = to;
	}
	if (pages_off(pid, pages, status, n, from)) {
		fprintf(stderr, "move_bench: the range is not on node %d to begin with\n", from);
		return 2;
	}
	printf("move_bench: %ld MiB (%ld pages, %s) from node %d to node %d, %ld rounds\n", mib, n,
	       thp ? "THP allowed" : "base pages", from, to, rounds);

	for (long r = 0; r < rounds; r++) {
		for (int k = 0; k < (local_only ? 1 : METHODS); k++) {
			int m = local_only ? LOCAL : (int)((k + r) % METHODS);
			unsigned long mask[16] = { 0 };
			struct task_mbind_args a;
			double t0, t;
			long ret;

			if (ask(req[1], rsp[0], from).ret || pages_off(pid, pages, status, n, from)) {
				fprintf(stderr, "move_bench: cannot move the range back to node %d\n", from);
				return 2;
			}
			switch (m) {
			case LOCAL: {
				struct reply rep = ask(req[1], rsp[0], to);

				ret = rep.ret;
				t = rep.seconds;
				break;
			}
			case REMOTE:
				mask[to / 64] |= 1UL << (to % 64);
				a = (struct task_mbind_args){ .pidfd = pidfd, .mode = MPOL_BIND,
							      .start = (uint64_t)(uintptr_t)base, .len = len,
							      .nmask = (uint64_t)(uintptr_t)mask, .maxnode = 16 * 64 + 1,
							      .flags = MPOL_MF_MOVE | MPOL_MF_STRICT };
				t0 = now();
				ret = syscall(NR_task_mbind, &a, sizeof(a)) ? -errno : 0;
				t = now() - t0;
				break;
			default:
				t0 = now();
				ret = syscall(SYS_move_pages, pid, n, pages, nodes, status, MPOL_MF_MOVE);
				t = now() - t0;
				ret = ret < 0 ? -errno : ret;
				break;
			}
			long off = pages_off(pid, pages, status, n, to);

			if (ret || off) {
				fprintf(stderr, "move_bench: %s: returned %ld, %ld of %ld pages not on node %d\n",
					method_names[m], ret, off, n, to);
				return 1;
			}
			times[m][r] = t;
			printf("  round %ld: %-11s %8.3f s\n", r + 1, method_names[m], t);
			if (local_only)
				printf("move-bench: local %.6f\n", t);
		}
	}
	close(req[1]);
	waitpid(pid, NULL, 0);
	if (local_only)
		return 0;

	double median[METHODS];

	for (int m = 0; m < METHODS; m++) {
		qsort(times[m], rounds, sizeof(double), cmp_double);
		median[m] = rounds % 2 ? times[m][rounds / 2] : (times[m][rounds / 2 - 1] + times[m][rounds / 2]) / 2;
	}
	printf("\n  %-11s %10s %10s %12s\n", "method", "median s", "s per GiB", "vs local");
	for (int m = 0; m < METHODS; m++)
		printf("  %-11s %10.3f %10.3f %11.3fx\n", method_names[m], median[m], median[m] * 1024 / mib,
		       median[m] / median[LOCAL]);
	double ratio = median[REMOTE] / median[LOCAL];

	printf("move_bench: task_mbind / local = %.3f (target <= %.2f): %s\n", ratio, target_ratio,
	       ratio <= target_ratio ? "PASS" : "FAIL");
	return ratio <= target_ratio ? 0 : 1;
}
