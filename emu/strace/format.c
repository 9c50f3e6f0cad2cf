/*
 * The strace writer: a call as strace prints it, each argument by the kind
 * its row in the syscall table gives it, so that the parser reads back
 * exactly the registers that were written.  The fuzzer writes its traces
 * with it (and `dupmm run --trace` will).
 */
#include <inttypes.h>
#include <string.h>

#include "strace.h"

/*
 * Numbers without printf: the writer prints every call the fuzzer
 * generates, a few hundred thousand a second.
 */
static void append_udec(GString *out, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	g_string_append_len(out, p, buf + sizeof(buf) - p);
}

static void append_dec(GString *out, int64_t v)
{
	if (v < 0) {
		g_string_append_c(out, '-');
		append_udec(out, -(uint64_t)v);
	} else {
		append_udec(out, (uint64_t)v);
	}
}

/* 0x... (0 as "0", as printf's %#x does) */
static void append_hex(GString *out, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[20], *p = buf + sizeof(buf);

	if (v == 0) {
		g_string_append_c(out, '0');
		return;
	}
	while (v) {
		*--p = digits[v & 15];
		v >>= 4;
	}
	*--p = 'x';
	*--p = '0';
	g_string_append_len(out, p, buf + sizeof(buf) - p);
}

/* A C string as strace quotes it. */
static void format_string(const char *s, GString *out)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': g_string_append(out, "\\\""); break;
		case '\\': g_string_append(out, "\\\\"); break;
		case '\n': g_string_append(out, "\\n"); break;
		case '\t': g_string_append(out, "\\t"); break;
		case '\r': g_string_append(out, "\\r"); break;
		default:
			if (*p < 0x20 || *p >= 0x7f)
				g_string_append_printf(out, "\\x%02x", *p);
			else
				g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
}

static void format_value(const struct sys_arg_desc *ad, uint64_t v, GString *out)
{
	switch (ad->kind) {
	case SA_ADDR:
	case SA_PTR:
		if (v == 0)
			g_string_append(out, "NULL");
		else
			append_hex(out, v);
		break;
	case SA_OFF:
	case SA_BYTE: append_hex(out, v); break;
	case SA_MODE: g_string_append_printf(out, "%#" PRIo64, v); break;
	case SA_FLAGS: sym_format(ad->set, v, out); break;
	case SA_ENUM: sym_format_enum(ad->set, v, out); break;
	case SA_FD:
		if (ad->set) { /* a dirfd: AT_FDCWD by name */
			sym_format_enum(ad->set, v, out);
			break;
		}
		/* fallthrough */
	case SA_INT:
	case SA_PID: append_dec(out, (int64_t)v); break;
	default: append_udec(out, v);
	}
}

static void format_struct(const struct sys_struct_desc *layout, const uint64_t *fields,
			  GString *out)
{
	g_string_append_c(out, '{');
	for (unsigned int f = 0; f < SYS_STRUCT_FIELDS && layout->fields[f].name; f++) {
		/* strace prints the flags and exit signal always, the rest when set */
		if (f > 0 && fields[f] == 0 && layout->fields[f].kind != SA_ENUM)
			continue;
		if (f > 0)
			g_string_append(out, ", ");
		g_string_append_printf(out, "%s=", layout->fields[f].name);
		format_value(&layout->fields[f], fields[f], out);
	}
	g_string_append_c(out, '}');
}

/* Is the i-th argument and every one after it left out (optional and zero)? */
static bool rest_left_out(const struct syscall_desc *d, const struct sys_args *a, unsigned int i)
{
	for (; i < SYS_MAX_ARGS && d->args[i].name; i++)
		if (!(d->args[i].flags & SAF_OPTIONAL) || a->a[syscall_arg_slot(d, i)] != 0)
			return false;
	return true;
}

void strace_format_call(const struct syscall_desc *d, const struct sys_args *a, GString *out)
{
	bool first = true;

	g_string_append(out, d->name);
	g_string_append_c(out, '(');
	for (unsigned int i = 0; i < SYS_MAX_ARGS && d->args[i].name; i++) {
		const struct sys_arg_desc *ad = &d->args[i];
		unsigned int slot = syscall_arg_slot(d, i);

		if ((ad->flags & SAF_OPTIONAL) &&
		    (ad->keyed ? a->a[slot] == 0 : rest_left_out(d, a, i)))
			continue;
		if (!first)
			g_string_append(out, ", ");
		first = false;
		if (ad->keyed) {
			g_string_append(out, ad->name);
			g_string_append_c(out, '=');
		}
		if (ad->kind == SA_STR && a->str[slot])
			format_string(a->str[slot], out);
		else if (ad->kind == SA_STRUCT && a->has_obj)
			format_struct(ad->layout, a->obj, out);
		else
			format_value(ad, a->a[slot], out);
	}
	g_string_append_c(out, ')');
}

void strace_format_result(const struct syscall_desc *d, bool result_unknown, int64_t result,
			  int err, GString *out)
{
	if (result_unknown)
		g_string_append(out, " = ?");
	else if (err)
		g_string_append_printf(out, " = -1 %s (%s)", strace_errno_name(err),
				       g_strerror(err));
	else if (d && (d->flags & SCF_RET_BYTE))
		g_string_append_printf(out, " = 0x%02" PRIx64, (uint64_t)result);
	else if (d && (d->flags & SCF_RET_ADDR) && result != 0) {
		g_string_append(out, " = ");
		append_hex(out, (uint64_t)result);
	} else {
		g_string_append(out, " = ");
		append_dec(out, result);
	}
}

void strace_format_line(int pid, const struct syscall_desc *d, const struct sys_args *a,
			bool result_unknown, int64_t result, GString *out)
{
	append_dec(out, pid);
	g_string_append(out, "  ");
	if (d == NULL) {
		g_string_append(out, "+++ exited with 0 +++\n");
		return;
	}
	strace_format_call(d, a, out);
	strace_format_result(d, result_unknown, result, 0, out);
	g_string_append_c(out, '\n');
}
