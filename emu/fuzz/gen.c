/*
 * The fuzzer's generator: a seeded GRand (a Mersenne twister: the same
 * seed gives the same trace on every machine) draws steps of several
 * processes, and the strace writer prints them.
 *
 * Calls are weighted towards what makes fork semantics interesting:
 * ranges in a small arena (so they split and re-merge VMAs), WIPEONFORK
 * and DONTFORK advice, writes just before and after forks, and reads in
 * children right after they are forked.  Which calls it makes, and how
 * often, is the table gen_calls[] below, keyed by the syscall table's rows.
 *
 * The draws are made in a fixed order, the one the generator always had
 * (traces of a seed stay the same from version to version, so that a
 * campaign's seeds keep their meaning).
 */
#include <inttypes.h>
#include <string.h>

#include <dupmm/uapi.h>
#include <fuzz/fuzz.h>
#include <strace/strace.h>

#include "trace.h"

#define ARENA_BASE  FUZZ_WINDOW_BASE
#define ARENA_PAGES 48
#define MAX_PROCS   8
#define HEAP_START  (ARENA_BASE + 50 * 4096ULL) /* the heap: just above the arena */
#define HEAP_PAGES  12				/* how far brk calls reach */

struct gproc {
	int pid, parent;
	bool alive;
};

struct gen {
	GRand *rnd;
	/*
	 * Not for the host: calls the syscall table marks SCF_NOHOST (brk: the
	 * helper's heap is the brk area) and mappings of the read-write data
	 * file (the host's ext4 caches it in large folios, and a write dirties
	 * a whole folio; the model's folios are single pages).
	 */
	bool local;
	GPtrArray *steps; /* struct step * */
	struct step *cur; /* the step lines are added to */
	struct gproc procs[64];
	int nprocs;
	int next_pid;
};

void fuzz_step_free(gpointer p)
{
	struct step *s = p;

	g_array_unref(s->lines);
	g_free(s);
}

/* Start a step of pid (child: the pid it forks, or 0). */
static struct step *begin_step(struct gen *g, int pid, int child)
{
	struct step *s = g_new0(struct step, 1);

	s->pid = pid;
	s->child = child;
	s->lines = g_array_new(FALSE, TRUE, sizeof(struct gline));
	g_ptr_array_add(g->steps, s);
	g->cur = s;
	return s;
}

/* A line of the current step: a call of row sc (or FUZZ_EXITED) by pid, its arguments to fill. */
static struct sys_args *add_line(struct gen *g, int pid, int sc)
{
	struct gline l = { .pid = pid, .sc = sc };

	g_array_append_val(g->cur->lines, l);
	return &g_array_index(g->cur->lines, struct gline, g->cur->lines->len - 1).a;
}

/* A call that is a step of its own. */
static struct sys_args *add_call(struct gen *g, int pid, enum syscall_id sc)
{
	begin_step(g, pid, 0);
	return add_line(g, pid, sc);
}

static void set_result(struct gen *g, int64_t result)
{
	struct gline *l = &g_array_index(g->cur->lines, struct gline, g->cur->lines->len - 1);

	l->has_result = true;
	l->result = result;
}

static int rnd(struct gen *g, int n) { return (int)g_rand_int_range(g->rnd, 0, n); }

static bool chance(struct gen *g, int percent) { return rnd(g, 100) < percent; }

/* A page of the arena, or now and then of the heap when there are brk calls. */
static uint64_t arena_addr(struct gen *g)
{
	if (g->local && chance(g, 10))
		return HEAP_START + (uint64_t)rnd(g, HEAP_PAGES) * 4096;
	return ARENA_BASE + (uint64_t)rnd(g, ARENA_PAGES) * 4096;
}

static uint64_t range_len(struct gen *g)
{
	int pages;

	if (chance(g, 3))
		return 0; /* EINVAL or a no-op, depending on the call */
	if (chance(g, 3))
		return 1 + (uint64_t)rnd(g, 4095); /* rounded up to a page */
	pages = chance(g, 70) ? 4 : 12;
	return (uint64_t)(1 + rnd(g, pages)) * 4096;
}

