/*
 * mremap, after mm/mremap.c: the syscall's checks, move_vma and the PTE
 * move under it (move_page_tables).
 */
#include "internal.h"

/*
 * get_extent: how far the move can go from old_addr in one step: to the
 * end of the PTE table old_addr is in, of the one new_addr is in, or of
 * the range, whichever comes first.
 */
static uint64_t get_extent(uint64_t old_addr, uint64_t old_end, uint64_t new_addr)
{
	uint64_t extent = pmd_addr_end(old_addr, old_end) - old_addr;

	return MIN(extent, ((new_addr + PMD_SIZE) & PMD_MASK) - new_addr);
}

/* move_ptes: the PTEs of [old_addr, old_end) from old_pte on move to new_pte on. */
static void move_ptes(pte_t *old_pte, uint64_t old_addr, uint64_t old_end, pte_t *new_pte)
{
	for (; old_addr < old_end; old_addr += PAGE_SIZE, old_pte++, new_pte++) {
		pte_t pte = *old_pte;

		if (pte_none(pte))
			continue;
		pte_clear(old_pte);
		set_pte(new_pte, pte);
	}
}

/* Does [ptep, +n) hold a PTE to move? */
static bool ptes_to_move(const pte_t *ptep, uint64_t n)
{
	for (; n; n--, ptep++)
		if (!pte_none(*ptep))
			return true;
	return false;
}

/*
 * move_page_tables (mm/mremap.c): move the PTEs of [old_addr, +len) of vma
 * to new_addr in new_vma, a PTE table's extent at a time.  The
 * destination's table is allocated before anything of the extent moves
 * (alloc_new_pmd, pte_alloc); if it cannot be, the move stops there.
 * Returns how many bytes were moved: len, or less when a table could not
 * be allocated (move_vma then moves them back).  The pages keep their
 * index (mremap keeps vm_pgoff), so their rmap stays right.
 *
 * Divergence: the kernel moves a whole PTE table when an extent is a
 * whole aligned PMD (move_pgt_entry, CONFIG_HAVE_MOVE_PMD), and allocates
 * the destination's table for every extent whose source table exists; the
 * model moves PTE by PTE, into a table allocated only for an extent that
 * has PTEs to move, so VmPTE may differ.
 */
uint64_t move_page_tables(struct vm_area_struct *vma, uint64_t old_addr,
			  struct vm_area_struct *new_vma, uint64_t new_addr, uint64_t len)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t old_end = old_addr + len, extent;

	(void)new_vma;
	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		pte_t *old_pte, *new_pte;

		extent = get_extent(old_addr, old_end, new_addr);
		old_pte = pte_offset(mm, old_addr);
		if (old_pte == NULL || !ptes_to_move(old_pte, extent >> PAGE_SHIFT))
			continue;
		new_pte = pte_alloc(mm, new_addr);
		if (new_pte == NULL)
			break;
		move_ptes(old_pte, old_addr, old_addr + extent, new_pte);
	}
	mmu_notifier_invalidate(mm, old_end - len, old_end);
	return len - (old_end - old_addr); /* how much was moved */
}

/*
 * move_vma: move [old_addr, +old_len) of vma to new_addr, new_len long.
 * The old range is unmapped afterwards unless MREMAP_DONTUNMAP, which
 * leaves it mapped and empty.  The commit charge moves with the pages.
 * Returns new_addr or -errno.  When the page tables cannot all be moved,
 * what was moved goes back (the source's tables are still there, so that
 * cannot fail) and the new range is unmapped instead of the old: -ENOMEM,
 * the source as it was (move_vma's error path in the kernel).
 *
 * The pages move with their PTEs (move_page_tables touches no rmap), and
 * so does their mlock state: a VM_LOCKED source's pages arrive mlocked in
 * its VM_LOCKED copy.
 */
