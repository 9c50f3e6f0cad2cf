/*
 * The fuzzer's campaign: each seed's trace (gen.c) replayed with the
 * chosen checks, cheapest first; a failure shrunk (shrink.c) and written
 * with the command that reproduces it; and the summary, with the counts
 * that show a campaign was not vacuous.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <glib/gstdio.h>

#include <dupmm/mm.h>
#include <fuzz/fuzz.h>
#include <strace/replay.h>
#include <strace/strace.h>

#include "checks.h"
#include "trace.h"

#define ARENA_BASE   FUZZ_WINDOW_BASE
#define WINDOW_PAGES FUZZ_WINDOW_PAGES /* the arena and what grows out of it */

/* The calls of a trace: its lines but the +++ ones. */
static guint count_calls(const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;

	for (int i = 0; lines[i]; i++)
		n += *lines[i] && !strstr(lines[i], "+++");
	return n;
}

/* ---- checks ---- */

static char *last_warning;

static void capture_warning(const char *msg)
{
	if (last_warning == NULL)
		last_warning = g_strdup(msg);
}

static void count_result(const struct strace_record *r, long ret, void *arg)
{
	struct fuzz_report *rep = arg;
	enum fuzz_result_kind k;

	(void)r;
	switch (ret >= 0 ? 0 : -ret) {
	case 0: k = FR_OK; break;
	case EINVAL: k = FR_EINVAL; break;
	case ENOMEM: k = FR_ENOMEM; break;
	case EEXIST: k = FR_EEXIST; break;
	case EAGAIN: k = FR_EAGAIN; break;
	case EACCES: k = FR_EACCES; break;
	case EFAULT: k = FR_EFAULT; break;
	default: k = FR_OTHER;
	}
	rep->results[k]++;
}

gboolean fuzz_write_data_file(const char *dir, GError **error)
{
	g_autofree char *path = g_build_filename(dir, FUZZ_DATA_FILE, NULL);
	g_autofree char *rw = g_build_filename(dir, FUZZ_DATA_RW_FILE, NULL);
	char bytes[FUZZ_DATA_PAGES * 4096];

	for (int k = 0; k < FUZZ_DATA_PAGES; k++)
		memset(bytes + k * 4096, 'A' + k, 4096);
	if (!g_file_set_contents(path, bytes, sizeof(bytes), error))
		return FALSE;
	for (int k = 0; k < FUZZ_DATA_PAGES; k++)
		memset(bytes + k * 4096, 'a' + k, 4096);
	return g_file_set_contents(rw, bytes, sizeof(bytes), error);
}

/* Where the campaign's replays run: the data file lives there. */
static char *data_dir;

/*
 * replay_text: replay a trace with checks 1 and 2 as asked (FUZZ_CHECK_*);
 * true if it diverged.  snapshots: take the /proc snapshots at exits (the
 * host check compares them), with the LRU batches settled first as
 * dupmm-hostrun --settle-lru settles the host's.
 */