static uint64_t pick_prot(struct gen *g)
{
	static const uint64_t prots[] = {
		PROT_READ_ | PROT_WRITE_,
		PROT_READ_ | PROT_WRITE_,
		PROT_READ_ | PROT_WRITE_,
		PROT_READ_,
		PROT_NONE_,
		PROT_READ_ | PROT_WRITE_ | PROT_EXEC_,
		PROT_READ_ | PROT_EXEC_,
	};

	return prots[rnd(g, G_N_ELEMENTS(prots))];
}

static uint64_t pick_advice(struct gen *g)
{
	static const uint64_t advice[] = {
		MADV_WIPEONFORK_,    MADV_WIPEONFORK_,	    MADV_WIPEONFORK_,
		MADV_KEEPONFORK_,    MADV_KEEPONFORK_,	    MADV_DONTFORK_,
		MADV_DONTFORK_,	     MADV_DOFORK_,	    MADV_DOFORK_,
		MADV_DONTNEED_,	     MADV_DONTNEED_,	    MADV_FREE_,
		MADV_NORMAL_,	     MADV_RANDOM_,	    MADV_SEQUENTIAL_,
		MADV_WILLNEED_,	     MADV_DONTDUMP_,	    MADV_DODUMP_,
		MADV_POPULATE_READ_, MADV_POPULATE_WRITE_,  MADV_GUARD_INSTALL_,
		MADV_GUARD_REMOVE_,  MADV_DONTNEED_LOCKED_, MADV_COLD_,
		MADV_PAGEOUT_,	     MADV_HUGEPAGE_,	    MADV_NOHUGEPAGE_,
		MADV_MERGEABLE_,     MADV_REMOVE_,	    999,
	};

	return advice[rnd(g, G_N_ELEMENTS(advice))];
}

/* [addr, +len) with perhaps a third argument: drawn third, second, first. */
static void gen_range(struct gen *g, int pid, enum syscall_id sc, uint64_t (*third)(struct gen *))
{
	struct sys_args *a = add_call(g, pid, sc);

	if (third)
		a->a[2] = third(g);
	a->a[1] = range_len(g);
	a->a[0] = arena_addr(g);
}

static void gen_munmap(struct gen *g, int pid) { gen_range(g, pid, SC_munmap, NULL); }
static void gen_mprotect(struct gen *g, int pid) { gen_range(g, pid, SC_mprotect, pick_prot); }
static void gen_madvise(struct gen *g, int pid) { gen_range(g, pid, SC_madvise, pick_advice); }
static void gen_mlock(struct gen *g, int pid) { gen_range(g, pid, SC_mlock, NULL); }
static void gen_munlock(struct gen *g, int pid) { gen_range(g, pid, SC_munlock, NULL); }

static uint64_t lock_onfault(struct gen *g)
{
	(void)g;
	return MLOCK_ONFAULT_;
}

static void gen_mlock2(struct gen *g, int pid) { gen_range(g, pid, SC_mlock2, lock_onfault); }

/* msync's flags: each alone, with MS_INVALIDATE, and the one pair that is EINVAL. */
static uint64_t pick_msync_flags(struct gen *g)
{
	static const uint64_t flags[] = {
		MS_ASYNC_,
		MS_SYNC_,
		MS_INVALIDATE_,
		MS_ASYNC_ | MS_INVALIDATE_,
		MS_SYNC_ | MS_INVALIDATE_,
		MS_ASYNC_ | MS_SYNC_,
	};

	return flags[rnd(g, G_N_ELEMENTS(flags))];
}

static void gen_msync(struct gen *g, int pid) { gen_range(g, pid, SC_msync, pick_msync_flags); }

