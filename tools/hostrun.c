/*
 * dupmm-hostrun: perform a trace's calls on the host kernel, for real,
 * with real fork()s, and report what the kernel answered.
 *
 * Each process of the trace is a real process.  A coordinator (this
 * program's first process) reads the log and hands each call, in log
 * order, to the process whose PID column it carries, over a pipe; the
 * process performs it with raw syscalls and answers with the result.  So
 * the interleaving of the log is kept exactly, across processes.
 *
 * Only the trace's window of addresses (default [32 TiB, 48 TiB): above the sanitizers' shadow memory) is
 * reported: the helper's own mappings (libc, its stack, its heap) live
 * elsewhere and are filtered out of the maps and smaps it writes.  brk is
 * refused: the helper's own malloc owns the real heap.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <procfs/procfs.h>
#include <strace/strace.h>

#define MAX_FDS	      256
#define DUMP_MAX      (1 << 20)
#define CMD_DUMP_EXIT 0xffffffffu
#define CMD_DUMP      0xfffffffeu /* dump, stay alive */
#define CMD_EXIT      0xfffffffdu

static const struct strace_log *trace;
static struct sys_args *call_args; /* per record: its arguments, decoded before any fork */
static uint64_t window_lo = 0x200000000000ULL, window_hi = 0x300000000000ULL;
static int slot_of_pid[1 << 16]; /* trace pid -> slot + 1 */
static int *cmd_fd, *rep_fd;	 /* per slot: read end for the process, write end for replies */
static int *cmd_wr, *rep_rd;	 /* the coordinator's ends */
static int nslots;
static int log_fds[MAX_FDS]; /* trace fd -> host fd + 1, per process (copied at fork) */
static sigjmp_buf fault_jmp;
static volatile uintptr_t fault_addr;
static volatile int fault_signo, fault_code;
static char dump_buf[DUMP_MAX];

struct reply {
	int64_t ret;	   /* syscall result, or -errno */
	int32_t faulted;   /* mem_*: 1 if the access faulted */
	int32_t mismatch;  /* mem_read: 1 if a byte differed */
	uint64_t where;	   /* fault address, or the differing byte's address */
	uint32_t value;	   /* the differing byte */
	uint32_t dump_len; /* followed by that many bytes: the dump at exit (maps, NUL,
				 * smaps, NUL, pagemap), or a mem_read's bytes up to its fault */
};

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_addr = (uintptr_t)si->si_addr;
	fault_signo = sig;
	fault_code = si->si_code;
	siglongjmp(fault_jmp, 1);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(99);
		p += n;
		len -= (size_t)n;
	}
}

static bool read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static size_t read_proc(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return len;
}

/* Keep the blocks (a maps line and what follows it) that start in the window. */
static size_t filter_window(char *text, char *out, size_t cap)
{
	size_t len = 0;
	bool keep = false;

	for (char *line = text, *next; *line; line = next) {
		char *nl = strchr(line, '\n');
		size_t n;

		next = nl ? nl + 1 : line + strlen(line);
		n = (size_t)(next - line);
		if (strchr(line, '-') && line[0] != ' ' && strchr(line, '-') < strchr(line, ' ')) {
			uint64_t start = strtoull(line, NULL, 16);
			/* a maps header: hex-hex perms ... */
			keep = start >= window_lo && start < window_hi;
		}
		if (keep && len + n < cap) {
			memcpy(out + len, line, n);
			len += n;
		}
	}
	out[len] = '\0';
	return len;
}

/*
 * The pagemap summary (<procfs/procfs.h>) of the VMAs in maps,
 * read from /proc/self/pagemap without malloc (a CLONE_VM child shares the
 * heap).  Returns its length.
 */
static size_t pagemap_summary(const char *maps, char *out, size_t cap)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	for (const char *line = maps; fd >= 0 && *line;) {
		const char *nl = strchr(line, '\n');
		size_t hdr = strcspn(line, " ");
		uint64_t start = strtoull(line, NULL, 16),
			 end = strtoull(strchr(line, '-') + 1, NULL, 16);

		if (len + hdr + 2 + (end - start) / 4096 >= cap)
			break;
		memcpy(out + len, line, hdr);
		len += hdr;
		out[len++] = ' ';
		for (uint64_t a = start; a < end; a += 4096) {
			uint64_t e = 0;

			if (pread(fd, &e, sizeof(e), (off_t)(a / 4096 * 8)) != sizeof(e))
				e = 0;
			out[len++] = pagemap_summary_char(e);
		}
		out[len++] = '\n';
		line = nl ? nl + 1 : line + strlen(line);
	}
	if (fd >= 0)
		close(fd);
	out[len] = '\0';
	return len;
}

