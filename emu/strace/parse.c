/*
 * The strace-log parser.  A log is read whole, then unfinished/resumed
 * pairs are joined: the joined call takes the place of its resumption
 * (when it took effect), except for the clone family, which takes the
 * place of its start, since the child's lines may come before the
 * resumption and the child must exist by then.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strace.h"

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EPERM", EPERM },
	{ "ENOENT", ENOENT },
	{ "ESRCH", ESRCH },
	{ "EINTR", EINTR },
	{ "EIO", EIO },
	{ "ENXIO", ENXIO },
	{ "E2BIG", E2BIG },
	{ "ENOEXEC", ENOEXEC },
	{ "EBADF", EBADF },
	{ "ECHILD", ECHILD },
	{ "EAGAIN", EAGAIN },
	{ "ENOMEM", ENOMEM },
	{ "EACCES", EACCES },
	{ "EFAULT", EFAULT },
	{ "EBUSY", EBUSY },
	{ "EEXIST", EEXIST },
	{ "ENODEV", ENODEV },
	{ "ENOTDIR", ENOTDIR },
	{ "EISDIR", EISDIR },
	{ "EINVAL", EINVAL },
	{ "ENFILE", ENFILE },
	{ "EMFILE", EMFILE },
	{ "ETXTBSY", ETXTBSY },
	{ "EFBIG", EFBIG },
	{ "ENOSPC", ENOSPC },
	{ "ESPIPE", ESPIPE },
	{ "EROFS", EROFS },
	{ "EPIPE", EPIPE },
	{ "ERANGE", ERANGE },
	{ "ENAMETOOLONG", ENAMETOOLONG },
	{ "ENOSYS", ENOSYS },
	{ "EOVERFLOW", EOVERFLOW },
	{ "EOPNOTSUPP", EOPNOTSUPP },
	{ "ENOTSUP", ENOTSUP },
	{ "ETIMEDOUT", ETIMEDOUT },
	{ "EHWPOISON", EHWPOISON },
};

int strace_errno_from_name(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(errnos); i++)
		if (strcmp(errnos[i].name, name) == 0)
			return errnos[i].err;
	return 0;
}

const char *strace_errno_name(int err)
{
	for (size_t i = 0; i < G_N_ELEMENTS(errnos); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return "E?";
}

static void arg_free(gpointer p)
{
	struct strace_arg *a = p;

	g_free(a->key);
	g_free(a->text);
	g_free(a->str);
	g_free(a);
}

static void record_free(gpointer p)
{
	struct strace_record *r = p;

	g_free(r->name);
	if (r->args)
		g_ptr_array_unref(r->args);
	g_free(r);
}

void strace_log_free(struct strace_log *log)
{
	if (log == NULL)
		return;
	g_ptr_array_unref(log->records);
	g_free(log->path);
	g_free(log);
}

bool strace_arg_u64(const struct strace_record *r, guint i, uint64_t *v)
{
	struct strace_arg *a;

	if (r->args == NULL || i >= r->args->len)
		return false;
	a = r->args->pdata[i];
	*v = a->value;
	return a->has_value;
}

bool strace_arg_named(const struct strace_record *r, const char *key, uint64_t *v)
{
	for (guint i = 0; r->args && i < r->args->len; i++) {
		struct strace_arg *a = r->args->pdata[i];

		if (a->key && strcmp(a->key, key) == 0) {
			*v = a->value;
			return a->has_value;
		}
	}
	return false;
}

/* The parse state of one line, for error messages. */
struct line_ctx {
	const char *path;
	int line;
	GError **error;
};

static bool fail(struct line_ctx *c, const char *fmt, const char *detail)
{
	g_set_error(c->error, DUPMM_ERROR, DUPMM_ERROR_PARSE, "%s:%d: %s%s%s", c->path, c->line,
		    fmt, detail ? ": " : "", detail ? detail : "");
	return false;
}

