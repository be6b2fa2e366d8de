// SPDX-License-Identifier: MIT
/*
 * faultinject: every slab allocation on the series' new paths is made to fail in turn (failslab,
 * task-filtered to the calling thread). Each call must then either succeed or fail with ENOMEM,
 * a failed call must leave the target's policy as it was, and the numa_policy cache must return
 * to its baseline at the end (nothing leaks on a failure path). Needs the debug kernel
 * (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS); exits 77 with the reason elsewhere.
 *
 * How each allocation is reached: failslab's "space" is a budget of bytes that allocations
 * consume before failures start, and "times" = 1 stops after one failure. Sweeping space from 0
 * upward in small steps fails the first, then the second, ... allocation of the call, until a
 * budget is large enough that the call succeeds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safety.h"

#define FS "/sys/kernel/debug/failslab/"

static int failures;

static void check(int ok, const char *fmt, const char *what, long a, long b)
{
	if (ok)
		return;
	failures++;
	printf("faultinject: FAIL: ");
	printf(fmt, what, a, b);
	printf("\n");
}

/* The target's task policy mode and first mask word. */
static void get_policy(int pidfd, int *mode, unsigned long *nodes)
{
	unsigned long mask[16] = { 0 };

	if (syscall(NR_get_task_mempolicy, pidfd, mode, mask, 1025UL, 0UL, 0UL))
		*mode = -1;
	*nodes = mask[0];
}

/* One call with failslab armed after `space` bytes; returns the call's result (-errno or 0). */
static long armed(long space, long (*call)(void *), void *arg)
{
	char text[32];
	long ret;

	snprintf(text, sizeof(text), "%ld", space);
	write_file(FS "space", text);
	write_file(FS "times", "1");
	write_file("/proc/thread-self/make-it-fail", "1");
	ret = call(arg);
	write_file("/proc/thread-self/make-it-fail", "0");
	write_file(FS "times", "0");
	return ret;
}

struct ctx {
	pid_t pid;	/* for the procfs file */
	int pidfd;	/* for the syscalls */
	int mode;
	unsigned long nodes;
	char text[64];
	struct task_mbind_args mb;
	int fd;	/* the procfs file, opened before failslab is armed */
};

static long do_set(void *p)
{
	struct ctx *c = p;

	return syscall(NR_set_task_mempolicy, c->pidfd, c->mode, &c->nodes, 65UL, 0U) ? -errno : 0;
}

static long do_proc(void *p)
{
	struct ctx *c = p;

	return write(c->fd, c->text, strlen(c->text)) < 0 ? -errno : 0;
}

static long do_mbind(void *p)
{
	struct ctx *c = p;

	return syscall(NR_task_mbind, &c->mb, sizeof(c->mb)) ? -errno : 0;
}

static long do_home(void *p)
{
	struct ctx *c = p;

	return syscall(NR_set_task_mempolicy_home_node, c->pidfd, (unsigned long)c->mb.start,
		       (unsigned long)c->mb.len, 0UL, 0UL) ? -errno : 0;
}

