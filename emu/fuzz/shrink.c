/*
 * Shrinking a failing trace, in four phases, each kept only while the
 * same check still fails (for a real reason: not a trace that no longer
 * runs):
 *
 *   1. drop steps in halving chunks, then one by one (a fork with its
 *      whole subtree);
 *   2. fold a process into its parent: its exit goes, and its calls too or
 *      the parent makes them; then phase 1 again, until neither changes
 *      anything;
 *   3. make lengths smaller (a page, half, a byte for memory accesses) and
 *      memory accesses' addresses page-aligned, one argument at a time;
 *   4. renumber the processes 1000, 1001, ... in order of appearance.
 *
 * Steps are lines of the syscall table's rows, so each phase changes
 * numbers (arguments, pids) and the writer prints the result.
 */
#include <string.h>

#include <fuzz/fuzz.h>

#include "trace.h"

struct shrinker {
	struct fuzz_options opts; /* the campaign's, looking at everything after every call */
	unsigned int check;	  /* the check that must keep failing */
	bool local;
	char **why, **report;
};

/* Does text still fail the check, for a real reason?  Then *why and *report are its. */
static bool still_fails(struct shrinker *sh, GPtrArray *steps, const bool *removed)
{
	g_autofree char *text = fuzz_steps_text(steps, removed, sh->local);
	g_autofree char *w = NULL, *rpt = NULL;
	guint calls;

	if (fuzz_run_checks(&sh->opts, text, sh->check, NULL, &calls, &w, &rpt) != sh->check ||
	    g_str_has_prefix(w, "the generated trace does not") ||
	    g_str_has_prefix(w, "dupmm-hostrun"))
		return false;
	g_free(*sh->why);
	*sh->why = g_steal_pointer(&w);
	g_free(*sh->report);
	*sh->report = g_steal_pointer(&rpt);
	return true;
}

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

/* The steps not removed, as a new list. */
static GPtrArray *steps_kept(GPtrArray *steps, const bool *removed)
{
	GPtrArray *kept = g_ptr_array_new_with_free_func(fuzz_step_free);

	for (guint i = 0; i < steps->len; i++)
		if (!removed || !removed[i])
			g_ptr_array_add(kept, fuzz_step_dup(steps->pdata[i], 0, 0));
	return kept;
}

/* Phase 1: drop steps in halving chunks; true if any went. */
static bool drop_chunks(struct shrinker *sh, GPtrArray **steps)
{
	guint n = (*steps)->len;
	g_autofree bool *removed = g_new0(bool, n), *trial = g_new0(bool, n);
	bool changed = false;

	for (guint chunk = MAX(n / 2, 1);; chunk /= 2) {
		for (guint start = 0; start < n; start += chunk) {
			guint any = 0;

			memcpy(trial, removed, n * sizeof(bool));
			for (guint i = start; i < MIN(start + chunk, n); i++)
				if (!removed[i]) {
					mark_with_subtree(*steps, i, trial);
					any++;
				}
			if (any && still_fails(sh, *steps, trial)) {
				memcpy(removed, trial, n * sizeof(bool));
				changed = true;
			}
		}
		if (chunk == 1)
			break;
	}
	if (changed) {
		GPtrArray *kept = steps_kept(*steps, removed);

		g_ptr_array_unref(*steps);
		*steps = kept;
	}
	return changed;
}

static bool is_exit_step(const struct step *s)
{
	for (guint j = 0; j < s->lines->len; j++)
		if (g_array_index(s->lines, struct gline, j).sc == FUZZ_EXITED)
			return true;
	return false;
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

	if (fs->child == 0 || g_array_index(fs->lines, struct gline, 0).sc == SC_vfork)
		return NULL;
	out = g_ptr_array_new_with_free_func(fuzz_step_free);
	for (guint i = 0; i < steps->len; i++) {
		const struct step *s = steps->pdata[i];
		bool own = s->pid == fs->child && s->child == 0;

		if (i == f || (own && (!keep_calls || is_exit_step(s))))
			continue;
		g_ptr_array_add(out, fuzz_step_dup(s, fs->child, fs->pid));
	}
	return out;
}

/* Phase 2: fold one process into its parent; true if one was. */
static bool fold_one(struct shrinker *sh, GPtrArray **steps)
{
	for (guint f = 0; f < (*steps)->len; f++)
		for (int keep = 0; keep < 2; keep++) {
			GPtrArray *folded = splice(*steps, f, keep);

			if (folded == NULL)
				continue;
			if (still_fails(sh, folded, NULL)) {
				g_ptr_array_unref(*steps);
				*steps = folded;
				return true;
			}
			g_ptr_array_unref(folded);
		}
	return false;
}

/*
 * Phase 3: the smaller values worth trying for a one-line call: each
 * length a page, half of it, or (memory accesses) a byte; a memory
 * access's address aligned to its page.  One argument at a time, from the
 * first, again after each success.
 */
