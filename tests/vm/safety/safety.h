/* SPDX-License-Identifier: MIT */
/*
 * What the safety programs (stress.c, faultinject.c) share: the series' private ABI (version 2:
 * every target is a pidfd), which the guest's libc headers do not know, the check that the running
 * kernel has that ABI, and the numa_policy slab count they compare before and after.
 */
#ifndef TASKMPOL_SAFETY_H
#define TASKMPOL_SAFETY_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* The series' private numbers (Linux 6.12 + kernel/patches only; checked before use). */
#define NR_set_task_mempolicy 463
#define NR_get_task_mempolicy 464
#define NR_set_task_mempolicy_home_node 465
#define NR_task_mbind 466

/* How ABI 2 names a target: a pidfd, or the caller through upstream's sentinels (<linux/pidfd.h>). */
#define TASK_MEMPOLICY_ABI_FILE "/sys/kernel/mm/mempolicy/task_mempolicy_abi"
#define PIDFD_SELF_THREAD (-10000)
#define PIDFD_SELF_THREAD_GROUP (-20000)
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_LOCAL 4
#define MPOL_PREFERRED_MANY 5
#define MPOL_WEIGHTED_INTERLEAVE 6
#define MPOL_F_STATIC_NODES (1 << 15)
#define MPOL_F_RELATIVE_NODES (1 << 14)
#define MPOL_F_NUMA_BALANCING (1 << 13)
#define MPOL_F_NODE (1 << 0)
#define MPOL_F_ADDR (1 << 1)
#define MPOL_F_MEMS_ALLOWED (1 << 2)
#define MPOL_MF_STRICT (1 << 0)
#define MPOL_MF_MOVE (1 << 1)
#define MPOL_MF_MOVE_ALL (1 << 2)

/* include/uapi/linux/mempolicy.h of the series (TASK_MBIND_ARGS_SIZE_VER0 = 48 bytes) */
struct task_mbind_args {
	int32_t pidfd;
	uint32_t mode;
	uint64_t start;
	uint64_t len;
	uint64_t nmask;
	uint64_t maxnode;
	uint32_t flags;
	uint32_t reserved;
};

/* pidfd_open(2): a process pidfd (flags 0) or a thread pidfd (PIDFD_THREAD); -1 with errno set. */
static inline int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_open, pid, flags);
}

/*
 * 1 when the running kernel has the series with ABI 2 (its ABI file reads exactly "2"): the only
 * kernel these programs may issue 463-466 on. A kernel with the pid-addressed ABI 1 has
 * /proc/self/mempolicy but no ABI file; upstream 6.13+ uses the numbers for other calls.
 */
static inline int series_abi_2(void)
{
	char buf[8] = { 0 };
	int fd = open(TASK_MEMPOLICY_ABI_FILE, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && (strcmp(buf, "2\n") == 0 || strcmp(buf, "2") == 0);
}

/* Writes text to a sysfs/procfs/debugfs file; 0 or -1 (errno set). */
static inline int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -1 : 0;
}

/*
 * Allocated numa_policy objects, after emptying the cache's free lists and KASAN's quarantine
 * for it (shrink); -1 when /proc/slabinfo does not list the cache by name (merged).
 */
static inline long numa_policy_objects(void)
{
	static char buf[1 << 16];
	size_t len = 0;
	ssize_t n;
	char *line;
	int fd;

	write_file("/sys/kernel/slab/numa_policy/shrink", "1");
	/* A seq_file: each read() returns at most a page. */
	fd = open("/proc/slabinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	line = strstr(buf, "\nnuma_policy ");
	return line ? strtol(line + strlen("\nnuma_policy "), NULL, 10) : -1;
}

#endif
