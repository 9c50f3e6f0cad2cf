/*
 * Faulting user pages in on the kernel's behalf, after mm/gup.c:
 * follow_page_pte's FOLL_TOUCH (gup_touch), faultin_page_range
 * (MADV_POPULATE_READ/WRITE), populate_vma_page_range and __mm_populate
 * (MAP_POPULATE, mlock, mlockall, brk and mremap of locked memory).
 *
 * GUP is not a CPU access: a page it finds mapped as needed is touched
 * through its struct page, not through the PTE's accessed and dirty bits.
 */
#include "internal.h"

/*
 * gup_touch (follow_page_pte with FOLL_TOUCH): GUP finds the page
 * already mapped as the access needs, faults nothing, and for a write
 * marks the page dirty, not the PTE (observed: a shmem page populated
 * for writing through a writable clean PTE shows dirty in a child that
 * maps it later).  false: GUP must fault.
 */
bool gup_touch(struct vm_area_struct *vma, uint64_t addr, bool write)
{
	pte_t *ptep = pte_offset(vma->vm_mm, addr);
	struct page *page;

	if (ptep == NULL || !pte_present(*ptep) || (write && !pte_write(*ptep)))
		return false;
	if (write && !pte_dirty(*ptep) && (page = vm_normal_page(vma, addr, *ptep)) != NULL)
		folio_mark_dirty(page);
	return true;
}

/*
 * faultin_page_range: fault [start, end) in as MADV_POPULATE_READ/WRITE
 * do, like a read or write access through GUP, without FOLL_FORCE.
 * Returns the number of pages, all of them, or -errno at the first page
 * that fails: -ENOMEM for a hole or OOM, -EINVAL for a VMA without the
 * permission (PROT_NONE, write-only for a read) or a VM_IO/PFNMAP one,
 * -EFAULT for a fault that would signal (a guard, SIGBUS).  All observed.
 *
 * Divergence: the kernel's __get_user_pages returns the pages done before
 * the failing one, and madvise_populate calls it again from there, which
 * faults that page a second time before reporting its error; the model
 * reports the error at once (the same outcome, one PGFAULT event fewer).
 */
static long __faultin_page_range(struct mm_struct *mm, uint64_t start, uint64_t end, bool write)
{
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		struct vm_area_struct *vma = find_vma(mm, a);

		if (vma == NULL || vma->vm_start > a)
			return -ENOMEM;
		if (vma->vm_flags & (VM_IO | VM_PFNMAP))
			return -EINVAL;
		if (!(vma->vm_flags & (write ? VM_WRITE : VM_READ)))
			return -EINVAL;
		/* GUP, not a CPU access: a write it need not fault dirties the page, not the PTE */
		if (!gup_touch(vma, a, write)) {
			int ret = handle_mm_fault(vma, a, write ? FAULT_FLAG_WRITE : 0);

			if (ret)
				return (ret & VM_FAULT_OOM) ? -ENOMEM : -EFAULT;
		}
	}
	return (long)((end - start) >> PAGE_SHIFT);
}

long faultin_page_range(struct mm_struct *mm, uint64_t start, uint64_t end, bool write)
{
	long ret = __faultin_page_range(mm, start, end, write);

	lru_add_drain(); /* faultin_page_range: after GUP, whatever it returned (observed) */
	return ret;
}

/*
 * populate_vma_page_range: fault in [start, end) of vma, which it must
 * lie in.  Writable private mappings are write-faulted to break COW up
 * front, others read-faulted; VM_LOCKONFAULT VMAs have nothing to do.
 * Returns 0, or at the first fault that fails (a guard marker, SIGBUS
 * past a shmem object's end, OOM) -EFAULT or -ENOMEM, the pages before it
 * populated and none after.
 */
static int populate_vma_page_range(struct vm_area_struct *vma, uint64_t start, uint64_t end)
{
	bool write = (vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
	int ret = 0;

	/* "the VM_LOCKONFAULT case has never used faultin_page() to break COW" */
	if (vma->vm_flags & VM_LOCKONFAULT)
		return 0;
	/*
	 * PROT_NONE: populate_vma_page_range gives FOLL_FORCE only to
	 * accessible VMAs, so GUP fails here (observed: mlock of a
	 * PROT_NONE range is ENOMEM; MAP_POPULATE ignores it).
	 */
	if (!(vma->vm_flags & VM_ACCESS_FLAGS))
		return -EFAULT;
	for (uint64_t a = start; a < end && ret == 0; a += PAGE_SIZE)
		if (!gup_touch(vma, a, write))
			ret = handle_mm_fault(vma, a, write ? FAULT_FLAG_WRITE : 0);
	/*
	 * lru_add_drain() after GUP, failed or not (observed: MAP_POPULATE,
	 * mlock and the populate of a locked brk, mremap or mprotect settle a
	 * pending MADV_FREE; a LOCKONFAULT or PROT_NONE VMA, returned from
	 * above, does not).
	 */
	lru_add_drain();
	if (ret)
		return (ret & VM_FAULT_OOM) ? -ENOMEM : -EFAULT;
	return 0;
}

/*
 * __mm_populate: fault in [start, start+len) as MAP_POPULATE, mlock and
 * mlockall do, VMA by VMA; VM_IO/PFNMAP VMAs are skipped.  A VMA whose
 * population fails stops there: with ignore_errors (MAP_POPULATE,
 * mlockall, brk: mm_populate) the walk goes on with the next VMA; without
 * (mlock) it returns -EFAULT or -ENOMEM, which mlock reports as ENOMEM or
 * EAGAIN.  Observed: mlock over a guard page gives ENOMEM, the pages
 * before the guard populated and none after.
 */
int __mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len, bool ignore_errors)
{
	uint64_t end = start + len;

	if (len == 0)
		return 0; /* observed: mlock(addr, 0) in a PROT_NONE VMA is 0 */

	for (struct vm_area_struct *vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = vma_next(mm, vma)) {
		int ret;

		if (vma->vm_flags & (VM_IO | VM_PFNMAP))
			continue;
		ret = populate_vma_page_range(vma, MAX(start, vma->vm_start),
					      MIN(end, vma->vm_end));
		if (ret && !ignore_errors)
			return ret;
	}
	return 0;
}
