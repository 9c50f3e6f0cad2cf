/*
 * emu/strace: the trace language of design.md, which is strace's output
 * (-f PIDs, -t/-tt/-ttt/-r timestamps, -T durations, unfinished/resumed
 * pairs, signal and exit lines) plus the mem_read/mem_write pseudo-calls.
 * The parser depends on GLib only, so the host-kernel helper uses it too.
 */
#ifndef DUPMM_STRACE_H
#define DUPMM_STRACE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define DUPMM_ERROR (dupmm_error_quark())
GQuark dupmm_error_quark(void);
enum dupmm_error_code {
	DUPMM_ERROR_PARSE,	/* a line of the input is malformed */
	DUPMM_ERROR_IO,		/* a file could not be read or written */
	DUPMM_ERROR_HOST,	/* the host refused something the model needs */
};

enum strace_kind {
	REC_CALL,	/* name(args) = result */
	REC_SIGNAL,	/* --- SIGSEGV {...} --- */
	REC_EXITED,	/* +++ exited with N +++ */
	REC_KILLED,	/* +++ killed by SIG +++ */
};

struct strace_arg {
	char *key;		/* "flags" of "flags=...", or NULL */
	char *text;		/* as written, "name=" prefix removed */
	bool is_string;
	char *str;		/* unescaped, when is_string */
	bool has_value;
	uint64_t value;		/* numbers, NULL, flag expressions */
};

struct strace_record {
	int line;		/* 1-based line of the call (or of its resumption) */
	int pid;		/* 0 when the log has no PID column */
	enum strace_kind kind;
	char *name;		/* the syscall, signal name */
	GPtrArray *args;	/* struct strace_arg * */
	bool result_unknown;	/* "= ?" */
	int64_t result;		/* the return value; -1 with err set on failure */
	int err;		/* errno of "= -1 ENAME (...)", else 0 */
	int code;		/* exit status, or signal number */
};

struct strace_log {
	char *path;
	GPtrArray *records;	/* struct strace_record *, in execution order */
};

/* strace_parse_file: the whole log, or NULL with "FILE:LINE: reason". */
struct strace_log *strace_parse_file(const char *path, GError **error);
struct strace_log *strace_parse_text(const char *name, const char *text, GError **error);
void strace_log_free(struct strace_log *log);
/* A symbolic constant the parser knows (PROT_READ, MAP_SHARED...). */
bool strace_lookup_symbol(const char *name, uint64_t *value);
int strace_errno_from_name(const char *name);
/* "PROT_READ|PROT_WRITE", "0x1000", "NULL": false if a part is unknown. */
bool strace_parse_value(const char *s, uint64_t *v);
const char *strace_errno_name(int err);
/* The record's argument i as a number; false if absent or not numeric. */
bool strace_arg_u64(const struct strace_record *r, guint i, uint64_t *v);
/* The argument written key=value (clone's flags=...), as a number. */
bool strace_arg_named(const struct strace_record *r, const char *key, uint64_t *v);

#endif
