/*
 * mlock, munlock, mlockall, munlockall, after mm/mlock.c; and the per-page
 * mlock state since Hugh Dickins' munlock rework (5.18): PG_mlocked with
 * folio->mlock_count, kept by the CPU's mlock batch.
 *
 * The model runs as root (CAP_IPC_LOCK): no RLIMIT_MEMLOCK check.  There
 * is no memory pressure, so what mlock changes is what a program or /proc
 * can see: faulting pages in, Locked and VmLck, merge rules, that fork
 * drops VM_LOCKED, and that an mlocked page is unevictable: MADV_PAGEOUT
 * (reclaim) keeps it and MADV_FREE does not make it lazily freeable.
 *
 * A page is mlocked per page, not per VMA: mlock_vma_folio when a PTE maps
 * it into a VM_LOCKED VMA (the rmap add paths), mlock_new_folio for a new
 * anonymous page of one (folio_add_lru_vma), munlock_vma_folio when a PTE
 * of a VM_LOCKED VMA stops mapping it (folio_remove_rmap_pte: zap, COW,
 * munmap, exit), and mlock_vma_pages_range's walk when mlock, munlock,
 * mlockall or munlockall change VM_LOCKED.  Whatever clears VM_LOCKED
 * without that walk (MREMAP_DONTUNMAP's source, mm/mremap.c move_vma)
 * leaves its pages mlocked (MLOCK-PAGE-1).
 */
#include "internal.h"

/*
 * The CPU's mlock batch (mlock_fbatch, FOLIO_BATCH_SIZE 31 entries).  An
 * entry's low bits say what to do when the batch is moved
 * (mlock_folio_batch): LRU_FOLIO __mlock_folio, NEW_FOLIO
 * __mlock_new_folio, none __munlock_folio.  The kernel's batch holds a
 * page reference per entry; the model's refcount does not, and
 * mlock_batch_refs gives them back where the kernel's count matters
 * (folio_lru_batch_refs), as for the LRU batches of mm/swap.c.  A page
 * freed meanwhile leaves the batch (mlock_batch_forget).
 */
#define MLOCK_BATCH_SIZE 31
#define LRU_FOLIO	 0x1UL
#define NEW_FOLIO	 0x2UL

static struct {
	unsigned int nr;
	uintptr_t folios[MLOCK_BATCH_SIZE];
} mlock_fbatch;

static struct page *batch_page(uintptr_t entry)
{
	return (struct page *)(entry & ~(LRU_FOLIO | NEW_FOLIO));
}

/*
 * __mlock_folio (mm/mlock.c): the batch's mlock of a page mapped into a
 * VM_LOCKED VMA.  A page off the LRU (still in the lru_add batch) is left
 * as it is: lru_add will find it mlocked and make it unevictable with a
 * count of 0, an undercount the kernel accepts ("let page reclaim fix
 * it"), which may clear PG_mlocked early at a later munlock.  A page
 * already unevictable counts one more mlock; an evictable one becomes
 * unevictable with a count of 1.
 */
static void __mlock_folio(struct page *page)
{
	if (!(page->flags & PG_lru)) {
		page->flags |= PG_dupmm_mlock_lost;
		return;
	}
	if (folio_evictable(page)) {
		/*
		 * "A little surprising, but quite possible": a munlock moved
		 * before this mlock cleared PG_mlocked, and the mlock is lost:
		 * the page stays evictable though a VM_LOCKED VMA maps it.
		 * Observed on the host: a page munmapped from one locked
		 * mapping and faulted into another before the batch moves is
		 * reclaimed once its VMA loses VM_LOCKED (MLOCK-PAGE-2).
		 */
		page->flags &= ~PG_unevictable;
		page->flags |= PG_dupmm_mlock_lost;
		page->mlock_count = 0;
		return;
	}
	if (page->flags & PG_unevictable) {
		page->mlock_count++;
		return;
	}
	page->flags |= PG_unevictable;
	page->mlock_count = 1;
	count_vm_event(UNEVICTABLE_PGCULLED);
}