/*
 * send_dump: maps, smaps and the pagemap summary of the window, NUL
 * separated.  Each process passes its own slot: CLONE_VM children share
 * every global.
 */
static char
	*settle_lru_page; /* --settle-lru: an anonymous page outside the window, every process's */

static void send_dump(int slot, struct reply *r)
{
	static char raw[DUMP_MAX];
	size_t a, b, c;

	/*
	 * --settle-lru: drain this CPU's LRU batches before reading smaps
	 * (madvise_willneed of anonymous memory ends with lru_add_drain, in a
	 * VM_LOCKED VMA too), as the replay does with settle_lru: LazyFree
	 * then no longer depends on what else ran on the CPU (other tasks,
	 * this helper's own copy-on-write faults after a fork) since MADV_FREE
	 * queued the pages.
	 */
	if (settle_lru_page)
		madvise(settle_lru_page, 4096, MADV_WILLNEED);
	read_proc("/proc/self/maps", raw, sizeof(raw));
	a = filter_window(raw, dump_buf, DUMP_MAX / 4);
	read_proc("/proc/self/smaps", raw, sizeof(raw));
	b = filter_window(raw, dump_buf + a + 1, DUMP_MAX / 2);
	c = pagemap_summary(dump_buf, dump_buf + a + 1 + b + 1, DUMP_MAX / 4 - 2);
	r->dump_len = (uint32_t)(a + 1 + b + 1 + c);
	write_all(rep_fd[slot], r, sizeof(*r));
	write_all(rep_fd[slot], dump_buf, r->dump_len);
}

static int64_t sys_result(long r) { return r < 0 ? -errno : r; }

static void serve(int slot);

static int clone_child_main(void *p)
{
	serve((int)(intptr_t)p);
	return 0;
}

