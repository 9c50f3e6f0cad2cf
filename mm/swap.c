/*
 * The per-CPU LRU batches, after mm/swap.c (6.18 text; 6.12 alike).
 *
 * The kernel queues LRU work in per-CPU folio batches (struct cpu_fbatches)
 * of FOLIO_BATCH_SIZE (31) entries and moves the pages only when a batch
 * fills up (folio_batch_add_and_move), when a large folio comes
 * (folio_may_be_lru_cached: never here, dupmm has order-0 folios only), or
 * when lru_add_drain() empties every batch of the local CPU.  Two of them
 * show in what a program or smaps can see, and dupmm keeps those two:
 *
 *   lru_add       a new page (anonymous fault, COW copy, page-cache insert)
 *                 is not on the LRU (PG_lru clear) until it drains; a COW
 *                 fault on such a page drains everything
 *                 (wp_can_reuse_anon_folio);
 *   lru_lazyfree  MADV_FREE: a page loses PG_swapbacked, and so counts as
 *                 LazyFree in smaps, only when the batch drains.
 *
 * One more per-CPU batch shows: mm/mlock.c's mlock_fbatch (an mlock or a
 * munlock is counted only when it moves, MLOCK-PAGE-2), which
 * lru_add_drain moves last (mlock_drain_local).
 *
 * dupmm-hostrun runs a trace's processes on one CPU, so one batch of each
 * models them all.  Divergence: the kernel's batch holds a page reference
 * until the drain (the model's page is freed at once and forgotten here:
 * lru_batch_forget), which folio_lru_batch_refs gives back where the
 * kernel's refcount matters.  And on the host the batches are the CPU's,
 * not the trace's: any task that runs there between two calls (a build,
 * a kworker, dupmm-hostrun's own copy-on-write faults after a fork) can
 * drain them, so LazyFree is certain at a dump only if nothing is queued.
 */
#include "internal.h"

#define FOLIO_BATCH_SIZE 31

struct folio_batch {
	unsigned int nr;
	struct page *folios[FOLIO_BATCH_SIZE];
};

/* cpu_fbatches.lru_add and cpu_fbatches.lru_lazyfree, of the one CPU */
static struct folio_batch lru_add_fbatch, lru_lazyfree_fbatch;

typedef void (*move_fn_t)(struct page *page);

/*
 * lru_add: the page joins the LRU; an mlocked one (mlock_folio found it
 * still off the LRU) the unevictable one, with an mlock_count of 0: the
 * kernel underestimates rather than leave a page unevictable for good.
 */
static void lru_add(struct page *page)
{
	bool was_unevictable = page->flags & PG_unevictable;

	page->flags &= ~PG_unevictable;
	if (!folio_evictable(page)) {
		page->flags |= PG_unevictable;
		if (!was_unevictable)
			count_vm_event(UNEVICTABLE_PGCULLED);
	}
	page->mlock_count = 0;
	page->flags |= PG_lru;
}

/*
 * lru_lazyfree: an anonymous, still swap-backed, evictable page becomes
 * lazily freeable: off the swap-backed LRU, PG_swapbacked and
 * PG_referenced cleared.
 */
static void lru_lazyfree(struct page *page)
{
	if (!PageAnon(page) || !(page->flags & PG_swapbacked) || (page->flags & PG_unevictable))
		return;
	page->flags &= ~(PG_swapbacked | PG_referenced);
}

/*
 * folio_batch_move_lru: apply move_fn to each page of the batch and empty
 * it.  Every move but lru_add needs the page on the LRU
 * (folio_test_clear_lru): a page isolated meanwhile is skipped.
 */
static void folio_batch_move_lru(struct folio_batch *fbatch, move_fn_t move_fn)
{
	for (unsigned int i = 0; i < fbatch->nr; i++) {
		struct page *page = fbatch->folios[i];

		if (move_fn != lru_add && !(page->flags & PG_lru))
			continue;
		move_fn(page);
	}
	fbatch->nr = 0;
}

/* folio_batch_add_and_move: queue the page; a full batch is moved at once. */
static void folio_batch_add_and_move(struct folio_batch *fbatch, struct page *page,
				     move_fn_t move_fn)
{
	fbatch->folios[fbatch->nr++] = page;
	if (fbatch->nr == FOLIO_BATCH_SIZE)
		folio_batch_move_lru(fbatch, move_fn);
}