/* __mlock_new_folio (mm/mlock.c): a new page of a VM_LOCKED VMA joins the LRU, unevictable. */
static void __mlock_new_folio(struct page *page)
{
	if (!folio_evictable(page)) {
		page->flags |= PG_unevictable;
		page->mlock_count = 1;
		count_vm_event(UNEVICTABLE_PGCULLED);
	}
	page->flags |= PG_lru;
}

/*
 * __munlock_folio (mm/mlock.c): one mlock less.  The page stays mlocked
 * while its count says other mlocks hold it; otherwise (the count reached
 * 0, or the page is not on the unevictable LRU) PG_mlocked goes, and an
 * unevictable page becomes evictable again.
 */
static void __munlock_folio(struct page *page)
{
	bool isolated = page->flags & PG_lru; /* folio_test_clear_lru */

	if (isolated && (page->flags & PG_unevictable)) {
		if (page->mlock_count)
			page->mlock_count--;
		if (page->mlock_count)
			return;
	}
	if (!isolated)
		page->flags |= PG_dupmm_mlock_lost; /* whatever other mlocks there were */
	if (page->flags & PG_mlocked) {
		page->flags &= ~PG_mlocked;
		count_vm_event(UNEVICTABLE_PGMUNLOCKED);
	}
	if (isolated && (page->flags & PG_unevictable) && folio_evictable(page)) {
		page->flags &= ~PG_unevictable;
		page->mlock_count = 0;
	}
}

/* mlock_folio_batch (mm/mlock.c): move every entry, in order, and empty the batch. */
static void mlock_folio_batch(void)
{
	for (unsigned int i = 0; i < mlock_fbatch.nr; i++) {
		uintptr_t entry = mlock_fbatch.folios[i];
		struct page *page = batch_page(entry);

		if (entry & LRU_FOLIO)
			__mlock_folio(page);
		else if (entry & NEW_FOLIO)
			__mlock_new_folio(page);
		else
			__munlock_folio(page);
	}
	mlock_fbatch.nr = 0;
}

/* mlock_drain_local (mm/mlock.c): lru_add_drain's last step. */
void mlock_drain_local(void)
{
	if (mlock_fbatch.nr)
		mlock_folio_batch();
}

/* folio_batch_add, and the move of a batch it fills. */
static void mlock_batch_add(uintptr_t entry)
{
	mlock_fbatch.folios[mlock_fbatch.nr++] = entry;
	if (mlock_fbatch.nr == MLOCK_BATCH_SIZE)
		mlock_folio_batch();
}

/*
 * mlock_folio (mm/mlock.c): mlock a page that is (or was) on the LRU.
 * PG_mlocked is set at once; the count and the unevictable LRU follow when
 * the batch moves.
 */
void mlock_folio(struct page *page)
{
	if (!(page->flags & PG_mlocked)) {
		page->flags |= PG_mlocked;
		count_vm_event(UNEVICTABLE_PGMLOCKED);
	}
	mlock_batch_add((uintptr_t)page | LRU_FOLIO);
}

/*
 * mlock_new_folio (mm/mlock.c): mlock a new page not yet on the LRU
 * (folio_add_lru_vma's instead of folio_add_lru): it joins the LRU when
 * the batch moves.
 */
void mlock_new_folio(struct page *page)
{
	page->flags |= PG_mlocked;
	page->flags &= ~PG_lru;
	count_vm_event(UNEVICTABLE_PGMLOCKED);
	mlock_batch_add((uintptr_t)page | NEW_FOLIO);
}

/*
 * munlock_folio (mm/mlock.c): one mlock of the page less, when the batch
 * moves (__munlock_folio decides whether PG_mlocked goes).
 */
void munlock_folio(struct page *page) { mlock_batch_add((uintptr_t)page); }

/* The references the kernel's mlock batch would hold on page (one per entry). */
unsigned int mlock_batch_refs(const struct page *page)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < mlock_fbatch.nr; i++)
		n += batch_page(mlock_fbatch.folios[i]) == page;
	return n;
}

