/*
 * The sys_* handlers, after the SYSCALL_DEFINEs of the calls dupmm serves,
 * and sys_call_table, made from the rows of <dupmm/syscall_64.def> as the
 * kernel's is made from syscall_64.tbl.  One table serves the replay
 * (arguments from a log line) and the CPU emulator (from registers).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dupmm/kernel.h>
#include <dupmm/uapi.h>

/*
 * The host side of a file mapping: its contents are read on fault.  A
 * small file is read whole at open and served from memory (the fuzzer
 * maps small files thousands of times a second); the model sees the file
 * as it was when the trace opened it.
 */
#define HOST_FILE_CACHED_MAX (1u << 20)
struct host_file {
	int fd;
	uint8_t *bytes; /* the whole file, or NULL */
	size_t size;
};

static int host_read_folio(void *host, uint64_t pgoff, uint8_t *dst)
{
	struct host_file *hf = host;
	uint64_t off = pgoff << PAGE_SHIFT;
	ssize_t n;

	if (hf->bytes) {
		n = off < hf->size ? (ssize_t)MIN((size_t)PAGE_SIZE, hf->size - off) : 0;
		memcpy(dst, hf->bytes + off, (size_t)n);
	} else {
		n = pread(hf->fd, dst, PAGE_SIZE, (off_t)off);
	}
	if (n < 0)
		return -EIO;
	memset(dst + n, 0, PAGE_SIZE - (size_t)n);
	return 0;
}

static void host_release(void *host)
{
	struct host_file *hf = host;

	close(hf->fd);
	g_free(hf->bytes);
	g_free(hf);
}

static const struct address_space_operations host_aops = {
	.read_folio = host_read_folio,
	.release = host_release,
};

/* A path argument: the log's string, else read from guest memory. */
static char *get_path(struct task *t, const struct sys_args *args, int i, long *err)
{
	char buf[4096];
	struct mm_fault_info fi;

	if (args->str[i])
		return g_strdup(args->str[i]);
	for (size_t n = 0; n < sizeof(buf); n++) {
		if (mm_read(t->mm, args->a[i] + n, &buf[n], 1, &fi)) {
			*err = -EFAULT;
			return NULL;
		}
		if (buf[n] == '\0')
			return g_strdup(buf);
	}
	*err = -ENAMETOOLONG;
	return NULL;
}

static int lowest_free_fd(struct files_struct *files)
{
	int fd = 0;

	while (g_hash_table_contains(files->fds, GINT_TO_POINTER(fd)))
		fd++;
	return fd;
}

