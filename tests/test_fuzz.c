/*
 * emu/fuzz: reproducible generation, bounded campaigns that are not
 * vacuous (checks 1 and 2 on their own; all three checks with the host),
 * and a planted semantic bug that the fuzzer must find and shrink to a
 * handful of calls, once through the invariants and once through the
 * reference model alone.
 */
#include <fuzz/fuzz.h>
#include <strace/replay.h>

#include <fuzz/checks.h>
#include "common.h"

START_TEST(test_same_seed_same_trace)
{
	g_autofree char *a = fuzz_generate(7, 300, true), *b = fuzz_generate(7, 300, true);
	g_autofree char *c = fuzz_generate(8, 300, true), *d = fuzz_generate(7, 300, false);

	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_ptr_nonnull(strstr(a, "fork() = "));
	ck_assert_ptr_nonnull(strstr(a, "mem_write("));
	ck_assert_ptr_nonnull(strstr(a, "brk(0x"));
	ck_assert_ptr_nonnull(strstr(a, ", 3, 0x")); /* file mappings */
	ck_assert_ptr_null(strstr(d, "brk("));
	ck_assert_ptr_nonnull(strstr(a, "fuzz-file-rw.bin"));
	ck_assert_ptr_null(strstr(d, "fuzz-file-rw.bin"));
}
END_TEST

START_TEST(test_bounded_campaign)
{
	g_autofree char *dir = g_dir_make_tmp("dupmm-fuzz-XXXXXX", NULL);
	struct fuzz_options o = { .seed = 1000,
				  .ops = 150,
				  .runs = 40,
				  .checks = FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL,
				  .out_dir = dir,
				  .out = stdout };
	struct fuzz_report rep;
	g_autoptr(GError) error = NULL;

	ck_assert(fuzz_campaign(&o, &rep, &error));
	fuzz_print_summary(&o, &rep, stdout);
	ck_assert_uint_eq(rep.failures, 0);
	ck_assert_uint_gt(rep.calls, 5000);
	ck_assert_uint_gt(rep.pages_compared, rep.calls);
	/* not vacuous: the interesting events happened */
	ck_assert_uint_gt(rep.events[COW_COPY], 0);
	ck_assert_uint_gt(rep.events[PGREUSE], 0);
	ck_assert_uint_gt(rep.events[FORK_VMA_WIPED], 0);
	ck_assert_uint_gt(rep.events[FORK_VMA_DONTCOPY], 0);
	ck_assert_uint_gt(rep.events[VMA_SPLIT], 0);
	ck_assert_uint_gt(rep.events[VMA_MERGE], 0);
	ck_assert_uint_gt(rep.results[FR_OK], 0);
	ck_assert_uint_gt(rep.results[FR_EINVAL], 0);
	ck_assert_uint_gt(rep.results[FR_ENOMEM], 0);
	ck_assert_uint_gt(rep.results[FR_EEXIST], 0);
	ck_assert_uint_gt(rep.results[FR_EFAULT], 0);
	ck_assert_uint_gt(rep.results[FR_EACCES], 0);
	fuzz_report_clear(&rep);
}
END_TEST

START_TEST(test_bounded_campaign_host)
{
	/* All three checks; the host kernel as oracle: seeds 2000..2019, every
	 * result, every byte, and smaps and pagemap at each exit must be the
	 * kernel's, LazyFree included: both sides settle the LRU batches before
	 * each dump (HOSTCMP-LAZYFREE).  A rare failure of a fault's read-around
	 * is the host's timing (HOSTCMP-RA-RACE). */
	g_autofree char *dir = g_dir_make_tmp("dupmm-fuzz-XXXXXX", NULL);
	struct fuzz_options o = { .seed = 2000,
				  .ops = 150,
				  .runs = 20,
				  .checks = FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL |
					    FUZZ_CHECK_HOST,
				  .out_dir = dir,
				  .out = stdout,
				  .hostrun = test_env("DUPMM_HOSTRUN"),
				  .max_failures = 20 };
	struct fuzz_report rep;
	g_autoptr(GError) error = NULL;

	ck_assert(fuzz_campaign(&o, &rep, &error));
	fuzz_print_summary(&o, &rep, stdout);
	ck_assert_uint_eq(rep.failures, 0);
	ck_assert_uint_gt(rep.calls, 3000);
	ck_assert_uint_gt(rep.host_calls, 3000);
	ck_assert_uint_gt(rep.pages_compared, rep.calls);
	fuzz_report_clear(&rep);
}
END_TEST

