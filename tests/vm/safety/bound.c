// SPDX-License-Identifier: MIT
/*
 * bound: a target that does not run must not absorb kernel memory, however often its policy is
 * changed (series v2: at most one pending change per task).
 *
 *   bound [--sets N] [--check-memavailable]
 *
 * For each kind of target that does not return to user mode -- stopped by SIGSTOP, asleep in
 * read() of an empty pipe, stopped by ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT) -- it makes N
 * (default 100000) set_task_mempolicy() calls through a pidfd, alternating two policies, and
 * samples the numa_policy slab objects and MemAvailable before, half way, at the end, after the
 * target has run (it then reports the policy it runs with) and after it has exited and been
 * reaped. It fails when the target was not in the state meant (stopped, asleep, ptrace-stopped:
 * /proc/<pid>/stat before and after the sets, and no report from it meanwhile), when the slab
 * grows by more than a few objects during the sets, when it is not back at its baseline after the
 * exit, or when the target does not run with the last policy set. --check-memavailable also
 * requires MemAvailable to stay within 8 MiB of its baseline during the sets and after the reap
 * (not under KASAN, whose quarantine holds freed memory for a while).
 *
 * Output: one line per target kind, "bound: <kind>: ..." with every sample.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safety.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Growth of the numa_policy slab that a bounded kernel stays under during N sets. */
#define MAX_GROWTH 8

enum kind { STOPPED, PIPE_READ, PTRACED };
static const char *const kind_name[] = { "SIGSTOP", "read-of-empty-pipe", "ptrace-stop" };

static long mem_available_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The state letter of /proc/<pid>/stat ('S' asleep, 'T' stopped, 't' ptrace-stopped), or '?'. */
static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] ? p[2] : '?';
}