/* folio_add_lru: a new page, on the LRU once lru_add drains. */
void folio_add_lru(struct page *page)
{
	page->flags &= ~PG_lru;
	folio_batch_add_and_move(&lru_add_fbatch, page, lru_add);
}

/*
 * folio_add_lru_vma: a new anonymous page of vma (do_anonymous_page,
 * do_cow_fault, wp_page_copy): mlocked if vma is VM_LOCKED
 * (mlock_new_folio, which puts it on the LRU when the mlock batch moves),
 * else on the LRU once lru_add drains.
 */
void folio_add_lru_vma(struct page *page, struct vm_area_struct *vma)
{
	if ((vma->vm_flags & (VM_LOCKED | VM_SPECIAL)) == VM_LOCKED)
		mlock_new_folio(page);
	else
		folio_add_lru(page);
}

/*
 * folio_test_unevictable: the page is on the unevictable LRU, which an
 * mlocked page joins when the mlock batch moves (__mlock_folio,
 * __mlock_new_folio) or lru_add finds it mlocked.  Per page: a page a
 * fork parent has mlocked is unevictable in the child too (observed: it
 * stays out of the child's LazyFree), and MREMAP_DONTUNMAP's source keeps
 * its pages mlocked though it loses VM_LOCKED (MLOCK-PAGE-1).
 */
static bool folio_test_unevictable(const struct page *page) { return page->flags & PG_unevictable; }

/*
 * folio_mark_lazyfree: queue an anonymous, swap-backed, evictable page on
 * the LRU to become lazily freeable.  MADV_FREE drains before each VMA, so
 * the mlock batch has made an mlocked page unevictable by then.  The
 * kernel queues a page each time (no check for one already queued):
 * MADV_FREE's drain before each VMA means it never meets one.
 */
void folio_mark_lazyfree(struct page *page)
{
	if (PageAnon(page) && (page->flags & PG_swapbacked) && (page->flags & PG_lru) &&
	    !folio_test_unevictable(page))
		folio_batch_add_and_move(&lru_lazyfree_fbatch, page, lru_lazyfree);
}

/*
 * lru_add_drain (lru_add_drain_cpu of the local CPU, then
 * mlock_drain_local): move every batch, in the kernel's order (lru_add
 * first, so that the pages it puts on the LRU can be moved by the later
 * ones; the mlock batch last).
 */
void lru_add_drain(void)
{
	folio_batch_move_lru(&lru_add_fbatch, lru_add);
	folio_batch_move_lru(&lru_lazyfree_fbatch, lru_lazyfree);
	mlock_drain_local();
}

unsigned int lru_lazyfree_pending(void) { return lru_lazyfree_fbatch.nr; }

/* A new simulated RAM: nothing is queued (phys_init). */
void lru_batches_reset(void)
{
	lru_add_fbatch.nr = 0;
	lru_lazyfree_fbatch.nr = 0;
	mlock_batch_reset();
}

static unsigned int batch_count(const struct folio_batch *fbatch, const struct page *page)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < fbatch->nr; i++)
		n += fbatch->folios[i] == page;
	return n;
}

/* The references the kernel's batches would hold on page (one per entry). */
unsigned int folio_lru_batch_refs(const struct page *page)
{
	return batch_count(&lru_add_fbatch, page) + batch_count(&lru_lazyfree_fbatch, page) +
	       mlock_batch_refs(page);
}

static void batch_forget(struct folio_batch *fbatch, const struct page *page)
{
	for (unsigned int i = 0; i < fbatch->nr;)
		if (fbatch->folios[i] == page)
			fbatch->folios[i] = fbatch->folios[--fbatch->nr];
		else
			i++;
}

/*
 * lru_batch_forget: a page being freed leaves the batches.  (The kernel's
 * batch reference would keep it until the drain, which then frees it: no
 * difference a program or smaps can see.)
 */
void lru_batch_forget(const struct page *page)
{
	batch_forget(&lru_add_fbatch, page);
	batch_forget(&lru_lazyfree_fbatch, page);
	mlock_batch_forget(page);
}
