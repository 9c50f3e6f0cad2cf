/*
 * mprotect, after mm/mprotect.c (do_mprotect_pkey, mprotect_fixup), and
 * the rewrite of a range's PTEs for new protection (change_protection).
 */
#include "internal.h"

/*
 * change_pte_range: the present PTEs of [addr, end), which lie in one PTE
 * table from ptep on, rebuilt for newflags.  The accessed, dirty, special
 * and soft-dirty bits stay.  can_change_pte_writable (v6.12; split into
 * can_change_private_pte_writable and can_change_shared_pte_writable in
 * 6.17, no functional change): a dirty-tracked shared page that is
 * already dirty, and a private exclusive anonymous page in a writable VMA,
 * dirty or clean, become writable at once, sparing a fault; anything else
 * waits for do_wp_page.  (A clean exclusive page is one MADV_FREE
 * cleaned; soft-dirty would want a write fault, but the host has
 * CONFIG_MEM_SOFT_DIRTY off.  MPROT-PTE-1.)
 */
static void change_pte_range(struct vm_area_struct *vma, pte_t *ptep, uint64_t addr, uint64_t end,
			     uint64_t newflags)
{
	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		pte_t old = *ptep, pte;
		struct page *page;

		if (!pte_present(old))
			continue;
		pte = mk_pte(pte_pfn(old), pte_prot_flags(vma, newflags)) |
		      (old & (_PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SPECIAL | _PAGE_SOFT_DIRTY));
		if (vma_wants_writenotify(vma, newflags) && pte_dirty(old))
			pte = pte_mkwrite(pte);
		page = vm_normal_page(vma, addr, old);
		if (!(newflags & VM_SHARED) && (newflags & VM_WRITE) && page && PageAnon(page) &&
		    (page->flags & PG_anon_exclusive))
			pte = pte_mkwrite(pte);
		*ptep = pte;
	}
}

/*
 * change_protection: rewrite the protection bits of the present PTEs in
 * [start, end) of vma for newflags, a PTE table at a time; ranges without
 * a table have nothing to change.
 */
void change_protection(struct vm_area_struct *vma, uint64_t start, uint64_t end, uint64_t newflags)
{
	struct mm_struct *mm = vma->vm_mm;

	for (uint64_t addr = start, next; addr < end; addr = next) {
		pte_t *ptep = pte_offset(mm, addr);

		next = pmd_addr_end(addr, end);
		if (ptep != NULL)
			change_pte_range(vma, ptep, addr, next, newflags);
	}
	mmu_notifier_invalidate(mm, start, end);
}

/*
 * mprotect_fixup: give [start, end) of vma the flags newflags.  Making a
 * private mapping writable charges it (VM_ACCOUNT); making a never-faulted
 * private anonymous one read-only gives the charge back, since it has no
 * pages that could need it ("without finer accounting" otherwise).
 */
static int mprotect_fixup(struct vm_area_struct *vma, struct vm_area_struct **pprev, uint64_t start,
			  uint64_t end, uint64_t newflags)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t oldflags = vma->vm_flags;
	int64_t nrpages = (int64_t)((end - start) >> PAGE_SHIFT);
	int err;

	if (newflags == oldflags) {
		*pprev = vma;
		return 0;
	}
	if (newflags & VM_WRITE) {
		if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)))
			newflags |= VM_ACCOUNT;
	} else if ((oldflags & VM_ACCOUNT) && vma_is_anonymous(vma) && !vma->anon_vma) {
		newflags &= ~VM_ACCOUNT;
	}
	vma = vma_modify_flags(*pprev, vma, start, end, newflags, &err);
	if (vma == NULL)
		return err;
	*pprev = vma;
	vma->vm_flags = newflags | (vma->vm_flags & VM_STICKY);
	change_protection(vma, start, end, newflags);
	if (!(oldflags & VM_ACCOUNT) && (newflags & VM_ACCOUNT))
		vm_committed_as += nrpages;
	if ((oldflags & VM_ACCOUNT) && !(newflags & VM_ACCOUNT))
		vm_committed_as -= nrpages;
	/* A private VM_LOCKED VMA turning writable is COW-broken at once. */
	if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED && (newflags & VM_WRITE))
		mm_populate(mm, start, end - start);
	vm_stat_account(mm, oldflags, -nrpages);
	vm_stat_account(mm, newflags, nrpages);
	return 0;
}

/*
 * do_mprotect_pkey: the checks in the kernel's order (MPROT-ARGS-1): both
 * GROWS bits, an unaligned start, length 0, a wrapping range, then prot
 * bits other than READ, WRITE, EXEC and SEM (arch_validate_prot), all
 * before the VMA lookup; after it, no VMA meeting the range is ENOMEM,
 * PROT_GROWSDOWN on a VMA that does not grow down EINVAL, a start in a
 * hole ENOMEM, and then PROT_GROWSUP EINVAL (x86 has no VM_GROWSUP, so no
 * VMA grows up).  The range must be mapped without holes (ENOMEM, after
 * changing what came before the hole); a protection the VMA may not have
 * (no VM_MAY*) is EACCES.
 */
long do_mprotect_pkey(struct mm_struct *mm, uint64_t start, uint64_t len, uint64_t prot, int pkey)
{
	uint64_t grows = prot & (PROT_GROWSDOWN_ | PROT_GROWSUP_);
	uint64_t end, nstart, tmp;
	struct vm_area_struct *vma, *prev;
	int err = 0;

	/*
	 * Divergence: no protection keys: the kernel checks pkey (EINVAL for
	 * one not allocated, -1 keeps each VMA's) and sets it in the VMA and
	 * PTEs; the model ignores it, every VMA having key 0.
	 */
	(void)pkey;
	prot &= ~grows;
	if (grows == (PROT_GROWSDOWN_ | PROT_GROWSUP_))
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	if (!len)
		return 0;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (prot & ~(uint64_t)(PROT_READ_ | PROT_WRITE_ | PROT_EXEC_ | PROT_SEM_))
		return -EINVAL; /* arch_validate_prot */

	vma = find_vma_prev(mm, start, &prev);
	if (vma == NULL || vma->vm_start >= end)
		return -ENOMEM;
	if (grows & PROT_GROWSDOWN_) {
		start = vma->vm_start;
		if (!(vma->vm_flags & VM_GROWSDOWN))
			return -EINVAL;
	} else {
		if (vma->vm_start > start)
			return -ENOMEM;
		if (grows & PROT_GROWSUP_)
			return -EINVAL; /* !(vm_flags & VM_GROWSUP): VM_GROWSUP is 0 on x86 */
	}
	if (start > vma->vm_start)
		prev = vma;
	nstart = start;
	tmp = vma->vm_start;
	for (; vma && vma->vm_start < end; vma = vma_next(mm, prev)) {
		uint64_t newflags;

		if (vma->vm_start != tmp) {
			err = -ENOMEM;
			break;
		}
		newflags = calc_vm_prot_bits(prot) | (vma->vm_flags & ~VM_ACCESS_FLAGS);
		/* newflags >> 4 puts VM_MAY* where VM_* are */
		if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
			err = -EACCES;
			break;
		}
		tmp = MIN(vma->vm_end, end);
		err = mprotect_fixup(vma, &prev, nstart, tmp, newflags);
		if (err)
			break;
		tmp = prev->vm_end;
		nstart = tmp;
	}
	if (!err && tmp < end)
		err = -ENOMEM;
	return err;
}
