/* emu/strace/parse.c: the strace output forms, and errors naming FILE:LINE. */
#include <errno.h>
#include <stdio.h>

#include <strace/strace.h>

#include "common.h"

static struct strace_record *rec(struct strace_log *log, guint i)
{
	ck_assert_uint_lt(i, log->records->len);
	return log->records->pdata[i];
}

START_TEST(test_forms)
{
	g_autofree char *p = write_tmp(
		"# a comment\n"
		"mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
		"1234  12:34:56 munmap(0x7f0000000000, 4096) = 0\n"
		"1234  12:34:56.123456 madvise(0x1000, 4096, MADV_WIPEONFORK) = -1 EINVAL (Invalid argument)\n"
		"[pid  1235] 1700000000.123456 brk(NULL) = 0x555555559000 <0.000012>\n"
		"1236       0.000045 openat(AT_FDCWD, \"a \\\"b\\\"\", O_RDONLY|O_CLOEXEC) = 3\n"
		"1234  exit_group(0)                     = ?\n"
		"1234  +++ exited with 3 +++\n"
		"1235  --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10} ---\n"
		"1235  +++ killed by SIGSEGV +++\n");
	g_autoptr(GError) err = NULL;
	struct strace_log *log = strace_parse_file(p, &err);
	uint64_t v;

	ck_assert_msg(log != NULL, "%s", err ? err->message : "");
	ck_assert_uint_eq(log->records->len, 9);
	ck_assert_int_eq(rec(log, 0)->pid, 0);
	ck_assert_str_eq(rec(log, 0)->name, "mmap");
	ck_assert(strace_arg_u64(rec(log, 0), 2, &v) && v == 3);
	ck_assert(strace_arg_u64(rec(log, 0), 3, &v) && v == 0x22);
	ck_assert(strace_arg_u64(rec(log, 0), 4, &v) && v == (uint64_t)-1);
	ck_assert_int_eq(rec(log, 0)->result, 0x7f0000000000);
	ck_assert_int_eq(rec(log, 1)->pid, 1234);
	ck_assert_int_eq(rec(log, 2)->err, EINVAL);
	ck_assert_int_eq(rec(log, 2)->result, -1);
	ck_assert_int_eq(rec(log, 3)->pid, 1235);
	ck_assert_int_eq(rec(log, 3)->result, 0x555555559000);
	ck_assert_str_eq(((struct strace_arg *)rec(log, 4)->args->pdata[1])->str, "a \"b\"");
	ck_assert(rec(log, 5)->result_unknown);
	ck_assert_int_eq(rec(log, 6)->kind, REC_EXITED);
	ck_assert_int_eq(rec(log, 6)->code, 3);
	ck_assert_int_eq(rec(log, 7)->kind, REC_SIGNAL);
	ck_assert_int_eq(rec(log, 8)->kind, REC_KILLED);
	ck_assert_int_eq(rec(log, 8)->code, 11);
	strace_log_free(log);
	unlink(p);
}
END_TEST

START_TEST(test_unknown_symbols_kept)
{
	/* access(..., R_OK) is not modelled: its symbols need not be known */
	g_autofree char *p = write_tmp(
		"1  access(\"/etc/ld.so.preload\", R_OK) = -1 ENOENT (No such file or directory)\n");
	g_autoptr(GError) err = NULL;
	struct strace_log *log = strace_parse_file(p, &err);

	ck_assert_msg(log != NULL, "%s", err ? err->message : "");
	ck_assert(!((struct strace_arg *)rec(log, 0)->args->pdata[1])->has_value);
	ck_assert_int_eq(rec(log, 0)->err, ENOENT);
	strace_log_free(log);
	unlink(p);
}
END_TEST

START_TEST(test_unfinished_resumed)
{
	/* mmap takes effect where it resumes; clone where it starts, since
	 * the child's lines come before the parent's resumption. */
	g_autofree char *p =
		write_tmp("1000  mmap(NULL, 4096, PROT_READ, <unfinished ...>\n"
			  "1000  clone(child_stack=NULL, flags=CLONE_VM|SIGCHLD <unfinished ...>\n"
			  "1001  getpid() = 1001\n"
			  "1000  <... clone resumed>, child_tidptr=0x7f00) = 1001\n");
	g_autoptr(GError) err = NULL;
	struct strace_log *log = strace_parse_file(p, &err);

	/* two unfinished calls of one pid: malformed */
	ck_assert_ptr_null(log);
	ck_assert_ptr_nonnull(strstr(err->message, ":2: a second unfinished call"));
	unlink(p);
}
END_TEST

START_TEST(test_clone_order)
{
	g_autofree char *p = write_tmp(
		"1000  clone(child_stack=NULL, flags=CLONE_VM|SIGCHLD <unfinished ...>\n"
		"1001  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>\n"
		"1000  <... clone resumed>, child_tidptr=0x7f00) = 1001\n"
		"1001  <... mmap resumed>) = 0x7f0000000000\n");
	g_autoptr(GError) err = NULL;
	struct strace_log *log = strace_parse_file(p, &err);
	uint64_t f;

	ck_assert_msg(log != NULL, "%s", err ? err->message : "");
	ck_assert_uint_eq(log->records->len, 2);
	ck_assert_str_eq(rec(log, 0)->name, "clone");
	ck_assert_int_eq(rec(log, 0)->line, 1);
	ck_assert_int_eq(rec(log, 0)->result, 1001);
	ck_assert(strace_arg_named(rec(log, 0), "flags", &f) && f == 0x111);
	ck_assert_str_eq(rec(log, 1)->name, "mmap");
	ck_assert_int_eq(rec(log, 1)->line, 4);
	ck_assert_int_eq(rec(log, 1)->result, 0x7f0000000000);
	strace_log_free(log);
	unlink(p);
}
END_TEST

START_TEST(test_errors_name_file_and_line)
{
	static const char *const bad[][2] = {
		{ "\nmunmap(0x1000, 4096\n", ":2: unterminated argument list" },
		{ "munmap(0x1000, 4096) = -1 EWHAT (x)\n", ":1: unknown errno name: EWHAT" },
		{ "munmap(0x1000, 4096)\n", ":1: expected '= RESULT'" },
		{ "1 <... mmap resumed>) = 0\n",
		  ":1: resumption of a call that was not unfinished" },
		{ "hello world\n", ":1: expected 'name(args) = result'" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *p = write_tmp(bad[i][0]);
		g_autoptr(GError) err = NULL;

		ck_assert_ptr_null(strace_parse_file(p, &err));
		ck_assert_msg(strstr(err->message, bad[i][1]) && g_str_has_prefix(err->message, p),
			      "case %zu: %s", i, err->message);
		unlink(p);
	}
	{
		g_autoptr(GError) err = NULL;

		ck_assert_ptr_null(strace_parse_file("/nonexistent/x.strace", &err));
		ck_assert_int_eq(err->code, DUPMM_ERROR_IO);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("strace");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_forms);
	tcase_add_test(tc, test_unknown_symbols_kept);
	tcase_add_test(tc, test_unfinished_resumed);
	tcase_add_test(tc, test_clone_order);
	tcase_add_test(tc, test_errors_name_file_and_line);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
