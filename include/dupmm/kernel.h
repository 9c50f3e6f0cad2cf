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
#include "syscall.h"

/* An open file table, shared by CLONE_FILES tasks. */
struct files_struct {
	GHashTable *fds; /* int fd -> struct file * (NULL: a non-mappable file) */
	int refcount;
};

enum task_state { TASK_RUNNING, TASK_ZOMBIE, TASK_DEAD };

struct task {
	int pid, tgid;
	struct task *parent;
	struct mm_struct *mm;
	struct files_struct *files;
	enum task_state state;
	int exit_code;		   /* as wait4 reports it */
	struct task *vfork_parent; /* suspended until we exit or exec */
	bool vfork_waiting;
};

/* Observes each process's last state; replay's --proc-out uses it. */
typedef void (*task_exit_fn)(struct task *t, void *arg);

struct kernel {
	GHashTable *tasks; /* pid -> struct task * */
	int last_pid;
	char *cwd;	      /* relative paths resolve here */
	task_exit_fn on_exit; /* called before a task's mm goes */
	void *on_exit_arg;
	GError *host_error; /* the first host-side failure, for the driver */
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
struct task *kernel_clone(struct kernel *k, struct task *parent, uint64_t flags, int child_pid,
			  long *err);
void kernel_exit(struct kernel *k, struct task *t, int code);

/*
 * do_syscall: run syscall nr (x86-64) for t, as both drivers do: the
 * kernel's return value (>= 0 or -errno); -ENOSYS for a call the table
 * does not serve.
 */
long do_syscall(struct kernel *k, struct task *t, int nr, const struct sys_args *args);

#endif
