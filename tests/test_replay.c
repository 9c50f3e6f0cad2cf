/*
 * emu/strace/replay.c and the dupmm command: divergences are found and
 * reported with FILE:LINE, placement follows the log, exit statuses.
 */
#include <stdio.h>
#include <sys/wait.h>

#include <strace/replay.h>

#include "common.h"

/* Run the dupmm executable; its exit status, stdout and stderr. */
static int run_dupmm(const char *const *args, char **out, char **err)
{
	const char *argv[16] = { test_env("DUPMM_EXE") };
	int status, i;

	for (i = 0; args[i]; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	ck_assert(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
			       &status, NULL));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_wrong_expectations_diverge)
{
	/* Each line's expectation is wrong for Linux, so each must diverge. */
	g_autofree char *p = write_tmp(
		"1  mmap(0x200000000000, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x200000000000\n"
		"1  madvise(0x200000000000, 8192, MADV_WIPEONFORK) = 0\n"
		"1  mem_write(0x200000000000, 0x11, 8192) = 0\n"
		"1  fork() = 2\n"
		"2  mem_read(0x200000000000, 8192) = 0x00\n"
		"2  mem_read(0x200000002000, 1) = 0x00\n"
		"2  munmap(0x200000000001, 4096) = 0\n");
	struct replay_options opts = { .check = true, .diag = stderr };
	struct replay_result res;
	g_autoptr(GError) error = NULL;

	ck_assert(replay_file(p, &opts, &res, &error));
	ck_assert_uint_eq(res.calls, 7);
	ck_assert_uint_eq(res.divergences, 4); /* lines 2, 5, 6, 7 */
	replay_result_clear(&res);
	unlink(p);
}
END_TEST

START_TEST(test_vfork_execve_clone3)
{
	/* As strace -f prints them: the parent's vfork/clone3 resumes after the
	 * child has exec'd or exited; exec gives the child a fresh mm; clone3
	 * with CLONE_VM shares the parent's. */
	g_autofree char *p = write_tmp(
		"1  mmap(0x200000000000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x200000000000\n"
		"1  vfork( <unfinished ...>\n"
		"2  execve(\"/bin/true\", [\"true\"], 0x7ffd0000 /* 3 vars */) = 0\n"
		"1  <... vfork resumed>) = 2\n"
		"2  mem_read(0x200000000000, 1) = -1 EFAULT (Bad address)\n"
		"1  mem_read(0x200000000000, 1) = 0x00\n"
		"1  clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f0000, stack_size=0x9000}, 88 <unfinished ...>\n"
		"3  mem_write(0x200000000000, 0x05, 1) = 0\n"
		"3  exit_group(0) = ?\n"
		"3  +++ exited with 0 +++\n"
		"1  <... clone3 resumed>) = 3\n"
		"1  mem_read(0x200000000000, 1) = 0x05\n"
		"1  wait4(-1, NULL, 0, NULL) = 3\n"
		"1  wait4(-1, NULL, WNOHANG, NULL) = 0\n");
	struct replay_options opts = { .check = true, .diag = stderr };
	struct replay_result res;
	g_autoptr(GError) error = NULL;
	struct replay_snapshot *s;

	ck_assert_msg(replay_file(p, &opts, &res, &error), "%s", error ? error->message : "");
	ck_assert_uint_eq(res.divergences, 0);
	ck_assert_uint_eq(res.calls, 11);
	s = g_hash_table_lookup(res.snapshots, GINT_TO_POINTER(2));
	ck_assert_str_eq(s->maps, ""); /* exec'd: nothing of the parent's */
	replay_result_clear(&res);
	unlink(p);
}
END_TEST

/* Replay path with every invariant checked; what it printed on its diagnostic stream. */
static char *replay_diag(const char *path, struct replay_result *res)
{
	struct replay_options opts = { .check = true };
	g_autoptr(GError) error = NULL;
	char *buf = NULL;
	size_t len = 0;

	opts.diag = open_memstream(&buf, &len);
	ck_assert_msg(replay_file(path, &opts, res, &error), "%s", error ? error->message : "");
	fclose(opts.diag);
	return buf;
}

