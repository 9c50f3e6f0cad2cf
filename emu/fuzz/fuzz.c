/*
 * The fuzzer: a seeded generator of traces (GRand, a Mersenne twister:
 * the same seed gives the same trace on every machine), the checks, and
 * a shrinker.
 *
 * A trace is built as a list of steps, each a few lines of one process:
 * a call, a fork (whose child's steps hang off it), or an exit (the
 * child's exit_group, its +++ line and the parent's wait4).  Shrinking
 * drops steps, a fork with its whole subtree, as long as the same check
 * still fails; what is left is written as a replayable .strace file.
 *
 * Calls are weighted towards what makes fork semantics interesting:
 * ranges in a small arena (so they split and re-merge VMAs), WIPEONFORK
 * and DONTFORK advice, writes just before and after forks, and reads in
 * children right after they are forked.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <glib/gstdio.h>

#include <procfs/procfs.h>
#include <fuzz/fuzz.h>
#include <dupmm/mm.h>
#include <strace/replay.h>
#include <strace/strace.h>

#include "checks.h"

#define ARENA_BASE	FUZZ_WINDOW_BASE
#define ARENA_PAGES	48
#define MAX_PROCS	8
#define FIRST_PID	1000
#define WINDOW_PAGES	FUZZ_WINDOW_PAGES	/* the arena and what grows out of it */
#define DATA_FILE	"fuzz-file.bin"
#define DATA_PAGES	6	/* page k of it holds bytes 'A' + k */
#define DATA_FD		3
#define DATA_RW_FILE	"fuzz-file-rw.bin"	/* the same size, page k holds 'a' + k; open read-write */
#define DATA_RW_FD	4
#define HEAP_START	(ARENA_BASE + 50 * 4096ULL)	/* the heap: just above the arena */
#define HEAP_PAGES	12			/* how far brk calls reach */

struct step {
	int pid;
	int child;		/* the pid a fork-like step creates, else 0 */
	char *text;		/* its lines, each ending in \n */
};

struct gproc {
	int pid, parent;
	bool alive;
};

struct gen {
	GRand *rnd;
	/*
	 * Not for the host: brk calls (its helper's heap is the brk area) and
	 * mappings of the read-write data file (the host's ext4 caches it in
	 * large folios, and a write dirties a whole folio; the model's folios
	 * are single pages).
	 */
	bool local;
	GPtrArray *steps;	/* struct step * */
	struct gproc procs[64];
	int nprocs;
	int next_pid;
};

static void step_free(gpointer p)
{
	struct step *s = p;

	g_free(s->text);
	g_free(s);
}