static long move_vma(struct vm_area_struct *vma, uint64_t old_addr, uint64_t old_len,
		     uint64_t new_len, uint64_t new_addr, uint64_t flags)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t vm_flags = vma->vm_flags;
	uint64_t new_pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	struct vm_area_struct *new_vma;
	uint64_t moved_len, hiwater_vm, vm_start, vm_end;
	long ret = (long)new_addr, err;

	if (mm->map_count >= sysctl_max_map_count - 3)
		return -ENOMEM;
	new_vma = copy_vma(vma, new_addr, new_len, new_pgoff);
	if (new_vma == NULL)
		return -ENOMEM;
	vma = find_vma(mm, old_addr); /* a merge may have moved it */
	moved_len = move_page_tables(vma, old_addr, new_vma, new_addr, MIN(old_len, new_len));
	if (moved_len < MIN(old_len, new_len)) {
		move_page_tables(new_vma, new_addr, vma, old_addr, moved_len);
		ret = -ENOMEM;
		vma = new_vma;
		old_addr = new_addr;
		old_len = new_len;
	}
	/*
	 * The new range is accounted, then the one unmapped below unaccounted.
	 * total_vm is too high for a moment: move_vma saves hiwater_vm here
	 * and restores it once the old range is gone, so that VmPeak does not
	 * keep the double count.  (The kernel raises hiwater_vm only at
	 * munmap, update_hiwater_vm, and VmPeak shows the larger of the two;
	 * the model's vm_stat_account raises it at once, so the restored
	 * value keeps total_vm's.)
	 */
	hiwater_vm = mm->hiwater_vm;
	if (vm_flags & VM_ACCOUNT)
		vm_committed_as += (int64_t)(new_len >> PAGE_SHIFT);
	vm_stat_account(mm, vm_flags, (int64_t)(new_len >> PAGE_SHIFT));
	if (ret >= 0 && (flags & MREMAP_DONTUNMAP_)) {
		/*
		 * The old range stays, empty.  The source VMA loses its lock
		 * flags whole, unsplit (move_vma: vm_flags_clear on the VMA;
		 * observed on the host), with no mlock_vma_pages_range walk:
		 * the pages it still maps outside the range stay mlocked
		 * (MLOCK-PAGE-1).  Divergence: the kernel leaves locked_vm as
		 * it was; dupmm keeps it equal to the locked VMAs' pages.
		 */
		vma->vm_flags &= ~VM_LOCKED_MASK;
		/*
		 * move_vma: a source VMA moved whole keeps no page, so it lets
		 * its anon_vmas go (and fork then copies none of its PTEs:
		 * observed, a zero-page PTE faulted in afterwards stays the
		 * parent's).
		 */
		if (new_vma != vma && vma->vm_start == old_addr &&
		    vma->vm_end == old_addr + old_len)
			unlink_anon_vmas(vma);
		/* the destination may have merged into the source: recount */
		mm->locked_vm = 0;
		for (struct vm_area_struct *v = vma_first(mm); v; v = vma_next(mm, v))
			if (v->vm_flags & VM_LOCKED)
				mm->locked_vm += vma_pages(v);
		mm->hiwater_vm = MAX(hiwater_vm, mm->total_vm);
		return (long)new_addr;
	}
	/*
	 * old_len 0 (a second mapping of shared memory): nothing to unmap.
	 * The kernel's munmap of 0 bytes fails and move_vma ignores it
	 * (observed: mremap(shm, 0, n, MAYMOVE|FIXED, to) succeeds).
	 *
	 * When the unmap fails (a split short of memory), move_vma keeps both
	 * ranges and still returns new_addr ("OOM: unable to split vma, just
	 * get accounts right"): the old range stays mapped, empty where the
	 * pages left it.  The kernel had cleared VM_ACCOUNT on the old VMA
	 * before the unmap, so that the unmap would not uncharge what moved,
	 * and restores it on the pieces left around the range only after a
	 * successful one; after a failed one the old VMA, and any piece a
	 * first split made, keep no VM_ACCOUNT, and the old range's charge is
	 * taken again (vm_acct_memory).  The model charged the new range
	 * whole above and the unmap uncharges nothing, which leaves the same
	 * vm_committed_as.
	 */
	vm_start = vma->vm_start;
	vm_end = vma->vm_end;
	err = old_len ? do_vmi_munmap(mm, old_addr, old_len) : 0;
	if (err && (vm_flags & VM_ACCOUNT) && !(flags & MREMAP_DONTUNMAP_)) {
		for (struct vm_area_struct *v = find_vma(mm, vm_start); v && v->vm_start < vm_end;
		     v = vma_next(mm, v))
			v->vm_flags &= ~VM_ACCOUNT;
	}
	if (vm_flags & VM_LOCKED)
		mm->locked_vm += new_len >> PAGE_SHIFT;
	mm->hiwater_vm = MAX(hiwater_vm, mm->total_vm);
	return ret;
}

