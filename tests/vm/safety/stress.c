// SPDX-License-Identifier: MIT
/*
 * stress: changes the memory policies of busy processes from other processes, as fast as it can,
 * for the safety suite of the kernel series (tests/vm/safety/README.md).
 *
 *   stress [--seconds N] [--setters N] [--targets N] [--threads N] [--no-slab-check] [--thp]
 *          [--quiet]
 *
 * Targets (in a child cgroup whose cpuset.mems keeps changing) run threads that fault anonymous
 * memory in and out, fault a fixed region that the setters task_mbind(), hammer slab-heavy
 * syscalls and the page cache, and fork, exec and create short-lived threads; each target exits
 * after a few seconds and is replaced, so setters also race with exit and pid reuse. Setters
 * (other processes) call set_task_mempolicy() with every mode, flag and node set, write and read
 * /proc/<pid>/[task/<tid>/]mempolicy, get_task_mempolicy() (plain, MPOL_F_MEMS_ALLOWED,
 * MPOL_F_NODE|MPOL_F_ADDR), task_mbind() (nearly half of them with MPOL_MF_MOVE or MOVE_ALL, while
 * the target faults, unmaps, mremaps and mbind()s pieces of the range itself, and forks) and
 * set_task_mempolicy_home_node() on the fixed region.
 * The calls address targets by pidfd (ABI 2): a fresh one per call, or now and then one kept from
 * earlier, whose target may have exited and whose number may belong to a new target by now.
 *
 * The kernel side passes when the guest log has no report (kernel/vm scans it); this program
 * fails (exit 1) when a call returns an errno the interface does not document for the situation,
 * or when the numa_policy slab cache does not return to its baseline after every target is gone
 * (a leaked policy). Exit 77 (skip) on a kernel without the series.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "safety.h"

#define MAX_TARGETS 32
#define MASK_WORDS 16 /* 1024 nodes */
#define REGION ((void *)0x600000000000UL)
#define REGION_SIZE (16UL << 20)
#define CGROUP "/sys/fs/cgroup/taskmpol-stress"

enum op {
	OP_SET, OP_SET_SELF, OP_PROC_WRITE, OP_GET, OP_PROC_READ, OP_MBIND, OP_MOVE, OP_HOME_NODE,
	OP_CPUSET, OP_TARGETS, OP_FORKS, OP_EXECS, OP_THREADS, OP_COUNT
};
static const char *const op_names[OP_COUNT] = {
	"set_task_mempolicy", "set (PIDFD_SELF_*)", "procfs writes", "get_task_mempolicy", "procfs reads",
	"task_mbind", "task_mbind moves", "home node", "cpuset.mems writes", "targets started", "target forks",
	"target execs", "target threads",
};

/* Shared by every process of the run (MAP_SHARED). */
struct shared {
	atomic_int stop;
	atomic_int targets[MAX_TARGETS]; /* pid per slot, 0 = empty */
	atomic_ullong ok[OP_COUNT];
	atomic_ullong failed[OP_COUNT]; /* an errno the situation allows (ESRCH for a dead target, ...) */
	atomic_ullong unexpected[OP_COUNT]; /* an errno that is a bug (or a gap in this list) */
	char first_unexpected[OP_COUNT][160];
	atomic_flag first_taken[OP_COUNT];
};

static struct shared *sh;
static int memory_nodes[64], n_memory_nodes, max_node;
static bool quiet, thp;

static unsigned int rng(void)
{
	static __thread uint64_t s;

	if (!s)
		s = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&s ^ (uint64_t)time(NULL);
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (unsigned int)(s >> 11);
}

