/*
 * emu/fuzz's generated traces, shared by the generator (gen.c), the
 * shrinker (shrink.c) and the campaign (fuzz.c).
 *
 * A trace is a list of steps, each a few lines of one process: a call, a
 * fork (whose child's steps hang off it), or an exit (the child's
 * exit_group, its +++ line and the parent's wait4).  A line is a row of the
 * syscall table with its arguments as registers, so that shrinking changes
 * numbers, not text, and the strace writer prints every line.
 */
#ifndef DUPMM_FUZZ_TRACE_H
#define DUPMM_FUZZ_TRACE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <dupmm/syscall.h>

#define FUZZ_FIRST_PID	  1000
/* The data files every trace opens: page k of the first holds bytes 'A' + k, of the second 'a' + k. */
#define FUZZ_DATA_FILE	  "fuzz-file.bin"
#define FUZZ_DATA_RW_FILE "fuzz-file-rw.bin" /* opened read-write */
#define FUZZ_DATA_PAGES	  6
#define FUZZ_DATA_FD	  3
#define FUZZ_DATA_RW_FD	  4
#define FUZZ_EXITED	  (-1) /* a gline that is "+++ exited with 0 +++" */

/* One line of a generated trace. */
struct gline {
	int pid;
	int sc; /* enum syscall_id, or FUZZ_EXITED */
	struct sys_args a;
	bool has_result; /* else "= ?": the replay computes it */
	int64_t result;
};

struct step {
	int pid;
	int child;     /* the pid a fork-like step creates, else 0 */
	GArray *lines; /* struct gline */
};

GPtrArray *fuzz_generate_steps(uint64_t seed, guint ops, bool local);
/* The trace text of the steps not removed (removed may be NULL), with its fixed first lines. */
char *fuzz_steps_text(GPtrArray *steps, const bool *removed, bool local);
/* A copy of s with pid from_pid renamed to_pid (0, 0: a plain copy). */
struct step *fuzz_step_dup(const struct step *s, int from_pid, int to_pid);
void fuzz_step_free(gpointer p);

struct fuzz_options;
struct fuzz_report;
/*
 * fuzz.c: the selected checks on one trace, cheapest first: the check that
 * failed (0: none), the first difference in *why, and in *report the text
 * a failure report should hold.
 */
unsigned int fuzz_run_checks(const struct fuzz_options *o, const char *text, unsigned int checks,
			     struct fuzz_report *rep, guint *calls, char **why, char **report);
/* shrink.c: the smallest trace that still fails check; *why and *report follow it. */
char *fuzz_shrink(const struct fuzz_options *campaign, GPtrArray *original, unsigned int check,
		  char **why, char **report);

#endif