/* A page being freed leaves the batch (see mm/swap.c lru_batch_forget). */
void mlock_batch_forget(const struct page *page)
{
	for (unsigned int i = 0; i < mlock_fbatch.nr;)
		if (batch_page(mlock_fbatch.folios[i]) == page)
			mlock_fbatch.folios[i] = mlock_fbatch.folios[--mlock_fbatch.nr];
		else
			i++;
}

/* A new simulated RAM: nothing is queued. */
void mlock_batch_reset(void) { mlock_fbatch.nr = 0; }

/* mlock_pte_range (mm/mlock.c): one PTE of the walk. */
static void mlock_pte_range(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg)
{
	struct vm_area_struct *vma = arg;
	struct page *page;

	(void)mm;
	if (!pte_present(*ptep))
		return;
	page = vm_normal_page(vma, addr, *ptep);
	if (page == NULL)
		return; /* the zero page */
	if (vma->vm_flags & VM_LOCKED)
		mlock_folio(page);
	else
		munlock_folio(page);
}

/*
 * mlock_vma_pages_range (mm/mlock.c): vma's flags become newflags, and
 * every page present in [start, end) is mlocked (newflags has VM_LOCKED)
 * or munlocked, between two lru_add_drain()s.  Observed: mlock,
 * mlock2(MLOCK_ONFAULT) and munlock of a locked range settle a pending
 * MADV_FREE.  (The kernel sets VM_IO beside VM_LOCKED during the walk, so
 * that a concurrent mlock_vma_folio does not count twice; the model has no
 * concurrency.)
 */
static void mlock_vma_pages_range(struct vm_area_struct *vma, uint64_t start, uint64_t end,
				  uint64_t newflags)
{
	vma->vm_flags = newflags;
	lru_add_drain();
	walk_ptes(vma->vm_mm, start, end, mlock_pte_range, vma);
	lru_add_drain();
}

/*
 * mlock_fixup: set the lock flags of [start, end) of vma.  Special VMAs
 * (VM_IO, PFN maps), and VM_DROPPABLE, are left alone and not counted
 * (vma_supports_mlock).  A VMA that was locked and stays locked is not
 * walked ("mlocking twice would be wrong"); any other change walks its
 * pages (mlock_vma_pages_range).
 */
static int mlock_fixup(struct vm_area_struct *vma, struct vm_area_struct **prev, uint64_t start,
		       uint64_t end, uint64_t newflags)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t oldflags = vma->vm_flags;
	int64_t nr_pages;
	int err = 0;

	if (newflags == oldflags || (oldflags & VM_SPECIAL) || (oldflags & VM_DROPPABLE))
		goto out;
	vma = vma_modify_flags(*prev, vma, start, end, newflags, &err);
	if (vma == NULL)
		return err;
	nr_pages = (int64_t)((end - start) >> PAGE_SHIFT);
	if (!(newflags & VM_LOCKED))
		nr_pages = -nr_pages;
	else if (oldflags & VM_LOCKED)
		nr_pages = 0;
	mm->locked_vm += nr_pages;
	newflags |= vma->vm_flags & VM_STICKY;
	if ((newflags & VM_LOCKED) && (oldflags & VM_LOCKED))
		vma->vm_flags = newflags;
	else
		mlock_vma_pages_range(vma, start, end, newflags);
out:
	*prev = vma;
	return 0;
}