START_TEST(test_simplifications_warned)
{
	/*
	 * The example: 8 MiB private anonymous, MADV_HUGEPAGE, a byte
	 * at the start and 8 KiB at +4 MiB, fork, a byte in the child.  The
	 * host (THP "madvise") maps huge pages; the model cannot, and must say
	 * so, once, at the first fault that a huge page would have served
	 * (line 3; DIV-THP).  The execve after is a second simplification
	 * (DIV-EXECVE).
	 */
	g_autofree char *p = write_tmp(
		"1  mmap(0x200000000000, 8388608, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x200000000000\n"
		"1  madvise(0x200000000000, 8388608, MADV_HUGEPAGE) = 0\n"
		"1  mem_write(0x200000000000, 0x01, 1) = 0\n"
		"1  mem_write(0x200000400000, 0x02, 8192) = 0\n"
		"1  fork() = 2\n"
		"2  mem_write(0x200000000000, 0x03, 1) = 0\n"
		"2  execve(\"/bin/true\", [\"true\"], 0x7ffd0000 /* 3 vars */) = 0\n");
	g_autofree char *q = write_tmp(
		"1  mmap(0x200000000000, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x200000000000\n"
		"1  madvise(0x200000000000, 16384, MADV_HUGEPAGE) = 0\n"
		"1  mem_write(0x200000000000, 0x01, 16384) = 0\n");
	struct replay_result res;
	g_autofree char *err_text = replay_diag(p, &res);
	g_autofree char *quiet = NULL;
	ck_assert_uint_eq(res.divergences, 0);
	ck_assert_uint_eq(res.warnings, 2);
	ck_assert_ptr_nonnull(
		strstr(err_text, ":3: pid 1: warning: the model simplifies here (DIV-THP"));
	ck_assert_ptr_nonnull(
		strstr(err_text, ":7: pid 2: warning: the model simplifies here (DIV-EXECVE"));
	replay_result_clear(&res);
	/* 16 KiB: no 2 MiB page fits, the host maps small pages too: nothing to warn of */
	quiet = replay_diag(q, &res);
	ck_assert_uint_eq(res.warnings, 0);
	ck_assert_ptr_null(strstr(quiet, "warning"));
	replay_result_clear(&res);
	unlink(p);
	unlink(q);
}
END_TEST

START_TEST(test_file_folio_warned)
{
	/*
	 * A write to a shared file page read by ordinary read-around: order-0
	 * folios on the host too, no warning (line 3).  Under MADV_HUGEPAGE the
	 * read-ahead makes large folios on the host, and a write dirties a
	 * whole one (DIV-FILE-FOLIO): warned at line 6.
	 */
	g_autofree char *data =
		g_build_filename(test_env("DUPMM_TRACES"), "data", "file4m.bin", NULL);
	g_autofree char *text = g_strdup_printf(
		"1  openat(AT_FDCWD, \"%s\", O_RDWR) = 3\n"
		"1  mmap(0x200000000000, 262144, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, 3, 0) = 0x200000000000\n"
		"1  mem_write(0x200000001000, 0x01, 1) = 0\n"
		"1  mmap(0x200000400000, 262144, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, 3, 0x200000) = 0x200000400000\n"
		"1  madvise(0x200000400000, 262144, MADV_HUGEPAGE) = 0\n"
		"1  mem_write(0x200000400000, 0x02, 1) = 0\n",
		data);
	g_autofree char *p = write_tmp(text);
	struct replay_result res;
	g_autofree char *err_text = replay_diag(p, &res);
	ck_assert_uint_eq(res.divergences, 0);
	ck_assert_uint_eq(res.warnings, 1);
	ck_assert_ptr_nonnull(
		strstr(err_text, ":6: pid 1: warning: the model simplifies here (DIV-FILE-FOLIO"));
	replay_result_clear(&res);
	unlink(p);
}
END_TEST

START_TEST(test_placement_follows_log)
{
	g_autofree char *p = write_tmp(
		"1  mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
		"1  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000\n");
	struct replay_options opts = { .diag = stderr };
	struct replay_result res;
	g_autoptr(GError) error = NULL;
	struct replay_snapshot *s;

	ck_assert(replay_file(p, &opts, &res, &error));
	/* the second lands inside the first: not free in the model */
	ck_assert_uint_eq(res.divergences, 1);
	s = g_hash_table_lookup(res.snapshots, GINT_TO_POINTER(1));
	ck_assert(g_str_has_prefix(s->maps, "7f0000000000-7f0000002000 r--p"));
	replay_result_clear(&res);
	unlink(p);
}
END_TEST