static void add_step(struct gen *g, int pid, int child, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void add_step(struct gen *g, int pid, int child, const char *fmt, ...)
{
	struct step *s = g_new0(struct step, 1);
	va_list ap;

	va_start(ap, fmt);
	s->text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	s->pid = pid;
	s->child = child;
	g_ptr_array_add(g->steps, s);
}

static int rnd(struct gen *g, int n)
{
	return (int)g_rand_int_range(g->rnd, 0, n);
}

static bool chance(struct gen *g, int percent)
{
	return rnd(g, 100) < percent;
}

/* A page of the arena, or now and then of the heap when there are brk calls. */
static uint64_t arena_addr(struct gen *g)
{
	if (g->local && chance(g, 10))
		return HEAP_START + (uint64_t)rnd(g, HEAP_PAGES) * 4096;
	return ARENA_BASE + (uint64_t)rnd(g, ARENA_PAGES) * 4096;
}

static uint64_t range_len(struct gen *g)
{
	if (chance(g, 3))
		return 0;		/* EINVAL or a no-op, depending on the call */
	if (chance(g, 3))
		return 1 + (uint64_t)rnd(g, 4095);	/* rounded up to a page */
	return (uint64_t)(1 + rnd(g, chance(g, 70) ? 4 : 12)) * 4096;
}

static const char *pick_prot(struct gen *g)
{
	static const char *const prots[] = {
		"PROT_READ|PROT_WRITE", "PROT_READ|PROT_WRITE", "PROT_READ|PROT_WRITE",
		"PROT_READ", "PROT_NONE", "PROT_READ|PROT_WRITE|PROT_EXEC", "PROT_READ|PROT_EXEC",
	};

	return prots[rnd(g, G_N_ELEMENTS(prots))];
}

static const char *pick_advice(struct gen *g)
{
	static const char *const advice[] = {
		"MADV_WIPEONFORK", "MADV_WIPEONFORK", "MADV_WIPEONFORK", "MADV_KEEPONFORK",
		"MADV_KEEPONFORK", "MADV_DONTFORK", "MADV_DONTFORK", "MADV_DOFORK", "MADV_DOFORK",
		"MADV_DONTNEED", "MADV_DONTNEED", "MADV_FREE", "MADV_NORMAL", "MADV_RANDOM",
		"MADV_SEQUENTIAL", "MADV_WILLNEED", "MADV_DONTDUMP", "MADV_DODUMP",
		"MADV_POPULATE_READ", "MADV_POPULATE_WRITE", "MADV_GUARD_INSTALL",
		"MADV_GUARD_REMOVE", "MADV_DONTNEED_LOCKED", "MADV_COLD", "MADV_PAGEOUT",
		"MADV_HUGEPAGE", "MADV_NOHUGEPAGE", "MADV_MERGEABLE", "MADV_REMOVE", "999",
	};

	return advice[rnd(g, G_N_ELEMENTS(advice))];
}

static void gen_mmap(struct gen *g, int pid)
{
	GString *flags = g_string_new(chance(g, 20) ? "MAP_SHARED" : "MAP_PRIVATE");
	bool file = chance(g, 25);
	int fd = -1;
	uint64_t off = 0;

	if (file) {
		/*
		 * One of the two data files: the read-only one (a shared mapping
		 * of it cannot be made writable), or the read-write one, whose
		 * shared mappings write the file's pages.
		 */
		fd = g->local && chance(g, 50) ? DATA_RW_FD : DATA_FD;
		off = (uint64_t)rnd(g, 4) * 4096 + (chance(g, 3) ? 100 : 0);
		if (flags->str[4] == 'S' && chance(g, fd == DATA_FD ? 70 : 30))
			g_string_assign(flags, "MAP_PRIVATE");
	} else {
		g_string_append(flags, "|MAP_ANONYMOUS");
	}
	g_string_append(flags, chance(g, 70) ? "|MAP_FIXED" : "|MAP_FIXED_NOREPLACE");
	if (chance(g, 8))
		g_string_append(flags, "|MAP_NORESERVE");
	if (chance(g, 8))
		g_string_append(flags, "|MAP_POPULATE");
	if (chance(g, 4))
		g_string_append(flags, "|MAP_LOCKED");
	if (chance(g, 4))
		g_string_append(flags, "|MAP_STACK");
	if (chance(g, 2))
		g_string_append(flags, "|MAP_GROWSDOWN");
	add_step(g, pid, 0, "%d  mmap(%#" PRIx64 ", %" PRIu64 ", %s, %s, %d, %#" PRIx64 ") = ?\n", pid,
		 arena_addr(g), range_len(g), pick_prot(g), flags->str, fd, off);
	g_string_free(flags, TRUE);
}

static void gen_mremap(struct gen *g, int pid)
{
	uint64_t old = arena_addr(g), ol = range_len(g), nl = range_len(g);

	switch (rnd(g, 3)) {
	case 0:
		add_step(g, pid, 0, "%d  mremap(%#" PRIx64 ", %" PRIu64 ", %" PRIu64 ", 0) = ?\n", pid, old, ol, nl);
		break;
	case 1:
		add_step(g, pid, 0, "%d  mremap(%#" PRIx64 ", %" PRIu64 ", %" PRIu64 ", MREMAP_MAYMOVE|MREMAP_FIXED, %#" PRIx64 ") = ?\n",
			 pid, old, ol, nl, arena_addr(g));
		break;
	default:
		add_step(g, pid, 0, "%d  mremap(%#" PRIx64 ", %" PRIu64 ", %" PRIu64 ", MREMAP_MAYMOVE|MREMAP_DONTUNMAP|MREMAP_FIXED, %#" PRIx64 ") = ?\n",
			 pid, old, ol, ol, arena_addr(g));
	}
}

static void gen_mem(struct gen *g, int pid, bool write)
{
	uint64_t a = arena_addr(g) + (chance(g, 30) ? (uint64_t)rnd(g, 4096) : 0);
	uint64_t len = 1 + (uint64_t)rnd(g, chance(g, 60) ? 4096 : 3 * 4096);

	if (write)
		add_step(g, pid, 0, "%d  mem_write(%#" PRIx64 ", %#x, %" PRIu64 ") = ?\n", pid, a,
			 rnd(g, 256), len);
	else
		add_step(g, pid, 0, "%d  mem_read(%#" PRIx64 ", %" PRIu64 ") = ?\n", pid, a, len);
}

static void gen_brk(struct gen *g, int pid)
{
	uint64_t to;

	if (chance(g, 10)) {
		add_step(g, pid, 0, "%d  brk(NULL) = ?\n", pid);
		return;
	}
	to = HEAP_START + (uint64_t)(rnd(g, HEAP_PAGES + 2) - 2) * 4096 + (chance(g, 25) ? (uint64_t)rnd(g, 4096) : 0);
	add_step(g, pid, 0, "%d  brk(%#" PRIx64 ") = ?\n", pid, to);
}

/* One call of any kind but fork and exit. */
static void gen_call(struct gen *g, int pid)
{
	int r = rnd(g, 100);

	if (g->local && chance(g, 5)) {
		gen_brk(g, pid);
		return;
	}

	if (r < 14)
		gen_mmap(g, pid);
	else if (r < 20)
		add_step(g, pid, 0, "%d  munmap(%#" PRIx64 ", %" PRIu64 ") = ?\n", pid, arena_addr(g), range_len(g));
	else if (r < 30)
		add_step(g, pid, 0, "%d  mprotect(%#" PRIx64 ", %" PRIu64 ", %s) = ?\n", pid, arena_addr(g),
			 range_len(g), pick_prot(g));
	else if (r < 46)
		add_step(g, pid, 0, "%d  madvise(%#" PRIx64 ", %" PRIu64 ", %s) = ?\n", pid, arena_addr(g),
			 range_len(g), pick_advice(g));
	else if (r < 50)
		gen_mremap(g, pid);
	else if (r < 53)
		add_step(g, pid, 0, "%d  mlock(%#" PRIx64 ", %" PRIu64 ") = ?\n", pid, arena_addr(g), range_len(g));
	else if (r < 55)
		add_step(g, pid, 0, "%d  mlock2(%#" PRIx64 ", %" PRIu64 ", MLOCK_ONFAULT) = ?\n", pid,
			 arena_addr(g), range_len(g));
	else if (r < 58)
		add_step(g, pid, 0, "%d  munlock(%#" PRIx64 ", %" PRIu64 ") = ?\n", pid, arena_addr(g), range_len(g));
	else if (r < 59)
		add_step(g, pid, 0, "%d  %s = ?\n", pid, chance(g, 50) ? "munlockall()" :
			 chance(g, 50) ? "mlockall(MCL_FUTURE)" : "mlockall(MCL_CURRENT|MCL_ONFAULT)");
	else if (r < 80)
		gen_mem(g, pid, true);
	else
		gen_mem(g, pid, false);
}

static struct gproc *pick_proc(struct gen *g)
{
	int alive[64] = { 0 }, n = 0;	/* the root never exits before the end */

	for (int i = 0; i < g->nprocs; i++)
		if (g->procs[i].alive)
			alive[n++] = i;
	return &g->procs[alive[rnd(g, n)]];
}

static int count_alive(struct gen *g)
{
	int n = 0;

	for (int i = 0; i < g->nprocs; i++)
		n += g->procs[i].alive;
	return n;
}

static bool has_live_children(struct gen *g, int pid)
{
	for (int i = 0; i < g->nprocs; i++)
		if (g->procs[i].alive && g->procs[i].parent == pid)
			return true;
	return false;
}

static void gen_exit(struct gen *g, struct gproc *p)
{
	p->alive = false;
	if (p->parent)
		add_step(g, p->pid, 0,
			 "%d  exit_group(0) = ?\n%d  +++ exited with 0 +++\n%d  wait4(%d, NULL, 0, NULL) = %d\n",
			 p->pid, p->pid, p->parent, p->pid, p->pid);
	else
		add_step(g, p->pid, 0, "%d  exit_group(0) = ?\n%d  +++ exited with 0 +++\n", p->pid, p->pid);
}

static struct gproc *new_proc(struct gen *g, int parent)
{
	struct gproc *c = &g->procs[g->nprocs++];

	c->pid = g->next_pid++;
	c->parent = parent;
	c->alive = true;
	return c;
}

/* fork, clone(CLONE_VM) or vfork; a vfork child runs to its exit at once. */
static void gen_fork(struct gen *g, struct gproc *p, int *ops)
{
	int kind = rnd(g, 10), ppid = p->pid;
	struct gproc *c;

	if (chance(g, 40))
		gen_mem(g, ppid, true);	/* a write just before */
	c = new_proc(g, ppid);
	if (kind < 7) {
		add_step(g, ppid, c->pid, "%d  fork() = %d\n", ppid, c->pid);
	} else if (kind < 9) {
		add_step(g, ppid, c->pid, "%d  clone(child_stack=NULL, flags=CLONE_VM|SIGCHLD) = %d\n", ppid, c->pid);
	} else {
		/*
		 * The parent is suspended until the child exits: the vfork, the
		 * child's calls and its exit are one step, which shrinking can only
		 * drop whole (dropping the exit alone would leave the real parent
		 * suspended for ever).
		 */
		guint first = g->steps->len;
		GString *unit = g_string_new(NULL);

		add_step(g, ppid, c->pid, "%d  vfork() = %d\n", ppid, c->pid);
		for (int i = rnd(g, 4); i > 0; i--, (*ops)--)
			gen_call(g, c->pid);
		gen_exit(g, c);
		for (guint i = first; i < g->steps->len; i++)
			g_string_append(unit, ((struct step *)g->steps->pdata[i])->text);
		g_ptr_array_remove_range(g->steps, first, g->steps->len - first);
		add_step(g, ppid, c->pid, "%s", unit->str);
		g_string_free(unit, TRUE);
		return;
	}
	if (chance(g, 50))
		gen_mem(g, c->pid, false);	/* the child reads at once */
	if (chance(g, 40))
		gen_mem(g, ppid, true);		/* and the parent writes after */
}

static GPtrArray *generate_steps(uint64_t seed, guint ops, bool local)
{
	static GRand *rand_state;	/* reseeded per trace: a Mersenne twister is 2.5 KB to allocate */
	struct gen g = { .rnd = rand_state ? rand_state : (rand_state = g_rand_new()),
			 .steps = g_ptr_array_new_with_free_func(step_free), .next_pid = FIRST_PID };
	int left = (int)ops;

	g_rand_set_seed_array(g.rnd, (const guint32 *)&seed, 2);
	g.local = local;
	new_proc(&g, 0);
	while (left-- > 0) {
		struct gproc *p = pick_proc(&g);
		int r = rnd(&g, 100);

		if (r < 6 && count_alive(&g) < MAX_PROCS && g.nprocs < 60)
			gen_fork(&g, p, &left);
		else if (r < 9 && p->parent && !has_live_children(&g, p->pid))
			gen_exit(&g, p);
		else
			gen_call(&g, p->pid);
	}
	/* the end: every process exits, children before parents */
	for (int i = g.nprocs - 1; i >= 0; i--)
		if (g.procs[i].alive)
			gen_exit(&g, &g.procs[i]);
	return g.steps;
}

/*
 * The text of the steps not removed.  Every trace starts by opening the
 * data file (fd 3) in the first process; with the local calls also the
 * read-write one (fd 4), and learns where the heap starts (the first brk
 * says where "exec" put it).  Shrinking never drops these lines, so every
 * mmap of an fd means the same file and every brk the same heap.
 */
static char *steps_text(GPtrArray *steps, const bool *removed, bool local)
{
	GString *t = g_string_new(NULL);

	g_string_append_printf(t, "%d  openat(AT_FDCWD, \"" DATA_FILE "\", O_RDONLY) = %d\n", FIRST_PID, DATA_FD);
	if (local) {
		g_string_append_printf(t, "%d  openat(AT_FDCWD, \"" DATA_RW_FILE "\", O_RDWR) = %d\n", FIRST_PID,
				       DATA_RW_FD);
		g_string_append_printf(t, "%d  brk(NULL) = %#" PRIx64 "\n", FIRST_PID, (uint64_t)HEAP_START);
	}

	for (guint i = 0; i < steps->len; i++)
		if (!removed || !removed[i])
			g_string_append(t, ((struct step *)steps->pdata[i])->text);
	return g_string_free(t, FALSE);
}

char *fuzz_generate(uint64_t seed, guint ops, bool local)
{
	g_autoptr(GPtrArray) steps = generate_steps(seed, ops, local);

	return steps_text(steps, NULL, local);
}

/* The calls of a trace: its lines but the +++ ones. */
static guint count_calls(const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;

	for (int i = 0; lines[i]; i++)
		n += *lines[i] && !strstr(lines[i], "+++");
	return n;
}

/* ---- checks ---- */

static char *last_warning;

static void capture_warning(const char *msg)
{
	if (last_warning == NULL)
		last_warning = g_strdup(msg);
}

static void count_result(const struct strace_record *r, long ret, void *arg)
{
	struct fuzz_report *rep = arg;
	enum fuzz_result_kind k;

	(void)r;
	switch (ret >= 0 ? 0 : -ret) {
	case 0: k = FR_OK; break;
	case EINVAL: k = FR_EINVAL; break;
	case ENOMEM: k = FR_ENOMEM; break;
	case EEXIST: k = FR_EEXIST; break;
	case EAGAIN: k = FR_EAGAIN; break;
	case EACCES: k = FR_EACCES; break;
	case EFAULT: k = FR_EFAULT; break;
	default: k = FR_OTHER;
	}
	rep->results[k]++;
}

gboolean fuzz_write_data_file(const char *dir, GError **error)
{
	g_autofree char *path = g_build_filename(dir, DATA_FILE, NULL);
	g_autofree char *rw = g_build_filename(dir, DATA_RW_FILE, NULL);
	char bytes[DATA_PAGES * 4096];

	for (int k = 0; k < DATA_PAGES; k++)
		memset(bytes + k * 4096, 'A' + k, 4096);
	if (!g_file_set_contents(path, bytes, sizeof(bytes), error))
		return FALSE;
	for (int k = 0; k < DATA_PAGES; k++)
		memset(bytes + k * 4096, 'a' + k, 4096);
	return g_file_set_contents(rw, bytes, sizeof(bytes), error);
}

/* Where the campaign's replays run: the data file lives there. */
static char *data_dir;

/*
 * replay_text: replay a trace with checks 1 and 2 as asked (FUZZ_CHECK_*);
 * true if it diverged.  snapshots: take the /proc snapshots at exits (the
 * host check compares them).
 */
static bool replay_text(const struct fuzz_options *o, const char *name, const char *text, unsigned int checks,
			bool snapshots, struct fuzz_report *rep, bool count_results, guint *calls,
			struct replay_result *res, char **why)
{
	g_autoptr(GError) error = NULL;
	struct strace_log *log = strace_parse_text(name, text, &error);
	struct fuzz_checker *fc = NULL;
	struct replay_options opts = {
		.quiet = true, .cwd = data_dir ? data_dir : ".", .no_snapshots = !snapshots,
		.on_call = rep && count_results ? count_result : NULL, .on_call_arg = rep,
	};
	unsigned long warns = mm_warn_count;
	bool failed = false;

	if (log == NULL) {
		*why = g_strdup_printf("the generated trace does not parse: %s", error->message);
		memset(res, 0, sizeof(*res));
		return true;
	}
	if (checks & (FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL)) {
		fc = fuzz_checker_new(checks & FUZZ_CHECK_INVARIANTS, checks & FUZZ_CHECK_MODEL, ARENA_BASE,
				      WINDOW_PAGES, opts.cwd, o->full_every ? o->full_every : FUZZ_FULL_EVERY_DEFAULT);
		opts.on_step = fuzz_checker_step;
		opts.before_step = fuzz_checker_before;
		opts.on_step_arg = fc;
	}
	g_clear_pointer(&last_warning, g_free);
	if (!replay_log(log, &opts, res, &error)) {
		*why = g_strdup_printf("the generated trace does not replay: %s", error->message);
		failed = true;
	} else if (res->divergences) {
		*why = g_strdup(replay_first_divergence(res));
		failed = true;
	} else if (mm_warn_count != warns && (checks & FUZZ_CHECK_INVARIANTS)) {
		*why = g_strdup_printf("MM_WARN_ON: %s", last_warning ? last_warning : "?");
		failed = true;
	}
	if (fc && rep)
		rep->pages_compared += fuzz_checker_pages_compared(fc);
	fuzz_checker_free(fc);
	*calls = res->calls;
	strace_log_free(log);
	return failed;
}

/* The first line where two texts differ, for a failure message. */
static char *first_difference(const char *what, const char *host, const char *model)
{
	g_auto(GStrv) h = g_strsplit(host, "\n", -1), m = g_strsplit(model, "\n", -1);
	int i = 0;

	while (h[i] && m[i] && strcmp(h[i], m[i]) == 0)
		i++;
	return g_strdup_printf("%s: the host has '%s', the model '%s'", what, h[i] ? h[i] : "(end)",
			       m[i] ? m[i] : "(end)");
}

/* Compare the model's /proc snapshots with what the host wrote in dir. */
static char *compare_snapshots(const char *dir, struct replay_result *res)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, res->snapshots);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct replay_snapshot *s = v;
		int pid = GPOINTER_TO_INT(k);
		g_autofree char *sp = g_strdup_printf("%s/%d.smaps", dir, pid);
		g_autofree char *pp = g_strdup_printf("%s/%d.pagemap", dir, pid);
		g_autofree char *hs = NULL, *hp = NULL, *ch = NULL, *cm = NULL;

		if (!g_file_get_contents(sp, &hs, NULL, NULL) || !g_file_get_contents(pp, &hp, NULL, NULL))
			return g_strdup_printf("pid %d: the host wrote no smaps or pagemap", pid);
		ch = smaps_canonical(hs);
		cm = smaps_canonical(s->smaps);
		if (strcmp(ch, cm) != 0) {
			g_autofree char *what = g_strdup_printf("pid %d smaps at exit", pid);

			return first_difference(what, ch, cm);
		}
		if (strcmp(hp, s->pagemap) != 0) {
			g_autofree char *what = g_strdup_printf("pid %d pagemap at exit", pid);

			return first_difference(what, hp, s->pagemap);
		}
	}
	return NULL;
}

