/*
 * The x86-64 syscall table and the sys_* functions, after
 * arch/x86/entry/syscalls/syscall_64.tbl and the SYSCALL_DEFINEs of the
 * mm syscalls.  One table serves replay (arguments from a log line) and
 * the CPU emulator (arguments from registers).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dupmm/kernel.h>
#include <dupmm/uapi.h>

#define AT_FDCWD_ (-100)
#define WNOHANG_ 1

/*
 * The host side of a file mapping: its contents are read on fault.  A
 * small file is read whole at open and served from memory (the fuzzer
 * maps small files thousands of times a second); the model sees the file
 * as it was when the trace opened it.
 */
#define HOST_FILE_CACHED_MAX (1u << 20)
struct host_file {
	int fd;
	uint8_t *bytes;		/* the whole file, or NULL */
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
static long sys_openat(struct kernel *k, struct task *t, int dirfd, const struct sys_args *args,
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
		return -EOPNOTSUPP;	/* XXX: dirfd-relative opens are not modelled */
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
				g_clear_pointer(&hf->bytes, g_free);	/* read on fault then */
				break;
			}
			done += (size_t)n;
		}
	}
	fd = lowest_free_fd(t->files);
	g_hash_table_insert(t->files->fds, GINT_TO_POINTER(fd),
			    file_new(&host_aops, hf, host_path, (uint64_t)st.st_size,
				     major(st.st_dev), minor(st.st_dev), st.st_ino,
				     acc != O_WRONLY, acc != O_RDONLY));
	return fd;
}

static long sys_close(struct task *t, int fd)
{
	return g_hash_table_remove(t->files->fds, GINT_TO_POINTER(fd)) ? 0 : -EBADF;
}

/* sys_mmap (arch/x86/kernel/sys_x86_64.c) and ksys_mmap_pgoff. */
static long sys_mmap(struct task *t, const uint64_t *a)
{
	uint64_t flags = a[3], off = a[5];
	struct file *file = NULL;
	int fd = (int)a[4];

	if (off & ~PAGE_MASK)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS_)) {
		gpointer v;

		if (!g_hash_table_lookup_extended(t->files->fds, GINT_TO_POINTER(fd), NULL, &v))
			return -EBADF;
		if (v == NULL)
			return -ENODEV;	/* a terminal or pipe: no mmap */
		file = v;
	}
	flags &= ~(uint64_t)(MAP_EXECUTABLE_ | MAP_DENYWRITE_);
	return vm_mmap_pgoff(t->mm, file, a[0], a[1], a[2], flags, off >> PAGE_SHIFT);
}

struct clone_args_ {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static long sys_clone(struct kernel *k, struct task *t, uint64_t flags, int want_pid)
{
	long ret;