static void gen_mmap(struct gen *g, int pid)
{
	uint64_t flags = chance(g, 20) ? MAP_SHARED_ : MAP_PRIVATE_, off = 0;
	int fd = -1;
	struct sys_args *a;

	if (chance(g, 25)) {
		/*
		 * One of the two data files: the read-only one (a shared mapping
		 * of it cannot be made writable), or the read-write one, whose
		 * shared mappings write the file's pages.
		 */
		fd = g->local && chance(g, 50) ? FUZZ_DATA_RW_FD : FUZZ_DATA_FD;
		off = (uint64_t)rnd(g, 4) * 4096;
		off += chance(g, 3) ? 100 : 0;
		if (flags == MAP_SHARED_ && chance(g, fd == FUZZ_DATA_FD ? 70 : 30))
			flags = MAP_PRIVATE_;
	} else {
		flags |= MAP_ANONYMOUS_;
	}
	flags |= chance(g, 70) ? MAP_FIXED_ : MAP_FIXED_NOREPLACE_;
	if (chance(g, 8))
		flags |= MAP_NORESERVE_;
	if (chance(g, 8))
		flags |= MAP_POPULATE_;
	if (chance(g, 4))
		flags |= MAP_LOCKED_;
	if (chance(g, 4))
		flags |= MAP_STACK_;
	if (chance(g, 2))
		flags |= MAP_GROWSDOWN_;
	a = add_call(g, pid, SC_mmap);
	a->a[5] = off;
	a->a[4] = (uint64_t)(int64_t)fd;
	a->a[3] = flags;
	a->a[2] = pick_prot(g);
	a->a[1] = range_len(g);
	a->a[0] = arena_addr(g);
}

static void gen_mremap(struct gen *g, int pid)
{
	uint64_t old = arena_addr(g), ol = range_len(g), nl = range_len(g);
	struct sys_args *a;
	int kind = rnd(g, 3);

	a = add_call(g, pid, SC_mremap);
	a->a[0] = old;
	a->a[1] = ol;
	a->a[2] = nl;
	if (kind == 0)
		return;
	a->a[3] = MREMAP_MAYMOVE_ | MREMAP_FIXED_;
	a->a[4] = arena_addr(g);
	if (kind == 2) {
		a->a[2] = ol;
		a->a[3] |= MREMAP_DONTUNMAP_;
	}
}

/* mem_write or mem_read, as a line of the current step. */
static void gen_mem_line(struct gen *g, int pid, bool write)
{
	uint64_t addr = arena_addr(g), len;
	struct sys_args *a;
	int max;

	addr += chance(g, 30) ? (uint64_t)rnd(g, 4096) : 0;
	max = chance(g, 60) ? 4096 : 3 * 4096;
	len = 1 + (uint64_t)rnd(g, max);
	a = add_line(g, pid, write ? SC_mem_write : SC_mem_read);
	a->a[0] = addr;
	if (write) {
		a->a[1] = (uint64_t)rnd(g, 256);
		a->a[2] = len;
	} else {
		a->a[1] = len;
	}
}

static void gen_mem(struct gen *g, int pid, bool write)
{
	begin_step(g, pid, 0);
	gen_mem_line(g, pid, write);
}

static void gen_mem_write(struct gen *g, int pid) { gen_mem(g, pid, true); }
static void gen_mem_read(struct gen *g, int pid) { gen_mem(g, pid, false); }

static void gen_brk(struct gen *g, int pid)
{
	struct sys_args *a = add_call(g, pid, SC_brk);
	uint64_t to;

	if (chance(g, 10))
		return; /* brk(NULL) */
	to = HEAP_START + (uint64_t)(rnd(g, HEAP_PAGES + 2) - 2) * 4096;
	to += chance(g, 25) ? (uint64_t)rnd(g, 4096) : 0;
	a->a[0] = to;
}

static void gen_lockall(struct gen *g, int pid)
{
	if (chance(g, 50)) {
		add_call(g, pid, SC_munlockall);
		return;
	}
	add_call(g, pid, SC_mlockall)->a[0] =
		chance(g, 50) ? MCL_FUTURE_ : MCL_CURRENT_ | MCL_ONFAULT_;
}

