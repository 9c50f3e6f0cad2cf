/*
 * Secondary MMUs kept in step with the page tables, after
 * mm/mmu_notifier.c.  A secondary MMU (the Unicorn side of emu/, as KVM's
 * shadow tables are for the kernel) registers on an mm and is told when
 * the PTEs of a range change or go away, and when the mm is torn down.
 */
#include "internal.h"

void mmu_notifier_register(struct mmu_notifier *mn, struct mm_struct *mm)
{
	list_add_tail(&mn->list, &mm->notifiers);
}

void mmu_notifier_unregister(struct mmu_notifier *mn, struct mm_struct *mm)
{
	(void)mm;
	list_del(&mn->list);
}

/*
 * mmu_notifier_invalidate: PTEs of [start, end) changed; tell secondary
 * MMUs.  Divergence: one call once the change is made; the kernel calls
 * mmu_notifier_invalidate_range_start before and _end after it, so that a
 * secondary MMU can stop faulting the range in meanwhile (the model has
 * no concurrency to guard against).
 */
void mmu_notifier_invalidate(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct mmu_notifier *mn;

	list_for_each_entry(mn, &mm->notifiers, struct mmu_notifier, list)
		if (mn->ops->invalidate_range)
			mn->ops->invalidate_range(mn, mm, start, end);
}

/*
 * mmu_notifier_release (__mmu_notifier_release): the mm is being torn
 * down; exit_mmap calls it before it unmaps anything, so a secondary MMU
 * drops its mappings while the pages are still there.
 */
void mmu_notifier_release(struct mm_struct *mm)
{
	struct mmu_notifier *mn, *n;

	list_for_each_entry_safe(mn, n, &mm->notifiers, struct mmu_notifier, list)
		if (mn->ops->release)
			mn->ops->release(mn, mm);
}