	kernel_clone(k, t, flags & ~0xffULL, want_pid, &ret);
	return ret;
}

static long sys_wait4(struct kernel *k, struct task *t, int pid, uint64_t options)
{
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
	return (options & WNOHANG_) ? 0 : -EAGAIN;	/* -EAGAIN: it would block */
}

static void exit_group(struct kernel *k, struct task *t, int code)
{
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
}

/* execve: a fresh, empty mm (the image's mappings are the CPU driver's job). */
static long sys_execve(struct kernel *k, struct task *t, const struct sys_args *args)
{
	long err = 0;
	g_autofree char *path = get_path(t, args, 0, &err);
	struct mm_struct *mm;

	(void)k;
	if (path == NULL)
		return err;
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

static const struct {
	int nr;
	const char *name;
} syscall_names[] = {
	{ NR_read, "read" }, { NR_write, "write" }, { NR_open, "open" }, { NR_close, "close" },
	{ NR_mmap, "mmap" }, { NR_mprotect, "mprotect" }, { NR_munmap, "munmap" },
	{ NR_brk, "brk" }, { NR_mremap, "mremap" }, { NR_msync, "msync" },
	{ NR_madvise, "madvise" }, { NR_getpid, "getpid" }, { NR_clone, "clone" },
	{ NR_fork, "fork" }, { NR_vfork, "vfork" }, { NR_execve, "execve" },
	{ NR_exit, "exit" }, { NR_wait4, "wait4" }, { NR_gettid, "gettid" },
	{ NR_mlock, "mlock" }, { NR_munlock, "munlock" }, { NR_mlockall, "mlockall" },
	{ NR_munlockall, "munlockall" }, { NR_exit_group, "exit_group" },
	{ NR_openat, "openat" }, { NR_mlock2, "mlock2" }, { NR_clone3, "clone3" },
};

int syscall_nr(const char *name)
{
	static gsize once;
	static GHashTable *by_name;	/* name -> nr + 1 */
	gpointer v;

	if (g_once_init_enter(&once)) {
		by_name = g_hash_table_new(g_str_hash, g_str_equal);
		for (size_t i = G_N_ELEMENTS(syscall_names); i-- > 0;)	/* the first of a name wins */
			g_hash_table_insert(by_name, (gpointer)syscall_names[i].name,
					    GINT_TO_POINTER(syscall_names[i].nr + 1));
		g_once_init_leave(&once, 1);
	}
	v = g_hash_table_lookup(by_name, name);
	return v ? GPOINTER_TO_INT(v) - 1 : SYS_UNKNOWN;
}

const char *syscall_name(int nr)
{
	for (size_t i = 0; i < G_N_ELEMENTS(syscall_names); i++)
		if (syscall_names[i].nr == nr)
			return syscall_names[i].name;
	return "?";
}

/* do_syscall: dispatch by x86-64 number; -ENOSYS for what is not modelled. */
long do_syscall(struct kernel *k, struct task *t, int nr, const struct sys_args *args)
{
	const uint64_t *a = args->a;

	switch (nr) {
	case NR_mmap:
		return sys_mmap(t, a);
	case NR_munmap:
		return vm_munmap(t->mm, a[0], a[1]);
	case NR_mprotect:
		return do_mprotect_pkey(t->mm, a[0], a[1], a[2], -1);
	case NR_madvise:
		return do_madvise(t->mm, a[0], a[1], (int)a[2]);
	case NR_mremap:
		return do_mremap(t->mm, a[0], a[1], a[2], a[3], a[4]);
	case NR_brk:
		return do_brk_syscall(t->mm, a[0]);
	case NR_msync:
		return do_msync(t->mm, a[0], a[1], a[2]);
	case NR_mlock:
		return do_mlock(t->mm, a[0], a[1], 0);
	case NR_mlock2:
		return do_mlock(t->mm, a[0], a[1], a[2]);
	case NR_munlock:
		return do_munlock(t->mm, a[0], a[1]);
	case NR_mlockall:
		return do_mlockall(t->mm, a[0]);
	case NR_munlockall:
		return do_munlockall(t->mm);
	case NR_open:
		return sys_openat(k, t, AT_FDCWD_, args, 0, a[1]);
	case NR_openat:
		return sys_openat(k, t, (int)a[0], args, 1, a[2]);
	case NR_close:
		return sys_close(t, (int)a[0]);
	case NR_fork:
		return sys_clone(k, t, 17 /* SIGCHLD */, args->child_pid);
	case NR_vfork:
		return sys_clone(k, t, CLONE_VM_ | CLONE_VFORK_ | 17, args->child_pid);
	case NR_clone:
		return sys_clone(k, t, a[0], args->child_pid);
	case NR_clone3: {
		struct clone_args_ ca = { 0 };
		struct mm_fault_info fi;

		if (a[1] < 64)
			return -EINVAL;
		if (mm_read(t->mm, a[0], &ca, sizeof(ca), &fi))
			return -EFAULT;
		return sys_clone(k, t, ca.flags, args->child_pid);
	}
	case NR_exit:
		kernel_exit(k, t, (int)a[0]);
		return 0;
	case NR_exit_group:
		exit_group(k, t, (int)a[0]);
		return 0;
	case NR_wait4:
		return sys_wait4(k, t, (int)a[0], a[2]);
	case NR_execve:
		return sys_execve(k, t, args);
	case NR_getpid:
		return t->tgid;
	case NR_gettid:
		return t->pid;
	}
	return -ENOSYS;
}