static int fail_line(struct line_ctx *c, const char *fmt, const char *detail)
{
	fail(c, fmt, detail);
	return -1;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A C-style quoted string as strace prints it; returns the end or NULL. */
static const char *parse_string(const char *p, GString *out)
{
	for (p++; *p && *p != '"'; p++) {
		if (*p != '\\') {
			g_string_append_c(out, *p);
			continue;
		}
		p++;
		switch (*p) {
		case 'n': g_string_append_c(out, '\n'); break;
		case 't': g_string_append_c(out, '\t'); break;
		case 'r': g_string_append_c(out, '\r'); break;
		case 'x': {
			char hex[3] = { p[1], p[1] ? p[2] : 0, 0 };

			g_string_append_c(out, (char)strtol(hex, NULL, 16));
			p += 2;
			break;
		}
		default:
			if (*p >= '0' && *p <= '7') {
				int v = 0, n = 0;

				while (n < 3 && *p >= '0' && *p <= '7')
					v = v * 8 + (*p++ - '0'), n++;
				p--;
				g_string_append_c(out, (char)v);
			} else if (*p) {
				g_string_append_c(out, *p);
			} else {
				return NULL;
			}
		}
	}
	if (*p != '"')
		return NULL;
	p++;
	if (p[0] == '.' && p[1] == '.' && p[2] == '.') /* truncated by -s */
		p += 3;
	return p;
}

/* A number, NULL, or an '|' expression of known symbols and numbers. */
bool strace_parse_value(const char *s, uint64_t *v)
{
	*v = 0;
	for (const char *p = s;;) {
		const char *bar = strchr(p, '|'), *e = bar ? bar : p + strlen(p);
		char tok[64];
		uint64_t x;
		char *end;

		while (p < e && g_ascii_isspace(*p))
			p++;
		while (e > p && g_ascii_isspace(e[-1]))
			e--;
		if (e == p || (size_t)(e - p) >= sizeof(tok))
			return false;
		memcpy(tok, p, (size_t)(e - p));
		tok[e - p] = '\0';
		if (g_ascii_isdigit(tok[0]) || tok[0] == '-') {
			errno = 0;
			x = tok[0] == '-' ? (uint64_t)strtoll(tok, &end, 0)
					  : strtoull(tok, &end, 0);
			if (errno || *end)
				return false;
		} else if (!sym_lookup(tok, &x)) {
			return false;
		}
		*v |= x;
		if (bar == NULL)
			return true;
		p = bar + 1;
	}
}

/* Split the argument list at top-level commas; returns the ')' or NULL. */
static const char *parse_args(const char *p, GPtrArray *args)
{
	const char *start = p;
	int depth = 0;

	for (;; p++) {
		if (*p == '"') {
			g_autoptr(GString) s = g_string_new(NULL);

			p = parse_string(p, s);
			if (p == NULL)
				return NULL;
			p--;
			continue;
		}
		if (*p == '\0')
			return NULL;
		if (*p == '(' || *p == '[' || *p == '{')
			depth++;
		else if ((*p == ']' || *p == '}') && depth > 0)
			depth--;
		else if (*p == ')' && depth > 0)
			depth--;
		else if ((*p == ',' || *p == ')') && depth == 0) {
			const char *b = start, *e = p;

			while (b < e && g_ascii_isspace(*b))
				b++;
			while (e > b && g_ascii_isspace(e[-1]))
				e--;
			if (e > b || *p == ',' || args->len > 0) {
				struct strace_arg *a = g_new0(struct strace_arg, 1);
				char *raw = g_strndup(b, (gsize)(e - b));
				char *text = raw;
				char *eq = strchr(raw, '=');

				/* name=value, as in clone(child_stack=NULL, flags=...) */
				if (eq && eq > raw && !strchr(raw, '"') && !strchr(raw, '{') &&
				    !strchr(raw, '[') && g_ascii_isalpha(raw[0])) {
					a->key = g_strndup(raw, (gsize)(eq - raw));
					memmove(raw, eq + 1, strlen(eq + 1) + 1);
				}
				a->text = raw; /* owned by the arg */
				if (text[0] == '"') {
					g_autoptr(GString) s = g_string_new(NULL);

					a->is_string = parse_string(text, s) != NULL;
					a->str = g_strdup(s->str);
				} else if (text[0] != '[' && text[0] != '{') {
					a->has_value = strace_parse_value(text, &a->value);
				}
				g_ptr_array_add(args, a);
			}
			if (*p == ')')
				return p;
			start = p + 1;
		}
	}
}

/* " = RESULT" after the call: a number, "?", or "-1 ENAME (text)". */
static bool parse_result(struct line_ctx *c, const char *p, struct strace_record *r)
{
	char *end;

	p = skip_ws(p);
	if (*p != '=')
		return fail(c, "expected '= RESULT' after the call", p);
	p = skip_ws(p + 1);
	if (*p == '?') {
		r->result_unknown = true;
		return true;
	}
	errno = 0;
	r->result = (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? (int64_t)strtoull(p, &end, 16)
								  : strtoll(p, &end, 10);
	if (errno || end == p)
		return fail(c, "unreadable result", p);
	p = skip_ws(end);
	if (r->result == -1 && g_ascii_isupper(*p)) {
		g_autofree char *name = g_strndup(p, strcspn(p, " \t("));

		r->err = strace_errno_from_name(name);
		if (r->err == 0)
			return fail(c, "unknown errno name", name);
	}
	return true;
}

static bool is_timestamp(const char *tok)
{
	bool digit = false;

	for (const char *q = tok; *q; q++) {
		if (g_ascii_isdigit(*q))
			digit = true;
		else if (*q != ':' && *q != '.')
			return false;
	}
	return digit && (strchr(tok, ':') || strchr(tok, '.'));
}

enum line_shape { LINE_SKIP, LINE_RECORD, LINE_UNFINISHED, LINE_RESUMED };

/*
 * parse_line: one line into *r.  Returns the shape, or -1 with *error set.
 * For LINE_UNFINISHED, *tail is the argument text so far; for
 * LINE_RESUMED, the argument text after "resumed>".
 */
static int parse_line(struct line_ctx *c, const char *text, struct strace_record *r, char **tail)
{
	const char *p = skip_ws(text), *q;

	if (*p == '\0' || *p == '#')
		return LINE_SKIP;
	if (g_str_has_prefix(p, "[pid")) { /* strace -f without -o */
		p = skip_ws(p + 4);
		r->pid = (int)strtol(p, (char **)&q, 10);
		if (q == p || *q != ']')
			return fail_line(c, "bad [pid N] prefix", NULL);
		p = skip_ws(q + 1);
	} else if (g_ascii_isdigit(*p)) {
		q = p;
		while (g_ascii_isdigit(*q))
			q++;
		if (*q == ' ' || *q == '\t') {
			r->pid = atoi(p);
			p = skip_ws(q);
		}
	}
	/* -t, -tt, -ttt or -r timestamp */
	q = p;
	while (*q && *q != ' ' && *q != '\t' && *q != '(')
		q++;
	if (*q == ' ' || *q == '\t') {
		g_autofree char *tok = g_strndup(p, (gsize)(q - p));

		if (is_timestamp(tok))
			p = skip_ws(q);
	}
	if (g_str_has_prefix(p, "---")) {
		uint64_t sig = 0;

		r->kind = REC_SIGNAL;
		p = skip_ws(p + 3);
		r->name = g_strndup(p, strcspn(p, " {"));
		sym_lookup(r->name, &sig);
		r->code = (int)sig;
		return LINE_RECORD;
	}
	if (g_str_has_prefix(p, "+++")) {
		p = skip_ws(p + 3);
		if (g_str_has_prefix(p, "exited with ")) {
			r->kind = REC_EXITED;
			r->code = atoi(p + 12);
		} else if (g_str_has_prefix(p, "killed by ")) {
			uint64_t sig = 0;
			g_autofree char *name = g_strndup(p + 10, strcspn(p + 10, " "));

			r->kind = REC_KILLED;
			if (!sym_lookup(name, &sig))
				return fail_line(c, "unknown signal", name);
			r->code = (int)sig;
		} else {
			return fail_line(c, "unknown +++ line", p);
		}
		return LINE_RECORD;
	}
	if (g_str_has_prefix(p, "<...")) {
		p = skip_ws(p + 4);
		r->name = g_strndup(p, strcspn(p, " "));
		q = strstr(p, "resumed>");
		if (q == NULL)
			return fail_line(c, "'<...' without 'resumed>'", NULL);
		*tail = g_strdup(q + 8);
		return LINE_RESUMED;
	}
	q = p;
	while (g_ascii_isalnum(*q) || *q == '_')
		q++;
	if (q == p || *q != '(')
		return fail_line(c, "expected 'name(args) = result'", p);
	r->kind = REC_CALL;
	r->name = g_strndup(p, (gsize)(q - p));
	r->desc = syscall_by_name(r->name);
	if (strstr(q, "<unfinished ...>")) {
		const char *u = strstr(q, "<unfinished ...>");

		*tail = g_strndup(q + 1, (gsize)(u - q - 1));
		return LINE_UNFINISHED;
	}
	r->args = g_ptr_array_new_with_free_func(arg_free);
	q = parse_args(q + 1, r->args);
	if (q == NULL)
		return fail_line(c, "unterminated argument list", NULL);
	/* An unknown symbol matters only to a call the replay models: it checks. */
	return parse_result(c, q + 1, r) ? LINE_RECORD : -1;
}

static bool is_clone_family(const char *name)
{
	return !strcmp(name, "clone") || !strcmp(name, "clone3") || !strcmp(name, "fork") ||
	       !strcmp(name, "vfork");
}

/* A pending <unfinished ...> call of one pid. */
struct pending {
	struct strace_record *rec; /* owned by the log if of the clone family */
	char *head;		   /* argument text before <unfinished ...> */
};

/* The parse of one log: records so far, and the calls still unfinished. */
struct parse_state {
	struct strace_log *log;
	GHashTable *pending; /* pid -> struct pending * */
};

static bool finish_resumed(struct line_ctx *c, struct pending *pend, const char *tail,
			   struct strace_record *r)
{
	g_autofree char *joined = g_strconcat("(", pend->head, tail, NULL);
	const char *q;

	if (r->args)
		g_ptr_array_unref(r->args);
	r->result_unknown = false;
	r->args = g_ptr_array_new_with_free_func(arg_free);
	q = parse_args(joined + 1, r->args);
	if (q == NULL)
		return fail(c, "unterminated argument list", NULL);
	return parse_result(c, q + 1, r);
}

/* An <unfinished ...> call: held until resumed; the clone family takes effect now. */
static bool add_unfinished(struct parse_state *st, struct line_ctx *c, struct strace_record *r,
			   char *tail)
{
	struct pending *p;

	if (g_hash_table_contains(st->pending, GINT_TO_POINTER(r->pid))) {
		fail(c, "a second unfinished call of the same pid", r->name);
		g_free(tail);
		record_free(r);
		return false;
	}
	p = g_new0(struct pending, 1);
	p->rec = r;
	p->head = tail;
	if (is_clone_family(r->name)) { /* its flags are needed before it resumes */
		g_autofree char *h = g_strconcat(tail, ")", NULL);

		r->args = g_ptr_array_new_with_free_func(arg_free);
		r->result_unknown = true; /* until resumed */
		parse_args(h, r->args);
		g_ptr_array_add(st->log->records, r);
	}
	g_hash_table_insert(st->pending, GINT_TO_POINTER(r->pid), p);
	return true;
}

/* "<... name resumed>": complete the pending call; it takes effect here. */
static bool add_resumed(struct parse_state *st, struct line_ctx *c, struct strace_record *r,
			char *tail)
{
	struct pending *p = g_hash_table_lookup(st->pending, GINT_TO_POINTER(r->pid));
	bool ok;

	if (p == NULL || strcmp(p->rec->name, r->name) != 0) {
		fail(c, "resumption of a call that was not unfinished", r->name);
		g_free(tail);
		record_free(r);
		return false;
	}
	ok = finish_resumed(c, p, tail, p->rec);
	g_free(tail);
	if (!is_clone_family(p->rec->name)) {
		p->rec->line = r->line;
		g_ptr_array_add(st->log->records, p->rec);
	}
	g_hash_table_remove(st->pending, GINT_TO_POINTER(r->pid));
	g_free(p->head);
	g_free(p);
	record_free(r);
	return ok;
}

/*
 * Calls still unfinished when the log ends never returned (exit_group, a
 * kill): keep them, result unknown.  On failure (keep = false) free them.
 */
static void flush_pending(struct parse_state *st, bool keep)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, st->pending);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct pending *p = v;

		if (!is_clone_family(p->rec->name)) {
			if (keep) {
				g_autofree char *h = g_strconcat(p->head, ")", NULL);

				p->rec->result_unknown = true;
				p->rec->args = g_ptr_array_new_with_free_func(arg_free);
				parse_args(h, p->rec->args);
				g_ptr_array_add(st->log->records, p->rec);
			} else {
				record_free(p->rec);
			}
		}
		g_free(p->head);
		g_free(p);
	}
	g_hash_table_destroy(st->pending);
}

