/*
 * Every trace of traces/ replayed on the model with every invariant
 * checked after every call: no divergence from the log, and each process's
 * maps, smaps and pagemap flags equal to what the HOST KERNEL showed for the same calls
 * (traces/expected/, written by dupmm-hostrun; tools/regen-expected.sh).
 * And every trace again beside the fuzzer's reference model, as 'dupmm
 * replay --model' runs it: its results, bytes and pages must agree too.
 */
#include <stdio.h>
#include <string.h>

#include <fuzz/fuzz.h>
#include <strace/replay.h>

#include <fuzz/checks.h>
#include "common.h"

static GPtrArray *trace_names;

static void compare_with_expected(const char *name, struct replay_result *res)
{
	g_autofree char *dir = g_build_filename(test_env("DUPMM_TRACES"), "expected", name, NULL);
	g_autofree char *diff = NULL;
	guint files;

	ck_assert_msg(g_file_test(dir, G_FILE_TEST_IS_DIR),
		      "%s: no host-kernel expectations in %s (tools/regen-expected.sh)", name, dir);
	diff = replay_compare_with_host(res, dir, &files);
	ck_assert_msg(diff == NULL, "%s: differs from the host kernel's: %s", name, diff);
	ck_assert_msg(files > 0, "%s: nothing compared", name);
}

START_TEST(test_trace_replays_like_the_host)
{
	const char *name = trace_names->pdata[_i];
	g_autofree char *path = g_strdup_printf("%s/%s.strace", test_env("DUPMM_TRACES"), name);
	struct replay_options opts = { .check = true, .out = stdout, .diag = stderr };
	struct replay_result res;
	g_autoptr(GError) error = NULL;

	ck_assert_msg(replay_file(path, &opts, &res, &error), "%s", error ? error->message : "");
	ck_assert_msg(res.divergences == 0, "%s: %u divergences (see above)", name,
		      res.divergences);
	ck_assert_msg(res.calls > 0, "%s: no call replayed", name);
	ck_assert_msg(mm_warn_count == 0, "%s: %lu MM_WARN_ON fired", name, mm_warn_count);
	/* what else runs on the host's CPU could drain pages left queued: LazyFree not
	 * certain (HOSTCMP-LAZYFREE, MADV-FREE-2) */
	ck_assert_msg(res.unsettled_snapshots == 0,
		      "%s: %u processes dump with MADV_FREE'd pages still queued (MADV-FREE-2)",
		      name, res.unsettled_snapshots);
	compare_with_expected(name, &res);
	replay_result_clear(&res);
}
END_TEST

START_TEST(test_trace_agrees_with_the_reference_model)
{
	const char *name = trace_names->pdata[_i];
	g_autofree char *path = g_strdup_printf("%s/%s.strace", test_env("DUPMM_TRACES"), name);
	struct fuzz_checker *c = fuzz_checker_new(false, true, FUZZ_WINDOW_BASE, REPLAY_MODEL_PAGES,
						  test_env("DUPMM_TRACES"), 1);
	struct replay_options opts = { .out = stdout,
				       .diag = stderr,
				       .on_step = fuzz_checker_step,
				       .before_step = fuzz_checker_before,
				       .on_step_arg = c };
	struct replay_result res;
	g_autoptr(GError) error = NULL;

	ck_assert_msg(replay_file(path, &opts, &res, &error), "%s", error ? error->message : "");
	ck_assert_msg(res.divergences == 0,
		      "%s: %u divergences from the reference model (see above)", name,
		      res.divergences);
	ck_assert_uint_gt(fuzz_checker_pages_compared(c), 0);
	replay_result_clear(&res);
	fuzz_checker_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("traces");
	TCase *tc = tcase_create("replay");

	trace_names = list_trace_names();
	if (trace_names->len < 12) {
		fprintf(stderr, "only %u traces in %s\n", trace_names->len,
			g_getenv("DUPMM_TRACES"));
		return 1;
	}
	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_trace_replays_like_the_host, 0, (int)trace_names->len);
	tcase_add_loop_test(tc, test_trace_agrees_with_the_reference_model, 0,
			    (int)trace_names->len);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