START_TEST(test_cli_exit_status)
{
	g_autofree char *good = write_tmp(
		"1  mmap(0x200000000000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x200000000000\n"
		"1  exit_group(0) = ?\n");
	g_autofree char *diverging = write_tmp("1  munmap(0x1001, 4096) = 0\n");
	g_autofree char *broken = write_tmp("1  munmap(0x1000, 4096) = 0\n1  munmap(0x1000\n");
	g_autofree char *bogus =
		write_tmp("1  mmap(NULL, 4096, PROT_BOGUS, MAP_PRIVATE, -1, 0) = 0\n");
	g_autofree char *dir = g_dir_make_tmp("dupmm-out-XXXXXX", NULL);
	g_autofree char *maps_path = g_build_filename(dir, "1.maps", NULL);
	char *out, *err;

	{
		const char *a[] = { "replay", "--maps", "-o", dir, good, NULL };

		ck_assert_int_eq(run_dupmm(a, &out, &err), 0);
		ck_assert_ptr_nonnull(
			strstr(out, "200000000000-200000001000 rw-p 00000000 00:00 0 \n"));
		ck_assert_ptr_nonnull(strstr(out, "replayed 2 calls, 0 divergences, 0 warnings\n"));
		ck_assert(g_file_test(maps_path, G_FILE_TEST_EXISTS));
		{
			g_autofree char *st = g_build_filename(dir, "1.status", NULL);
			g_autofree char *text = NULL;

			ck_assert(g_file_get_contents(st, &text, NULL, NULL));
			ck_assert_ptr_nonnull(strstr(text, "Pid:\t1\n"));
			ck_assert_ptr_nonnull(strstr(text, "VmSize:\t       4 kB\n"));
		}
		g_free(out);
		g_free(err);
	}
	{
		const char *a[] = { "replay", diverging, NULL };

		ck_assert_int_eq(run_dupmm(a, &out, &err), 1);
		ck_assert_ptr_nonnull(strstr(
			err, ":1: pid 1: munmap: the log says 0, the model returns -1 EINVAL"));
		ck_assert_ptr_nonnull(strstr(out, "replayed 1 calls, 1 divergences"));
		g_free(out);
		g_free(err);
	}
	{
		const char *a[] = { "replay", broken, NULL };

		ck_assert_int_eq(run_dupmm(a, &out, &err), 2);
		ck_assert_ptr_nonnull(strstr(err, ":2: unterminated argument list"));
		g_free(out);
		g_free(err);
	}
	{
		const char *a[] = { "replay", bogus, NULL };

		ck_assert_int_eq(run_dupmm(a, &out, &err), 2);
		ck_assert_ptr_nonnull(
			strstr(err, ":1: mmap: unknown symbol in argument 3: PROT_BOGUS"));
		g_free(out);
		g_free(err);
	}
	{
		const char *a[] = { "replay", "/nonexistent.strace", NULL };

		ck_assert_int_eq(run_dupmm(a, &out, &err), 2);
		g_free(out);
		g_free(err);
	}
	{
		const char *a[] = { "replay", "--help", NULL };

		ck_assert_int_eq(run_dupmm(a, &out, &err), 0);
		ck_assert_ptr_nonnull(strstr(out, "--proc-out"));
		g_free(out);
		g_free(err);
	}
	{
		const char *a[] = { "frobnicate", NULL };

		ck_assert_int_eq(run_dupmm(a, &out, &err), 2);
		g_free(out);
		g_free(err);
	}
}
END_TEST

START_TEST(test_cli_fuzz_can_fail)
{
	/* the hidden --plant-bug switch: the same campaign fails with the bug, passes without */
	g_autofree char *dir = g_dir_make_tmp("dupmm-plant-XXXXXX", NULL);
	g_autofree char *fail = g_build_filename(dir, "fail-1.strace", NULL);
	const char *bug[] = { "fuzz",	"--plant-bug", "fork-no-wrprotect",
			      "--seed", "1",	       "--runs",
			      "50",	"--out",       dir,
			      NULL };
	const char *clean[] = { "fuzz", "--seed", "1", "--runs", "50", "--out", dir, NULL };
	const char *bogus[] = { "fuzz", "--plant-bug", "no-such-bug", NULL };
	char *out, *err;

	ck_assert_int_eq(run_dupmm(bug, &out, &err), 1);
	ck_assert_ptr_nonnull(strstr(out, "1 failures"));
	ck_assert(g_file_test(fail, G_FILE_TEST_EXISTS));
	g_free(out);
	g_free(err);
	ck_assert_int_eq(run_dupmm(clean, &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out, "0 failures"));
	g_free(out);
	g_free(err);
	ck_assert_int_eq(run_dupmm(bogus, &out, &err), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown bug 'no-such-bug'"));
	g_free(out);
	g_free(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("replay");

	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_add_test(tc, test_wrong_expectations_diverge);
	tcase_add_test(tc, test_vfork_execve_clone3);
	tcase_add_test(tc, test_placement_follows_log);
	tcase_add_test(tc, test_simplifications_warned);
	tcase_add_test(tc, test_file_folio_warned);
	tcase_add_test(tc, test_cli_exit_status);
	tcase_add_test(tc, test_cli_fuzz_can_fail);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