/* Sweeps one kind of call; each round alternates between two policies so a change shows. */
static void sweep(const char *name, long (*call)(void *), struct ctx *c, int task_policy)
{
	int injected = 0, succeeded = 0;

	for (long space = 0; space <= 4096; space += 8) {
		int before_mode, after_mode;
		unsigned long before_nodes, after_nodes;
		long ret;

		if (call == do_home)
			goto call; /* the home node sweep keeps the region bound */
		c->mode = (space / 8) % 2 ? MPOL_BIND : MPOL_INTERLEAVE;
		snprintf(c->text, sizeof(c->text), "%s:%s", c->mode == MPOL_BIND ? "bind" : "interleave",
			 (space / 8) % 2 ? "0" : "0-1");
		c->nodes = (space / 8) % 2 ? 1UL : 3UL;
		c->mb.mode = (uint32_t)c->mode;
call:
		get_policy(c->pidfd, &before_mode, &before_nodes);
		if (call == do_proc) {
			char path[64];

			snprintf(path, sizeof(path), "/proc/%d/mempolicy", c->pid);
			c->fd = open(path, O_WRONLY);
			if (c->fd < 0) {
				check(0, "%s: cannot open it (errno %ld, space %ld)", path, errno, space);
				continue;
			}
		}
		ret = armed(space, call, c);
		if (call == do_proc)
			close(c->fd);
		get_policy(c->pidfd, &after_mode, &after_nodes);
		check(ret == 0 || ret == -ENOMEM, "%s: errno %ld (space %ld): not ENOMEM", name, -ret, space);
		if (ret == -ENOMEM) {
			injected++;
			if (task_policy)
				check(after_mode == before_mode && after_nodes == before_nodes,
				      "%s: a failed call changed the policy (space %ld, mode now %ld)", name, space,
				      after_mode);
		} else if (ret == 0) {
			succeeded++;
			if (task_policy)
				check(after_mode == c->mode && after_nodes == c->nodes,
				      "%s: the policy did not change (space %ld, mode %ld)", name, space, after_mode);
		}
	}
	printf("faultinject: %-22s %3d calls failed with ENOMEM, %3d succeeded\n", name, injected, succeeded);
	check(injected > 0, "%s: no allocation failure was injected (%ld, %ld)", name, 0, 0);
	check(succeeded > 0, "%s: never succeeded, even with a large budget (%ld, %ld)", name, 0, 0);
}

int main(void)
{
	struct ctx c = { 0 };
	struct stat st;
	long before, after = -1;
	char *region;
	pid_t target;

	if (!series_abi_2()) {
		printf("faultinject: SKIP: this kernel does not carry the series with ABI 2 (" TASK_MEMPOLICY_ABI_FILE
		       " does not read 2)\n");
		return 77;
	}
	if (stat(FS "probability", &st)) {
		printf("faultinject: SKIP: no " FS " (needs CONFIG_FAILSLAB and debugfs: the debug kernel)\n");
		return 77;
	}
	write_file(FS "task-filter", "Y");
	/* By default failslab spares allocations that may sleep: every one on these paths does. */
	write_file(FS "ignore-gfp-wait", "N");
	write_file(FS "probability", "100");
	write_file(FS "interval", "1");
	write_file(FS "verbose", "0");
	write_file(FS "times", "0");
	before = numa_policy_objects();

	/* The target: maps a region for the VMA calls, then waits. */
	region = mmap((void *)0x700000000000UL, 1 << 20, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (region == MAP_FAILED)
		return 2;
	target = fork();
	if (target == 0) {
		/* Its own pages, mapped by it alone: a task_mbind() with a move has work to do */
		memset(region, 1, 1 << 16);
		for (;;)
			pause();
	}
	c.pid = target;
	c.pidfd = sys_pidfd_open(target, 0); /* our unreaped child: its pid cannot be recycled yet */
	if (c.pidfd < 0) {
		perror("faultinject: pidfd_open");
		return 2;
	}
	c.mb = (struct task_mbind_args){ .pidfd = c.pidfd, .start = (uint64_t)(uintptr_t)region,
					 .len = 1 << 16, .nmask = (uint64_t)(uintptr_t)&c.nodes, .maxnode = 65 };

	sweep("set_task_mempolicy", do_set, &c, 1);
	sweep("procfs write", do_proc, &c, 1);
	sweep("task_mbind", do_mbind, &c, 0);
	/* A home node needs a bind VMA policy under it. */
	c.nodes = 3;
	c.mb.mode = MPOL_BIND;
	if (do_mbind(&c))
		check(0, "%s: cannot bind the region before the home node sweep (%ld, %ld)", "task_mbind", 0, 0);
	sweep("home node", do_home, &c, 0);
	/* The same range moved between node 0 and nodes 0-1 as its policy alternates */
	c.mb.flags = MPOL_MF_MOVE;
	sweep("task_mbind, moving", do_mbind, &c, 0);

	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	for (int i = 0; i < 50 && (after = numa_policy_objects()) > before; i++)
		usleep(100000);
	printf("faultinject: numa_policy objects: before %ld, after %ld\n", before, after);
	check(before < 0 || after <= before, "%s: %ld policies leaked (before %ld)", "numa_policy",
	      after - before, before);
	printf("faultinject: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