static void note_result(enum op op, long ret, const int *allowed, const char *what)
{
	int e = errno;

	if (ret >= 0) {
		atomic_fetch_add(&sh->ok[op], 1);
		return;
	}
	for (const int *a = allowed; *a; a++) {
		if (e == *a) {
			atomic_fetch_add(&sh->failed[op], 1);
			return;
		}
	}
	atomic_fetch_add(&sh->unexpected[op], 1);
	if (!atomic_flag_test_and_set(&sh->first_taken[op]))
		snprintf(sh->first_unexpected[op], sizeof(sh->first_unexpected[op]), "'%s': errno %d (%s)",
			 what, e, strerror(e));
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* "0-1,3\n" -> memory_nodes[] */
static void read_memory_nodes(void)
{
	char buf[256], *p;

	if (read_file("/sys/devices/system/node/has_memory", buf, sizeof(buf)) < 0) {
		perror("stress: /sys/devices/system/node/has_memory");
		exit(2);
	}
	for (p = buf; *p && *p != '\n';) {
		long a = strtol(p, &p, 10), b = a;

		if (*p == '-')
			b = strtol(p + 1, &p, 10);
		for (long n = a; n <= b && n_memory_nodes < 64; n++)
			memory_nodes[n_memory_nodes++] = (int)n;
		if (*p == ',')
			p++;
	}
	max_node = memory_nodes[n_memory_nodes - 1];
}

/* A random non-empty subset of the memory nodes, as a mask and as a list. */
static void random_nodes(unsigned long *mask, char *list, size_t size, bool one)
{
	unsigned int pick;
	size_t off = 0;

	memset(mask, 0, MASK_WORDS * sizeof(*mask));
	do
		pick = one ? 1u << (rng() % n_memory_nodes) : rng() & ((1u << n_memory_nodes) - 1);
	while (!pick);
	list[0] = '\0';
	for (int i = 0; i < n_memory_nodes; i++) {
		if (!(pick & (1u << i)))
			continue;
		mask[memory_nodes[i] / 64] |= 1UL << (memory_nodes[i] % 64);
		off += (size_t)snprintf(list + off, size - off, "%s%d", off ? "," : "", memory_nodes[i]);
	}
}

/* ---- targets ------------------------------------------------------------------------------- */

static void touch(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += 4096)
		p[i] = (char)i;
}

static void *short_thread(void *arg)
{
	char *p = mmap(NULL, 128 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	if (p != MAP_FAILED) {
		touch(p, 128 << 10);
		munmap(p, 128 << 10);
	}
	return NULL;
}

static void *target_worker(void *arg)
{
	long kind = (long)arg;
	char path[64];

	snprintf(path, sizeof(path), "/tmp/stress-%d-%ld", getpid(), kind);
	while (!atomic_load(&sh->stop)) {
		switch (kind % 4) {
		case 0: { /* anonymous faults in and out */
			size_t len = (size_t)(1 + rng() % 64) << 12;
			char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p != MAP_FAILED) {
				touch(p, len);
				munmap(p, len);
			}
			break;
		}
		case 1: { /* the region the setters task_mbind() and move: change a piece, fault it back */
			size_t off = (rng() % (REGION_SIZE >> 16)) << 16;
			char *piece = (char *)REGION + off;
			unsigned int r = rng() % 8;

			/*
			 * Other threads touch the region all the time, so it never has a hole: a
			 * MAP_FIXED mmap() replaces the piece's VMA in one step, and mremap() moves
			 * its pages away with MREMAP_DONTUNMAP (leaving it mapped) and then back
			 * over it.
			 */
			if (r == 0) { /* replace its VMA under a remote move */
				mmap(piece, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				     -1, 0);
			} else if (r == 1) { /* move its pages away and back: the move's VMAs go and come */
				char *away = mremap(piece, 1 << 16, 1 << 16,
						    MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, piece + REGION_SIZE);

				if (away != MAP_FAILED)
					mremap(away, 1 << 16, 1 << 16, MREMAP_MAYMOVE | MREMAP_FIXED, piece);
			} else if (r == 2) { /* its own mbind() with a move, against the setters' */
				unsigned long mask[MASK_WORDS] = { 0 };
				int node = memory_nodes[rng() % n_memory_nodes];

				mask[node / 64] |= 1UL << (node % 64);
				syscall(SYS_mbind, piece, 1UL << 16, MPOL_BIND, mask, MASK_WORDS * 64 + 1,
					MPOL_MF_MOVE);
			} else {
				madvise(piece, 1 << 16, MADV_DONTNEED);
			}
			touch(piece, 1 << 16);
			break;
		}
		case 2: { /* slab-heavy syscalls and the page cache */
			int fds[2], fd;
			char buf[4096] = { 1 };

			if (pipe(fds) == 0) {
				close(fds[0]);
				close(fds[1]);
			}
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
				close(fds[0]);
				close(fds[1]);
			}
			fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
			if (fd >= 0) {
				for (int i = 0; i < 16; i++)
					if (write(fd, buf, sizeof(buf)) < 0)
						break;
				if (pread(fd, buf, sizeof(buf), 0) < 0)
					buf[0] = 0;
				close(fd);
				unlink(path);
			}
			break;
		}
		default: { /* fork, exec and short-lived threads */
			unsigned int r = rng() % 8;
			pthread_t t;

			if (r < 5) {
				if (pthread_create(&t, NULL, short_thread, NULL) == 0) {
					pthread_join(t, NULL);
					atomic_fetch_add(&sh->ok[OP_THREADS], 1);
				}
			} else {
				pid_t c = fork();

				if (c == 0) {
					if (r == 7)
						execl("/proc/self/exe", "stress", "--exec-child", (char *)NULL);
					short_thread(NULL);
					_exit(0);
				}
				if (c > 0) {
					waitpid(c, NULL, 0);
					atomic_fetch_add(&sh->ok[r == 7 ? OP_EXECS : OP_FORKS], 1);
				}
			}
			break;
		}
		}
	}
	return NULL;
}

