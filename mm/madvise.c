/*
 * madvise, after mm/madvise.c (6.17/6.18 text).
 *
 * do_madvise validates, then walks the VMAs of the range
 * (madvise_walk_vmas): a hole is remembered as ENOMEM and the walk goes on,
 * the first real error stops it, and VMAs already handled stay changed.
 * Behaviours that change vm_flags go through madvise_update_vma, which
 * merges or splits like mprotect; the others never split.
 */
#include "internal.h"

static bool madvise_behavior_valid(int behavior)
{
	/*
	 * Divergence: MADV_COLLAPSE (a synchronous khugepaged collapse into
	 * THPs), MADV_HWPOISON and MADV_SOFT_OFFLINE (memory-failure
	 * injection, for CAP_SYS_ADMIN) are valid advice to the kernel; the
	 * model has no THPs and no memory failure and refuses them (EINVAL).
	 */
	switch (behavior) {
	case MADV_NORMAL_:
	case MADV_RANDOM_:
	case MADV_SEQUENTIAL_:
	case MADV_WILLNEED_:
	case MADV_DONTNEED_:
	case MADV_FREE_:
	case MADV_REMOVE_:
	case MADV_DONTFORK_:
	case MADV_DOFORK_:
	case MADV_MERGEABLE_:
	case MADV_UNMERGEABLE_:
	case MADV_HUGEPAGE_:
	case MADV_NOHUGEPAGE_:
	case MADV_DONTDUMP_:
	case MADV_DODUMP_:
	case MADV_WIPEONFORK_:
	case MADV_KEEPONFORK_:
	case MADV_COLD_:
	case MADV_PAGEOUT_:
	case MADV_POPULATE_READ_:
	case MADV_POPULATE_WRITE_:
	case MADV_DONTNEED_LOCKED_:
	case MADV_GUARD_INSTALL_:
	case MADV_GUARD_REMOVE_: return true;
	default: return false;
	}
}

/*
 * madvise_update_vma: set new_flags on [start, end) of vma.  No change
 * means no split and no merge attempt.  A split refused for want of
 * memory or at max_map_count is EAGAIN here (mprotect says ENOMEM).
 */
static int madvise_update_vma(struct vm_area_struct *vma, struct vm_area_struct **prev,
			      uint64_t start, uint64_t end, uint64_t new_flags)
{
	int err;

	if (new_flags == vma->vm_flags) {
		*prev = vma;
		return 0;
	}
	vma = vma_modify_flags(*prev, vma, start, end, new_flags, &err);
	if (vma == NULL)
		return err == -ENOMEM ? -EAGAIN : err;
	*prev = vma;
	vma->vm_flags = new_flags | (vma->vm_flags & VM_STICKY);
	return 0;
}

/* The behaviours that only change vm_flags: the new flags, or -errno. */
static int64_t madvise_new_flags(struct vm_area_struct *vma, int behavior)
{
	uint64_t f = vma->vm_flags;

	switch (behavior) {
	case MADV_NORMAL_: return (int64_t)(f & ~(VM_RAND_READ | VM_SEQ_READ));
	case MADV_SEQUENTIAL_: return (int64_t)((f & ~VM_RAND_READ) | VM_SEQ_READ);
	case MADV_RANDOM_: return (int64_t)((f & ~VM_SEQ_READ) | VM_RAND_READ);
	case MADV_DONTFORK_: return (int64_t)(f | VM_DONTCOPY);
	case MADV_DOFORK_:
		if (f & VM_IO)
			return -EINVAL;
		return (int64_t)(f & ~VM_DONTCOPY);
	case MADV_WIPEONFORK_:
		/* MADV_WIPEONFORK is only supported on anonymous memory. */
		if (vma->vm_file || (f & VM_SHARED))
			return -EINVAL;
		return (int64_t)(f | VM_WIPEONFORK);
	case MADV_KEEPONFORK_:
		if (f & VM_DROPPABLE)
			return -EINVAL;
		return (int64_t)(f & ~VM_WIPEONFORK);
	case MADV_DONTDUMP_: return (int64_t)(f | VM_DONTDUMP);
	case MADV_DODUMP_:
		if ((f & VM_SPECIAL) || (f & VM_DROPPABLE))
			return -EINVAL;
		return (int64_t)(f & ~VM_DONTDUMP);
	case MADV_HUGEPAGE_: return (int64_t)((f & ~VM_NOHUGEPAGE) | VM_HUGEPAGE);
	case MADV_NOHUGEPAGE_: return (int64_t)((f & ~VM_HUGEPAGE) | VM_NOHUGEPAGE);
	case MADV_MERGEABLE_:
		/*
		 * ksm_madvise: silently not for shared, special or droppable
		 * VMAs.  Divergence: no KSM: the flag is set and nothing else;
		 * the kernel's ksmd, when it runs (run=0 by default, as on the
		 * host), merges identical pages of such VMAs into shared
		 * read-only ones.
		 */
		if (f & (VM_MERGEABLE | VM_SHARED | VM_MAYSHARE | VM_SPECIAL | VM_HUGETLB |
			 VM_DROPPABLE))
			return (int64_t)f;
		return (int64_t)(f | VM_MERGEABLE);
	case MADV_UNMERGEABLE_: return (int64_t)(f & ~VM_MERGEABLE);
	}
	return -EINVAL;
}

