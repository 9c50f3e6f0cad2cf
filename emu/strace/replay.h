/*
 * emu/strace replay: a trace replayed into the model, call by call, every
 * result checked against the log.
 */
#ifndef DUPMM_REPLAY_H
#define DUPMM_REPLAY_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "strace.h"

struct kernel;

/* What the model did for one record, for a driver's own checks (on_step). */
struct replay_step {
	const struct strace_record *r; /* a call, a mem op, or an exit */
	const struct sys_args
		*args;	     /* a call's arguments as the handler took them; NULL: an exit */
	long ret;	     /* the model's result (mem ops: 0 or -EFAULT) */
	struct kernel *k;    /* the simulated kernel, after the record */
	const uint8_t *read; /* mem_read: the bytes read before any fault */
	size_t read_len;
};

struct replay_options {
	const char *proc_out; /* write DIR/PID.{maps,smaps,smaps_rollup,status,pagemap} */
	bool print_maps, print_smaps;
	bool check;	 /* validate_vm after every call */
	FILE *out;	 /* maps/smaps and the summary; stdout if NULL */
	FILE *diag;	 /* divergences; stderr if NULL */
	bool quiet;	 /* count divergences, print nothing */
	const char *cwd; /* relative paths resolve here (default: the log's directory) */
	/* Called after every replayed call with the model's return value. */
	void (*on_call)(const struct strace_record *r, long ret, void *arg);
	void *on_call_arg;
	/* Called before every record is replayed, with the kernel as it is then. */
	void (*before_step)(const struct strace_record *r, struct kernel *k, void *arg);
	/*
	 * Called after every record the model replays (an exit, a call, a
	 * pseudo-call; not a call it skips); a message it returns is a
	 * divergence.
	 */
	char *(*on_step)(const struct replay_step *st, void *arg);
	void *on_step_arg;
	bool no_snapshots; /* take no /proc snapshots at exits (the fuzzer's speed) */
	/*
	 * Drain the per-CPU LRU batches before each snapshot, as
	 * dupmm-hostrun --settle-lru does before each dump: LazyFree then
	 * shows every lazily freed page, whatever else ran on the host's CPU.
	 */
	bool settle_lru;
};

struct replay_result {
	guint calls;	   /* calls replayed on the model */
	guint divergences; /* results that differ from the log, and broken invariants */
	guint skipped;	   /* calls of syscalls the model does not serve */
	/*
	 * Snapshots taken with pages MADV_FREE left queued (not settle_lru):
	 * on the host, whatever else runs on the CPU may drain them, so their
	 * LazyFree is not certain.  Shipped traces have none.
	 */
	guint unsettled_snapshots;
	/*
	 * Simplifications of the model the log reached (enum
	 * mm_simplification): each warned about once, at the first line that
	 * reached it.
	 */
	guint warnings;
	GHashTable *snapshots; /* pid -> struct replay_snapshot * */
	char *first_divergence;
};

struct replay_snapshot {
	char *maps, *smaps, *smaps_rollup, *status;
	char *pagemap; /* <procfs/procfs.h>, one line per VMA */
};

/*
 * replay_file: replay the log at path.  FALSE with *error (FILE:LINE:
 * reason) when the input cannot be read or makes no sense; TRUE otherwise,
 * divergences counted in *res.  Call replay_result_clear afterwards.
 */
gboolean replay_file(const char *path, const struct replay_options *opts, struct replay_result *res,
		     GError **error);
void replay_result_clear(struct replay_result *res);
/* replay_log: the same for a log already parsed (the fuzzer's). */
gboolean replay_log(const struct strace_log *log, const struct replay_options *opts,
		    struct replay_result *res, GError **error);
/* The first divergence message of the last replay_log/replay_file, or NULL. */
const char *replay_first_divergence(const struct replay_result *res);

/*
 * replay_compare_with_host: the snapshots against the /proc files the host
 * kernel wrote into dir (dupmm-hostrun -o): PID.maps and PID.smaps in their
 * canonical forms and PID.pagemap's summary, for every process on either
 * side.  NULL if they agree, else the first difference; *files: how many
 * files were compared.
 */
char *replay_compare_with_host(const struct replay_result *res, const char *dir, guint *files);

#endif