/* A clone with CLONE_VM runs on a stack of its own, outside the window. */
static long do_clone(uint64_t flags, int child_slot)
{
	if (flags & CLONE_VM) {
		size_t sz = 1 << 20;
		char *stack = mmap(NULL, sz, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

		if (stack == MAP_FAILED)
			return -errno;
		return sys_result(clone(clone_child_main, stack + sz,
					(int)(flags & (CLONE_VM | CLONE_VFORK | 0xff)),
					(void *)(intptr_t)child_slot));
	}
	{
		pid_t pid = fork();

		if (pid == 0) {
			serve(child_slot);
			_exit(0);
		}
		return pid < 0 ? -errno : pid;
	}
}

static volatile uint64_t mem_done; /* bytes accessed before a fault (survives siglongjmp) */

/* mem_read/mem_write; a read also leaves its bytes in dump_buf for --resolve. */
static void perform_mem(const struct strace_record *rec, const struct sys_args *a, struct reply *r,
			bool write)
{
	const uint64_t len = a->a[write ? 2 : 1];
	const uint8_t byte = (uint8_t)a->a[1];
	volatile uint8_t *const p = (volatile uint8_t *)(uintptr_t)a->a[0];

	mem_done = 0;
	if (sigsetjmp(fault_jmp, 1)) {
		r->faulted = 1;
		r->where = fault_addr;
	} else {
		for (uint64_t i = 0; i < len; i++, mem_done = i) {
			if (write) {
				p[i] = byte;
				continue;
			}
			if (i < DUMP_MAX)
				dump_buf[i] = (char)p[i];
			if (p[i] != (uint8_t)rec->result && !r->mismatch && !rec->result_unknown) {
				r->mismatch = 1;
				r->where = (uint64_t)(uintptr_t)(p + i);
				r->value = p[i];
			}
		}
	}
	if (!write)
		r->dump_len = (uint32_t)MIN(mem_done, (uint64_t)DUMP_MAX);
}

static int host_fd(int log_fd)
{
	return (log_fd >= 0 && log_fd < MAX_FDS && log_fds[log_fd]) ? log_fds[log_fd] - 1 : -1;
}

/*
 * open, openat: a file just written (a fresh checkout) has dirty page-cache
 * pages until writeback; the model's cache starts clean.  Flush so both
 * start alike: the dirty state is the disk's business, not the mm's.  Then
 * drop its clean pages: the model's cache starts empty, and fault-around
 * maps whatever neighbours are cached.
 */
static void opened(const struct strace_record *rec, long fd)
{
	if (fd < 0)
		return;
	fdatasync((int)fd);
	posix_fadvise((int)fd, 0, 0, POSIX_FADV_DONTNEED);
	if (rec->result >= 0 && rec->result < MAX_FDS)
		log_fds[rec->result] = (int)fd + 1;
}

/*
 * A call of the syscall table, made as the row says: descriptors the log
 * numbers become the host's, strings the log shows are passed as they are,
 * and an mmap lands where the log says (strace_place_as_logged).
 */
static int64_t perform_call(const struct strace_record *rec, struct sys_args *a)
{
	const struct syscall_desc *d = rec->desc;
	uint64_t x[SYS_MAX_ARGS];
	long ret;

	strace_place_as_logged(rec, a);
	for (unsigned int i = 0; i < SYS_MAX_ARGS; i++)
		x[i] = a->a[i];
	for (unsigned int i = 0; i < SYS_MAX_ARGS && d->args[i].name; i++) {
		unsigned int slot = syscall_arg_slot(d, i);

		if (d->args[i].kind == SA_FD && (int64_t)x[slot] >= 0)
			x[slot] = (uint64_t)(int64_t)host_fd((int)x[slot]);
		else if (d->args[i].kind == SA_STR && a->str[slot])
			x[slot] = (uint64_t)(uintptr_t)a->str[slot];
	}
	ret = syscall(d->nr, x[0], x[1], x[2], x[3], x[4], x[5]);
	return sys_result(ret);
}

static void perform(guint idx, struct reply *r)
{
	const struct strace_record *rec = trace->records->pdata[idx];
	const struct syscall_desc *d = rec->desc;
	struct sys_args a = call_args[idx];

	switch (syscall_id(d)) {
	case SC_mem_write:
	case SC_mem_read: perform_mem(rec, &a, r, syscall_id(d) == SC_mem_write); return;
	case SC_wait4:
		/* the trace's pids are not the host's: any child, the log's order makes it the one */
		r->ret = sys_result(syscall(SYS_wait4, (int64_t)a.a[0] > 0 ? -1 : (int64_t)a.a[0],
					    NULL, a.a[2] | __WALL, NULL));
		return;
	default: break;
	}
	if (d->flags & SCF_CLONE) {
		int child = rec->result > 0 && rec->result < (1 << 16)
				    ? slot_of_pid[rec->result] - 1
				    : -1;

		r->ret = child < 0 ? -EINVAL : do_clone(syscall_clone_flags(d, &a), child);
		return;
	}
	r->ret = perform_call(rec, &a);
	if (d->flags & SCF_RET_FD)
		opened(rec, r->ret);
	if (syscall_id(d) == SC_close && a.a[0] < MAX_FDS)
		log_fds[a.a[0]] = 0;
}

/* serve: the loop of one traced process. */
static void serve(int slot)
{
	/*
	 * Only the coordinator keeps its pipe ends: if it dies, every traced
	 * process reads EOF and exits instead of waiting for ever.  Closed once,
	 * by the first process: the others inherit the closed table, and a
	 * failing close() in a CLONE_VM child would clobber errno, which it
	 * shares with its parent (no CLONE_SETTLS).
	 */
	static bool ends_closed;

	if (!ends_closed) {
		for (int i = 0; i < nslots; i++) {
			close(cmd_wr[i]);
			close(rep_rd[i]);
		}
		ends_closed = true;
	}
	for (;;) {
		uint32_t cmd;
		struct reply r = { 0 };
		const struct strace_record *rec;

		if (!read_all(cmd_fd[slot], &cmd, sizeof(cmd)))
			_exit(98);
		if (cmd == CMD_DUMP_EXIT || cmd == CMD_DUMP) {
			send_dump(slot, &r);
			if (cmd == CMD_DUMP)
				continue;
			syscall(SYS_exit, 0);
		}
		if (cmd == CMD_EXIT)
			syscall(SYS_exit, 0);
		rec = trace->records->pdata[cmd];
		if (rec->desc->flags & SCF_EXIT) {
			send_dump(slot, &r);
			syscall(SYS_exit, (int)call_args[cmd].a[0]);
		}
		perform(cmd, &r);
		write_all(rep_fd[slot], &r, sizeof(r));
		if (syscall_id(rec->desc) == SC_mem_read)
			write_all(rep_fd[slot], dump_buf, r.dump_len);
	}
}

/*
 * wait_gone: until the process has exited (its pidfd polls readable once
 * it is a zombie, after exit_mm tore its address space down).  Without
 * this, the next process's dump could see pages the dying one still maps
 * (observed: Pss varying from run to run).
 */
static void wait_gone(pid_t pid)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { .fd = pfd, .events = POLLIN };

	if (pfd < 0)
		return; /* already reaped */
	while (poll(&p, 1, 10000) < 0 && errno == EINTR)
		;
	close(pfd);
}