/* The calls of a trace file but its fixed first lines: the data file's openat, the heap's brk. */
static guint calls_in(const char *path)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	guint n = 0;

	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++)
		n += *lines[i] && lines[i][0] != '#' && !strstr(lines[i], "+++") &&
		     !strstr(lines[i], "openat(AT_FDCWD, \"fuzz-file") &&
		     !strstr(lines[i], "brk(NULL) = 0x");
	return n;
}

/* Replay a failure file with the reference model beside it, as 'dupmm replay --model' does. */
static guint model_divergences(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	struct fuzz_checker *c =
		fuzz_checker_new(false, true, FUZZ_WINDOW_BASE, FUZZ_WINDOW_PAGES, dir, 1);
	struct replay_options ro = { .quiet = true,
				     .on_step = fuzz_checker_step,
				     .before_step = fuzz_checker_before,
				     .on_step_arg = c };
	struct replay_result res;
	g_autoptr(GError) error = NULL;
	guint n;

	ck_assert(replay_file(path, &ro, &res, &error));
	n = res.divergences;
	replay_result_clear(&res);
	fuzz_checker_free(c);
	return n;
}

/*
 * A campaign with the planted bug (a fork that leaves COW PTEs writable) on,
 * with checks: it must fail once, shrunk to at most 5 calls.  Returns the
 * failure file's path, in rep.
 */
static const char *planted_campaign(unsigned int checks, const char *dir, struct fuzz_report *rep)
{
	struct fuzz_options o = {
		.seed = 1, .ops = 200, .runs = 50, .checks = checks, .out_dir = dir, .out = stdout
	};
	g_autoptr(GError) error = NULL;
	const char *path;

	mm_planted_bug = MM_BUG_FORK_NO_WRPROTECT;
	ck_assert(fuzz_campaign(&o, rep, &error));
	ck_assert_uint_eq(rep->failures, 1);
	path = rep->failure_files->pdata[0];
	ck_assert_uint_le(calls_in(path), 5);
	return path;
}

START_TEST(test_planted_bug_found_by_the_model)
{
	/* The reference model alone, no invariant checks: it sees the parent's
	 * write show through in the child's memory. */
	g_autofree char *dir = g_dir_make_tmp("dupmm-fuzz-XXXXXX", NULL);
	struct fuzz_report rep;
	g_autofree char *text = NULL;
	const char *path = planted_campaign(FUZZ_CHECK_MODEL, dir, &rep);

	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(text, "check: model"));
	ck_assert_ptr_nonnull(strstr(text, "dupmm replay --model"));
	ck_assert_uint_gt(model_divergences(path), 0);
	mm_planted_bug = 0;
	ck_assert_uint_eq(model_divergences(path), 0);
	fuzz_report_clear(&rep);
}
END_TEST

START_TEST(test_planted_bug_found_and_shrunk)
{
	g_autofree char *dir = g_dir_make_tmp("dupmm-fuzz-XXXXXX", NULL);
	struct fuzz_report rep;
	struct replay_result res;
	struct replay_options ro = { .check = true, .quiet = true };
	g_autoptr(GError) error = NULL;
	const char *path = planted_campaign(FUZZ_CHECK_INVARIANTS, dir, &rep);

	/* the shrunk trace still fails with the bug, and passes without it */
	ck_assert(replay_file(path, &ro, &res, &error));
	ck_assert_uint_gt(res.divergences, 0);
	replay_result_clear(&res);
	mm_planted_bug = 0;
	ck_assert(replay_file(path, &ro, &res, &error));
	ck_assert_uint_eq(res.divergences, 0);
	replay_result_clear(&res);
	fuzz_report_clear(&rep);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fuzz");
	TCase *tc = tcase_create("fuzz");

	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_same_seed_same_trace);
	tcase_add_test(tc, test_bounded_campaign);
	tcase_add_test(tc, test_bounded_campaign_host);
	tcase_add_test(tc, test_planted_bug_found_and_shrunk);
	tcase_add_test(tc, test_planted_bug_found_by_the_model);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