/* The normal page mapped at addr in vma, with its PTE in *ptepp; NULL if none. */
static struct page *mapped_page(struct vm_area_struct *vma, uint64_t addr, pte_t **ptepp)
{
	pte_t *ptep = pte_offset(vma->vm_mm, addr);

	*ptepp = ptep;
	if (ptep == NULL || !pte_present(*ptep))
		return NULL;
	return vm_normal_page(vma, addr, *ptep);
}

/*
 * madvise_free_single_vma: clean the PTEs, queue the pages as lazily
 * freeable (folio_mark_lazyfree, mm/swap.c): they count as LazyFree once
 * the batch drains, which the next drain point does (observed: 4 pages
 * freed show LazyFree 0 until, say, a MADV_FREE of another mapping).
 */
static int madvise_free(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	if (!vma_is_anonymous(vma) || (vma->vm_flags & (VM_LOCKED | VM_PFNMAP)))
		return -EINVAL;
	/*
	 * madvise_free_single_vma: lru_add_drain() before the walk, for each
	 * VMA, so a call over two VMAs settles the first one's pages when it
	 * comes to the second (observed).
	 */
	lru_add_drain();
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		pte_t *ptep;
		struct page *page = mapped_page(vma, a, &ptep);

		if (page == NULL || !PageAnon(page))
			continue;
		if ((page->flags & PG_dirty) && page->mapcount > 1)
			continue; /* folio_maybe_mapped_shared */
		page->flags &= ~PG_dirty;
		*ptep = pte_mkold(pte_mkclean(*ptep));
		folio_mark_lazyfree(page);
	}
	mmu_notifier_invalidate(vma->vm_mm, start, end);
	return 0;
}

/*
 * madvise_pageout (madvise_cold_or_pageout_pte_range, then reclaim_pages
 * and shrink_folio_list): reclaim the range's pages that reclaim can free
 * without swap (the host has none, nor does the model).  The per-CPU
 * batches drain first (lru_add_drain), so a MADV_FREE'd page is lazyfree
 * by then.  Pages other processes map are left alone
 * (folio_maybe_mapped_shared).  A lazyfree page whose PTE is still clean
 * is discarded, and reads zeroes next (observed); one written since is
 * swap-backed again and stays.  A page-cache page (file or shmem) is
 * unmapped, and dropped from the cache if clean.  An mlocked page stays.
 *
 * Divergence: no swap, and no reclaim beyond this: the kernel swaps
 * anonymous swap-backed pages and dirty shmem pages out where it has swap
 * (the host has none); the model leaves them mapped, as a kernel without
 * swap does.
 */