/* vma_to_resize: the VMA holding [addr, addr+old_len), checked for growth. */
static struct vm_area_struct *vma_to_resize(struct mm_struct *mm, uint64_t addr, uint64_t old_len,
					    uint64_t new_len, uint64_t flags, long *err)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	*err = -EFAULT;
	if (vma == NULL || vma->vm_start > addr)
		return NULL;
	if (!old_len && !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE))) {
		*err = -EINVAL;
		return NULL;
	}
	if ((flags & MREMAP_DONTUNMAP_) && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP))) {
		*err = -EINVAL;
		return NULL;
	}
	/* We can't remap across vm area boundaries */
	if (old_len > vma->vm_end - addr)
		return NULL;
	if (new_len == old_len)
		return vma;
	if (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP))
		return NULL;
	if (!may_expand_vm(mm, vma->vm_flags, (new_len - old_len) >> PAGE_SHIFT)) {
		*err = -ENOMEM;
		return NULL;
	}
	return vma;
}

/*
 * remap_move (6.17+): a move that does not resize (MREMAP_FIXED, equal
 * lengths) takes every VMA in [addr, addr+len) along, each to the same
 * offset from new_addr; each piece replaces only its own destination, so
 * what lies opposite a hole stays.  Observed on the 6.18 host: moving a
 * range that runs past its VMA's end succeeds (older kernels: EFAULT),
 * and the target opposite the hole is kept.
 */
