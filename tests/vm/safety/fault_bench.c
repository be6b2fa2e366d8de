// SPDX-License-Identifier: MIT
/*
 * fault_bench: the cost of what the series must not slow down, measured with stock calls only so
 * that the same binary runs on the stock and the patched kernel (fastpath.sh boots both
 * alternately with -icount, guest time counting instructions, and compares):
 *
 *   - an anonymous page fault (allocation included) under the task policies the series can
 *     install: default, bind, interleave, weighted interleave;
 *   - the caller's own get_mempolicy(2), plain (mode and a 1024-node mask) and with
 *     MPOL_F_NODE|MPOL_F_ADDR on a present page, for a task without a policy: the self path
 *     that the series reroutes; getppid(2) is the control (the same on both kernels);
 *
 *   fault_bench [--rounds N] [--mib N] [--calls N]
 *
 * Output, one line per measurement:  fault-bench: <name> <median ns> (<N> rounds of <M> ...)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "safety.h" /* the MPOL_* values; fault_bench itself makes stock calls only */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum call { CALL_GETPPID, CALL_GET_MEMPOLICY, CALL_GET_MEMPOLICY_NODE_ADDR };

/* The median over @rounds of the mean cost of @calls calls of @what, in ns. */
static double time_calls(enum call what, int rounds, int calls, double *samples, const char *page)
{
	unsigned long mask[1024 / (8 * sizeof(unsigned long))];
	int mode;

	for (int r = -1; r < rounds; r++) { /* round -1 warms up */
		double t0 = now_ns();

		for (int i = 0; i < calls; i++) {
			long ret;

			switch (what) {
			case CALL_GETPPID:
				ret = syscall(SYS_getppid);
				break;
			case CALL_GET_MEMPOLICY:
				ret = syscall(SYS_get_mempolicy, &mode, mask, 1025UL, 0UL, 0UL);
				break;
			default:
				ret = syscall(SYS_get_mempolicy, &mode, NULL, 0UL, (unsigned long)page,
					      (unsigned long)(MPOL_F_NODE | MPOL_F_ADDR));
				break;
			}
			if (ret < 0) {
				perror("fault_bench: call");
				exit(1);
			}
		}
		if (r >= 0)
			samples[r] = (now_ns() - t0) / calls;
	}
	qsort(samples, (size_t)rounds, sizeof(*samples), cmp_double);
	return samples[rounds / 2];
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int mode;
	} policies[] = {
		{ "default", MPOL_DEFAULT },
		{ "bind", MPOL_BIND },
		{ "interleave", MPOL_INTERLEAVE },
		{ "weighted-interleave", MPOL_WEIGHTED_INTERLEAVE },
	};
	unsigned long all = 0;
	static const struct {
		const char *name;
		enum call what;
	} calls[] = {
		{ "getppid", CALL_GETPPID },
		{ "get_mempolicy", CALL_GET_MEMPOLICY },
		{ "get_mempolicy-node-addr", CALL_GET_MEMPOLICY_NODE_ADDR },
	};
	int rounds = 15, mib = 32, ncalls = 20000;
	size_t len, pages;
	double *samples;
	char buf[128], *p;
	FILE *f;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--mib"))
			mib = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--calls"))
			ncalls = atoi(argv[i + 1]);
	}
	if (rounds < 1 || mib < 1 || ncalls < 1) {
		fprintf(stderr, "usage: fault_bench [--rounds N] [--mib N] [--calls N]\n");
		return 2;
	}
	len = (size_t)mib << 20;
	pages = len / 4096;
	samples = calloc((size_t)rounds, sizeof(*samples));

	/* The nodes with memory: bind and interleave use all of them (<= 64 here). */
	f = fopen("/sys/devices/system/node/has_memory", "r");
	if (!f || !fgets(buf, sizeof(buf), f) || !samples)
		return 2;
	fclose(f);
	for (p = buf; *p && *p != '\n';) {
		long a = strtol(p, &p, 10), b = a;

		if (*p == '-')
			b = strtol(p + 1, &p, 10);
		for (long n = a; n <= b && n < 64; n++)
			all |= 1UL << n;
		if (*p == ',')
			p++;
	}

	for (size_t k = 0; k < sizeof(policies) / sizeof(policies[0]); k++) {
		unsigned long *mask = policies[k].mode == MPOL_DEFAULT ? NULL : &all;

		if (syscall(SYS_set_mempolicy, policies[k].mode, mask, mask ? 65UL : 0UL)) {
			perror("fault_bench: set_mempolicy");
			return 1;
		}
		for (int r = -1; r < rounds; r++) { /* round -1 warms up */
			char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			double t0;

			if (m == MAP_FAILED)
				return 2;
			/* No transparent huge pages: every 4 KiB page is one fault and one allocation. */
			madvise(m, len, MADV_NOHUGEPAGE);
			t0 = now_ns();
			for (size_t i = 0; i < len; i += 4096)
				m[i] = 1;
			if (r >= 0)
				samples[r] = (now_ns() - t0) / (double)pages;
			munmap(m, len);
		}
		qsort(samples, (size_t)rounds, sizeof(*samples), cmp_double);
		printf("fault-bench: %s %.1f (%d rounds of %zu pages)\n", policies[k].name,
		       samples[rounds / 2], rounds, pages);
	}
	syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0UL);

	/* The caller's own queries, with no task policy (the common case) and a present page. */
	{
		char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (page == MAP_FAILED)
			return 2;
		page[0] = 1;
		for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
			printf("fault-bench: %s %.1f (%d rounds of %d calls)\n", calls[k].name,
			       time_calls(calls[k].what, rounds, ncalls, samples, page), rounds, ncalls);
		munmap(page, 4096);
	}
	return 0;
}
