/*
 * The fuzzer's checks 1 and 2 (see checks.h).  This is the one place that
 * looks at dupmm and the reference model side by side: it reads dupmm
 * through include/dupmm/ only (find_vma, mm_peek) and turns
 * vm_flags into the VmFlags names the reference model keeps.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <dupmm/kernel.h>
#include <dupmm/mm.h>

#include "checks.h"
#include "refmodel.h"

struct fuzz_checker {
	bool invariants, model;
	unsigned int full_every, since_full;
	struct ref_model *ref;
	struct kernel *k; /* of the step being checked */
	uint64_t pages_compared;
	uint8_t buf[REF_PAGE_SIZE];
	/* the VMAs an mremap's source range touched, before the call */
	uint64_t src_vmas[64][2];
	unsigned int nr_src_vmas;
};

static const struct {
	uint64_t vm;
	enum ref_flag rf;
} flag_map[] = {
	{ VM_READ, RF_RD },	 { VM_WRITE, RF_WR },	    { VM_EXEC, RF_EX },
	{ VM_SHARED, RF_SH },	 { VM_MAYREAD, RF_MR },	    { VM_MAYWRITE, RF_MW },
	{ VM_MAYEXEC, RF_ME },	 { VM_MAYSHARE, RF_MS },    { VM_GROWSDOWN, RF_GD },
	{ VM_LOCKED, RF_LO },	 { VM_SEQ_READ, RF_SR },    { VM_RAND_READ, RF_RR },
	{ VM_DONTCOPY, RF_DC },	 { VM_LOCKONFAULT, RF_LF }, { VM_ACCOUNT, RF_AC },
	{ VM_NORESERVE, RF_NR }, { VM_WIPEONFORK, RF_WF },  { VM_DONTDUMP, RF_DD },
	{ VM_HUGEPAGE, RF_HG },	 { VM_NOHUGEPAGE, RF_NH },  { VM_MERGEABLE, RF_MG },
};

static uint32_t ref_flags_of(uint64_t vm_flags)
{
	uint32_t f = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(flag_map); i++)
		if (vm_flags & flag_map[i].vm)
			f |= RFB(flag_map[i].rf);
	return f;
}

static char *flag_names(uint32_t f)
{
	GString *s = g_string_new(NULL);

	for (int i = 0; i < NR_REF_FLAGS; i++)
		if (f & RFB(i))
			g_string_append_printf(s, "%s%s", s->len ? " " : "", ref_flag_names[i]);
	return g_string_free(s, FALSE);
}

/* The extent dupmm's VMA at addr had before the call (mremap's source VMAs). */
static bool vma_extent(int pid, uint64_t addr, uint64_t *start, uint64_t *end, void *arg)
{
	struct fuzz_checker *c = arg;

	(void)pid;
	for (unsigned int i = 0; i < c->nr_src_vmas; i++)
		if (c->src_vmas[i][0] <= addr && addr < c->src_vmas[i][1]) {
			*start = c->src_vmas[i][0];
			*end = c->src_vmas[i][1];
			return true;
		}
	return false;
}

/* The task of pid in the step being checked, with an address space (or NULL). */
static struct mm_struct *mm_of(struct fuzz_checker *c, int pid)
{
	struct task *t = c->k ? kernel_find_task(c->k, pid) : NULL;

	return t ? t->mm : NULL;
}

/* dupmm's VMA at addr now: its extent (vma_now), its lock bits (-1: unmapped). */
static struct vm_area_struct *vma_at(struct fuzz_checker *c, int pid, uint64_t addr)
{
	struct mm_struct *mm = mm_of(c, pid);
	struct vm_area_struct *vma = mm ? find_vma(mm, addr) : NULL;

	return vma && vma->vm_start <= addr ? vma : NULL;
}

static bool vma_now(int pid, uint64_t addr, uint64_t *start, uint64_t *end, void *arg)
{
	struct vm_area_struct *vma = vma_at(arg, pid, addr);

	if (vma == NULL)
		return false;
	*start = vma->vm_start;
	*end = vma->vm_end;
	return true;
}

static int lock_bits(int pid, uint64_t addr, void *arg)
{
	struct vm_area_struct *vma = vma_at(arg, pid, addr);

	if (vma == NULL)
		return -1;
	return (int)(ref_flags_of(vma->vm_flags) & (RFB(RF_LO) | RFB(RF_LF)));
}