/*
 * Settling reads.  Some calls start reads and return before the disk
 * answers: MADV_WILLNEED (madvise_willneed -> vfs_fadvise ->
 * force_page_cache_readahead), a fault's read-around and async read-ahead
 * (do_sync_mmap_readahead, do_async_mmap_readahead: filemap_fault waits
 * for the faulting folio only), every populate (MAP_POPULATE, mlock,
 * MADV_POPULATE_*, mprotect or mremap of a locked VMA: GUP faults,
 * likewise).  Fault-around (filemap_map_pages -> next_uptodate_folio) maps
 * only folios already uptodate and unlocked, so what the next fault maps
 * depends on whether the disk beat it (observed: a fault past the end
 * right after a WILLNEED maps the page in about half the runs, fewer under
 * load; traces/readahead-settled.strace).  The model describes the settled
 * state; so before each call and each dump the coordinator waits until
 * every page of the trace's files that is in the page cache is uptodate.
 * It costs about 3 us a call (two syscalls a file, in the coordinator).
 *
 * The test changes nothing the trace can see: it runs in the coordinator,
 * whose own PROT_READ mapping of the file is never touched; cachestat()
 * counts the pages in the cache, uptodate or not (filemap_cachestat walks
 * the xarray), mincore() reports a page resident only if its folio is
 * uptodate (mincore_page: folio_test_uptodate); neither starts I/O, locks a
 * folio or marks it accessed (checked: smaps Referenced stays 0, where a
 * pread or preadv2(RWF_NOWAIT) of a cached page sets it, and a
 * RWF_NOWAIT read of an uncached page starts its read).  Readahead puts its
 * folios in the cache, locked, before it submits their bios, and
 * folio_end_read (ext4's mpage_end_io) sets uptodate and unlocks in one
 * atomic step: the counts agree exactly when no read is in flight.
 * Device-wide counters will not do: /sys/block/DEV/inflight counts the
 * requests in the driver (blk_mq_in_driver_rw), not those still queued,
 * and a request leaves it (MQ_RQ_COMPLETE) before its completion, maybe on
 * another CPU, runs bio_endio; polling it let 8 races in 2100 through.
 * The in_flight of /sys/block/DEV/stat would do, but waits for everyone's
 * I/O on the disk.
 */
struct settle_file {
	int fd;
	dev_t dev;
	ino_t ino;
	void *map; /* the coordinator's PROT_READ mapping of the file, never touched */
	uint64_t pages;
	unsigned char *vec;
	bool given_up; /* pages stayed !uptodate for 10 s (a read error) */
};
static GArray *settle_files; /* struct settle_file: the trace's regular files */