/* do_sys_openat: open a host file read-only, as a model file with the requested access. */
static long do_sys_openat(struct kernel *k, struct task *t, int dirfd, const struct sys_args *args,
			  int path_arg, uint64_t flags)
{
	long err = 0;
	g_autofree char *path = get_path(t, args, path_arg, &err);
	g_autofree char *host_path = NULL;
	struct host_file *hf;
	struct stat st;
	int acc = (int)(flags & O_ACCMODE), fd;

	if (path == NULL)
		return err;
	if (!g_path_is_absolute(path) && dirfd != AT_FDCWD_)
		return -EOPNOTSUPP; /* XXX: dirfd-relative opens are not modelled */
	{
		g_autofree char *cwd = g_canonicalize_filename(k->cwd, NULL);

		/* /proc/PID/maps shows the d_path: absolute, canonical */
		host_path = g_canonicalize_filename(path, cwd);
	}
	hf = g_new0(struct host_file, 1);
	hf->fd = open(host_path, O_RDONLY | O_CLOEXEC);
	if (hf->fd < 0) {
		err = -errno;
		g_free(hf);
		return err;
	}
	if (fstat(hf->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -ENODEV;
		host_release(hf);
		return err;
	}
	if ((uint64_t)st.st_size <= HOST_FILE_CACHED_MAX) {
		hf->bytes = g_malloc((gsize)st.st_size + 1);
		hf->size = (size_t)st.st_size;
		for (size_t done = 0; done < hf->size;) {
			ssize_t n = pread(hf->fd, hf->bytes + done, hf->size - done, (off_t)done);

			if (n <= 0) {
				g_clear_pointer(&hf->bytes, g_free); /* read on fault then */
				break;
			}
			done += (size_t)n;
		}
	}
	fd = lowest_free_fd(t->files);
	g_hash_table_insert(t->files->fds, GINT_TO_POINTER(fd),
			    file_new(&host_aops, hf, host_path, (uint64_t)st.st_size,
				     major(st.st_dev), minor(st.st_dev), st.st_ino, acc != O_WRONLY,
				     acc != O_RDONLY));
	return fd;
}

static long sys_openat(struct kernel *k, struct task *t, const struct sys_args *a)
{
	return do_sys_openat(k, t, (int)a->a[0], a, 1, a->a[2]);
}

static long sys_open(struct kernel *k, struct task *t, const struct sys_args *a)
{
	return do_sys_openat(k, t, AT_FDCWD_, a, 0, a->a[1]);
}

static long sys_close(struct kernel *k, struct task *t, const struct sys_args *a)
{
	(void)k;
	return g_hash_table_remove(t->files->fds, GINT_TO_POINTER((int)a->a[0])) ? 0 : -EBADF;
}

/* sys_mmap (arch/x86/kernel/sys_x86_64.c) and ksys_mmap_pgoff. */
static long sys_mmap(struct kernel *k, struct task *t, const struct sys_args *args)
{
	const uint64_t *a = args->a;
	uint64_t flags = a[3], off = a[5];
	struct file *file = NULL;
	int fd = (int)a[4];

	(void)k;
	if (off & ~PAGE_MASK)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS_)) {
		gpointer v;

		if (!g_hash_table_lookup_extended(t->files->fds, GINT_TO_POINTER(fd), NULL, &v))
			return -EBADF;
		if (v == NULL)
			return -ENODEV; /* a terminal or pipe: no mmap */
		file = v;
	}
	flags &= ~(uint64_t)(MAP_EXECUTABLE_ | MAP_DENYWRITE_);
	return vm_mmap_pgoff(t->mm, file, a[0], a[1], a[2], flags, off >> PAGE_SHIFT);
}

/* The mm syscalls that take their arguments as they are. */
#define SYS_MM(name, call)                                                                    \
	static long sys_##name(struct kernel *k, struct task *t, const struct sys_args *args) \
	{                                                                                     \
		const uint64_t *a = args->a;                                                  \
                                                                                              \
		(void)k;                                                                      \
		(void)a;                                                                      \
		return call;                                                                  \
	}
SYS_MM(munmap, vm_munmap(t->mm, a[0], a[1]))
SYS_MM(mprotect, do_mprotect_pkey(t->mm, a[0], a[1], a[2], -1))
SYS_MM(madvise, do_madvise(t->mm, a[0], a[1], (int)a[2]))
SYS_MM(mremap, do_mremap(t->mm, a[0], a[1], a[2], a[3], a[4]))
SYS_MM(brk, do_brk_syscall(t->mm, a[0]))
SYS_MM(msync, do_msync(t->mm, a[0], a[1], a[2]))
SYS_MM(mlock, do_mlock(t->mm, a[0], a[1], 0))
SYS_MM(mlock2, do_mlock(t->mm, a[0], a[1], a[2]))
SYS_MM(munlock, do_munlock(t->mm, a[0], a[1]))
SYS_MM(mlockall, do_mlockall(t->mm, a[0]))
SYS_MM(munlockall, do_munlockall(t->mm))
SYS_MM(getpid, t->tgid)
SYS_MM(gettid, t->pid)