static void remove_tree(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;

	while (d && (n = g_dir_read_name(d)) != NULL) {
		g_autofree char *p = g_build_filename(dir, n, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			remove_tree(p);
		else
			g_unlink(p);
	}
	g_rmdir(dir);
}

/*
 * host_check: dupmm-hostrun performs the trace and writes it back with
 * the host's results (--resolve); the model replays that strictly and
 * its snapshots are compared with the host's.  *resolved is the trace with
 * the host's results, the one a failure report should hold.
 */
static bool host_check(const struct fuzz_options *o, const char *text, struct fuzz_report *rep,
		       guint *calls, char **why, char **resolved)
{
	g_autofree char *dir = g_dir_make_tmp("dupmm-fuzz-XXXXXX", NULL);
	g_autofree char *gen = g_build_filename(dir, "gen.strace", NULL);
	g_autofree char *res_path = g_build_filename(dir, "resolved.strace", NULL);
	g_autofree char *host_dir = g_build_filename(dir, "host", NULL);
	g_autofree char *out = NULL, *err = NULL;
	const char *argv[] = { o->hostrun, "--resolve", res_path, "-o", host_dir, gen, NULL };
	gint64 t0 = g_get_monotonic_time();
	struct replay_result res;
	int status;
	bool failed;

	*resolved = NULL;
	if (dir == NULL || !g_file_set_contents(gen, text, -1, NULL) || !fuzz_write_data_file(dir, NULL) ||
	    !g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, NULL) ||
	    !g_spawn_check_wait_status(status, NULL) || !g_file_get_contents(res_path, resolved, NULL, NULL)) {
		*why = g_strdup_printf("dupmm-hostrun (%s) could not perform the trace: %s%s",
				       o->hostrun ? o->hostrun : "not found", out ? out : "", err ? err : "");
		if (dir)
			remove_tree(dir);
		return true;
	}
	if (rep) {
		rep->host_seconds += (double)(g_get_monotonic_time() - t0) / 1e6;
		rep->host_calls += count_calls(text);
	}
	failed = replay_text(o, "host-resolved", *resolved, 0, true, rep, true, calls, &res, why);
	if (!failed && (*why = compare_snapshots(host_dir, &res)) != NULL)
		failed = true;
	replay_result_clear(&res);
	remove_tree(dir);
	return failed;
}