/* Would dupmm's reclaim leave the page at addr alone (it is mlocked)? */
static bool unevictable(int pid, uint64_t addr, void *arg)
{
	struct mm_struct *mm = mm_of(arg, pid);
	pte_t pte = mm ? mm_lookup_pte(mm, addr) : 0;

	if (!pte_present(pte) || is_zero_pfn(pte_pfn(pte)))
		return false;
	return (pfn_to_page(pte_pfn(pte))->flags & (PG_mlocked | PG_unevictable)) != 0;
}

void fuzz_checker_before(const struct strace_record *r, struct kernel *k, void *arg)
{
	struct fuzz_checker *c = arg;
	struct task *t;
	uint64_t addr = 0, len = 0;

	c->nr_src_vmas = 0;
	if (!c->model || r->kind != REC_CALL || r->desc == NULL ||
	    syscall_id(r->desc) != SC_mremap || !strace_arg_u64(r, 0, &addr) ||
	    !strace_arg_u64(r, 1, &len) || (t = kernel_find_task(k, r->pid)) == NULL ||
	    t->mm == NULL)
		return;
	for (struct vm_area_struct *vma = find_vma(t->mm, addr);
	     vma && vma->vm_start < addr + MAX(len, 1) &&
	     c->nr_src_vmas < G_N_ELEMENTS(c->src_vmas);
	     vma = vma_next(t->mm, vma)) {
		c->src_vmas[c->nr_src_vmas][0] = vma->vm_start;
		c->src_vmas[c->nr_src_vmas++][1] = vma->vm_end;
	}
}

struct fuzz_checker *fuzz_checker_new(bool invariants, bool model, uint64_t base,
				      unsigned int npages, const char *dir, unsigned int full_every)
{
	struct fuzz_checker *c = g_new0(struct fuzz_checker, 1);

	c->invariants = invariants;
	c->model = model;
	c->full_every = MAX(full_every, 1u);
	if (model) {
		const struct ref_kernel_view view = {
			.vma_before = vma_extent,
			.vma_now = vma_now,
			.lock_bits = lock_bits,
			.unevictable = unevictable,
			.arg = c,
		};

		c->ref = ref_new(base, npages, dir, &view);
	}
	return c;
}

void fuzz_checker_free(struct fuzz_checker *c)
{
	if (c == NULL)
		return;
	ref_free(c->ref);
	g_free(c);
}

uint64_t fuzz_checker_pages_compared(const struct fuzz_checker *c) { return c->pages_compared; }

static char *describe(long v)
{
	if (v < 0 && v >= -4095)
		return g_strdup_printf("-1 %s", strace_errno_name((int)-v));
	if (v > 0xffff)
		return g_strdup_printf("%#lx", v);
	return g_strdup_printf("%ld", v);
}

static const char *fault_name(int f) { return f == 0 ? "reads" : f == -EIO ? "SIGBUS" : "SIGSEGV"; }

/*
 * One page of one process: dupmm against the reference model.  *skip_to:
 * dupmm has nothing mapped below it (from a previous peek), so no peek is
 * needed there.
 */
static char *compare_page(struct fuzz_checker *c, int pid, struct mm_struct *mm, unsigned int i,
			  uint64_t *skip_to, struct vm_area_struct **last_vma)
{
	uint64_t addr = ref_base(c->ref) + (uint64_t)i * REF_PAGE_SIZE;
	struct mm_peek_info pk = { .read_fault = -EFAULT };
	struct ref_view v;
	uint32_t flags;

	if (addr < *skip_to) {
		/* dupmm has nothing here (a previous peek said so): the model must not either */
		c->pages_compared++;
		if (ref_mapped(c->ref, pid, i))
			return g_strdup_printf(
				"pid %d, page %#" PRIx64
				": the reference model has it mapped, dupmm unmapped",
				pid, addr);
		return NULL;
	}
	ref_view(c->ref, pid, i, &v);
	{
		mm_peek(mm, addr, c->buf, *last_vma, &pk);
		*skip_to = pk.vma ? 0 : pk.next_start;
		*last_vma = pk.vma;
	}
	c->pages_compared++;
	if ((pk.vma != NULL) != v.mapped)
		return g_strdup_printf(
			"pid %d, page %#" PRIx64 ": the reference model has it %s, dupmm %s", pid,
			addr, v.mapped ? "mapped" : "unmapped", pk.vma ? "mapped" : "unmapped");
	if (pk.vma == NULL)
		return NULL;
	/*
	 * Not compared: "ac".  mprotect drops VM_ACCOUNT from a read-only
	 * anonymous VMA that has no anon_vma yet (mprotect_fixup), and whether
	 * a VMA has one is beyond a page-granular model.  The host check
	 * compares it.
	 */
	flags = ref_flags_of(pk.vma->vm_flags) & ~RFB(RF_AC);
	v.flags &= ~RFB(RF_AC);
	if (flags != v.flags) {
		g_autofree char *want = flag_names(v.flags), *got = flag_names(flags);

		return g_strdup_printf("pid %d, page %#" PRIx64
				       ": VmFlags: the reference model has '%s', dupmm '%s'",
				       pid, addr, want, got);
	}
	if (pk.guard != v.guard)
		return g_strdup_printf(
			"pid %d, page %#" PRIx64 ": the reference model has %s guard, dupmm %s",
			pid, addr, v.guard ? "a" : "no", pk.guard ? "a guard" : "none");
	if (pk.read_fault != v.read_fault)
		return g_strdup_printf(
			"pid %d, page %#" PRIx64 ": a read: the reference model %s, dupmm %s", pid,
			addr, fault_name(v.read_fault), fault_name(pk.read_fault));
	if (pk.read_fault == 0 && (pk.bytes || v.bytes)) {
		static const uint8_t zeroes[REF_PAGE_SIZE];
		const uint8_t *want = v.bytes ? v.bytes : zeroes,
			      *got = pk.bytes ? pk.bytes : zeroes;

		if (memcmp(want, got, REF_PAGE_SIZE) != 0) {
			size_t o = 0;

			while (want[o] == got[o])
				o++;
			return g_strdup_printf("pid %d, byte %#" PRIx64
					       ": the reference model reads %#x, dupmm %#x",
					       pid, addr + o, want[o], got[o]);
		}
	}
	return NULL;
}

