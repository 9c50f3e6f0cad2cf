/*
 * emu/fuzz: random traces in the trace language, run against checks, and
 * shrunk to a minimal replayable trace when a check fails.
 *
 * Checks (selectable):
 *   FUZZ_CHECK_INVARIANTS  validate_vm and the rmap/page-table cross-checks
 *                          after every call, and no MM_WARN_ON.
 *   FUZZ_CHECK_MODEL       the reference model (emu/fuzz/refmodel.h), a
 *                          page-granular model sharing no code with mm/:
 *                          results, bytes read, and each page's mapping,
 *                          VmFlags, guard and contents after every call.
 *   FUZZ_CHECK_HOST        the host kernel: dupmm-hostrun performs the trace
 *                          with real processes and fills in every result; the
 *                          model must give the same results and bytes, and
 *                          the same maps, smaps and pagemap flags at each
 *                          exit (replay_compare_with_host).
 * Checks 1 and 2 look at what a call touched after every call, and at
 * everything every full_every records and once every process has exited.
 */
#ifndef DUPMM_FUZZ_H
#define DUPMM_FUZZ_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum fuzz_check {
	FUZZ_CHECK_INVARIANTS = 1u << 0,
	FUZZ_CHECK_MODEL = 1u << 1, /* the reference model must agree */
	FUZZ_CHECK_HOST = 1u << 2,  /* dupmm-hostrun performs it; the model must agree */
};

struct fuzz_options {
	uint64_t seed;		/* run i uses seed + i */
	guint ops;		/* calls per generated trace (about) */
	guint runs;		/* traces to generate */
	guint shard_k, shard_n; /* only runs with i % shard_n == shard_k */
	double time_budget;	/* seconds; 0 = none */
	unsigned int checks;	/* FUZZ_CHECK_* */
	const char *out_dir;	/* where shrunk failing traces go */
	guint max_failures;	/* stop after this many (0 = 1) */
	FILE *out;		/* progress and summary */
	const char *hostrun;	/* the dupmm-hostrun executable, for FUZZ_CHECK_HOST */
	guint full_every; /* checks 1 and 2 look at everything every N records (0: default 16) */
};

struct fuzz_report {
	guint runs, failures;
	uint64_t calls;
	double seconds;
	uint64_t results[8];	  /* per enum fuzz_result_kind */
	uint64_t events[32];	  /* vm_events at the end of the campaign */
	GPtrArray *failure_files; /* paths of the shrunk traces written */
	uint64_t host_calls;	  /* calls the host performed */
	double host_seconds;	  /* time spent in dupmm-hostrun */
	uint64_t pages_compared;  /* pages compared with the reference model */
};

enum fuzz_result_kind {
	FR_OK,
	FR_EINVAL,
	FR_ENOMEM,
	FR_EEXIST,
	FR_EAGAIN,
	FR_EACCES,
	FR_EFAULT,
	FR_OTHER
};

#define FUZZ_FULL_EVERY_DEFAULT 16
/* Where generated traces map: the reference model's window. */
#define FUZZ_WINDOW_BASE	0x200000000000ULL
#define FUZZ_WINDOW_PAGES	128
/* replay --model: the reference model over 4 MiB from FUZZ_WINDOW_BASE */
#define REPLAY_MODEL_PAGES	1024
/* The file the generated traces map (fuzz-file.bin), written into dir. */
gboolean fuzz_write_data_file(const char *dir, GError **error);

/*
 * The trace of one seed: the same text on every machine.  local: with
 * brk calls and mappings of a read-write data file (a campaign leaves them out
 * when the host check is on: dupmm-hostrun cannot move its own heap, and
 * the host dirties its file pages a large folio at a time).
 */
char *fuzz_generate(uint64_t seed, guint ops, bool local);
/* Run a campaign; false with *error only when the host refuses something. */
gboolean fuzz_campaign(const struct fuzz_options *opts, struct fuzz_report *rep, GError **error);
void fuzz_report_clear(struct fuzz_report *rep);
void fuzz_print_summary(const struct fuzz_options *opts, const struct fuzz_report *rep, FILE *f);

#endif