/* Did the target get back to user mode (and so report) while it was meant not to run? */
static bool has_reported(int report_fd)
{
	struct pollfd p = { .fd = report_fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

static long set_policy(int pidfd, int mode, unsigned long mask)
{
	return syscall(NR_set_task_mempolicy, pidfd, mode, &mask, 65UL, 0U);
}

/*
 * The target: waits as @kind says, then reports on @report the mode its own get_mempolicy()
 * gives, i.e. the policy it runs with once it is back in user mode, and waits to be killed.
 */
static void target_main(enum kind kind, int wake_fd, int report_fd)
{
	int mode = -1;
	char c;

	if (kind == PIPE_READ) {
		if (read(wake_fd, &c, 1) != 1)
			_exit(3);
	} else {
		pause(); /* the parent stops it; SIGCONT / PTRACE_CONT resumes and pause() goes on */
	}
	if (syscall(SYS_get_mempolicy, &mode, NULL, 0UL, 0UL, 0UL))
		_exit(4);
	if (write(report_fd, &mode, sizeof(mode)) != sizeof(mode))
		_exit(5);
	for (;;)
		pause();
}

static void on_usr1(int sig)
{
	(void)sig;
}

static int run(enum kind kind, long sets, bool check_mem, unsigned long mask_a, unsigned long mask_b)
{
	static const char want_state[] = { 'T', 'S', 't' };
	int wake[2], report[2], pidfd, status, mode = -1, last_mode;
	long obj[5] = { 0 }, mem[5] = { 0 }, err = 0, i;
	char state[2];
	pid_t pid;
	bool ok = true;

	if (pipe(wake) || pipe(report))
		return perror("bound: pipe"), 1;
	signal(SIGUSR1, on_usr1);
	pid = fork();
	if (pid < 0)
		return perror("bound: fork"), 1;
	if (pid == 0)
		target_main(kind, wake[0], report[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0U);
	if (pidfd < 0)
		return perror("bound: pidfd_open"), 1;

	usleep(200 * 1000); /* the target reaches pause() / read() */
	if (kind == STOPPED) {
		kill(pid, SIGSTOP);
		waitpid(pid, &status, WUNTRACED);
	} else if (kind == PTRACED) {
		if (ptrace(PTRACE_SEIZE, pid, 0, 0) || ptrace(PTRACE_INTERRUPT, pid, 0, 0))
			return perror("bound: ptrace"), 1;
		waitpid(pid, &status, __WALL);
	}

	state[0] = task_state(pid);
	obj[0] = numa_policy_objects();
	mem[0] = mem_available_kib();
	for (i = 0; i < sets && !err; i++) {
		if (i == sets / 2) {
			obj[1] = numa_policy_objects();
			mem[1] = mem_available_kib();
		}
		err = i % 2 ? set_policy(pidfd, MPOL_BIND, mask_b)
			    : set_policy(pidfd, MPOL_INTERLEAVE, mask_a);
	}
	if (err) {
		fprintf(stderr, "bound: %s: set %ld failed: %s\n", kind_name[kind], i, strerror(errno));
		return 1;
	}
	last_mode = (sets - 1) % 2 ? MPOL_BIND : MPOL_INTERLEAVE;
	obj[2] = numa_policy_objects();
	mem[2] = mem_available_kib();
	state[1] = task_state(pid);
	if (state[0] != want_state[kind] || state[1] != want_state[kind] || has_reported(report[0])) {
		printf("bound: %s: FAIL: the target was not kept from running (state %c before the sets, "
		       "%c after, want %c%s)\n", kind_name[kind], state[0], state[1], want_state[kind],
		       has_reported(report[0]) ? "; it returned to user mode meanwhile" : "");
		ok = false;
	}

	/* Let it run: it installs the pending change on its way back to user mode. */
	if (kind == STOPPED)
		kill(pid, SIGCONT);
	else if (kind == PTRACED)
		ptrace(PTRACE_DETACH, pid, 0, 0);
	if (kind == PIPE_READ && write(wake[1], "x", 1) != 1)
		return 1;
	if (kind != PIPE_READ)
		kill(pid, SIGUSR1); /* ends pause() (the handler is inherited) */
	if (read(report[0], &mode, sizeof(mode)) != sizeof(mode))
		return fprintf(stderr, "bound: %s: no report from the target\n", kind_name[kind]), 1;
	obj[3] = numa_policy_objects();
	mem[3] = mem_available_kib();

	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
	close(pidfd);
	obj[4] = numa_policy_objects();
	mem[4] = mem_available_kib();

	printf("bound: %s: %ld sets; numa_policy objects: before %ld, half way %ld, at the end %ld, "
	       "target ran %ld, target reaped %ld; MemAvailable kB: %ld %ld %ld %ld %ld; the target runs "
	       "with mode %d (last set: %d)\n",
	       kind_name[kind], sets, obj[0], obj[1], obj[2], obj[3], obj[4], mem[0], mem[1], mem[2],
	       mem[3], mem[4], mode, last_mode);
	if (obj[0] < 0) {
		printf("bound: %s: numa_policy is not listed in /proc/slabinfo (boot with slab_nomerge)\n",
		       kind_name[kind]);
		ok = false;
	} else if (obj[1] - obj[0] > MAX_GROWTH || obj[2] - obj[0] > MAX_GROWTH) {
		printf("bound: %s: FAIL: the slab grew by %ld objects during the sets (bound %d)\n",
		       kind_name[kind], obj[2] - obj[0], MAX_GROWTH);
		ok = false;
	} else if (obj[4] > obj[0]) {
		printf("bound: %s: FAIL: %ld numa_policy objects not freed after the target exited\n",
		       kind_name[kind], obj[4] - obj[0]);
		ok = false;
	}
	if (mode != last_mode) {
		printf("bound: %s: FAIL: the target runs with mode %d, not the last one set (%d)\n",
		       kind_name[kind], mode, last_mode);
		ok = false;
	}
	if (check_mem && (mem[0] - mem[1] > 8192 || mem[0] - mem[2] > 8192)) {
		printf("bound: %s: FAIL: MemAvailable fell by %ld kB during the sets\n", kind_name[kind],
		       mem[0] - (mem[1] < mem[2] ? mem[1] : mem[2]));
		ok = false;
	}
	if (check_mem && mem[0] - mem[4] > 8192) {
		printf("bound: %s: FAIL: MemAvailable is %ld kB below its baseline after the reap\n",
		       kind_name[kind], mem[0] - mem[4]);
		ok = false;
	}
	close(wake[0]);
	close(wake[1]);
	close(report[0]);
	close(report[1]);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned long mask_a = 0, mask_b = 0;
	bool check_mem = false;
	long sets = 100000;
	char buf[64];
	int failed = 0;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sets") && i + 1 < argc)
			sets = atol(argv[++i]);
		else if (!strcmp(argv[i], "--check-memavailable"))
			check_mem = true;
		else
			return fprintf(stderr, "usage: bound [--sets N] [--check-memavailable]\n"), 2;
	}
	f = fopen("/sys/kernel/mm/mempolicy/task_mempolicy_abi", "r");
	if (!f || !fgets(buf, sizeof(buf), f) || strcmp(buf, "2\n")) {
		printf("bound: SKIP: the kernel does not have the task mempolicy ABI 2\n");
		return 77;
	}
	fclose(f);
	/* Two policies over the nodes with memory of the test VM (0, 1 and 3). */
	mask_a = (1UL << 0) | (1UL << 1);
	mask_b = 1UL << 1;
	for (enum kind k = STOPPED; k <= PTRACED; k++)
		failed |= run(k, sets, check_mem, mask_a, mask_b);
	printf("bound: %s\n", failed ? "FAIL" : "PASS");
	return failed;
}