/*
 * run_checks: the selected checks on one trace, cheapest first.  Returns
 * the check that failed (0 if none) with the first difference in *why, and
 * in *report the text a failure report should hold.  A trace the checks
 * cannot run at all is a failure too: a generator bug must not pass
 * silently.
 */
static unsigned int run_checks(const struct fuzz_options *o, const char *text, unsigned int checks,
			       struct fuzz_report *rep, guint *calls, char **why, char **report)
{
	struct replay_result res;

	*why = NULL;
	*report = NULL;
	*calls = 0;
	/* no check at all: the replay alone, which the rate then measures */
	if ((checks & (FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL)) || !(checks & FUZZ_CHECK_HOST)) {
		bool failed = replay_text(o, "fuzz", text, checks & (FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL), false,
					  rep, !(checks & FUZZ_CHECK_HOST), calls, &res, why);

		replay_result_clear(&res);
		if (failed) {
			*report = g_strdup(text);
			/* which check spoke: the reference model's messages say so */
			return strstr(*why, ": " FUZZ_MODEL_PREFIX " after ") ? FUZZ_CHECK_MODEL
									     : FUZZ_CHECK_INVARIANTS;
		}
	}
	if (checks & FUZZ_CHECK_HOST) {
		if (host_check(o, text, rep, calls, why, report))
			return FUZZ_CHECK_HOST;
	}
	g_clear_pointer(report, g_free);
	return 0;
}