static void target_main(int threads)
{
	struct timespec life = { .tv_sec = 1 + rng() % 3, .tv_nsec = (long)(rng() % 1000) * 1000000L };
	pthread_t t;

	/* Join the cgroup whose cpuset.mems keeps changing (best effort without cgroups). */
	write_file(CGROUP "/cgroup.procs", "0");
	if (mmap(REGION, REGION_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != REGION) {
		perror("stress: target: mmap of the fixed region");
		_exit(2);
	}
	/*
	 * Without --thp the region is not THP-backed. With THP, the cgroup's memory migration on
	 * each cpuset.mems change (cpuset_migrate_mm_workfn -> do_migrate_pages) of a THP that
	 * worker kind 1 has partially zapped hit VM_WARN_ON_FOLIO(folio_test_partially_mapped())
	 * in deferred_split_folio() (mm/huge_memory.c:3790) once in five debug runs: stock 6.12
	 * code that the series does not touch. --thp keeps that path in the run.
	 */
	if (!thp)
		madvise(REGION, REGION_SIZE, MADV_NOHUGEPAGE);
	touch(REGION, REGION_SIZE);
	for (long i = 0; i < threads; i++)
		if (pthread_create(&t, NULL, target_worker, (void *)i))
			_exit(2);
	/* Exit while the threads are busy: exit races with the setters too. */
	while (life.tv_sec || life.tv_nsec) {
		if (atomic_load(&sh->stop))
			break;
		if (nanosleep(&life, &life) == 0)
			break;
	}
	_exit(0);
}

/* ---- setters ------------------------------------------------------------------------------- */

/* A target's pid, or one of its threads (by number: the caller pins it with a pidfd). */
static pid_t pick_task(pid_t *tgid)
{
	char dirpath[64];
	pid_t pid = atomic_load(&sh->targets[rng() % MAX_TARGETS]), tids[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	*tgid = pid;
	if (pid <= 0 || rng() % 2)
		return pid;
	snprintf(dirpath, sizeof(dirpath), "/proc/%d/task", pid);
	dir = opendir(dirpath);
	if (!dir)
		return pid;
	while ((d = readdir(dir)) && n < 64)
		if (d->d_name[0] != '.')
			tids[n++] = atoi(d->d_name);
	closedir(dir);
	return n ? tids[rng() % n] : pid;
}

static const int mode_of[] = {
	MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED_MANY,
	MPOL_WEIGHTED_INTERLEAVE,
};
static const char *const mode_text[] = {
	"default", "prefer", "bind", "interleave", "local", "prefer (many)", "weighted interleave",
};

/* A random policy: mode with flags, nodes (none for default and local). */
static void random_policy(int *mode, unsigned long *mask, char *text, size_t size)
{
	unsigned int m = rng() % 7, f = rng() % 4;
	char list[128];
	const char *flag = "";

	random_nodes(mask, list, sizeof(list), mode_of[m] == MPOL_PREFERRED);
	*mode = mode_of[m];
	if (*mode == MPOL_DEFAULT || *mode == MPOL_LOCAL) {
		memset(mask, 0, MASK_WORDS * sizeof(*mask));
		snprintf(text, size, "%s", mode_text[m]);
		return;
	}
	if (f == 1) {
		*mode |= MPOL_F_STATIC_NODES;
		flag = "=static";
	} else if (f == 2) {
		*mode |= MPOL_F_RELATIVE_NODES;
		flag = "=relative";
	} else if (f == 3 && (*mode & 0xff) == MPOL_BIND) {
		*mode |= MPOL_F_NUMA_BALANCING; /* syscall only: procfs does not parse it */
	}
	snprintf(text, size, "%s%s:%s", mode_text[m], flag, list);
}

/*
 * A pidfd for tid (a process pidfd for a leader, a thread pidfd otherwise), or -1 when it has
 * exited already (recorded as an allowed ESRCH). Now and then the previous pidfd is kept instead:
 * calls through it reach a target that may have exited, and whose number may have been reused.
 */
static int pin_task(pid_t tid, pid_t tgid, enum op op, int *held)
{
	int fd;

	if (*held >= 0 && rng() % 4 == 0)
		return dup(*held);
	fd = sys_pidfd_open(tid, tid == tgid ? 0 : PIDFD_THREAD);
	if (fd < 0) {
		note_result(op, -1, (const int[]){ ESRCH, EINVAL, 0 }, "pidfd_open");
		return -1;
	}
	if (rng() % 8 == 0) {
		if (*held >= 0)
			close(*held);
		*held = dup(fd);
	}
	return fd;
}

static void setter_main(void)
{
	/*
	 * Errnos a call may return here without anything being wrong: ESRCH (the target exited or
	 * is exiting), EINVAL (the nodes do not intersect the target's current cpuset.mems, which
	 * changes all the time, or numa balancing with a relative/static flag), EFAULT/ENOMEM/EIO
	 * for VMA calls racing with the target's munmap/exit, EOPNOTSUPP for a home node on a VMA
	 * whose policy is not bind/prefer (many) and ENOENT for a range without any VMA policy
	 * (set_mempolicy_home_node(2) semantics), EACCES from mm_access() when the mm is being
	 * torn down. Never EPERM: everything runs as root.
	 */
	static const int task_ok[] = { ESRCH, EINVAL, 0 };
	static const int vma_ok[] = { ESRCH, EINVAL, EFAULT, ENOMEM, EIO, EOPNOTSUPP, ENOENT, EACCES, 0 };
	unsigned long mask[MASK_WORDS], got[MASK_WORDS];
	char text[192], path[96], buf[256];
	int held = -1;	/* a pidfd kept across iterations (pin_task) */

	while (!atomic_load(&sh->stop)) {
		unsigned int what = rng() % 100;
		pid_t tgid, tid = pick_task(&tgid);
		int mode, fd, pidfd = -1;
		long ret;

		if (tid <= 0) {
			sched_yield();
			continue;
		}
		random_policy(&mode, mask, text, sizeof(text));
		if (tid == tgid)
			snprintf(path, sizeof(path), "/proc/%d/mempolicy", tgid);
		else
			snprintf(path, sizeof(path), "/proc/%d/task/%d/mempolicy", tgid, tid);

		if (what < 35) {
			pidfd = pin_task(tid, tgid, OP_SET, &held);
			if (pidfd < 0)
				continue;
			ret = syscall(NR_set_task_mempolicy, pidfd, mode, mask, MASK_WORDS * 64 + 1, 0U);
			note_result(OP_SET, ret, task_ok, text);
		} else if (what < 38) {
			/* The setter is single-threaded: both sentinels name itself. */
			ret = syscall(NR_set_task_mempolicy, rng() % 2 ? PIDFD_SELF_THREAD : PIDFD_SELF_THREAD_GROUP,
				      mode, mask, MASK_WORDS * 64 + 1, 0U);
			note_result(OP_SET_SELF, ret, task_ok, text);
		} else if (what < 53) {
			if (mode & MPOL_F_NUMA_BALANCING)
				continue;
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0) {
				note_result(OP_PROC_WRITE, -1, (const int[]){ ENOENT, ESRCH, 0 }, path);
				continue;
			}
			/* Half of them the way echo(1) writes: with a newline. */
			if (rng() % 2)
				strcat(text, "\n");
			ret = write(fd, text, strlen(text));
			note_result(OP_PROC_WRITE, ret, task_ok, text);
			close(fd);
		} else if (what < 68) {
			int policy, fl = (int[]){ 0, MPOL_F_MEMS_ALLOWED, MPOL_F_NODE | MPOL_F_ADDR }[rng() % 3];
			unsigned long addr = fl & MPOL_F_ADDR ? (unsigned long)REGION + (rng() % 256) * 4096 : 0;

			pidfd = pin_task(tid, tgid, OP_GET, &held);
			if (pidfd < 0)
				continue;
			ret = syscall(NR_get_task_mempolicy, pidfd, &policy, got, MASK_WORDS * 64 + 1, addr, fl);
			note_result(OP_GET, ret, vma_ok, "get");
		} else if (what < 78) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				note_result(OP_PROC_READ, -1, (const int[]){ ENOENT, ESRCH, 0 }, path);
				continue;
			}
			ret = read(fd, buf, sizeof(buf));
			note_result(OP_PROC_READ, ret, task_ok, path);
			close(fd);
		} else if (what < 92) {
			/* Policies only, or (6 in 14) moving the pages too: MOVE, or MOVE_ALL for
			 * pages shared with the target's forked children; STRICT reports what stayed. */
			static const unsigned int moves[] = { MPOL_MF_MOVE, MPOL_MF_MOVE_ALL };
			size_t off = (rng() % (REGION_SIZE >> 16)) << 16;
			bool move = what >= 86;
			struct task_mbind_args a;

			pidfd = pin_task(tgid, tgid, move ? OP_MOVE : OP_MBIND, &held);
			if (pidfd < 0)
				continue;
			a = (struct task_mbind_args){
				.pidfd = pidfd, .mode = (uint32_t)(mode & ~MPOL_F_NUMA_BALANCING),
				.start = (uint64_t)(uintptr_t)REGION + off,
				.len = (1 + rng() % (move ? 256 : 16)) << 12,
				.nmask = (uint64_t)(uintptr_t)mask, .maxnode = MASK_WORDS * 64 + 1,
				.flags = (rng() % 4 ? 0 : MPOL_MF_STRICT) | (move ? moves[rng() % 2] : 0),
			};

			ret = syscall(NR_task_mbind, &a, sizeof(a));
			note_result(move ? OP_MOVE : OP_MBIND, ret, vma_ok, text);
		} else {
			/* A home node needs a bind or prefer (many) VMA policy: bind the range first. */
			size_t off = (rng() % (REGION_SIZE >> 16)) << 16;
			unsigned long all[MASK_WORDS] = { 0 };
			struct task_mbind_args a;

			pidfd = pin_task(tgid, tgid, OP_HOME_NODE, &held);
			if (pidfd < 0)
				continue;
			a = (struct task_mbind_args){
				.pidfd = pidfd, .mode = MPOL_BIND, .start = (uint64_t)(uintptr_t)REGION + off,
				.len = 1 << 16, .nmask = (uint64_t)(uintptr_t)all, .maxnode = MASK_WORDS * 64 + 1,
			};

			for (int i = 0; i < n_memory_nodes; i++)
				all[memory_nodes[i] / 64] |= 1UL << (memory_nodes[i] % 64);
			ret = syscall(NR_task_mbind, &a, sizeof(a));
			note_result(OP_MBIND, ret, vma_ok, "bind before home node");
			ret = syscall(NR_set_task_mempolicy_home_node, pidfd, (unsigned long)REGION + off,
				      1UL << 16, (unsigned long)memory_nodes[rng() % n_memory_nodes], 0UL);
			note_result(OP_HOME_NODE, ret, vma_ok, "home node");
		}
		if (pidfd >= 0)
			close(pidfd);
	}
	_exit(0);
}