static char *compare_state(struct fuzz_checker *c, bool full)
{
	int pids[64];
	unsigned int n = ref_pids(c->ref, pids, G_N_ELEMENTS(pids));
	char *msg = NULL;

	for (unsigned int p = 0; p < n && !msg; p++) {
		struct task *t = kernel_find_task(c->k, pids[p]);

		if (t == NULL || t->mm == NULL) {
			msg = g_strdup_printf("pid %d lives in the reference model, not in dupmm",
					      pids[p]);
			break;
		}
		uint64_t skip_to = 0;
		struct vm_area_struct *last_vma = NULL;

		if (full) {
			unsigned int npg = ref_npages(c->ref);

			for (unsigned int i = 0; i < npg && !msg;) {
				uint64_t addr = ref_base(c->ref) + (uint64_t)i * REF_PAGE_SIZE;

				if (addr < skip_to) {
					/* a run dupmm has nothing in: the model must have nothing there either */
					unsigned int stop = (unsigned int)MIN(
						(uint64_t)npg,
						(skip_to - ref_base(c->ref)) / REF_PAGE_SIZE);
					unsigned int next = ref_next_mapped(c->ref, pids[p], i);

					if (next < stop)
						msg = g_strdup_printf(
							"pid %d, page %#" PRIx64
							": the reference model has it mapped, dupmm unmapped",
							pids[p],
							ref_base(c->ref) +
								(uint64_t)next * REF_PAGE_SIZE);
					c->pages_compared += stop - i;
					i = stop;
					continue;
				}
				msg = compare_page(c, pids[p], t->mm, i++, &skip_to, &last_vma);
			}
		} else {
			const uint64_t *bits = ref_dirty_bits(c->ref, pids[p]);

			/* ascending, so skip_to and the VMA hint stay valid */
			for (unsigned int w = 0; w < (ref_npages(c->ref) + 63) / 64 && !msg; w++)
				for (uint64_t b = bits[w]; b && !msg; b &= b - 1)
					msg = compare_page(c, pids[p], t->mm,
							   w * 64 +
								   (unsigned int)__builtin_ctzll(b),
							   &skip_to, &last_vma);
		}
	}
	ref_clear_dirty(c->ref);
	return msg;
}

static char *model_step(struct fuzz_checker *c, const struct replay_step *st, bool full)
{
	const struct strace_record *r = st->r;
	struct ref_result res;
	char *msg = NULL;

	ref_step(c->ref, r, st->args, st->ret, &res);
	if (res.error) {
		msg = g_strdup_printf("%s: %s", r->name ? r->name : "?", res.error);
	} else if (r->kind == REC_CALL && !res.delegated && res.ret != st->ret) {
		g_autofree char *want = describe(res.ret), *got = describe(st->ret);

		msg = g_strdup_printf("%s: the reference model returns %s, dupmm %s", r->name, want,
				      got);
	} else if (r->kind == REC_CALL && syscall_id(r->desc) == SC_mem_read) {
		size_t n = MIN(res.read_len, st->read_len), o = 0;

		while (o < n && res.read[o] == st->read[o])
			o++;
		if (o < n)
			msg = g_strdup_printf(
				"mem_read: byte %u reads %#x in the reference model, %#x in dupmm",
				(unsigned int)o, res.read[o], st->read[o]);
		else if (res.read_len != st->read_len)
			msg = g_strdup_printf(
				"mem_read: %zu bytes read before the fault in the reference model, %zu in dupmm",
				res.read_len, st->read_len);
	}
	ref_result_clear(&res);
	if (msg == NULL)
		msg = compare_state(c, full);
	if (msg) {
		char *m = g_strdup_printf(FUZZ_MODEL_PREFIX " after %s: %s",
					  r->name ? r->name : "exit", msg);

		g_free(msg);
		msg = m;
	}
	return msg;
}

