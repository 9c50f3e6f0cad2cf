/*
 * The syscall table's descriptors, made from <dupmm/syscall_64.def>, and the
 * symbolic names strace prints for the arguments' values (strace's xlat
 * tables, in strace's order).  GLib only: dupmm-hostrun links this file
 * without the model.
 */
#include <signal.h>
#include <string.h>

#include <dupmm/error.h>
#include <dupmm/syscall.h>
#include <dupmm/uapi.h>

/* The name tables and the rows read best as they are written. */
/* clang-format off */
G_DEFINE_QUARK(dupmm-error-quark, dupmm_error)

#define SYM(x) { #x, x##_ }
/* A set of names; SYMS_WITH adds how its fields are named (struct sym_set). */
#define SYMS_WITH(set, field, ...)                                             \
	static const struct sym set##_syms[] = { __VA_ARGS__ };                \
	static const struct sym_set set##_set = {                              \
		.name = #set, field, .syms = set##_syms,                      \
		.nsyms = G_N_ELEMENTS(set##_syms) }
#define SYMS(set, ...) SYMS_WITH(set, .enum_mask = 0, __VA_ARGS__)

SYMS(prot, { "PROT_NONE", PROT_NONE_ }, SYM(PROT_READ), SYM(PROT_WRITE), SYM(PROT_EXEC),
     SYM(PROT_SEM), SYM(PROT_GROWSDOWN), SYM(PROT_GROWSUP));
/* The type (MAP_TYPE) first, then the flags; MAP_ANON only for reading. */
SYMS_WITH(map, .enum_mask = MAP_TYPE_, SYM(MAP_SHARED), SYM(MAP_PRIVATE), SYM(MAP_SHARED_VALIDATE),
     SYM(MAP_DROPPABLE), SYM(MAP_FIXED), SYM(MAP_ANONYMOUS), SYM(MAP_32BIT), SYM(MAP_GROWSDOWN),
     SYM(MAP_DENYWRITE), SYM(MAP_EXECUTABLE), SYM(MAP_LOCKED), SYM(MAP_NORESERVE),
     SYM(MAP_POPULATE), SYM(MAP_NONBLOCK), SYM(MAP_STACK), SYM(MAP_HUGETLB), SYM(MAP_SYNC),
     SYM(MAP_FIXED_NOREPLACE), SYM(MAP_UNINITIALIZED), { "MAP_ANON", MAP_ANONYMOUS_ });
SYMS(madv, SYM(MADV_NORMAL), SYM(MADV_RANDOM), SYM(MADV_SEQUENTIAL), SYM(MADV_WILLNEED),
     SYM(MADV_DONTNEED), SYM(MADV_FREE), SYM(MADV_REMOVE), SYM(MADV_DONTFORK), SYM(MADV_DOFORK),
     SYM(MADV_MERGEABLE), SYM(MADV_UNMERGEABLE), SYM(MADV_HUGEPAGE), SYM(MADV_NOHUGEPAGE),
     SYM(MADV_DONTDUMP), SYM(MADV_DODUMP), SYM(MADV_WIPEONFORK), SYM(MADV_KEEPONFORK),
     SYM(MADV_COLD), SYM(MADV_PAGEOUT), SYM(MADV_POPULATE_READ), SYM(MADV_POPULATE_WRITE),
     SYM(MADV_DONTNEED_LOCKED), SYM(MADV_COLLAPSE), SYM(MADV_HWPOISON), SYM(MADV_SOFT_OFFLINE),
     SYM(MADV_GUARD_INSTALL), SYM(MADV_GUARD_REMOVE));
SYMS(mremap, SYM(MREMAP_MAYMOVE), SYM(MREMAP_FIXED), SYM(MREMAP_DONTUNMAP));
SYMS(msync, SYM(MS_ASYNC), SYM(MS_INVALIDATE), SYM(MS_SYNC));
SYMS(mlock2, SYM(MLOCK_ONFAULT));
SYMS(mcl, SYM(MCL_CURRENT), SYM(MCL_FUTURE), SYM(MCL_ONFAULT));
/* The access mode (O_ACCMODE) first; O_SYNC and O_TMPFILE before the bits they include. */
SYMS_WITH(open, .enum_mask = O_ACCMODE_, SYM(O_RDONLY), SYM(O_WRONLY), SYM(O_RDWR), SYM(O_CREAT),
     SYM(O_EXCL), SYM(O_NOCTTY), SYM(O_TRUNC), SYM(O_APPEND), SYM(O_NONBLOCK), SYM(O_SYNC),
     SYM(O_DSYNC), SYM(O_DIRECT), SYM(O_LARGEFILE), SYM(O_TMPFILE), SYM(O_DIRECTORY),
     SYM(O_NOFOLLOW), SYM(O_NOATIME), SYM(O_CLOEXEC), SYM(O_PATH));
SYMS(at, { "AT_FDCWD", (uint64_t)(int64_t)AT_FDCWD_ });
SYMS(wait, SYM(WNOHANG), SYM(WUNTRACED), SYM(WCONTINUED), SYM(__WNOTHREAD), SYM(__WALL),
     SYM(__WCLONE));

#define SIG(x) { #x, x }
SYMS(signal, SIG(SIGHUP), SIG(SIGINT), SIG(SIGQUIT), SIG(SIGILL), SIG(SIGTRAP), SIG(SIGABRT),
     SIG(SIGBUS), SIG(SIGFPE), SIG(SIGKILL), SIG(SIGUSR1), SIG(SIGSEGV), SIG(SIGUSR2),
     SIG(SIGPIPE), SIG(SIGALRM), SIG(SIGTERM), SIG(SIGSTKFLT), SIG(SIGCHLD), SIG(SIGCONT),
     SIG(SIGSTOP), SIG(SIGTSTP), SIG(SIGTTIN), SIG(SIGTTOU), SIG(SIGURG), SIG(SIGXCPU),
     SIG(SIGXFSZ), SIG(SIGVTALRM), SIG(SIGPROF), SIG(SIGWINCH), SIG(SIGIO), SIG(SIGPWR),
     SIG(SIGSYS));
/* clone's flags: strace prints the exit signal (CSIGNAL) last, by its name. */
SYMS_WITH(clone, .signal_mask = CSIGNAL_, SYM(CLONE_VM), SYM(CLONE_FS), SYM(CLONE_FILES),
     SYM(CLONE_SIGHAND), SYM(CLONE_PIDFD), SYM(CLONE_PTRACE), SYM(CLONE_VFORK), SYM(CLONE_PARENT),
     SYM(CLONE_THREAD), SYM(CLONE_NEWNS), SYM(CLONE_SYSVSEM), SYM(CLONE_SETTLS),
     SYM(CLONE_PARENT_SETTID), SYM(CLONE_CHILD_CLEARTID), SYM(CLONE_DETACHED), SYM(CLONE_UNTRACED),
     SYM(CLONE_CHILD_SETTID), SYM(CLONE_NEWCGROUP), SYM(CLONE_NEWUTS), SYM(CLONE_NEWIPC),
     SYM(CLONE_NEWUSER), SYM(CLONE_NEWPID), SYM(CLONE_NEWNET), SYM(CLONE_IO));

/* The sets every name is looked up in, for reading a log. */
static const struct sym_set *const all_sets[] = {
	&prot_set, &map_set, &madv_set, &mremap_set, &msync_set, &mlock2_set, &mcl_set,
	&open_set, &at_set, &wait_set, &signal_set, &clone_set,
};

/* struct clone_args (include/uapi/linux/sched.h): clone3's first argument. */
#define FIELD(n, k) { .name = #n, .kind = SA_##k, .slot = -1 }
#define FIELD_SET(n, k, s) { .name = #n, .kind = SA_##k, .set = &s##_set, .slot = -1 }
static const struct sys_struct_desc clone_args_layout = {
	"clone_args",
	{ FIELD_SET(flags, FLAGS, clone), FIELD(pidfd, ADDR), FIELD(child_tid, ADDR),
	  FIELD(parent_tid, ADDR), FIELD_SET(exit_signal, ENUM, signal), FIELD(stack, ADDR),
	  FIELD(stack_size, UINT), FIELD(tls, ADDR), FIELD(set_tid, ADDR), FIELD(set_tid_size, UINT),
	  FIELD(cgroup, UINT) },
};

/* The row macros, for descriptors. */
#define ARG(n, k) { .name = #n, .kind = SA_##k, .slot = -1 }
#define ARG_SET(n, k, s) { .name = #n, .kind = SA_##k, .set = &s##_set, .slot = -1 }
#define ARG_KEY(n, k, sl, f) { .name = #n, .kind = SA_##k, .slot = sl, .keyed = true, .flags = f }
#define ARG_KEY_SET(n, k, s, sl, f)                                            \
	{ .name = #n, .kind = SA_##k, .set = &s##_set, .slot = sl, .keyed = true, .flags = f }
#define ARG_OPT(n, k) { .name = #n, .kind = SA_##k, .slot = -1, .flags = SAF_OPTIONAL }
#define ARG_STRUCT(n, l) { .name = #n, .kind = SA_STRUCT, .layout = &l##_layout, .slot = -1 }
#define NO_ARGS { .name = NULL }
#define RANGE(a, l) { { a, l }, { -1, -1 } }
#define RANGE2(a, l, a2, l2) { { a, l }, { a2, l2 } }
#define NO_RANGE { { -1, -1 }, { -1, -1 } }
#define SYSCALL(n, nm, handler, fl, rng, ...)                                  \
	[SC_##nm] = { .nr = n, .name = #nm, .flags = fl, .modelled = true, .range = rng, \
		      .args = { __VA_ARGS__ } },
#define UNMODELLED(n, nm, fl, ...)                                             \
	[SC_##nm] = { .nr = n, .name = #nm, .flags = fl, .range = NO_RANGE,     \
		      .args = { __VA_ARGS__ } },
#define PSEUDO(nm, fl, rng, ...)                                               \
	[SC_##nm] = { .nr = SYS_PSEUDO, .name = #nm, .flags = fl, .modelled = true, \
		      .range = rng, .args = { __VA_ARGS__ } },

const struct syscall_desc syscall_table[NR_SYSCALL_ROWS] = {
#include <dupmm/syscall_64.def>
};
/* clang-format on */

const struct syscall_desc *syscall_by_name(const char *name)
{
	static gsize once;
	static GHashTable *by_name; /* name -> row */
	const struct syscall_desc *d;

	if (g_once_init_enter(&once)) {
		by_name = g_hash_table_new(g_str_hash, g_str_equal);
		for (unsigned int i = 0; i < NR_SYSCALL_ROWS; i++)
			g_hash_table_insert(by_name, (gpointer)syscall_table[i].name,
					    (gpointer)&syscall_table[i]);
		g_once_init_leave(&once, 1);
	}
	d = g_hash_table_lookup(by_name, name);
	return d;
}

const struct syscall_desc *syscall_by_nr(int nr)
{
	static gsize once;
	static const struct syscall_desc *by_nr[512];

	if (g_once_init_enter(&once)) {
		for (unsigned int i = 0; i < NR_SYSCALL_ROWS; i++)
			if (syscall_table[i].nr >= 0 && syscall_table[i].nr < 512)
				by_nr[syscall_table[i].nr] = &syscall_table[i];
		g_once_init_leave(&once, 1);
	}
	return nr >= 0 && nr < 512 ? by_nr[nr] : NULL;
}

unsigned int syscall_nargs(const struct syscall_desc *d)
{
	unsigned int n = 0;

	while (n < SYS_MAX_ARGS && d->args[n].name)
		n++;
	return n;
}

unsigned int syscall_arg_slot(const struct syscall_desc *d, unsigned int i)
{
	return d->args[i].slot >= 0 ? (unsigned int)d->args[i].slot : i;
}

/*
 * The flags kernel_clone gets (kernel/fork.c): fork is clone(SIGCHLD), vfork
 * clone(CLONE_VFORK|CLONE_VM|SIGCHLD); clone3's exit signal is a field of
 * its own.  0 for a call outside the clone family.
 */
uint64_t syscall_clone_flags(const struct syscall_desc *d, const struct sys_args *a)
{
	switch (syscall_id(d)) {
	case SC_fork: return SIGCHLD;
	case SC_vfork: return CLONE_VFORK_ | CLONE_VM_ | SIGCHLD;
	case SC_clone: return a->a[0];
	case SC_clone3:
		return a->has_obj ? (a->obj[0] & ~(uint64_t)CSIGNAL_) | (a->obj[4] & CSIGNAL_) : 0;
	default: return 0;
	}
}

bool sym_lookup(const char *name, uint64_t *value)
{
	static gsize once;
	static GHashTable *by_name; /* name -> struct sym * */
	const struct sym *s;

	if (g_once_init_enter(&once)) {
		by_name = g_hash_table_new(g_str_hash, g_str_equal);
		for (size_t i = 0; i < G_N_ELEMENTS(all_sets); i++)
			for (unsigned int j = 0; j < all_sets[i]->nsyms; j++)
				g_hash_table_insert(by_name, (gpointer)all_sets[i]->syms[j].name,
						    (gpointer)&all_sets[i]->syms[j]);
		g_once_init_leave(&once, 1);
	}
	if (strcmp(name, "NULL") == 0) {
		*value = 0;
		return true;
	}
	s = g_hash_table_lookup(by_name, name);
	if (s == NULL)
		return false;
	*value = s->value;
	return true;
}

/* The name of value in set, or NULL. */
static const char *sym_name(const struct sym_set *set, uint64_t value)
{
	for (unsigned int i = 0; i < set->nsyms; i++)
		if (set->syms[i].value == value)
			return set->syms[i].name;
	return NULL;
}

void sym_format_enum(const struct sym_set *set, uint64_t value, GString *out)
{
	const char *name = sym_name(set, value);

	if (name)
		g_string_append(out, name);
	else /* as strace prints MADV 999 */
		g_string_append_printf(out, "%" G_GINT64_FORMAT, (int64_t)value);
}

/*
 * sym_format: flags as strace prints them: the enumerated field's name, then
 * each flag's, then the signal's, then what is left in hex.
 */
void sym_format(const struct sym_set *set, uint64_t value, GString *out)
{
	gsize start = out->len;
	uint64_t left = value;
	const char *sig;

	if (set->enum_mask) {
		for (unsigned int i = 0; i < set->nsyms; i++)
			if ((set->syms[i].value & ~set->enum_mask) == 0 &&
			    set->syms[i].value == (value & set->enum_mask)) {
				g_string_append(out, set->syms[i].name);
				left &= ~set->enum_mask;
				break;
			}
	}
	for (unsigned int i = 0; i < set->nsyms && left; i++) {
		uint64_t v = set->syms[i].value;

		if (v == 0 || (set->enum_mask && (v & ~set->enum_mask) == 0) || (left & v) != v)
			continue;
		if (out->len > start)
			g_string_append_c(out, '|');
		g_string_append(out, set->syms[i].name);
		left &= ~v;
	}
	if ((left & set->signal_mask) &&
	    (sig = sym_name(&signal_set, left & set->signal_mask)) != NULL) {
		if (out->len > start)
			g_string_append_c(out, '|');
		g_string_append(out, sig);
		left &= ~set->signal_mask;
	}
	if (left || out->len == start) {
		if (value == 0 && set->nsyms && set->syms[0].value == 0) {
			g_string_append(out, set->syms[0].name); /* PROT_NONE */
			return;
		}
		if (out->len > start)
			g_string_append_c(out, '|');
		g_string_append_printf(
			out, left > 9 ? "%#" G_GINT64_MODIFIER "x" : "%" G_GINT64_MODIFIER "u",
			left);
	}
}