static bool replay_text(const struct fuzz_options *o, const char *name, const char *text,
			unsigned int checks, bool snapshots, struct fuzz_report *rep,
			bool count_results, guint *calls, struct replay_result *res, char **why)
{
	g_autoptr(GError) error = NULL;
	struct strace_log *log = strace_parse_text(name, text, &error);
	struct fuzz_checker *fc = NULL;
	struct replay_options opts = {
		.quiet = true,
		.cwd = data_dir ? data_dir : ".",
		.no_snapshots = !snapshots,
		.settle_lru = snapshots,
		.on_call = rep && count_results ? count_result : NULL,
		.on_call_arg = rep,
	};
	unsigned long warns = mm_warn_count;
	bool failed = false;

	if (log == NULL) {
		*why = g_strdup_printf("the generated trace does not parse: %s", error->message);
		memset(res, 0, sizeof(*res));
		return true;
	}
	if (checks & (FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL)) {
		fc = fuzz_checker_new(checks & FUZZ_CHECK_INVARIANTS, checks & FUZZ_CHECK_MODEL,
				      ARENA_BASE, WINDOW_PAGES, opts.cwd,
				      o->full_every ? o->full_every : FUZZ_FULL_EVERY_DEFAULT);
		opts.on_step = fuzz_checker_step;
		opts.before_step = fuzz_checker_before;
		opts.on_step_arg = fc;
	}
	g_clear_pointer(&last_warning, g_free);
	if (!replay_log(log, &opts, res, &error)) {
		*why = g_strdup_printf("the generated trace does not replay: %s", error->message);
		failed = true;
	} else if (res->divergences) {
		*why = g_strdup(replay_first_divergence(res));
		failed = true;
	} else if (mm_warn_count != warns && (checks & FUZZ_CHECK_INVARIANTS)) {
		*why = g_strdup_printf("MM_WARN_ON: %s", last_warning ? last_warning : "?");
		failed = true;
	}
	if (fc && rep)
		rep->pages_compared += fuzz_checker_pages_compared(fc);
	fuzz_checker_free(fc);
	*calls = res->calls;
	strace_log_free(log);
	return failed;
}

static void remove_tree(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;

	while (d && (n = g_dir_read_name(d)) != NULL) {
		g_autofree char *p = g_build_filename(dir, n, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			remove_tree(p);
		else
			g_unlink(p);
	}
	g_rmdir(dir);
}

/*
 * host_check: dupmm-hostrun performs the trace and writes it back with
 * the host's results (--resolve); the model replays that strictly and
 * its snapshots are compared with the host's.  *resolved is the trace with
 * the host's results, the one a failure report should hold.
 */
static bool host_check(const struct fuzz_options *o, const char *text, struct fuzz_report *rep,
		       guint *calls, char **why, char **resolved)
{
	g_autofree char *dir = g_dir_make_tmp("dupmm-fuzz-XXXXXX", NULL);
	g_autofree char *gen = g_build_filename(dir, "gen.strace", NULL);
	g_autofree char *res_path = g_build_filename(dir, "resolved.strace", NULL);
	g_autofree char *host_dir = g_build_filename(dir, "host", NULL);
	g_autofree char *out = NULL, *err = NULL;
	/* the batches settled at each dump, on both sides: see replay_options.settle_lru */
	const char *argv[] = { o->hostrun, "--settle-lru", "--resolve", res_path,
			       "-o",	   host_dir,	   gen,		NULL };
	gint64 t0 = g_get_monotonic_time();
	struct replay_result res;
	int status;
	bool failed;

	*resolved = NULL;
	if (dir == NULL || !g_file_set_contents(gen, text, -1, NULL) ||
	    !fuzz_write_data_file(dir, NULL) ||
	    !g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
			  &status, NULL) ||
	    !g_spawn_check_wait_status(status, NULL) ||
	    !g_file_get_contents(res_path, resolved, NULL, NULL)) {
		*why = g_strdup_printf("dupmm-hostrun (%s) could not perform the trace: %s%s",
				       o->hostrun ? o->hostrun : "not found", out ? out : "",
				       err ? err : "");
		if (dir)
			remove_tree(dir);
		return true;
	}
	if (rep) {
		rep->host_seconds += (double)(g_get_monotonic_time() - t0) / 1e6;
		rep->host_calls += count_calls(text);
	}
	failed = replay_text(o, "host-resolved", *resolved, 0, true, rep, true, calls, &res, why);
	if (!failed) {
		guint files;

		*why = replay_compare_with_host(&res, host_dir, &files);
		failed = *why != NULL;
	}
	replay_result_clear(&res);
	remove_tree(dir);
	return failed;
}

/*
 * run_checks: the selected checks on one trace, cheapest first.  Returns
 * the check that failed (0 if none) with the first difference in *why, and
 * in *report the text a failure report should hold.  A trace the checks
 * cannot run at all is a failure too: a generator bug must not pass
 * silently.
 */