struct clone_args_ {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* kernel_clone: the exit signal (CSIGNAL) is not modelled. */
static long do_clone(struct kernel *k, struct task *t, uint64_t flags, int want_pid)
{
	long ret;

	kernel_clone(k, t, flags & ~(uint64_t)CSIGNAL_, want_pid, &ret);
	return ret;
}

static long sys_fork(struct kernel *k, struct task *t, const struct sys_args *a)
{
	return do_clone(k, t, syscall_clone_flags(&syscall_table[SC_fork], a), a->child_pid);
}

static long sys_vfork(struct kernel *k, struct task *t, const struct sys_args *a)
{
	return do_clone(k, t, syscall_clone_flags(&syscall_table[SC_vfork], a), a->child_pid);
}

static long sys_clone(struct kernel *k, struct task *t, const struct sys_args *a)
{
	return do_clone(k, t, a->a[0], a->child_pid);
}

/* clone3 (kernel/fork.c copy_clone_args_from_user): the struct from the log, or user memory. */
static long sys_clone3(struct kernel *k, struct task *t, const struct sys_args *a)
{
	struct clone_args_ ca = { 0 };
	struct mm_fault_info fi;

	if (a->a[1] < 64) /* CLONE_ARGS_SIZE_VER0 */
		return -EINVAL;
	if (a->has_obj)
		memcpy(&ca, a->obj, sizeof(ca));
	else if (mm_read(t->mm, a->a[0], &ca, sizeof(ca), &fi))
		return -EFAULT;
	return do_clone(k, t, ca.flags, a->child_pid);
}

static long sys_wait4(struct kernel *k, struct task *t, const struct sys_args *a)
{
	int pid = (int)a->a[0];
	uint64_t options = a->a[2];
	GHashTableIter it;
	gpointer key, v;
	bool have_child = false;

	g_hash_table_iter_init(&it, k->tasks);
	while (g_hash_table_iter_next(&it, &key, &v)) {
		struct task *c = v;
		int cpid = c->pid;

		if (c->parent != t || (pid > 0 && c->pid != pid) || c->state == TASK_DEAD)
			continue;
		have_child = true;
		if (c->state == TASK_ZOMBIE) {
			g_hash_table_iter_remove(&it);
			return cpid;
		}
	}
	if (!have_child)
		return -ECHILD;
	return (options & WNOHANG_) ? 0 : -EAGAIN; /* -EAGAIN: it would block */
}

static long sys_exit(struct kernel *k, struct task *t, const struct sys_args *a)
{
	kernel_exit(k, t, (int)a->a[0]);
	return 0;
}

static long sys_exit_group(struct kernel *k, struct task *t, const struct sys_args *a)
{
	int code = (int)a->a[0];
	GHashTableIter it;
	gpointer key, v;
	int tgid = t->tgid;

	g_hash_table_iter_init(&it, k->tasks);
	while (g_hash_table_iter_next(&it, &key, &v)) {
		struct task *o = v;

		if (o != t && o->tgid == tgid)
			kernel_exit(k, o, code);
	}
	kernel_exit(k, t, code);
	return 0;
}

/*
 * execve: a fresh, empty mm.  Divergence: the kernel's binfmt_elf maps the
 * program, its interpreter, the stack, [vdso] and the heap's start; the
 * model's new mm has none of them (a later issue builds binfmt_elf).
 */
static long sys_execve(struct kernel *k, struct task *t, const struct sys_args *args)
{
	long err = 0;
	g_autofree char *path = get_path(t, args, 0, &err);
	struct mm_struct *mm;

	(void)k;
	if (path == NULL)
		return err;
	mm_note_simplification(SIMPL_EXECVE);
	mm = mm_alloc();
	if (mm == NULL)
		return -ENOMEM;
	if (t->vfork_parent) {
		t->vfork_parent->vfork_waiting = false;
		t->vfork_parent = NULL;
	}
	mmput(t->mm);
	t->mm = mm;
	return 0;
}

typedef long (*sys_call_ptr_t)(struct kernel *k, struct task *t, const struct sys_args *a);

/* sys_call_table, indexed by the rows of syscall_64.def; NULL: not modelled. */
static const sys_call_ptr_t sys_call_table[NR_SYSCALL_ROWS] = {
#define SYSCALL(nr, name, handler, ...) [SC_##name] = handler,
#define UNMODELLED(...)
#define PSEUDO(...)
#include <dupmm/syscall_64.def>
#undef SYSCALL
#undef UNMODELLED
#undef PSEUDO
};

long do_syscall(struct kernel *k, struct task *t, int nr, const struct sys_args *args)
{
	const struct syscall_desc *d = syscall_by_nr(nr);

	if (d == NULL || sys_call_table[syscall_id(d)] == NULL)
		return -ENOSYS;
	return sys_call_table[syscall_id(d)](k, t, args);
}