/*
 * brk calls and the read-write data file are generated unless the host
 * performs the trace (struct gen's local says why).
 */
static bool local_calls(const struct fuzz_options *o)
{
	return !(o->checks & FUZZ_CHECK_HOST);
}

/* ---- shrinking ---- */

/* Mark step i for removal, with every step of the subtree a fork step creates. */
static void mark_with_subtree(GPtrArray *steps, guint i, bool *mark)
{
	struct step *s = steps->pdata[i];
	g_autoptr(GHashTable) sub = g_hash_table_new(g_direct_hash, g_direct_equal);

	mark[i] = true;
	if (s->child == 0)
		return;
	g_hash_table_add(sub, GINT_TO_POINTER(s->child));
	for (guint j = i + 1; j < steps->len; j++) {
		struct step *t = steps->pdata[j];

		if (g_hash_table_contains(sub, GINT_TO_POINTER(t->pid))) {
			mark[j] = true;
			if (t->child)
				g_hash_table_add(sub, GINT_TO_POINTER(t->child));
		}
	}
}

/*
 * A one-line step with argument k replaced by value (printed as the
 * generator prints it: addresses in hex, lengths in decimal), or NULL if
 * the step is not one line of a call with that many arguments.
 */
static char *with_arg(const char *line, int k, uint64_t value, bool hex)
{
	const char *open = strchr(line, '('), *close = strrchr(line, ')'), *p;
	GString *out;
	int i = 0;

	if (open == NULL || close == NULL || strchr(line, '\n') != strrchr(line, '\n'))
		return NULL;
	out = g_string_new_len(line, open + 1 - line);
	for (p = open + 1; p < close && i < k; p++) {
		g_string_append_c(out, *p);
		if (*p == ',')
			i++;
	}
	if (i != k) {
		g_string_free(out, TRUE);
		return NULL;
	}
	while (p < close && *p == ' ')
		g_string_append_c(out, *p++);
	if (hex)
		g_string_append_printf(out, "%#" PRIx64, value);
	else
		g_string_append_printf(out, "%" PRIu64, value);
	while (p < close && *p != ',')
		p++;
	g_string_append(out, p);
	return g_string_free(out, FALSE);
}