static void settle_track(const char *path)
{
	struct settle_file f = { .map = MAP_FAILED };
	struct stat st;

	if (path == NULL)
		return; /* a path in user memory: the helper never opens such */
	f.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f.fd < 0)
		return;
	if (fstat(f.fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto drop;
	for (guint i = 0; i < settle_files->len; i++) {
		const struct settle_file *g = &g_array_index(settle_files, struct settle_file, i);

		if (g->dev == st.st_dev && g->ino == st.st_ino)
			goto drop;
	}
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	g_array_append_val(settle_files, f);
	return;
drop:
	close(f.fd);
}

struct cachestat_range_ {
	uint64_t off, len;
};
struct cachestat_ {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

/* Pages of the file in the page cache that are not uptodate (0: settled). */
static int64_t file_reads_pending(struct settle_file *f)
{
	struct stat st;
	struct cachestat_range_ range;
	struct cachestat_ cs = { 0 };
	uint64_t pages, resident = 0;

	if (fstat(f->fd, &st) < 0 || st.st_size == 0)
		return 0;
	pages = ((uint64_t)st.st_size + 4095) / 4096;
	range.off = 0;
	range.len = pages * 4096;
	if (syscall(__NR_cachestat, f->fd, &range, &cs, 0) < 0 || cs.nr_cache == 0)
		return 0;
	if (pages != f->pages) {
		if (f->map != MAP_FAILED)
			munmap(f->map, f->pages * 4096);
		f->map = mmap(NULL, pages * 4096, PROT_READ, MAP_SHARED, f->fd, 0);
		f->pages = f->map == MAP_FAILED ? 0 : pages;
		f->vec = g_realloc(f->vec, pages);
	}
	if (f->map == MAP_FAILED || mincore(f->map, pages * 4096, f->vec) < 0)
		return 0;
	for (uint64_t i = 0; i < pages; i++)
		resident += f->vec[i] & 1;
	return (int64_t)cs.nr_cache - (int64_t)resident;
}

static void settle_reads(void)
{
	const struct timespec nap = { 0, 20000 };

	for (guint i = 0; i < settle_files->len; i++) {
		struct settle_file *f = &g_array_index(settle_files, struct settle_file, i);
		gint64 t0 = 0;

		while (!f->given_up && file_reads_pending(f) > 0) {
			if (t0 == 0)
				t0 = g_get_monotonic_time();
			else if (g_get_monotonic_time() - t0 > 10 * G_USEC_PER_SEC) {
				/* a failed read leaves its folio !uptodate for good */
				fprintf(stderr,
					"dupmm-hostrun: a data file still has pages not uptodate after 10 s; "
					"no longer waiting for it (results may vary between runs)\n");
				f->given_up = true;
			}
			nanosleep(&nap, NULL);
		}
	}
}

/* The coordinator's view of one traced process. */
struct proc {
	int trace_pid;
	pid_t host_pid;
	bool started, exited, reply_pending;
	const struct strace_record *pending_rec;
};

static struct proc *procs;
static const char *proc_out;
static unsigned differences, performed;

static void differ(const struct strace_record *rec, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void differ(const struct strace_record *rec, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: pid %d: %s: ", trace->path, rec->line, rec->pid, rec->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	differences++;
}

static const char *errname(int64_t ret) { return strace_errno_name((int)-ret); }

static int trace_pid_of_host(pid_t pid)
{
	for (int i = 0; i < nslots; i++)
		if (procs[i].host_pid == pid)
			return procs[i].trace_pid;
	return -1;
}

static void check_mem_reply(const struct strace_record *rec, const struct reply *r)
{
	if (rec->result_unknown)
		return;
	if (r->faulted && !rec->err)
		differ(rec, "the host faults at %#" PRIx64 ", the log says it does not", r->where);
	else if (!r->faulted && rec->err)
		differ(rec, "the host does not fault, the log says -1 EFAULT");
	else if (r->mismatch)
		differ(rec, "the host reads %#x at %#" PRIx64 ", the log says %#x", r->value,
		       r->where, (unsigned)rec->result);
}

static void check_reply(const struct strace_record *rec, const struct reply *r)
{
	const struct syscall_desc *d = rec->desc;

	if (d->nr == SYS_PSEUDO) {
		check_mem_reply(rec, r);
		return;
	}
	if (rec->result_unknown)
		return;
	if (d->flags & SCF_CLONE) {
		if (r->ret > 0 && rec->result > 0)
			procs[slot_of_pid[rec->result] - 1].host_pid = (pid_t)r->ret;
		else if (r->ret < 0 || rec->err)
			differ(rec, "the host returns %" PRId64 ", the log %" PRId64, r->ret,
			       rec->result);
		return;
	}
	if (d->flags & SCF_RET_PID) {
		int tp = r->ret > 0 ? trace_pid_of_host((pid_t)r->ret) : -1;

		if (rec->err ? r->ret != -rec->err : tp != rec->result)
			differ(rec, "the host gives pid %d, the log says %" PRId64, tp,
			       rec->result);
		return;
	}
	if ((d->flags & SCF_RET_FD) && !rec->err) {
		if (r->ret < 0) /* the host's number is mapped to the log's */
			differ(rec, "the host fails with %s", errname(r->ret));
		return;
	}
	if (rec->err ? r->ret != -rec->err : r->ret != rec->result) {
		if (r->ret < 0)
			differ(rec, "the host returns -1 %s, the log says %" PRId64 " %s",
			       errname(r->ret), rec->result,
			       rec->err ? strace_errno_name(rec->err) : "");
		else
			differ(rec, "the host returns %#" PRIx64 ", the log says %#" PRIx64 " %s",
			       (uint64_t)r->ret, (uint64_t)rec->result,
			       rec->err ? strace_errno_name(rec->err) : "");
	}
}

/* A traced process that does not answer within 20 s is stuck: give up loudly. */
static bool read_reply(int slot, struct reply *r)
{
	struct pollfd p = { .fd = rep_rd[slot], .events = POLLIN };

	if (poll(&p, 1, 20000) != 1) {
		fprintf(stderr, "dupmm-hostrun: %s: pid %d does not answer\n", trace->path,
			procs[slot].trace_pid);
		exit(2);
	}
	return read_all(rep_rd[slot], r, sizeof(*r));
}

static void collect_pending(int slot)
{
	struct reply r;

	if (!procs[slot].reply_pending)
		return;
	procs[slot].reply_pending = false;
	if (read_reply(slot, &r))
		check_reply(procs[slot].pending_rec, &r);
}

static void write_dump(int slot, const struct reply *r)
{
	g_autofree char *buf = g_malloc(r->dump_len + 1);

	if (!read_all(rep_rd[slot], buf, r->dump_len))
		return;
	buf[r->dump_len] = '\0';
	if (proc_out) {
		const char *const names[] = { "maps", "smaps", "pagemap" };
		const char *part = buf;

		for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
			g_autofree char *path = g_strdup_printf("%s/%d.%s", proc_out,
								procs[slot].trace_pid, names[i]);

			g_file_set_contents(path, part, -1, NULL);
			part += strlen(part) + 1;
		}
	}
	procs[slot].exited = true;
}

static void send_cmd(int slot, uint32_t cmd)
{
	collect_pending(slot);
	settle_reads();
	write_all(cmd_wr[slot], &cmd, sizeof(cmd));
}

static void dump_and_exit(int slot)
{
	struct reply r;

	send_cmd(slot, CMD_DUMP_EXIT);
	if (read_reply(slot, &r))
		write_dump(slot, &r);
	/* its vfork parent, if any, may answer now */
	for (int i = 0; i < nslots; i++)
		if (procs[i].reply_pending && i != slot)
			collect_pending(i);
}

/* --resolve: the trace again, with the host's results in place of the log's. */
static GString *resolved;
static char **input_lines;

static const char *line_text(const struct strace_record *rec) { return input_lines[rec->line - 1]; }

static void emit_original(const struct strace_record *rec)
{
	if (resolved)
		g_string_append_printf(resolved, "%s\n", line_text(rec));
}

/* The record's line with the host's result: by the writer's rules (addresses in hex). */
static void emit_result(const struct strace_record *rec, int64_t ret)
{
	const char *line, *eq;

	if (!resolved)
		return;
	line = line_text(rec);
	eq = g_strrstr(line, " = ");
	g_string_append_len(resolved, line, eq ? eq - line : (gssize)strlen(line));
	strace_format_result(rec->desc, false, ret < 0 ? -1 : ret, ret < 0 ? (int)-ret : 0,
			     resolved);
	g_string_append_c(resolved, '\n');
}

/* A mem_read: one line per run of equal bytes, then the faulting rest. */
static void emit_mem_read(guint idx, const struct reply *r, const uint8_t *data)
{
	const struct strace_record *rec = trace->records->pdata[idx];
	uint64_t addr = call_args[idx].a[0], len = call_args[idx].a[1];

	if (!resolved)
		return;
	for (uint32_t i = 0, j; i < r->dump_len; i = j) {
		for (j = i; j < r->dump_len && data[j] == data[i]; j++)
			;
		g_string_append_printf(resolved, "%d  mem_read(%#" PRIx64 ", %u) = %#x\n", rec->pid,
				       addr + i, j - i, data[i]);
	}
	if (r->faulted)
		g_string_append_printf(resolved,
				       "%d  mem_read(%#" PRIx64 ", %" PRIu64
				       ") = -1 EFAULT (Bad address)\n",
				       rec->pid, addr + r->dump_len, len - r->dump_len);
}

/* Why the helper cannot perform a row's call, or NULL. */
static const char *cannot_perform(const struct syscall_desc *d)
{
	if (!d->modelled)
		return "dupmm does not model it";
	if (d->flags & SCF_NOHOST)
		return "the helper's own heap is the brk area";
	if (d->flags & SCF_EXEC)
		return "it would replace the helper";
	return NULL;
}

/* The reply of a call that returns, with what --resolve writes for it. */
static void finish_call(guint idx, int slot)
{
	const struct strace_record *rec = trace->records->pdata[idx];
	const struct syscall_desc *d = rec->desc;
	struct reply r;

	if (!read_reply(slot, &r))
		return;
	if (syscall_id(d) == SC_mem_read) {
		g_autofree uint8_t *data = g_malloc(r.dump_len + 1);

		if (!read_all(rep_rd[slot], data, r.dump_len))
			return;
		emit_mem_read(idx, &r, data);
	} else if (syscall_id(d) == SC_mem_write) {
		emit_result(rec, r.faulted ? -EFAULT : 0);
	} else if ((d->flags & SCF_RET_FD) && r.ret >= 0 && !rec->result_unknown && !rec->err) {
		emit_original(rec); /* fd numbers are the log's: the host's are mapped to them */
	} else if (!(d->flags & (SCF_CLONE | SCF_RET_PID))) {
		emit_result(rec, r.ret);
	}
	if ((d->flags & SCF_RET_FD) && r.ret >= 0)
		settle_track(call_args[idx].str[syscall_id(d) == SC_openat ? 1 : 0]);
	check_reply(rec, &r);
}

static void run_record(guint idx)
{
	const struct strace_record *rec = trace->records->pdata[idx];
	int slot = slot_of_pid[rec->pid] - 1;
	const struct syscall_desc *d = rec->desc;
	struct reply r;
	const char *why;

	if (rec->kind == REC_SIGNAL)
		return;
	if (procs[slot].exited) {
		if (rec->kind != REC_CALL)
			emit_original(rec);
		return;
	}
	if (rec->kind != REC_CALL) {
		emit_original(rec);
		dump_and_exit(slot);
		return;
	}
	if ((why = cannot_perform(d)) != NULL) {
		differ(rec, "dupmm-hostrun cannot perform this call: %s", why);
		return;
	}
	performed++;
	send_cmd(slot, idx);
	if (d->flags & (SCF_EXIT | SCF_CLONE | SCF_RET_PID))
		emit_original(rec); /* pids are the log's; they are checked below */
	if (d->flags & SCF_EXIT) {
		if (read_reply(slot, &r))
			write_dump(slot, &r);
		wait_gone(procs[slot].host_pid);
		for (int i = 0; i < nslots; i++)
			if (procs[i].reply_pending)
				collect_pending(i);
		return;
	}
	if (syscall_clone_flags(d, &call_args[idx]) & CLONE_VFORK) {
		procs[slot].reply_pending = true; /* the kernel suspends the parent */
		procs[slot].pending_rec = rec;
		if (rec->result > 0 && rec->result < (1 << 16))
			procs[slot_of_pid[rec->result] - 1].started = true;
		return;
	}
	finish_call(idx, slot);
}

/*
 * decode_calls: every call's arguments, by its row in the syscall table,
 * before any process exists (a CLONE_VM child must not allocate: it shares
 * the heap).  False, naming FILE:LINE, for a call not in the table or with
 * arguments the log does not say.
 */
static bool decode_calls(void)
{
	call_args = g_new0(struct sys_args, trace->records->len);
	for (guint i = 0; i < trace->records->len; i++) {
		const struct strace_record *rec = trace->records->pdata[i];
		g_autoptr(GError) error = NULL;

		if (rec->kind != REC_CALL)
			continue;
		if (rec->desc == NULL) {
			fprintf(stderr, "%s:%d: %s: not in dupmm's syscall table\n", trace->path,
				rec->line, rec->name);
			return false;
		}
		if (!strace_call_args(trace->path, rec, &call_args[i], &error)) {
			fprintf(stderr, "dupmm-hostrun: %s\n", error->message);
			return false;
		}
	}
	return true;
}

/*
 * assign_slots: one slot per trace pid (the children's too, known from the
 * clone results), with the pipes between each and the coordinator.
 */
static bool assign_slots(void)
{
	for (guint i = 0; i < trace->records->len; i++) {
		const struct strace_record *rec = trace->records->pdata[i];

		if (rec->pid <= 0 || rec->pid >= (1 << 16)) {
			fprintf(stderr, "%s:%d: dupmm-hostrun needs a PID column (1..65535)\n",
				trace->path, rec->line);
			return false;
		}
		if (!slot_of_pid[rec->pid])
			slot_of_pid[rec->pid] = ++nslots;
		if (rec->kind == REC_CALL && rec->result > 0 && rec->result < (1 << 16) &&
		    rec->desc && (rec->desc->flags & SCF_CLONE) && !slot_of_pid[rec->result])
			slot_of_pid[rec->result] = ++nslots;
	}
	procs = g_new0(struct proc, nslots);
	cmd_fd = g_new(int, nslots);
	rep_fd = g_new(int, nslots);
	cmd_wr = g_new(int, nslots);
	rep_rd = g_new(int, nslots);
	for (int pid = 0; pid < (1 << 16); pid++)
		if (slot_of_pid[pid])
			procs[slot_of_pid[pid] - 1].trace_pid = pid;
	for (int i = 0; i < nslots; i++) {
		int c[2], r[2];

		if (pipe(c) || pipe(r)) {
			perror("dupmm-hostrun: pipe");
			return false;
		}
		cmd_fd[i] = c[0];
		cmd_wr[i] = c[1];
		rep_rd[i] = r[0];
		rep_fd[i] = r[1];
	}
	return true;
}

/*
 * All the trace's processes on one CPU.  Reclaim and the LRU keep per-CPU
 * batches (MADV_FREE's lazyfree batch, activations), and lru_add_drain()
 * drains only the local CPU's: spread over CPUs, a MADV_PAGEOUT after
 * another process touched the pages discards them or not by chance
 * (observed).  The model has one batch, as one CPU.
 */
static void pin_to_one_cpu(void)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	CPU_ZERO(&one);
	CPU_SET(cpu >= 0 ? cpu : 0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		perror("dupmm-hostrun: sched_setaffinity (results may vary between runs)");
}

/*
 * The processes still alive at the end of the log: all of them are dumped
 * before any exits, as the replay snapshots them (an exit would change the
 * others' Pss and exclusivity), then they exit, children first.
 */
static void finish_alive(void)
{
	g_autofree bool *alive = g_new0(bool, nslots);
	uint32_t cmd = CMD_EXIT;

	for (int i = 0; i < nslots; i++) {
		struct reply r;

		if (procs[i].exited || !procs[i].host_pid)
			continue;
		alive[i] = true;
		send_cmd(i, CMD_DUMP);
		if (read_reply(i, &r))
			write_dump(i, &r);
	}
	for (int i = nslots - 1; i >= 0; i--)
		if (alive[i] && write(cmd_wr[i], &cmd, sizeof(cmd)) != sizeof(cmd))
			fprintf(stderr, "dupmm-hostrun: pid %d: %s\n", procs[i].trace_pid,
				g_strerror(errno));
}

/* Run the trace: the first traced process, then every record in the log's order. */
static void run_trace(void)
{
	struct sigaction sa = { 0 };
	pid_t root;
	int status;

	pin_to_one_cpu();
	settle_files = g_array_new(FALSE, FALSE, sizeof(struct settle_file));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a dead traced process is reported, not fatal */
	fflush(NULL);
	root = fork();
	if (root == 0) {
		serve(0);
		_exit(0);
	}
	procs[0].host_pid = root;
	procs[0].started = true;
	for (guint i = 0; i < trace->records->len; i++)
		run_record(i);
	finish_alive();
	waitpid(root, &status, __WALL);
}

/* --resolve OUT: keep the log's lines to write them again with the host's results. */
static bool start_resolving(const char *file, GError **error)
{
	g_autofree char *text = NULL;

	if (!g_file_get_contents(file, &text, NULL, error))
		return false;
	input_lines = g_strsplit(text, "\n", -1);
	resolved = g_string_new(NULL);
	return true;
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("FILE - perform a trace's calls on the host kernel");
	g_autofree char *window = NULL, *out = NULL, *resolve = NULL, *dir = NULL;
	gboolean settle_lru = FALSE;
	g_auto(GStrv) files = NULL;
	const GOptionEntry entries[] = {
		{ "proc-out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
		  "Write DIR/PID.maps, DIR/PID.smaps and DIR/PID.pagemap (the window's VMAs) at each exit",
		  "DIR" },
		{ "resolve", 'r', 0, G_OPTION_ARG_FILENAME, &resolve,
		  "Write the trace again to OUT with the host's results in place of the log's",
		  "OUT" },
		{ "settle-lru", 0, 0, G_OPTION_ARG_NONE, &settle_lru,
		  "Drain the CPU's LRU batches before each dump, so that LazyFree shows every lazily "
		  "freed page whatever else ran on the CPU (the fuzzer's host check)",
		  NULL },
		{ "window", 'w', 0, G_OPTION_ARG_STRING, &window,
		  "Address window the trace uses (default 0x200000000000-0x300000000000)",
		  "LO-HI" },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_summary(
		ctx,
		"Performs the calls of a dupmm trace natively, each process of the trace a real\n"
		"process, in the log's order; reports each result that differs from the log,\n"
		"and writes the window's maps, smaps and pagemap as the kernel shows them.\n"
		"Exit status: 0 the host agrees with the log, 1 it differs, 2 bad input.");
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || !files || !files[0] || files[1]) {
		fprintf(stderr, "dupmm-hostrun: %s\n",
			error ? error->message : "give exactly one FILE");
		return 2;
	}
	if (window && sscanf(window, "%" SCNx64 "-%" SCNx64, &window_lo, &window_hi) != 2) {
		fprintf(stderr, "dupmm-hostrun: --window: expected LO-HI in hex\n");
		return 2;
	}
	trace = strace_parse_file(files[0], &error);
	/* paths made absolute before the chdir to the trace's directory */
	proc_out = out ? g_canonicalize_filename(out, NULL) : NULL;
	if (resolve) {
		char *abs = g_canonicalize_filename(resolve, NULL);

		g_free(resolve);
		resolve = abs;
	}
	if (trace == NULL || (resolve && !start_resolving(files[0], &error))) {
		fprintf(stderr, "dupmm-hostrun: %s\n", error->message);
		return 2;
	}
	if (proc_out && g_mkdir_with_parents(proc_out, 0755) < 0) {
		fprintf(stderr, "dupmm-hostrun: %s: %s\n", proc_out, g_strerror(errno));
		return 2;
	}
	if (!decode_calls() || !assign_slots())
		return 2;
	if (settle_lru) {
		settle_lru_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (settle_lru_page == MAP_FAILED) {
			perror("dupmm-hostrun: --settle-lru");
			return 2;
		}
	}
	dir = g_path_get_dirname(files[0]);
	if (chdir(dir) < 0) {
		perror("dupmm-hostrun: chdir");
		return 2;
	}
	run_trace();
	if (resolved && !g_file_set_contents(resolve, resolved->str, -1, &error)) {
		fprintf(stderr, "dupmm-hostrun: %s\n", error->message);
		return 2;
	}
	printf("host ran %u calls, %u differences from the log\n", performed, differences);
	return differences ? 1 : 0;
}
