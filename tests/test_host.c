/*
 * The host kernel as oracle, live: each trace is performed natively by
 * dupmm-hostrun (real processes, real forks) and must (1) give every
 * result the trace expects, and (2) leave maps, smaps and pagemap flags equal
 * to the model's after replaying the same trace (replay_compare_with_host).  This also checks the stored
 * expectations are still the kernel's: a trace edited without
 * regenerating them fails here and in test_traces together.
 */
#include <stdio.h>
#include <string.h>

#include <strace/replay.h>

#include "common.h"

static GPtrArray *trace_names;

START_TEST(test_host_agrees)
{
	const char *name = trace_names->pdata[_i];
	g_autofree char *path = g_strdup_printf("%s/%s.strace", test_env("DUPMM_TRACES"), name);
	g_autofree char *tmp = g_dir_make_tmp("dupmm-host-XXXXXX", NULL);
	g_autofree char *out = NULL, *err = NULL;
	const char *argv[] = { test_env("DUPMM_HOSTRUN"), "-o", tmp, path, NULL };
	int status;
	struct replay_options opts = { .check = true, .out = stdout, .diag = stderr };
	struct replay_result res;
	g_autoptr(GError) error = NULL;
	g_autofree char *diff = NULL;
	guint files;
	ck_assert(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
			       &status, &error));
	ck_assert_msg(g_spawn_check_wait_status(status, NULL),
		      "%s: the host kernel disagrees with the trace:\n%s%s", name, out, err);
	ck_assert(replay_file(path, &opts, &res, &error));
	ck_assert_int_eq(res.divergences, 0);
	diff = replay_compare_with_host(&res, tmp, &files);
	ck_assert_msg(diff == NULL, "%s: %s", name, diff);
	ck_assert_uint_gt(files, 0);
	replay_result_clear(&res);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("host-kernel");

	trace_names = list_trace_names();
	if (trace_names->len < 12) {
		fprintf(stderr, "only %u traces in %s\n", trace_names->len,
			g_getenv("DUPMM_TRACES"));
		return 1;
	}
	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_host_agrees, 0, (int)trace_names->len);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
