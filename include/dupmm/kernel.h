/*
 * emu/kernel: the world around the mm.  Tasks (pid, tgid, parent, mm,
 * exit state, files), clone/fork/vfork, exit, wait, execve, and the x86-64
 * syscall table that both drivers (replay and the CPU emulator) call.
 */
#ifndef DUPMM_KERNEL_H
#define DUPMM_KERNEL_H

#include <glib.h>
#include <stdint.h>

#include "mm.h"

/* An open file table, shared by CLONE_FILES tasks. */
struct files_struct {
	GHashTable *fds;	/* int fd -> struct file * (NULL: a non-mappable file) */
	int refcount;
};

enum task_state { TASK_RUNNING, TASK_ZOMBIE, TASK_DEAD };

struct task {
	int pid, tgid;
	struct task *parent;
	struct mm_struct *mm;
	struct files_struct *files;
	enum task_state state;
	int exit_code;			/* as wait4 reports it */
	struct task *vfork_parent;	/* suspended until we exit or exec */
	bool vfork_waiting;
};

/* Observes each process's last state; replay's --proc-out uses it. */
typedef void (*task_exit_fn)(struct task *t, void *arg);

struct kernel {
	GHashTable *tasks;		/* pid -> struct task * */
	int last_pid;
	char *cwd;			/* relative paths resolve here */
	task_exit_fn on_exit;		/* called before a task's mm goes */
	void *on_exit_arg;
	GError *host_error;		/* the first host-side failure, for the driver */
};

/* Syscall arguments: registers, and strings a replay log provides. */
struct sys_args {
	uint64_t a[6];
	const char *str[6];	/* for pointer-to-string arguments; NULL = read guest memory */
	int child_pid;		/* clone family: the pid to give the child (0 = next free) */
};

struct kernel *kernel_new(const char *cwd);
void kernel_free(struct kernel *k);
/* The first process: a fresh mm, fds 0-2 open (not mappable). */
struct task *kernel_spawn(struct kernel *k, int pid);
struct task *kernel_find_task(struct kernel *k, int pid);

/*
 * kernel_clone: the child of parent with the given clone flags, with pid
 * child_pid (0: allocate).  Returns the child or NULL with *err.
 */
struct task *kernel_clone(struct kernel *k, struct task *parent, uint64_t flags,
			  int child_pid, long *err);
void kernel_exit(struct kernel *k, struct task *t, int code);

#define SYS_UNKNOWN (-1)
/* The x86-64 number of a syscall name, or SYS_UNKNOWN. */
int syscall_nr(const char *name);
const char *syscall_name(int nr);
/* Run syscall nr for t: the kernel's return value (>= 0 or -errno). */
long do_syscall(struct kernel *k, struct task *t, int nr, const struct sys_args *args);

/* x86-64 numbers of the syscalls the model serves */
enum {
	NR_read = 0, NR_write = 1, NR_open = 2, NR_close = 3, NR_mmap = 9,
	NR_mprotect = 10, NR_munmap = 11, NR_brk = 12, NR_mremap = 25,
	NR_msync = 26, NR_madvise = 28, NR_getpid = 39, NR_clone = 56,
	NR_fork = 57, NR_vfork = 58, NR_execve = 59, NR_exit = 60,
	NR_wait4 = 61, NR_gettid = 186, NR_mlock = 149, NR_munlock = 150,
	NR_mlockall = 151, NR_munlockall = 152, NR_exit_group = 231,
	NR_openat = 257, NR_mlock2 = 325, NR_clone3 = 435,
};

#endif