static bool parse_lines(struct parse_state *st, const char *path, char **lines, GError **error)
{
	for (int i = 0; lines[i]; i++) {
		struct line_ctx c = { path, i + 1, error };
		struct strace_record *r = g_new0(struct strace_record, 1);
		char *tail = NULL;
		int shape;

		r->line = i + 1;
		shape = parse_line(&c, lines[i], r, &tail);
		if (shape == LINE_RECORD) {
			g_ptr_array_add(st->log->records, r);
			continue;
		}
		if (shape == LINE_UNFINISHED) {
			if (!add_unfinished(st, &c, r, tail))
				return false;
			continue;
		}
		if (shape == LINE_RESUMED) {
			if (!add_resumed(st, &c, r, tail))
				return false;
			continue;
		}
		record_free(r);
		if (shape < 0)
			return false;
	}
	return true;
}

/* strace_parse_text: a log held in memory; name stands for the file in messages. */
struct strace_log *strace_parse_text(const char *name, const char *text, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	struct parse_state st = { g_new0(struct strace_log, 1),
				  g_hash_table_new(g_direct_hash, g_direct_equal) };
	bool ok;

	st.log->path = g_strdup(name);
	st.log->records = g_ptr_array_new_with_free_func(record_free);
	ok = parse_lines(&st, name, lines, error);
	flush_pending(&st, ok);
	if (!ok) {
		strace_log_free(st.log);
		return NULL;
	}
	return st.log;
}

struct strace_log *strace_parse_file(const char *path, GError **error)
{
	g_autofree char *contents = NULL;
	GError *err = NULL;

	if (!g_file_get_contents(path, &contents, NULL, &err)) {
		g_set_error(error, DUPMM_ERROR, DUPMM_ERROR_IO, "%s: %s", path, err->message);
		g_error_free(err);
		return NULL;
	}
	return strace_parse_text(path, contents, error);
}