/* Argument k of a one-line step, as a number. */
static bool get_arg(const char *line, int k, uint64_t *v)
{
	const char *p = strchr(line, '(');

	for (int i = 0; p && i < k; i++)
		p = strchr(p + 1, ',');
	if (p == NULL)
		return false;
	*v = g_ascii_strtoull(p + 1, NULL, 0);
	return true;
}

/*
 * The smaller versions of a step worth trying: a length made a page, or
 * half, or a byte; a memory access's address aligned to its page.
 */
static GPtrArray *smaller_steps(const struct step *st)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *name = NULL;
	const char *p = st->text;
	int k;
	uint64_t len = 0, addr = 0;

	while (g_ascii_isdigit(*p))
		p++;
	while (*p == ' ')
		p++;
	name = g_strndup(p, strcspn(p, "("));
	if (st->child || (k = fuzz_length_arg(name)) < 0 || !get_arg(st->text, k, &len))
		return out;
	{
		uint64_t tries[] = { 4096, (len / 2 + 4095) & ~4095ULL, 1 };

		for (size_t i = 0; i < G_N_ELEMENTS(tries); i++) {
			char *t;

			if (tries[i] == 0 || tries[i] >= len || (tries[i] == 1 && strncmp(name, "mem_", 4) != 0))
				continue;
			if ((t = with_arg(st->text, k, tries[i], false)) != NULL)
				g_ptr_array_add(out, t);
		}
	}
	if (strncmp(name, "mem_", 4) == 0 && get_arg(st->text, 0, &addr) && (addr & 4095)) {
		char *t = with_arg(st->text, 0, addr & ~4095ULL, true);

		if (t)
			g_ptr_array_add(out, t);
	}
	return out;
}

/* Renumber the processes 1000, 1001, ... in order of first appearance (text only). */
static char *renumber(const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GHashTable) map = g_hash_table_new(g_direct_hash, g_direct_equal);
	GString *out = g_string_new(NULL);
	int next = FIRST_PID;

	for (int i = 0; lines[i]; i++) {
		const char *p = lines[i];
		GString *l = g_string_new(NULL);

		while (*p) {
			char *end;
			long v;

			/* pids stand at the start of a line, after "= ", and in wait4(PID */
			if (g_ascii_isdigit(*p) && (p == lines[i] || g_str_has_suffix(l->str, "= ") ||
						    g_str_has_suffix(l->str, "wait4(")) &&
			    (v = strtol(p, &end, 10)) >= FIRST_PID && v < FIRST_PID + 1000 &&
			    (*end == ' ' || *end == ',' || *end == '\0')) {
				gpointer m = g_hash_table_lookup(map, GINT_TO_POINTER((int)v));

				if (m == NULL) {
					m = GINT_TO_POINTER(next++);
					g_hash_table_insert(map, GINT_TO_POINTER((int)v), m);
				}
				g_string_append_printf(l, "%d", GPOINTER_TO_INT(m));
				p = end;
				continue;
			}
			g_string_append_c(l, *p++);
		}
		if (*lines[i] || lines[i + 1])
			g_string_append_printf(out, "%s%s", l->str, lines[i + 1] ? "\n" : "");
		g_string_free(l, TRUE);
	}
	return g_string_free(out, FALSE);
}

/*
 * shrink: drop steps in halving chunks (then one by one) while the trace
 * still fails the same check; returns the minimal text.
 */
static struct step *step_dup(const struct step *s, int from_pid, int to_pid)
{
	struct step *c = g_new0(struct step, 1);
	g_auto(GStrv) lines = g_strsplit(s->text, "\n", -1);
	GString *t = g_string_new(NULL);

	c->pid = s->pid == from_pid ? to_pid : s->pid;
	c->child = s->child;
	for (int i = 0; lines[i]; i++) {
		char *end;
		long pid = strtol(lines[i], &end, 10);

		if (!*lines[i])
			continue;
		if (end != lines[i] && pid == from_pid)
			g_string_append_printf(t, "%d%s\n", to_pid, end);
		else
			g_string_append_printf(t, "%s\n", lines[i]);
	}
	c->text = g_string_free(t, FALSE);
	return c;
}

/* The steps not removed, as a new list. */
static GPtrArray *steps_kept(GPtrArray *steps, const bool *removed)
{
	GPtrArray *kept = g_ptr_array_new_with_free_func(step_free);

	for (guint i = 0; i < steps->len; i++)
		if (!removed || !removed[i])
			g_ptr_array_add(kept, step_dup(steps->pdata[i], 0, 0));
	return kept;
}

/*
 * splice: fold the process that step f forks into its parent: its exit
 * goes, its own calls too (or, keep_calls, the parent makes them), its
 * forks become the parent's, and every line it led (a grandchild's
 * reaping) is the parent's.  NULL if f forks nothing, or is a vfork (its
 * parent is suspended: nothing to fold).
 */