unsigned int fuzz_run_checks(const struct fuzz_options *o, const char *text, unsigned int checks,
			     struct fuzz_report *rep, guint *calls, char **why, char **report)
{
	struct replay_result res;

	*why = NULL;
	*report = NULL;
	*calls = 0;
	/* no check at all: the replay alone, which the rate then measures */
	if ((checks & (FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL)) || !(checks & FUZZ_CHECK_HOST)) {
		bool failed = replay_text(
			o, "fuzz", text, checks & (FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL), false,
			rep, !(checks & FUZZ_CHECK_HOST), calls, &res, why);

		replay_result_clear(&res);
		if (failed) {
			*report = g_strdup(text);
			/* which check spoke: the reference model's messages say so */
			return strstr(*why, ": " FUZZ_MODEL_PREFIX " after ")
				       ? FUZZ_CHECK_MODEL
				       : FUZZ_CHECK_INVARIANTS;
		}
	}
	if (checks & FUZZ_CHECK_HOST) {
		if (host_check(o, text, rep, calls, why, report))
			return FUZZ_CHECK_HOST;
	}
	g_clear_pointer(report, g_free);
	return 0;
}

/*
 * brk calls and the read-write data file are generated unless the host
 * performs the trace (struct gen's local says why).
 */
static bool local_calls(const struct fuzz_options *o) { return !(o->checks & FUZZ_CHECK_HOST); }

static const char *check_name(unsigned int check)
{
	return check == FUZZ_CHECK_HOST	   ? "host"
	       : check == FUZZ_CHECK_MODEL ? "model"
					   : "invariants";
}

static bool write_failure(const struct fuzz_options *o, uint64_t seed, unsigned int check,
			  const char *text, const char *why, struct fuzz_report *rep,
			  GError **error)
{
	const char *dir = o->out_dir ? o->out_dir : "fuzz-failures";
	g_autofree char *path = g_strdup_printf("%s/fail-%" PRIu64 ".strace", dir, seed);
	g_autofree char *body = NULL;
	g_auto(GStrv) why_lines = g_strsplit(why, "\n", -1);
	g_autofree char *why_comment = g_strjoinv("\n#   ", why_lines);

	if (g_mkdir_with_parents(dir, 0755) < 0) {
		g_set_error(error, DUPMM_ERROR, DUPMM_ERROR_IO, "%s: %s", dir, g_strerror(errno));
		return false;
	}
	body = g_strdup_printf("# dupmm fuzz: seed %" PRIu64 ", %u ops, check: %s\n"
			       "# first difference: %s\n"
			       "# reproduce: dupmm replay %s %s%s\n%s",
			       seed, o->ops, check_name(check), why_comment,
			       check == FUZZ_CHECK_MODEL ? "--model" : "--check", path,
			       check == FUZZ_CHECK_HOST ? "   (results are the host kernel's)" : "",
			       text);
	if (!g_file_set_contents(path, body, -1, error) || !fuzz_write_data_file(dir, error))
		return false;
	g_ptr_array_add(rep->failure_files, g_steal_pointer(&path));
	return true;
}

