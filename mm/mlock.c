/*
 * mlock, munlock, mlockall, munlockall, after mm/mlock.c.
 *
 * The model runs as root (CAP_IPC_LOCK): no RLIMIT_MEMLOCK check.  Locked
 * pages are never reclaimed in dupmm anyway (there is no reclaim), so
 * VM_LOCKED matters for what it changes: faulting pages in, Locked and
 * VmLck, merge rules, and that fork drops it.
 */
#include "internal.h"

/*
 * mlock_fixup: set the lock flags of [start, end) of vma.  Special VMAs
 * (VM_IO, PFN maps), and VM_DROPPABLE, are left alone and not counted.
 */
static int mlock_fixup(struct vm_area_struct *vma, struct vm_area_struct **prev,
		       uint64_t start, uint64_t end, uint64_t newflags)
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
	vma->vm_flags = newflags | (vma->vm_flags & VM_STICKY);
	/*
	 * mlock_vma_pages_range, unless it stays VM_LOCKED (no work to do):
	 * lru_add_drain() before and after its walk.  Observed: mlock,
	 * mlock2(MLOCK_ONFAULT) and munlock of a locked range settle a
	 * pending MADV_FREE; munlock of an unlocked range does not.
	 */
	if (!((newflags & VM_LOCKED) && (oldflags & VM_LOCKED)))
		lru_add_drain();
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

		if (vma->vm_start != tmp)	/* a hole */
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
		mm_populate(mm, 0, TASK_SIZE);	/* errors ignored */
	return 0;
}

long do_munlockall(struct mm_struct *mm)
{
	apply_mlockall_flags(mm, 0);
	return 0;
}