static GPtrArray *splice(GPtrArray *steps, guint f, bool keep_calls)
{
	const struct step *fs = steps->pdata[f];
	GPtrArray *out;

	if (fs->child == 0 || strstr(fs->text, "vfork("))
		return NULL;
	out = g_ptr_array_new_with_free_func(step_free);
	for (guint i = 0; i < steps->len; i++) {
		const struct step *s = steps->pdata[i];
		bool own = s->pid == fs->child && s->child == 0;

		if (i == f || (own && (!keep_calls || strstr(s->text, "+++"))))
			continue;
		g_ptr_array_add(out, step_dup(s, fs->child, fs->pid));
	}
	return out;
}

/* Does text still fail check, for a real reason (not a trace that cannot run)? */
static bool still_fails(const struct fuzz_options *o, unsigned int check, const char *text, char **why,
			char **report)
{
	g_autofree char *w = NULL, *rpt = NULL;
	guint calls;

	if (run_checks(o, text, check, NULL, &calls, &w, &rpt) != check ||
	    g_str_has_prefix(w, "the generated trace does not") || g_str_has_prefix(w, "dupmm-hostrun"))
		return false;
	g_free(*why);
	*why = g_steal_pointer(&w);
	g_free(*report);
	*report = g_steal_pointer(&rpt);
	return true;
}

/*
 * shrink: drop steps in halving chunks (then one by one), a fork with its
 * whole subtree, fold intermediate processes into their parents, then make
 * lengths smaller and addresses page-aligned, and renumber the processes,
 * as long as the trace still fails the same check; returns the minimal
 * text.
 */
static char *shrink(const struct fuzz_options *campaign, GPtrArray *original, unsigned int check,
		    char **why, char **report)
{
	/*
	 * While shrinking, checks 1 and 2 look at everything after every
	 * call: a difference is then seen at the call that makes it, and the
	 * calls that only led to a full check can go.
	 */
	struct fuzz_options full = *campaign, *o = &full;
	GPtrArray *steps = steps_kept(original, NULL);
	bool local = local_calls(campaign), changed = true;
	char *text;

	full.full_every = 1;
	while (changed) {
		guint n = steps->len;
		bool *removed = g_new0(bool, n), *trial = g_new0(bool, n);

		changed = false;
		for (guint chunk = MAX(n / 2, 1);; chunk /= 2) {
			for (guint start = 0; start < n; start += chunk) {
				g_autofree char *t = NULL;
				guint any = 0;

				memcpy(trial, removed, n * sizeof(bool));
				for (guint i = start; i < MIN(start + chunk, n); i++)
					if (!removed[i]) {
						mark_with_subtree(steps, i, trial);
						any++;
					}
				if (!any)
					continue;
				t = steps_text(steps, trial, local);
				if (still_fails(o, check, t, why, report)) {
					memcpy(removed, trial, n * sizeof(bool));
					changed = true;
				}
			}
			if (chunk == 1)
				break;
		}
		{
			GPtrArray *kept = steps_kept(steps, removed);

			g_ptr_array_unref(steps);
			steps = kept;
		}
		g_free(removed);
		g_free(trial);
		/* then fold processes into their parents, one at a time */
		for (guint f = 0; f < steps->len && !changed; f++)
			for (int keep = 0; keep < 2 && !changed; keep++) {
				GPtrArray *folded = splice(steps, f, keep);
				g_autofree char *t = folded ? steps_text(folded, NULL, local) : NULL;

				if (folded && still_fails(o, check, t, why, report)) {
					g_ptr_array_unref(steps);
					steps = folded;
					changed = true;
				} else if (folded) {
					g_ptr_array_unref(folded);
				}
			}
	}
	/* then smaller lengths and aligned addresses, step by step */
	for (guint i = 0; i < steps->len; i++) {
		struct step *st = steps->pdata[i];
		g_autoptr(GPtrArray) tries = smaller_steps(st);

		for (guint t = 0; t < tries->len; t++) {
			char *old_text = st->text;
			g_autofree char *whole = NULL;

			st->text = tries->pdata[t];
			whole = steps_text(steps, NULL, local);
			if (still_fails(o, check, whole, why, report)) {
				g_free(old_text);
				tries->pdata[t] = NULL;	/* the step owns it now */
				g_ptr_array_unref(tries);
				tries = smaller_steps(st);
				t = (guint)-1;
			} else {
				st->text = old_text;
			}
		}
	}
	text = steps_text(steps, NULL, local);
	g_ptr_array_unref(steps);
	/* last, the pids renumbered from 1000 if the failure stays */
	{
		char *r = renumber(text);

		if (strcmp(r, text) != 0 && still_fails(o, check, r, why, report)) {
			g_free(text);
			text = r;
		} else {
			g_free(r);
		}
	}
	return text;	/* *report: what the failing check saw of it */
}

static const char *check_name(unsigned int check)
{
	return check == FUZZ_CHECK_HOST ? "host" : check == FUZZ_CHECK_MODEL ? "model" : "invariants";
}