/*
 * What the generator calls, and how often: percent of the calls that are
 * not forks or exits.  A row the syscall table marks SCF_NOHOST is drawn
 * first, its weight in percent, and only when the trace is not for the host.
 */
static const struct gen_call {
	enum syscall_id sc;
	int weight;
	void (*gen)(struct gen *g, int pid);
} gen_calls[] = {
	{ SC_mmap, 14, gen_mmap },	     { SC_munmap, 6, gen_munmap },
	{ SC_mprotect, 10, gen_mprotect },   { SC_madvise, 16, gen_madvise },
	{ SC_mremap, 4, gen_mremap },	     { SC_mlock, 3, gen_mlock },
	{ SC_mlock2, 2, gen_mlock2 },	     { SC_munlock, 3, gen_munlock },
	{ SC_mlockall, 1, gen_lockall }, /* and munlockall */
	{ SC_mem_write, 21, gen_mem_write }, { SC_mem_read, 19, gen_mem_read },
	{ SC_msync, 1, gen_msync },	     { SC_brk, 5, gen_brk },
};

/* One call of any kind but fork and exit. */
static void gen_call(struct gen *g, int pid)
{
	int r = rnd(g, 100), sum = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(gen_calls); i++)
		if ((syscall_table[gen_calls[i].sc].flags & SCF_NOHOST) && g->local &&
		    chance(g, gen_calls[i].weight)) {
			gen_calls[i].gen(g, pid);
			return;
		}
	for (size_t i = 0; i < G_N_ELEMENTS(gen_calls); i++) {
		if (syscall_table[gen_calls[i].sc].flags & SCF_NOHOST)
			continue;
		sum += gen_calls[i].weight;
		if (r < sum) {
			gen_calls[i].gen(g, pid);
			return;
		}
	}
	g_assert_not_reached(); /* the weights add up to 100 */
}

static struct gproc *pick_proc(struct gen *g)
{
	int alive[64] = { 0 }, n = 0; /* the root never exits before the end */

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

/* exit_group, the +++ line, and the parent's wait4 (one step: they go together). */
static void gen_exit(struct gen *g, struct gproc *p)
{
	struct sys_args *a;

	p->alive = false;
	begin_step(g, p->pid, 0);
	add_line(g, p->pid, SC_exit_group);
	add_line(g, p->pid, FUZZ_EXITED);
	if (p->parent) {
		a = add_line(g, p->parent, SC_wait4);
		a->a[0] = (uint64_t)p->pid;
		set_result(g, p->pid);
	}
}

static struct gproc *new_proc(struct gen *g, int parent)
{
	struct gproc *c = &g->procs[g->nprocs++];