static int madvise_pageout(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	/*
	 * madvise_pageout: lru_add_drain() before the walk (after the
	 * can_do_file_pageout test, which root, as dupmm-hostrun runs,
	 * always passes).
	 */
	lru_add_drain();
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		pte_t *ptep;
		struct page *page = mapped_page(vma, a, &ptep);

		if (page == NULL || page->mapcount != 1)
			continue;
		/*
		 * shrink_folio_list: an mlocked page is not evictable
		 * (folio_evictable) and goes back to the LRU as it was, mapped,
		 * whatever its kind: one MREMAP_DONTUNMAP left in its source
		 * VMA, which is not VM_LOCKED any more (MLOCK-PAGE-1).
		 */
		if (!folio_evictable(page))
			continue;
		if (PageAnon(page)) {
			if (page->flags & PG_swapbacked) {
				mm_note_simplification(
					SIMPL_NO_SWAP); /* DIV-NO-SWAP: it would be swapped */
				continue;
			}
			/* try_to_unmap_one: redirtied, it cannot be discarded, unless droppable */
			if ((pte_dirty(*ptep) || (page->flags & PG_dirty)) &&
			    !(vma->vm_flags & VM_DROPPABLE)) {
				page->flags |= PG_swapbacked;
				continue;
			}
			zap_page_range_single(vma, a, a + PAGE_SIZE, true);
		} else {
			/*
			 * Page cache (file or shmem): try_to_unmap takes it out of
			 * the page table (the PTE's dirty bit goes to the page);
			 * clean, it leaves the cache; dirty, it stays there, as
			 * shmem has no swap to go to (observed: Rss 0, the bytes
			 * still there).
			 */
			zap_page_range_single(vma, a, a + PAGE_SIZE, true);
			if (page->mapcount == 0 && !(page->flags & PG_dirty))
				filemap_remove_page(page);
			else if (page->mapcount == 0 && page_mapping(page)->shmem)
				mm_note_simplification(
					SIMPL_NO_SWAP); /* DIV-NO-SWAP: it would be swapped */
		}
	}
	mmu_notifier_invalidate(vma->vm_mm, start, end);
	return 0;
}

static int madvise_dontneed(struct vm_area_struct *vma, uint64_t start, uint64_t end, int behavior)
{
	if (vma->vm_flags & VM_PFNMAP)
		return -EINVAL;
	if ((vma->vm_flags & VM_LOCKED) && behavior != MADV_DONTNEED_LOCKED_)
		return -EINVAL;
	zap_page_range_single(vma, start, end, true);
	return 0;
}

/* MADV_REMOVE: punch a hole in shared memory (page cache dropped too). */
static int madvise_remove(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	struct address_space *mapping;
	bool drained = false;

	if (vma->vm_flags & VM_LOCKED)
		return -EINVAL;
	if (!vma->vm_file)
		return -EINVAL;
	/*
	 * vma_is_shared_maywrite: may-write suffices (observed: PROT_NONE shmem
	 * is fine); a private file mapping is EACCES, not EINVAL (observed).
	 */
	if ((vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE))
		return -EACCES;
	mapping = vma->vm_file->f_mapping;
	/*
	 * vfs_fallocate(PUNCH_HOLE): a file's range reads zeroes from now on
	 * (observed on the host).  Divergence: mm/ does no I/O, so the mapping
	 * remembers the holes and fills such pages with zeroes instead of
	 * reading them; the file on disk is never changed (DIV-REMOVE-FILE).
	 */
	if (!mapping->shmem) {
		if (mapping->holes == NULL)
			mapping->holes = g_hash_table_new(g_direct_hash, g_direct_equal);
		for (uint64_t pg = linear_page_index(vma, start); pg < linear_page_index(vma, end);
		     pg++)
			g_hash_table_add(mapping->holes, GSIZE_TO_POINTER(pg));
	}
	/*
	 * Every mapping of the range loses the page-cache pages
	 * (unmap_mapping_range without even_cows: a private mapping keeps its
	 * own copies), then the cache does.
	 */
	for (uint64_t pg = linear_page_index(vma, start); pg < linear_page_index(vma, end); pg++) {
		gpointer v;
		struct vm_area_struct *m;

		if (!g_hash_table_lookup_extended(mapping->i_pages, GSIZE_TO_POINTER(pg), NULL, &v))
			continue;
		/*
		 * The truncation (shmem_undo_range, truncate_inode_pages_range)
		 * releases the cached pages it found with folio_batch_release,
		 * whose first call drains (__folio_batch_release:
		 * lru_add_drain).  Observed: MADV_REMOVE of a cached shmem page
		 * settles a MADV_FREE, of an uncached one does not.
		 */
		if (!drained) {
			lru_add_drain();
			drained = true;
		}
		list_for_each_entry(m, &mapping->i_mmap, struct vm_area_struct, shared) {
			uint64_t a;
			pte_t *ptep;

			if (pg < m->vm_pgoff || pg >= m->vm_pgoff + vma_pages(m))
				continue;
			a = m->vm_start + ((pg - m->vm_pgoff) << PAGE_SHIFT);
			ptep = pte_offset(m->vm_mm, a);
			if (ptep && pte_present(*ptep) && pte_pfn(*ptep) == GPOINTER_TO_SIZE(v))
				zap_page_range_single(m, a, a + PAGE_SIZE, true);
		}
		if (pfn_to_page(GPOINTER_TO_SIZE(v))->mapcount == 0) {
			put_page(pfn_to_page(GPOINTER_TO_SIZE(v)));
			g_hash_table_remove(mapping->i_pages, GSIZE_TO_POINTER(pg));
		}
	}
	return 0;
}

