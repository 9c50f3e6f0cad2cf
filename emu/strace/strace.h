/*
 * emu/strace: the trace language of design.md, which is strace's output
 * (-f PIDs, -t/-tt/-ttt/-r timestamps, -T durations, unfinished/resumed
 * pairs, signal and exit lines) plus the mem_read/mem_write pseudo-calls:
 * the parser (parse.c), a record's arguments as registers (args.c), and
 * the writer (format.c).  They read the syscall table (<dupmm/syscall.h>)
 * and depend on GLib only, so the host-kernel helper uses them too.
 */
#ifndef DUPMM_STRACE_H
#define DUPMM_STRACE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <dupmm/error.h>
#include <dupmm/syscall.h>

enum strace_kind {
	REC_CALL,   /* name(args) = result */
	REC_SIGNAL, /* --- SIGSEGV {...} --- */
	REC_EXITED, /* +++ exited with N +++ */
	REC_KILLED, /* +++ killed by SIG +++ */
};

struct strace_arg {
	char *key;  /* "flags" of "flags=...", or NULL */
	char *text; /* as written, "name=" prefix removed */
	bool is_string;
	char *str; /* unescaped, when is_string */
	bool has_value;
	uint64_t value; /* numbers, NULL, flag expressions */
};

struct strace_record {
	int line; /* 1-based line of the call (or of its resumption) */
	int pid;  /* 0 when the log has no PID column */
	enum strace_kind kind;
	char *name;			 /* the syscall, signal name */
	const struct syscall_desc *desc; /* a call's row in the syscall table, or NULL */
	GPtrArray *args;		 /* struct strace_arg * */
	bool result_unknown;		 /* "= ?" */
	int64_t result;			 /* the return value; -1 with err set on failure */
	int err;			 /* errno of "= -1 ENAME (...)", else 0 */
	int code;			 /* exit status, or signal number */
};

struct strace_log {
	char *path;
	GPtrArray *records; /* struct strace_record *, in execution order */
};

/* strace_parse_file: the whole log, or NULL with "FILE:LINE: reason". */
struct strace_log *strace_parse_file(const char *path, GError **error);
struct strace_log *strace_parse_text(const char *name, const char *text, GError **error);
void strace_log_free(struct strace_log *log);
int strace_errno_from_name(const char *name);
/* "PROT_READ|PROT_WRITE", "0x1000", "NULL": false if a part is unknown. */
bool strace_parse_value(const char *s, uint64_t *v);
const char *strace_errno_name(int err);
/* The record's argument i as a number; false if absent or not numeric. */
bool strace_arg_u64(const struct strace_record *r, guint i, uint64_t *v);
/* The argument written key=value (clone's flags=...), as a number. */
bool strace_arg_named(const struct strace_record *r, const char *key, uint64_t *v);

/*
 * args.c: a call's arguments as the registers its syscall takes, by the
 * row's argument kinds: keyed ones (clone's flags=) in their register,
 * strings and structs the log shows kept for the handler to read instead
 * of user memory.  FALSE with "FILE:LINE: NAME: ..." for an argument the
 * call needs that the log does not say (an unknown symbol, a struct
 * without its fields).
 */
gboolean strace_call_args(const char *path, const struct strace_record *r, struct sys_args *out,
			  GError **error);
/*
 * An mmap without MAP_FIXED that the log says landed at an address: aim
 * it there with MAP_FIXED_NOREPLACE (the replay's and the host helper's
 * rule: the log is the truth about placement).  True if it did.
 */
bool strace_place_as_logged(const struct strace_record *r, struct sys_args *a);

/*
 * format.c, the strace writer: a call of row d with arguments a (and a
 * result) as strace prints it, each argument by its kind.  result_unknown:
 * "= ?"; err: "= -1 ENAME (text)"; else the result, in hex for addresses.
 */
void strace_format_call(const struct syscall_desc *d, const struct sys_args *a, GString *out);
void strace_format_result(const struct syscall_desc *d, bool result_unknown, int64_t result,
			  int err, GString *out);
/* A whole line of pid: "PID  call = result\n"; d NULL: "PID  +++ exited with 0 +++\n". */
void strace_format_line(int pid, const struct syscall_desc *d, const struct sys_args *a,
			bool result_unknown, int64_t result, GString *out);

#endif
