/*
 * Tasks: creation, clone, exit and reaping, after kernel/fork.c
 * (copy_process, copy_mm, copy_files) and kernel/exit.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <dupmm/kernel.h>
#include <dupmm/uapi.h>

static void file_unref(gpointer p)
{
	if (p)
		fput(p);
}

static struct files_struct *files_new(void)
{
	struct files_struct *files = g_new0(struct files_struct, 1);

	files->fds = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, file_unref);
	files->refcount = 1;
	return files;
}

/* dup_fd: the child's copy of the table, each file with one more reference. */
static struct files_struct *dup_fd(struct files_struct *old)
{
	struct files_struct *files = files_new();
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, old->fds);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_insert(files->fds, k, v ? get_file(v) : NULL);
	return files;
}

static void put_files(struct files_struct *files)
{
	if (--files->refcount > 0)
		return;
	g_hash_table_destroy(files->fds);
	g_free(files);
}

static void task_free(gpointer p)
{
	struct task *t = p;

	if (t->mm)
		mmput(t->mm);
	if (t->files)
		put_files(t->files);
	g_free(t);
}

struct kernel *kernel_new(const char *cwd)
{
	struct kernel *k = g_new0(struct kernel, 1);

	k->tasks = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, task_free);
	k->last_pid = 1000;
	k->cwd = g_strdup(cwd ? cwd : ".");
	return k;
}

void kernel_free(struct kernel *k)
{
	if (k == NULL)
		return;
	g_hash_table_destroy(k->tasks);
	g_clear_error(&k->host_error);
	g_free(k->cwd);
	g_free(k);
}

struct task *kernel_find_task(struct kernel *k, int pid)
{
	return g_hash_table_lookup(k->tasks, GINT_TO_POINTER(pid));
}

static int alloc_pid(struct kernel *k)
{
	while (kernel_find_task(k, ++k->last_pid))
		;
	return k->last_pid;
}

struct task *kernel_spawn(struct kernel *k, int pid)
{
	struct task *t = g_new0(struct task, 1);

	t->pid = t->tgid = pid ? pid : alloc_pid(k);
	t->mm = mm_alloc();
	if (t->mm == NULL) {
		g_free(t);
		return NULL;
	}
	t->files = files_new();
	for (int fd = 0; fd < 3; fd++) /* stdin, stdout, stderr: not mappable here */
		g_hash_table_insert(t->files->fds, GINT_TO_POINTER(fd), NULL);
	g_hash_table_insert(k->tasks, GINT_TO_POINTER(t->pid), t);
	return t;
}

/*
 * kernel_clone (copy_process): CLONE_VM shares the mm and copies nothing;
 * without it the child gets dup_mm.  CLONE_VFORK suspends the parent until
 * the child exits or execs.  CLONE_THREAD joins the parent's thread group.
 */
struct task *kernel_clone(struct kernel *k, struct task *parent, uint64_t flags, int child_pid,
			  long *err)
{
	struct task *t;
	int e = 0;

	if ((flags & CLONE_THREAD_) && !(flags & CLONE_SIGHAND_)) {
		*err = -EINVAL;
		return NULL;
	}
	if ((flags & CLONE_SIGHAND_) && !(flags & CLONE_VM_)) {
		*err = -EINVAL;
		return NULL;
	}
	if (child_pid && kernel_find_task(k, child_pid)) {
		*err = -EEXIST; /* the log reuses a pid that is still around */
		return NULL;
	}
	t = g_new0(struct task, 1);
	t->pid = child_pid ? child_pid : alloc_pid(k);
	t->tgid = (flags & CLONE_THREAD_) ? parent->tgid : t->pid;
	t->parent = (flags & (CLONE_PARENT_ | CLONE_THREAD_)) && parent->parent ? parent->parent
										: parent;
	if (flags & CLONE_VM_) {
		mmget(parent->mm);
		t->mm = parent->mm;
	} else {
		t->mm = dup_mm(parent->mm, &e);
		if (t->mm == NULL) {
			g_free(t);
			*err = e;
			return NULL;
		}
	}
	if (flags & CLONE_FILES_) {
		parent->files->refcount++;
		t->files = parent->files;
	} else {
		t->files = dup_fd(parent->files);
	}
	if (flags & CLONE_VFORK_) {
		t->vfork_parent = parent;
		parent->vfork_waiting = true;
	}
	g_hash_table_insert(k->tasks, GINT_TO_POINTER(t->pid), t);
	*err = t->pid;
	return t;
}

/* mm_release: a vfork parent runs again once its child lets go of the mm. */
static void mm_release(struct task *t)
{
	if (t->vfork_parent) {
		t->vfork_parent->vfork_waiting = false;
		t->vfork_parent = NULL;
	}
}

/* kernel_exit (do_exit): drop the mm and files; stay a zombie until reaped. */
void kernel_exit(struct kernel *k, struct task *t, int code)
{
	if (t->state != TASK_RUNNING)
		return;
	if (k->on_exit)
		k->on_exit(t, k->on_exit_arg);
	mm_release(t);
	mmput(t->mm);
	t->mm = NULL;
	put_files(t->files);
	t->files = NULL;
	t->state = TASK_ZOMBIE;
	t->exit_code = (code & 0xff) << 8;
}