static bool write_failure(const struct fuzz_options *o, uint64_t seed, unsigned int check,
			  const char *text, const char *why, struct fuzz_report *rep, GError **error)
{
	const char *dir = o->out_dir ? o->out_dir : "fuzz-failures";
	g_autofree char *path = g_strdup_printf("%s/fail-%" PRIu64 ".strace", dir, seed);
	g_autofree char *body = NULL;
	g_auto(GStrv) why_lines = g_strsplit(why, "\n", -1);
	g_autofree char *why_comment = g_strjoinv("\n#   ", why_lines);

	if (g_mkdir_with_parents(dir, 0755) < 0) {
		g_set_error(error, DUPMM_ERROR, DUPMM_ERROR_IO, "%s: %s", dir, g_strerror(errno));
		return false;
	}
	body = g_strdup_printf("# dupmm fuzz: seed %" PRIu64 ", %u ops, check: %s\n"
			       "# first difference: %s\n"
			       "# reproduce: dupmm replay %s %s%s\n%s",
			       seed, o->ops, check_name(check), why_comment,
			       check == FUZZ_CHECK_MODEL ? "--model" : "--check", path,
			       check == FUZZ_CHECK_HOST ? "   (results are the host kernel's)" : "",
			       text);
	if (!g_file_set_contents(path, body, -1, error) || !fuzz_write_data_file(dir, error))
		return false;
	g_ptr_array_add(rep->failure_files, g_steal_pointer(&path));
	return true;
}

gboolean fuzz_campaign(const struct fuzz_options *o, struct fuzz_report *rep, GError **error)
{
	gint64 t0 = g_get_monotonic_time();
	mm_warn_fn saved = mm_warn_handler;
	gboolean ok = TRUE;

	memset(rep, 0, sizeof(*rep));
	rep->failure_files = g_ptr_array_new_with_free_func(g_free);
	data_dir = g_dir_make_tmp("dupmm-fuzz-data-XXXXXX", error);
	if (data_dir == NULL || !fuzz_write_data_file(data_dir, error))
		return FALSE;
	mm_warn_handler = capture_warning;
	for (guint i = 0; i < o->runs && ok; i++) {
		uint64_t seed = o->seed + i;
		g_autoptr(GPtrArray) steps = NULL;
		g_autofree char *text = NULL, *why = NULL, *report = NULL;
		unsigned int failed;
		guint calls;

		if (o->shard_n > 1 && i % o->shard_n != o->shard_k)
			continue;
		if (o->time_budget > 0 && (g_get_monotonic_time() - t0) / 1e6 >= o->time_budget)
			break;
		steps = generate_steps(seed, o->ops, local_calls(o));
		text = steps_text(steps, NULL, local_calls(o));
		rep->runs++;
		failed = run_checks(o, text, o->checks, rep, &calls, &why, &report);
		rep->calls += calls;
		if (!failed)
			continue;
		rep->failures++;
		{
			g_autofree char *small = shrink(o, steps, failed, &why, &report);

			if (o->out)
				fprintf(o->out, "seed %" PRIu64 ": FAILED (%s), shrunk to %u calls: %.*s\n",
					seed, check_name(failed), count_calls(small), (int)strcspn(why, "\n"), why);
			ok = write_failure(o, seed, failed, report, why, rep, error);
		}
		if (rep->failures >= MAX(o->max_failures, 1u))
			break;
	}
	mm_warn_handler = saved;
	g_clear_pointer(&last_warning, g_free);
	remove_tree(data_dir);
	g_clear_pointer(&data_dir, g_free);
	rep->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
	for (int e = 0; e < NR_VM_EVENTS && e < 32; e++)
		rep->events[e] = vm_events[e];
	return ok;
}

void fuzz_report_clear(struct fuzz_report *rep)
{
	if (rep->failure_files)
		g_ptr_array_unref(rep->failure_files);
	memset(rep, 0, sizeof(*rep));
}

void fuzz_print_summary(const struct fuzz_options *o, const struct fuzz_report *rep, FILE *f)
{
	static const char *const kinds[] = { "ok", "EINVAL", "ENOMEM", "EEXIST", "EAGAIN", "EACCES",
					     "EFAULT", "other" };

	fprintf(f, "fuzz: seeds %" PRIu64 "..%" PRIu64, o->seed, o->seed + (o->runs ? o->runs - 1 : 0));
	if (o->shard_n > 1)
		fprintf(f, " (shard %u/%u)", o->shard_k, o->shard_n);
	fprintf(f, ", %u runs, %" PRIu64 " calls in %.2f s: %.0f calls/s; checks:%s%s%s\n",
		rep->runs, rep->calls, rep->seconds, rep->seconds > 0 ? (double)rep->calls / rep->seconds : 0.0,
		(o->checks & FUZZ_CHECK_INVARIANTS) ? " invariants" : "",
		(o->checks & FUZZ_CHECK_MODEL) ? " model" : "", (o->checks & FUZZ_CHECK_HOST) ? " host" : "");
	if (o->checks & (FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL))
		fprintf(f, "checks 1-2: what each call touched after it; everything every %u records and at the end\n",
			o->full_every ? o->full_every : FUZZ_FULL_EVERY_DEFAULT);
	if (o->checks & FUZZ_CHECK_MODEL)
		fprintf(f, "reference model: %" PRIu64 " page comparisons\n", rep->pages_compared);
	if (o->checks & FUZZ_CHECK_HOST)
		fprintf(f, "host kernel: %" PRIu64 " calls performed in %.2f s: %.0f calls/s\n", rep->host_calls,
			rep->host_seconds, rep->host_seconds > 0 ? (double)rep->host_calls / rep->host_seconds : 0.0);
	fprintf(f, "results:");
	for (int k = 0; k < 8; k++)
		fprintf(f, " %s %" PRIu64, kinds[k], rep->results[k]);
	fprintf(f, "\nevents:");
	for (int e = 0; e < NR_VM_EVENTS; e++)
		fprintf(f, " %s %" PRIu64, vm_event_name((enum vm_event_item)e), rep->events[e]);
	fprintf(f, "\n%u failures\n", rep->failures);
	for (guint i = 0; rep->failure_files && i < rep->failure_files->len; i++)
		fprintf(f, "  %s\n", (char *)rep->failure_files->pdata[i]);
}