gboolean fuzz_campaign(const struct fuzz_options *o, struct fuzz_report *rep, GError **error)
{
	gint64 t0 = g_get_monotonic_time();
	mm_warn_fn saved = mm_warn_handler;
	gboolean ok = TRUE;

	memset(rep, 0, sizeof(*rep));
	rep->failure_files = g_ptr_array_new_with_free_func(g_free);
	data_dir = g_dir_make_tmp("dupmm-fuzz-data-XXXXXX", error);
	if (data_dir == NULL || !fuzz_write_data_file(data_dir, error))
		return FALSE;
	mm_warn_handler = capture_warning;
	for (guint i = 0; i < o->runs && ok; i++) {
		uint64_t seed = o->seed + i;
		g_autoptr(GPtrArray) steps = NULL;
		g_autofree char *text = NULL, *why = NULL, *report = NULL;
		unsigned int failed;
		guint calls;

		if (o->shard_n > 1 && i % o->shard_n != o->shard_k)
			continue;
		if (o->time_budget > 0 && (g_get_monotonic_time() - t0) / 1e6 >= o->time_budget)
			break;
		steps = fuzz_generate_steps(seed, o->ops, local_calls(o));
		text = fuzz_steps_text(steps, NULL, local_calls(o));
		rep->runs++;
		failed = fuzz_run_checks(o, text, o->checks, rep, &calls, &why, &report);
		rep->calls += calls;
		if (!failed)
			continue;
		rep->failures++;
		{
			g_autofree char *small = fuzz_shrink(o, steps, failed, &why, &report);

			if (o->out)
				fprintf(o->out,
					"seed %" PRIu64 ": FAILED (%s), shrunk to %u calls: %.*s\n",
					seed, check_name(failed), count_calls(small),
					(int)strcspn(why, "\n"), why);
			ok = write_failure(o, seed, failed, report, why, rep, error);
		}
		if (rep->failures >= MAX(o->max_failures, 1u))
			break;
	}
	mm_warn_handler = saved;
	g_clear_pointer(&last_warning, g_free);
	remove_tree(data_dir);
	g_clear_pointer(&data_dir, g_free);
	rep->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
	for (int e = 0; e < NR_VM_EVENTS && e < 32; e++)
		rep->events[e] = vm_events[e];
	return ok;
}

void fuzz_report_clear(struct fuzz_report *rep)
{
	if (rep->failure_files)
		g_ptr_array_unref(rep->failure_files);
	memset(rep, 0, sizeof(*rep));
}

void fuzz_print_summary(const struct fuzz_options *o, const struct fuzz_report *rep, FILE *f)
{
	static const char *const kinds[] = { "ok",     "EINVAL", "ENOMEM", "EEXIST",
					     "EAGAIN", "EACCES", "EFAULT", "other" };

	fprintf(f, "fuzz: seeds %" PRIu64 "..%" PRIu64, o->seed,
		o->seed + (o->runs ? o->runs - 1 : 0));
	if (o->shard_n > 1)
		fprintf(f, " (shard %u/%u)", o->shard_k, o->shard_n);
	fprintf(f, ", %u runs, %" PRIu64 " calls in %.2f s: %.0f calls/s; checks:%s%s%s\n",
		rep->runs, rep->calls, rep->seconds,
		rep->seconds > 0 ? (double)rep->calls / rep->seconds : 0.0,
		(o->checks & FUZZ_CHECK_INVARIANTS) ? " invariants" : "",
		(o->checks & FUZZ_CHECK_MODEL) ? " model" : "",
		(o->checks & FUZZ_CHECK_HOST) ? " host" : "");
	if (o->checks & (FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL))
		fprintf(f,
			"checks 1-2: what each call touched after it; everything every %u records and at the end\n",
			o->full_every ? o->full_every : FUZZ_FULL_EVERY_DEFAULT);
	if (o->checks & FUZZ_CHECK_MODEL)
		fprintf(f, "reference model: %" PRIu64 " page comparisons\n", rep->pages_compared);
	if (o->checks & FUZZ_CHECK_HOST)
		fprintf(f, "host kernel: %" PRIu64 " calls performed in %.2f s: %.0f calls/s\n",
			rep->host_calls, rep->host_seconds,
			rep->host_seconds > 0 ? (double)rep->host_calls / rep->host_seconds : 0.0);
	fprintf(f, "results:");
	for (int k = 0; k < 8; k++)
		fprintf(f, " %s %" PRIu64, kinds[k], rep->results[k]);
	fprintf(f, "\nevents:");
	for (int e = 0; e < NR_VM_EVENTS; e++)
		fprintf(f, " %s %" PRIu64, vm_event_name((enum vm_event_item)e), rep->events[e]);
	fprintf(f, "\n%u failures\n", rep->failures);
	for (guint i = 0; rep->failure_files && i < rep->failure_files->len; i++)
		fprintf(f, "  %s\n", (char *)rep->failure_files->pdata[i]);
}