	c->pid = g->next_pid++;
	c->parent = parent;
	c->alive = true;
	return c;
}

/*
 * A vfork: the parent is suspended until the child exits, so the vfork,
 * the child's calls and its exit are one step, which shrinking can only
 * drop whole (dropping the exit alone would leave the real parent
 * suspended for ever).
 */
static void gen_vfork(struct gen *g, int ppid, struct gproc *c, int *ops)
{
	guint first = g->steps->len;
	struct step *unit;

	begin_step(g, ppid, c->pid);
	add_line(g, ppid, SC_vfork);
	set_result(g, c->pid);
	for (int i = rnd(g, 4); i > 0; i--, (*ops)--)
		gen_call(g, c->pid);
	gen_exit(g, c);
	unit = g->steps->pdata[first];
	for (guint i = first + 1; i < g->steps->len; i++) {
		struct step *s = g->steps->pdata[i];

		g_array_append_vals(unit->lines, s->lines->data, s->lines->len);
	}
	g_ptr_array_remove_range(g->steps, first + 1, g->steps->len - first - 1);
	g->cur = unit;
}

/* fork, clone(CLONE_VM) or vfork; a vfork child runs to its exit at once. */
static void gen_fork(struct gen *g, struct gproc *p, int *ops)
{
	int kind = rnd(g, 10), ppid = p->pid;
	struct gproc *c;

	if (chance(g, 40))
		gen_mem(g, ppid, true); /* a write just before */
	c = new_proc(g, ppid);
	if (kind < 7) {
		begin_step(g, ppid, c->pid);
		add_line(g, ppid, SC_fork);
	} else if (kind < 9) {
		begin_step(g, ppid, c->pid);
		add_line(g, ppid, SC_clone)->a[0] = CLONE_VM_ | SIGCHLD;
	} else {
		gen_vfork(g, ppid, c, ops);
		return;
	}
	set_result(g, c->pid);
	if (chance(g, 50))
		gen_mem(g, c->pid, false); /* the child reads at once */
	if (chance(g, 40))
		gen_mem(g, ppid, true); /* and the parent writes after */
}

GPtrArray *fuzz_generate_steps(uint64_t seed, guint ops, bool local)
{
	static GRand *rand_state; /* reseeded per trace: a Mersenne twister is 2.5 KB to allocate */
	struct gen g = { .rnd = rand_state ? rand_state : (rand_state = g_rand_new()),
			 .steps = g_ptr_array_new_with_free_func(fuzz_step_free),
			 .next_pid = FUZZ_FIRST_PID };
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

static void format_line(const struct gline *l, GString *t)
{
	strace_format_line(l->pid, l->sc == FUZZ_EXITED ? NULL : &syscall_table[l->sc], &l->a,
			   !l->has_result, l->result, t);
}

/*
 * The text of the steps not removed.  Every trace starts by opening the
 * data file (fd 3) in the first process; with the local calls also the
 * read-write one (fd 4), and learns where the heap starts (the first brk
 * says where "exec" put it).  Shrinking never drops these lines, so every
 * mmap of an fd means the same file and every brk the same heap.
 */
char *fuzz_steps_text(GPtrArray *steps, const bool *removed, bool local)
{
	GString *t = g_string_new(NULL);
	struct gline head[] = {
		{ FUZZ_FIRST_PID,
		  SC_openat,
		  { .a = { (uint64_t)(int64_t)AT_FDCWD_, 0, O_RDONLY_ },
		    .str = { NULL, FUZZ_DATA_FILE } },
		  true,
		  FUZZ_DATA_FD },
		{ FUZZ_FIRST_PID,
		  SC_openat,
		  { .a = { (uint64_t)(int64_t)AT_FDCWD_, 0, O_RDWR_ },
		    .str = { NULL, FUZZ_DATA_RW_FILE } },
		  true,
		  FUZZ_DATA_RW_FD },
		{ FUZZ_FIRST_PID, SC_brk, { .a = { 0 } }, true, (int64_t)HEAP_START },
	};

	for (size_t i = 0; i < (local ? G_N_ELEMENTS(head) : 1); i++)
		format_line(&head[i], t);
	for (guint i = 0; i < steps->len; i++) {
		const struct step *s = steps->pdata[i];

		if (removed && removed[i])
			continue;
		for (guint j = 0; j < s->lines->len; j++)
			format_line(&g_array_index(s->lines, struct gline, j), t);
	}
	return g_string_free(t, FALSE);
}

char *fuzz_generate(uint64_t seed, guint ops, bool local)
{
	g_autoptr(GPtrArray) steps = fuzz_generate_steps(seed, ops, local);

	return fuzz_steps_text(steps, NULL, local);
}

/* A pid field of a line renamed: the process column, a wait4's pid and result, a fork's child. */
static int renamed(int pid, int from, int to) { return pid == from ? to : pid; }

struct step *fuzz_step_dup(const struct step *s, int from_pid, int to_pid)
{
	struct step *c = g_new0(struct step, 1);

	c->pid = renamed(s->pid, from_pid, to_pid);
	c->child = s->child;
	c->lines = g_array_copy(s->lines);
	for (guint j = 0; j < c->lines->len && from_pid; j++) {
		struct gline *l = &g_array_index(c->lines, struct gline, j);

		l->pid = renamed(l->pid, from_pid, to_pid);
	}
	return c;
}