static bool smaller_value(const struct gline *l, unsigned int try, unsigned int *slot, uint64_t *v)
{
	const struct syscall_desc *d = &syscall_table[l->sc];
	bool pseudo = d->nr == SYS_PSEUDO;

	for (unsigned int i = 0; i < SYS_MAX_ARGS && d->args[i].name; i++) {
		uint64_t cur = l->a.a[syscall_arg_slot(d, i)];
		uint64_t tries[4] = { 4096, (cur / 2 + 4095) & ~4095ULL, 1, cur & ~4095ULL };
		bool is_len = d->args[i].kind == SA_LEN, is_addr = pseudo && i == 0;

		for (unsigned int t = 0; t < G_N_ELEMENTS(tries) && (is_len || is_addr); t++) {
			bool ok = is_len ? t < 3 && tries[t] && tries[t] < cur && (t != 2 || pseudo)
					 : t == 3 && tries[t] != cur;

			if (ok && try-- == 0) {
				*slot = syscall_arg_slot(d, i);
				*v = tries[t];
				return true;
			}
		}
	}
	return false;
}

static void shrink_values(struct shrinker *sh, GPtrArray *steps)
{
	for (guint i = 0; i < steps->len; i++) {
		struct step *st = steps->pdata[i];
		struct gline *l = &g_array_index(st->lines, struct gline, 0);
		unsigned int slot;
		uint64_t v, old;

		if (st->child || st->lines->len != 1 || l->sc == FUZZ_EXITED)
			continue;
		for (unsigned int t = 0; smaller_value(l, t, &slot, &v); t++) {
			old = l->a.a[slot];
			l->a.a[slot] = v;
			if (still_fails(sh, steps, NULL))
				t = (unsigned int)-1; /* from the first again */
			else
				l->a.a[slot] = old;
		}
	}
}

/* Phase 4's map: the pids in order of first appearance, from 1000. */
static int renumbered(GHashTable *map, int *next, int pid)
{
	gpointer m = g_hash_table_lookup(map, GINT_TO_POINTER(pid));

	if (pid <= 0)
		return pid;
	if (m == NULL) {
		m = GINT_TO_POINTER((*next)++);
		g_hash_table_insert(map, GINT_TO_POINTER(pid), m);
	}
	return GPOINTER_TO_INT(m);
}

static GPtrArray *renumber(GPtrArray *steps)
{
	GPtrArray *out = steps_kept(steps, NULL);
	g_autoptr(GHashTable) map = g_hash_table_new(g_direct_hash, g_direct_equal);
	int next = FUZZ_FIRST_PID;

	renumbered(map, &next, FUZZ_FIRST_PID); /* the first process keeps its number */
	for (guint i = 0; i < out->len; i++) {
		struct step *s = out->pdata[i];

		s->pid = renumbered(map, &next, s->pid);
		for (guint j = 0; j < s->lines->len; j++) {
			struct gline *l = &g_array_index(s->lines, struct gline, j);
			const struct syscall_desc *d =
				l->sc == FUZZ_EXITED ? NULL : &syscall_table[l->sc];

			l->pid = renumbered(map, &next, l->pid);
			if (d && l->has_result && (d->flags & (SCF_CLONE | SCF_RET_PID)))
				l->result = renumbered(map, &next, (int)l->result);
			for (unsigned int a = 0; d && a < SYS_MAX_ARGS && d->args[a].name; a++) {
				uint64_t *v = &l->a.a[syscall_arg_slot(d, a)];

				if (d->args[a].kind == SA_PID)
					*v = (uint64_t)(int64_t)renumbered(map, &next, (int)*v);
			}
		}
		s->child = s->child ? renumbered(map, &next, s->child) : 0;
	}
	return out;
}

char *fuzz_shrink(const struct fuzz_options *campaign, GPtrArray *original, unsigned int check,
		  char **why, char **report)
{
	struct shrinker sh = { .opts = *campaign,
			       .check = check,
			       .why = why,
			       .report = report,
			       .local = !(campaign->checks & FUZZ_CHECK_HOST) };
	GPtrArray *steps = steps_kept(original, NULL), *r;
	char *text;

	/* a difference is then seen at the call that makes it, and the calls that led to a full check can go */
	sh.opts.full_every = 1;
	while (drop_chunks(&sh, &steps) || fold_one(&sh, &steps))
		;
	shrink_values(&sh, steps);
	r = renumber(steps);
	if (still_fails(&sh, r, NULL)) {
		g_ptr_array_unref(steps);
		steps = r;
	} else {
		g_ptr_array_unref(r);
	}
	text = fuzz_steps_text(steps, NULL, sh.local);
	g_ptr_array_unref(steps);
	return text; /* *report: what the failing check saw of it */
}
