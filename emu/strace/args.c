/*
 * A logged call's arguments as the registers its syscall takes, read by
 * the kinds its row in the syscall table gives them.  strace prints most
 * arguments in register order; keyed ones (clone's child_stack=, flags=)
 * go to the register the row names; trailing ones strace leaves out are 0;
 * a string or a struct the log shows is kept for the handler to use in
 * place of user memory.
 */
#include <string.h>

#include <dupmm/uapi.h>

#include "strace.h"

static gboolean bad_arg(GError **error, const char *path, const struct strace_record *r,
			unsigned int i, const char *why, const char *text)
{
	g_set_error(error, DUPMM_ERROR, DUPMM_ERROR_PARSE, "%s:%d: %s: %s in argument %u: %s", path,
		    r->line, r->name, why, i + 1, text);
	return FALSE;
}

/* The log's argument for the row's i-th: by key when the row's is keyed, else by position. */
static const struct strace_arg *find_arg(const struct strace_record *r,
					 const struct sys_arg_desc *ad, unsigned int i)
{
	if (r->args == NULL)
		return NULL;
	if (ad->keyed) {
		for (guint j = 0; j < r->args->len; j++) {
			const struct strace_arg *a = r->args->pdata[j];

			if (a->key && strcmp(a->key, ad->name) == 0)
				return a;
		}
		return NULL;
	}
	return i < r->args->len ? r->args->pdata[i] : NULL;
}

/* "{flags=CLONE_VM, exit_signal=SIGCHLD, ...}" into the layout's fields. */
static gboolean parse_struct(const struct sys_struct_desc *layout, const char *text,
			     uint64_t *fields, const char **bad)
{
	g_autofree char *body = NULL;
	g_auto(GStrv) parts = NULL;
	size_t len = strlen(text);

	if (len < 2 || text[0] != '{' || text[len - 1] != '}')
		return FALSE;
	body = g_strndup(text + 1, len - 2);
	parts = g_strsplit(body, ",", -1);
	memset(fields, 0, SYS_STRUCT_FIELDS * sizeof(*fields));
	for (int p = 0; parts[p]; p++) {
		char *kv = g_strstrip(parts[p]), *eq = strchr(kv, '=');

		if (*kv == '\0')
			continue;
		if (eq == NULL)
			return FALSE;
		*eq = '\0';
		for (unsigned int f = 0; f < SYS_STRUCT_FIELDS && layout->fields[f].name; f++)
			if (strcmp(layout->fields[f].name, kv) == 0 &&
			    !strace_parse_value(g_strstrip(eq + 1), &fields[f])) {
				*bad = layout->fields[f].name;
				return FALSE;
			}
		/* a field the layout does not have (a newer strace's): not the model's business */
	}
	return TRUE;
}

gboolean strace_call_args(const char *path, const struct strace_record *r, struct sys_args *out,
			  GError **error)
{
	const struct syscall_desc *d = r->desc;

	memset(out, 0, sizeof(*out));
	if (d == NULL)
		return bad_arg(error, path, r, 0, "not in the syscall table", r->name);
	for (unsigned int i = 0; i < SYS_MAX_ARGS && d->args[i].name; i++) {
		const struct sys_arg_desc *ad = &d->args[i];
		const struct strace_arg *a = find_arg(r, ad, i);
		unsigned int slot = syscall_arg_slot(d, i);
		const char *bad = NULL;

		if (a == NULL)
			continue; /* left out by strace: 0 */
		switch (ad->kind) {
		case SA_STR:
			if (a->is_string) {
				out->str[slot] = a->str;
				continue;
			}
			break;
		case SA_PTR: /* a buffer, argv, a status: the model does not follow it */
			out->a[slot] = a->has_value ? a->value : 0;
			continue;
		case SA_STRUCT:
			if (a->has_value) { /* a pointer: the handler reads user memory */
				out->a[slot] = a->value;
				continue;
			}
			if (!parse_struct(ad->layout, a->text, out->obj, &bad))
				return bad_arg(error, path, r, i,
					       bad ? "unreadable field" : "unreadable struct",
					       bad ? bad : a->text);
			out->has_obj = TRUE;
			continue;
		default: break;
		}
		if (!a->has_value)
			return bad_arg(error, path, r, i,
				       g_ascii_isupper(a->text[0]) ? "unknown symbol"
								   : "unreadable value",
				       a->text);
		out->a[slot] = a->value;
	}
	return TRUE;
}

/*
 * The log is the truth about placement: an mmap without MAP_FIXED that the
 * log says succeeded is placed where it landed (MAP_FIXED_NOREPLACE there,
 * so that a range not free shows as EEXIST instead of clobbering).
 */
bool strace_place_as_logged(const struct strace_record *r, struct sys_args *a)
{
	if (r->desc == NULL || r->desc->nr != NR_mmap || (a->a[3] & MAP_FIXED_) || r->err ||
	    r->result_unknown)
		return false;
	a->a[0] = (uint64_t)r->result;
	a->a[3] |= MAP_FIXED_NOREPLACE_;
	return true;
}