static bool is_valid_guard_vma(const struct vm_area_struct *vma, bool allow_locked)
{
	uint64_t disallowed = VM_SPECIAL | VM_HUGETLB;

	if (!allow_locked)
		disallowed |= VM_LOCKED;
	return !(vma->vm_flags & disallowed);
}

/*
 * madvise_guard_install (6.13+): replace each PTE of the range with a
 * guard marker; touching one is SIGSEGV.  No split.  6.13-6.18 prepared
 * an anon_vma so that fork would copy the markers; 6.19 (and the 6.18
 * host, which shows its "gu" flag) sets the sticky VM_MAYBE_GUARD instead,
 * which vma_needs_copy honours.  Observed: without an anon_vma, the
 * child's pieces of a guarded shmem VMA merge again after mlock.
 */
static int madvise_guard_install(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	if (!is_valid_guard_vma(vma, false))
		return -EINVAL;
	/*
	 * The flag first, then the anon_vma, in this order as in 6.19's
	 * madvise_guard_install ("mm: set the VM_MAYBE_GUARD flag on guard
	 * region install"): vma_flag_set_atomic(vma, VM_MAYBE_GUARD_BIT), then
	 * anon_vma_prepare() if vma_is_anonymous().  An anonymous VMA still
	 * gets its anon_vma: observed, a guarded VMA made read-only keeps "ac"
	 * (mprotect_fixup drops it only without an anon_vma), and a fork
	 * child's guarded VMAs no longer merge (each got its own anon_vma from
	 * anon_vma_fork).  The anon_vma may be a neighbour's: see
	 * anon_vma_compatible, which ignores VM_MAYBE_GUARD.
	 */
	vma->vm_flags |= VM_MAYBE_GUARD;
	if (vma_is_anonymous(vma) && anon_vma_prepare(vma))
		return -ENOMEM;
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		pte_t *ptep = pte_alloc(vma->vm_mm, a);

		if (ptep == NULL)
			return -ENOMEM;
		if (pte_present(*ptep))
			zap_page_range_single(vma, a, a + PAGE_SIZE, true);
		set_pte(ptep, make_pte_marker(PTE_MARKER_GUARD));
	}
	mmu_notifier_invalidate(vma->vm_mm, start, end);
	return 0;
}

static int madvise_guard_remove(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	if (!is_valid_guard_vma(vma, true))
		return -EINVAL;
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		pte_t *ptep = pte_offset(vma->vm_mm, a);

		if (ptep && pte_is_guard(*ptep))
			pte_clear(ptep);
	}
	return 0;
}