/*
 * What a call can change of its mm's page tables: the ranges its row in
 * the syscall table names (mremap's source and destination), from the
 * lowest to the highest, a page more on each side for the neighbours it
 * may merge with.  false: all of it (fork, brk, mlockall...).
 */
static bool touched_range(const struct replay_step *st, uint64_t *start, uint64_t *end)
{
	const struct syscall_desc *d = st->r->desc;
	bool any = false;

	if (d == NULL || st->args == NULL)
		return false;
	for (int i = 0; i < 2; i++) {
		uint64_t a, len;

		if (d->range[i][0] < 0)
			continue;
		a = st->args->a[d->range[i][0]];
		len = st->args->a[d->range[i][1]];
		if (i > 0 && a == 0)
			a = st->args->a[d->range[0]
						[0]]; /* mremap without a new address: in place */
		*start = any ? MIN(*start, a) : a;
		*end = any ? MAX(*end, a + len) : a + len;
		any = true;
	}
	if (!any)
		return false;
	*start = (*start & ~(uint64_t)(REF_PAGE_SIZE - 1)) - REF_PAGE_SIZE;
	*end = ((*end + REF_PAGE_SIZE - 1) & ~(uint64_t)(REF_PAGE_SIZE - 1)) + REF_PAGE_SIZE;
	return *start < *end;
}

/*
 * The invariant checks of one step; why NULL: just whether they hold.  Not
 * full: the VMAs of the mm the call ran in and the PTEs of those it
 * touched (validate_mm_range), or all of them when the call has no range;
 * a fork's child whole.
 */
static bool check_invariants(struct fuzz_checker *c, const struct replay_step *st, bool full,
			     GString *why)
{
	const struct strace_record *r = st->r;
	struct task *t;
	uint64_t start, end;
	bool ok = true;

	if (full)
		return validate_vm(why);
	t = kernel_find_task(c->k, r->pid);
	if (t && t->mm)
		ok = touched_range(st, &start, &end) ? validate_mm_range(t->mm, start, end, why)
						     : validate_mm(t->mm, why);
	if (ok && st->ret > 0 && r->desc && (r->desc->flags & SCF_CLONE)) {
		struct task *child = kernel_find_task(c->k, (int)st->ret);

		if (child && child->mm && (t == NULL || child->mm != t->mm))
			ok = validate_mm(child->mm, why);
	}
	return ok;
}

static char *invariant_step(struct fuzz_checker *c, const struct replay_step *st, bool full)
{
	g_autoptr(GString) why = NULL;

	if (check_invariants(c, st, full, NULL))
		return NULL;
	why = g_string_new(NULL); /* again, to say what broke */
	check_invariants(c, st, full, why);
	g_strchomp(why->str);
	return g_strdup_printf(FUZZ_INVARIANT_PREFIX " after %s:\n%s",
			       st->r->name ? st->r->name : "exit", why->str);
}

/* No process left with an address space: the trace has ended. */
static bool none_alive(struct kernel *k)
{
	GHashTableIter it;
	gpointer key, v;

	g_hash_table_iter_init(&it, k->tasks);
	while (g_hash_table_iter_next(&it, &key, &v))
		if (((struct task *)v)->mm)
			return false;
	return true;
}

char *fuzz_checker_step(const struct replay_step *st, void *arg)
{
	struct fuzz_checker *c = arg;
	bool exit = st->r->kind != REC_CALL;
	/* everything every full_every records, and once all have exited (leaks) */
	bool full = ++c->since_full >= c->full_every || (exit && none_alive(st->k));
	char *msg = NULL;

	if (full)
		c->since_full = 0;
	c->k = st->k;
	if (c->invariants)
		msg = invariant_step(c, st, full);
	if (msg == NULL && c->model)
		msg = model_step(c, st, full);
	c->k = NULL;
	return msg;
}