/* apply_vma_lock_flags: lock flags over a range that must have no holes. */
static int apply_vma_lock_flags(struct mm_struct *mm, uint64_t start, uint64_t len, uint64_t flags)
{
	uint64_t end = start + len, nstart, tmp;
	struct vm_area_struct *vma, *prev;
	int err;

	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	vma = find_vma_prev(mm, start, &prev);
	if (vma == NULL || vma->vm_start > start)
		return -ENOMEM;
	if (start > vma->vm_start)
		prev = vma;
	nstart = start;
	tmp = vma->vm_start;
	for (; vma && vma->vm_start < end; vma = vma_next(mm, prev)) {
		uint64_t newflags = (vma->vm_flags & ~VM_LOCKED_MASK) | flags;

		if (vma->vm_start != tmp) /* a hole */
			return -ENOMEM;
		tmp = MIN(vma->vm_end, end);
		err = mlock_fixup(vma, &prev, nstart, tmp, newflags);
		if (err)
			return err;
		tmp = prev->vm_end;
		nstart = tmp;
	}
	return tmp < end ? -ENOMEM : 0;
}

/* populate errors as mlock reports them (__mlock_posix_error_return) */
static long mlock_posix_error(long err)
{
	if (err == -EFAULT)
		return -ENOMEM;
	if (err == -ENOMEM)
		return -EAGAIN;
	return err;
}

/*
 * do_mlock: lock the range, then fault it in.  Divergence: no resource
 * limits: the kernel refuses a task without CAP_IPC_LOCK to lock more
 * than RLIMIT_MEMLOCK (ENOMEM; EPERM when the limit is 0, can_do_mlock);
 * the model is always root and never refuses, here or in mlockall.
 */
long do_mlock(struct mm_struct *mm, uint64_t start, uint64_t len, uint64_t flags)
{
	uint64_t vm_flags = VM_LOCKED;
	long err;

	if (flags & ~(uint64_t)MLOCK_ONFAULT_)
		return -EINVAL;
	if (flags & MLOCK_ONFAULT_)
		vm_flags |= VM_LOCKONFAULT;
	len = PAGE_ALIGN(len + (start & ~PAGE_MASK));
	start &= PAGE_MASK;
	err = apply_vma_lock_flags(mm, start, len, vm_flags);
	if (err)
		return err;
	/* do_mlock: __mm_populate(start, len, 0): the first failing fault is an error */
	return mlock_posix_error(__mm_populate(mm, start, len, false));
}

long do_munlock(struct mm_struct *mm, uint64_t start, uint64_t len)
{
	len = PAGE_ALIGN(len + (start & ~PAGE_MASK));
	start &= PAGE_MASK;
	return apply_vma_lock_flags(mm, start, len, 0);
}

/* apply_mlockall_flags: MCL_FUTURE sets def_flags; MCL_CURRENT every VMA. */
static void apply_mlockall_flags(struct mm_struct *mm, uint64_t flags)
{
	struct vm_area_struct *vma, *prev = NULL;
	uint64_t to_add = 0;

	mm->def_flags &= ~VM_LOCKED_MASK;
	if (flags & MCL_FUTURE_) {
		mm->def_flags |= VM_LOCKED;
		if (flags & MCL_ONFAULT_)
			mm->def_flags |= VM_LOCKONFAULT;
		if (!(flags & MCL_CURRENT_))
			return;
	}
	if (flags & MCL_CURRENT_) {
		to_add |= VM_LOCKED;
		if (flags & MCL_ONFAULT_)
			to_add |= VM_LOCKONFAULT;
	}
	for (vma = vma_first(mm); vma; vma = vma_next(mm, prev)) {
		uint64_t newflags = (vma->vm_flags & ~VM_LOCKED_MASK) | to_add;

		mlock_fixup(vma, &prev, vma->vm_start, vma->vm_end, newflags);
	}
}

long do_mlockall(struct mm_struct *mm, uint64_t flags)
{
	if (!flags || (flags & ~(uint64_t)(MCL_CURRENT_ | MCL_FUTURE_ | MCL_ONFAULT_)) ||
	    flags == MCL_ONFAULT_)
		return -EINVAL;
	apply_mlockall_flags(mm, flags);
	if (flags & MCL_CURRENT_)
		mm_populate(mm, 0, TASK_SIZE); /* errors ignored */
	return 0;
}

long do_munlockall(struct mm_struct *mm)
{
	apply_mlockall_flags(mm, 0);
	return 0;
}