static long remap_move(struct mm_struct *mm, uint64_t addr, uint64_t len, uint64_t new_addr,
		       uint64_t flags)
{
	uint64_t cur = addr, end = addr + len;
	struct vm_area_struct *vma;

	while (cur < end && (vma = find_vma(mm, cur)) != NULL && vma->vm_start < end) {
		uint64_t a = MAX(cur, vma->vm_start), l = MIN(end, vma->vm_end) - a;
		long err;

		if ((flags & MREMAP_DONTUNMAP_) && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
			return -EINVAL;
		err = do_vmi_munmap(mm, new_addr + (a - addr), l);
		if (err)
			return err;
		vma = find_vma(mm, a);
		err = move_vma(vma, a, l, l, new_addr + (a - addr), flags);
		if (err < 0)
			return err;
		cur = a + l;
	}
	return (long)new_addr;
}

static long mremap_to(struct mm_struct *mm, uint64_t addr, uint64_t old_len, uint64_t new_addr,
		      uint64_t new_len, uint64_t flags)
{
	struct vm_area_struct *vma;
	uint64_t map_flags = 0;
	long err;

	/* new_addr is checked by do_mremap (check_mremap_params) */
	/*
	 * check_prep_vma: the source VMA is checked before anything is
	 * unmapped (observed: a move that fails with EFAULT leaves the target
	 * and the old tail in place).  A move-only remap may span VMAs.
	 */
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start <= addr) {
		if (!old_len && !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
			return -EINVAL;
		if ((flags & MREMAP_DONTUNMAP_) && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
			return -EINVAL;
		/* a shrinking move is checked at its shrunk length */
		if (!((flags & MREMAP_FIXED_) && old_len == new_len) &&
		    MIN(old_len, new_len) > vma->vm_end - addr)
			return -EFAULT;
		if (new_len > old_len && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
			return -EFAULT;
	}
	if ((flags & MREMAP_FIXED_) && old_len == new_len)
		return remap_move(mm, addr, old_len, new_addr, flags);
	if (flags & MREMAP_FIXED_) {
		err = do_vmi_munmap(mm, new_addr, new_len);
		if (err)
			return err;
	}
	if (old_len > new_len) {
		err = do_vmi_munmap(mm, addr + new_len, old_len - new_len);
		if (err)
			return err;
		old_len = new_len;
	}
	vma = vma_to_resize(mm, addr, old_len, new_len, flags, &err);
	if (vma == NULL)
		return err;
	if (flags & MREMAP_FIXED_)
		map_flags |= MAP_FIXED_;
	if (!(flags & MREMAP_FIXED_)) {
		int64_t r = (int64_t)get_unmapped_area(mm, new_addr, new_len, map_flags);

		if (r < 0)
			return r;
		new_addr = (uint64_t)r;
	}
	err = move_vma(vma, addr, old_len, new_len, new_addr, flags);
	/* a locked mapping that grew is populated (mremap's mm_populate) */
	if (err >= 0 && new_len > old_len && (vma = find_vma(mm, new_addr)) &&
	    (vma->vm_flags & VM_LOCKED))
		mm_populate(mm, new_addr + old_len, new_len - old_len);
	return err;
}

/* vma_expandable: nothing in the way of growing vma by delta in place. */
static bool vma_expandable(struct mm_struct *mm, struct vm_area_struct *vma, uint64_t delta)
{
	struct vm_area_struct *next = vma_next(mm, vma);
	uint64_t end = vma->vm_end + delta;

	if (end < vma->vm_end || end > TASK_SIZE)
		return false;
	return next == NULL || next->vm_start >= end;
}

long do_mremap(struct mm_struct *mm, uint64_t addr, uint64_t old_len, uint64_t new_len,
	       uint64_t flags, uint64_t new_addr)
{
	struct vm_area_struct *vma;
	long err;

	if (flags & ~(uint64_t)(MREMAP_FIXED_ | MREMAP_MAYMOVE_ | MREMAP_DONTUNMAP_))
		return -EINVAL;
	if ((flags & MREMAP_FIXED_) && !(flags & MREMAP_MAYMOVE_))
		return -EINVAL;
	if ((flags & MREMAP_DONTUNMAP_) && (!(flags & MREMAP_MAYMOVE_) || old_len != new_len))
		return -EINVAL;
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	if (!new_len)
		return -EINVAL;
	/*
	 * check_mremap_params (6.15+): everything about new_addr is checked
	 * before the VMA is looked up (observed on the 6.18 host: an
	 * overlapping move of an unmapped range is EINVAL, not EFAULT).
	 */
	if (flags & (MREMAP_FIXED_ | MREMAP_DONTUNMAP_)) {
		if (new_addr & ~PAGE_MASK)
			return -EINVAL;
		if (new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len)
			return -EINVAL;
		if (addr + old_len > new_addr && new_addr + new_len > addr)
			return -EINVAL;
	}
	vma = find_vma(mm, addr);
	if (vma == NULL || vma->vm_start > addr)
		return -EFAULT;
	if (flags & (MREMAP_FIXED_ | MREMAP_DONTUNMAP_))
		return mremap_to(mm, addr, old_len, new_addr, new_len, flags);
	/* Always allow a shrinking remap: that just unmaps the unnecessary pages. */
	if (old_len >= new_len) {
		err = do_vmi_munmap(mm, addr + new_len, old_len - new_len);
		if (err && old_len != new_len)
			return err;
		return (long)addr;
	}
	vma = vma_to_resize(mm, addr, old_len, new_len, flags, &err);
	if (vma == NULL)
		return err;
	if (old_len == vma->vm_end - addr && vma_expandable(mm, vma, new_len - old_len)) {
		uint64_t delta = new_len - old_len, pages = delta >> PAGE_SHIFT;

		/* vma_merge_extend: vma is prev of the new range; next may join too */
		vma = vma_merge_new_range(mm, vma->vm_end, vma->vm_end + delta, vma->vm_flags,
					  vma->vm_file, linear_page_index(vma, vma->vm_end),
					  vma->anon_vma, NULL);
		if (vma == NULL)
			return -ENOMEM;
		if (vma->vm_flags & VM_ACCOUNT)
			vm_committed_as += (int64_t)pages;
		vm_stat_account(mm, vma->vm_flags, (int64_t)pages);
		if (vma->vm_flags & VM_LOCKED) {
			mm->locked_vm += pages;
			mm_populate(mm, addr + old_len, delta);
		}
		return (long)addr;
	}
	if (!(flags & MREMAP_MAYMOVE_))
		return -ENOMEM;
	{
		int64_t r = (int64_t)get_unmapped_area(
			mm, 0, new_len, (vma->vm_flags & VM_MAYSHARE) ? MAP_SHARED_ : 0);

		if (r < 0)
			return r;
		new_addr = (uint64_t)r;
	}
	err = move_vma(vma, addr, old_len, new_len, new_addr, flags);
	if (err >= 0 && (vma = find_vma(mm, new_addr)) && (vma->vm_flags & VM_LOCKED))
		mm_populate(mm, new_addr + old_len, new_len - old_len);
	return err;
}
