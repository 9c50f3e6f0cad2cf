/*
 * msync, after mm/msync.c.
 */
#include "internal.h"

/*
 * do_msync (mm/msync.c, SYSCALL msync): the checks and errors, VMA by VMA.
 * Divergence: no writeback: the page cache is the only copy in dupmm, so
 * MS_SYNC writes nothing and dirty pages stay dirty; the kernel writes
 * them back (vfs_fsync_range), which cleans the pages and their PTEs.
 */
long do_msync(struct mm_struct *mm, uint64_t start, uint64_t len, uint64_t flags)
{
	uint64_t end;
	struct vm_area_struct *vma;
	long unmapped_error = 0;

	if (flags & ~(uint64_t)(MS_ASYNC_ | MS_INVALIDATE_ | MS_SYNC_))
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	if ((flags & MS_ASYNC_) && (flags & MS_SYNC_))
		return -EINVAL;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end < start)
		return -ENOMEM;
	if (end == start)
		return 0;
	vma = find_vma(mm, start);
	for (;;) {
		if (vma == NULL)
			return -ENOMEM;
		if (start < vma->vm_start) {
			if (flags == MS_ASYNC_)
				return -ENOMEM;
			start = vma->vm_start;
			if (start >= end)
				return -ENOMEM;
			unmapped_error = -ENOMEM;
		}
		if ((flags & MS_INVALIDATE_) && (vma->vm_flags & VM_LOCKED))
			return -EBUSY;
		start = vma->vm_end;
		if (start >= end)
			return unmapped_error;
		vma = find_vma(mm, start);
	}
}