/* Moves the targets' cgroup between node sets every few milliseconds. */
static void cpuset_main(void)
{
	static const int ok[] = { 0 };
	unsigned long mask[MASK_WORDS];
	char list[128];

	while (!atomic_load(&sh->stop)) {
		random_nodes(mask, list, sizeof(list), false);
		note_result(OP_CPUSET, write_file(CGROUP "/cpuset.mems", list), ok, list);
		usleep(2000);
	}
	_exit(0);
}

/* ---- supervisor ---------------------------------------------------------------------------- */

static pid_t spawn(void (*fn)(void))
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("stress: fork");
		exit(2);
	}
	if (pid == 0)
		fn();
	return pid;
}

static int threads_per_target;
static void target_entry(void)
{
	target_main(threads_per_target);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int seconds = 30, setters = 3, targets = 4, slab_check = 1, failed = 0;
	long before, after = -1;
	time_t start, last_report;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--exec-child")) {
			short_thread(NULL);
			return 0;
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--setters") && i + 1 < argc) {
			setters = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--targets") && i + 1 < argc) {
			targets = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			threads_per_target = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--no-slab-check")) {
			slab_check = 0;
		} else if (!strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[i], "--thp")) {
			thp = true;
		} else {
			fprintf(stderr, "usage: stress [--seconds N] [--setters N] [--targets N] "
					"[--threads N] [--no-slab-check] [--thp] [--quiet]\n");
			return 2;
		}
	}
	if (!threads_per_target)
		threads_per_target = 8;
	if (seconds < 1 || setters < 1 || setters > 32 || targets < 1 || targets > MAX_TARGETS ||
	    threads_per_target > 64) {
		fprintf(stderr, "stress: out of range (targets <= %d, setters <= 32, threads <= 64)\n",
			MAX_TARGETS);
		return 2;
	}
	if (!series_abi_2()) {
		printf("stress: SKIP: this kernel does not carry the series with ABI 2 (" TASK_MEMPOLICY_ABI_FILE
		       " does not read 2)\n");
		return 77;
	}
	read_memory_nodes();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	if (mkdir(CGROUP, 0755) && errno != EEXIST)
		say("stress: no cgroup %s (%s): the cpuset churn is off\n", CGROUP, strerror(errno));

	before = slab_check ? numa_policy_objects() : -1;
	if (slab_check && before < 0) {
		say("stress: the numa_policy slab is not visible by name in /proc/slabinfo (merged with "
		    "another cache: boot with slab_nomerge) - the leak check is off\n");
		slab_check = 0;
	}
	say("stress: %d s, %d setters, %d targets x %d threads, memory nodes %d..%d (%d), "
	    "numa_policy objects before: %ld\n", seconds, setters, targets, threads_per_target,
	    memory_nodes[0], max_node, n_memory_nodes, before);

	for (int i = 0; i < setters; i++)
		spawn(setter_main);
	if (access(CGROUP "/cpuset.mems", W_OK) == 0)
		spawn(cpuset_main);

	start = last_report = time(NULL);
	while (time(NULL) - start < seconds) {
		pid_t pid;
		int status;

		for (int i = 0; i < targets; i++) {
			if (atomic_load(&sh->targets[i]))
				continue;
			atomic_store(&sh->targets[i], spawn(target_entry));
			atomic_fetch_add(&sh->ok[OP_TARGETS], 1);
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int i = 0; i < MAX_TARGETS; i++)
				if (atomic_load(&sh->targets[i]) == pid)
					atomic_store(&sh->targets[i], 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				say("stress: process %d ended with status 0x%x\n", pid, status);
				failed = 1;
			}
		}
		if (!quiet && time(NULL) - last_report >= 10) {
			last_report = time(NULL);
			say("stress: %lds: %llu sets, %llu procfs writes, %llu mbinds, %llu targets\n",
			    (long)(last_report - start), atomic_load(&sh->ok[OP_SET]),
			    atomic_load(&sh->ok[OP_PROC_WRITE]), atomic_load(&sh->ok[OP_MBIND]),
			    atomic_load(&sh->ok[OP_TARGETS]));
		}
		usleep(10000);
	}
	atomic_store(&sh->stop, 1);
	for (;;) {
		int status;
		pid_t pid = wait(&status);

		if (pid < 0)
			break;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			say("stress: process %d ended with status 0x%x\n", pid, status);
			failed = 1;
		}
	}
	rmdir(CGROUP);

	say("stress: operations: ok / refused with an allowed errno / unexpected errno\n");
	for (int i = 0; i < OP_COUNT; i++) {
		unsigned long long bad = atomic_load(&sh->unexpected[i]);

		say("stress:   %-20s %10llu / %llu / %llu%s%s\n", op_names[i], atomic_load(&sh->ok[i]),
		    atomic_load(&sh->failed[i]), bad, bad ? "  first: " : "", bad ? sh->first_unexpected[i] : "");
		if (bad)
			failed = 1;
	}
	if (slab_check) {
		/* The last targets' task_work releases ran at their exit; nothing may remain. */
		for (int tries = 0; tries < 50; tries++) {
			after = numa_policy_objects();
			if (after <= before)
				break;
			usleep(100000);
		}
		say("stress: numa_policy objects: before %ld, after %ld\n", before, after);
		if (after > before) {
			say("stress: FAIL: %ld policies leaked\n", after - before);
			failed = 1;
		}
	}
	if (atomic_load(&sh->ok[OP_SET]) == 0 || atomic_load(&sh->ok[OP_PROC_WRITE]) == 0 ||
	    atomic_load(&sh->ok[OP_MBIND]) == 0 || atomic_load(&sh->ok[OP_MOVE]) == 0) {
		say("stress: FAIL: a kind of change never succeeded, so the run proves nothing\n");
		failed = 1;
	}
	say("stress: %s\n", failed ? "FAIL" : "PASS (now the kernel log must be clean too)");
	return failed;
}