/* madvise_vma_behavior: one VMA's part [start, end) of the range. */
static int madvise_vma_behavior(struct vm_area_struct *vma, struct vm_area_struct **prev,
				uint64_t start, uint64_t end, int behavior)
{
	int64_t new_flags;

	*prev = vma;
	switch (behavior) {
	case MADV_REMOVE_: return madvise_remove(vma, start, end);
	case MADV_WILLNEED_:
		/*
		 * madvise_willneed: a file's range is read into the page cache
		 * (vfs_fadvise WILLNEED), which later faults map around.
		 * Divergence: no swap: the kernel starts swap-in of swapped-out
		 * anonymous and shmem pages; the model has none to read.
		 */
		if (vma->vm_file && !vma->vm_file->f_mapping->shmem)
			filemap_readahead(vma->vm_file->f_mapping, linear_page_index(vma, start),
					  (end - start) >> PAGE_SHIFT);
		else
			lru_add_drain(); /* madvise_willneed (CONFIG_SWAP): anon and shmem, after the swap-in walk */
		return 0;
	case MADV_COLD_:
	case MADV_PAGEOUT_:
		/* can_madv_lru_vma */
		if (vma->vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB))
			return -EINVAL;
		if (behavior == MADV_PAGEOUT_)
			return madvise_pageout(vma, start, end);
		/*
		 * madvise_cold: lru_add_drain(), then it ages the pages.
		 * Divergence: no LRU: the kernel clears the accessed bit of the
		 * PTEs of pages only this process maps and the pages'
		 * referenced and young flags, and deactivates them (smaps'
		 * Referenced drops); the model does nothing more than the drain
		 * (Referenced is not compared with the host).
		 */
		lru_add_drain();
		return 0;
	case MADV_FREE_: return madvise_free(vma, start, end);
	case MADV_DONTNEED_:
	case MADV_DONTNEED_LOCKED_: return madvise_dontneed(vma, start, end, behavior);
	case MADV_GUARD_INSTALL_: return madvise_guard_install(vma, start, end);
	case MADV_GUARD_REMOVE_: return madvise_guard_remove(vma, start, end);
	}
	new_flags = madvise_new_flags(vma, behavior);
	if (new_flags < 0)
		return (int)new_flags;
	vma = find_vma(vma->vm_mm, start); /* *prev may have been reset above */
	*prev = vma_prev(vma->vm_mm, vma);
	return madvise_update_vma(vma, prev, start, end, (uint64_t)new_flags);
}

/*
 * madvise_populate (MADV_POPULATE_READ/WRITE): fault the range in through
 * GUP (faultin_page_range) and report its errors as they are: a hole is
 * ENOMEM, a VMA without the permission EINVAL, a fault that would signal
 * EFAULT, OOM ENOMEM.
 */
static long madvise_populate(struct mm_struct *mm, uint64_t start, uint64_t end, bool write)
{
	while (start < end) {
		long pages = faultin_page_range(mm, start, end, write);

		if (pages < 0)
			return pages;
		start += (uint64_t)pages << PAGE_SHIFT;
	}
	return 0;
}

/*
 * do_madvise: validation exactly as is_valid_madvise orders it, then the
 * walk.  Returns 0 or -errno.
 */
long do_madvise(struct mm_struct *mm, uint64_t start, uint64_t len_in, int behavior)
{
	uint64_t len, end;
	struct vm_area_struct *vma, *prev;
	int unmapped_error = 0;

	if (behavior == MADV_COLLAPSE_ || behavior == MADV_HWPOISON_ ||
	    behavior == MADV_SOFT_OFFLINE_)
		mm_note_simplification(SIMPL_MADV_REFUSED);
	if (!madvise_behavior_valid(behavior))
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	len = PAGE_ALIGN(len_in);
	if (len_in && !len)
		return -EINVAL;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	if (behavior == MADV_POPULATE_READ_ || behavior == MADV_POPULATE_WRITE_)
		return madvise_populate(mm, start, end, behavior == MADV_POPULATE_WRITE_);

	vma = find_vma_prev(mm, start, &prev);
	if (vma && start > vma->vm_start)
		prev = vma;
	for (;;) {
		uint64_t tmp;
		int err;

		if (vma == NULL)
			return -ENOMEM;
		if (start < vma->vm_start) {
			unmapped_error = -ENOMEM;
			start = vma->vm_start;
			if (start >= end)
				break;
		}
		tmp = MIN(vma->vm_end, end);
		err = madvise_vma_behavior(vma, &prev, start, tmp, behavior);
		if (err)
			return err;
		start = tmp;
		if (start >= end)
			break;
		vma = find_vma(mm, start);
	}
	return unmapped_error;
}
