/*
 * mmap, munmap and brk, stack growth, and the whole-mm operations of fork
 * and exit (dup_mmap, in kernel/fork.c until 6.15, and exit_mmap), after
 * mm/mmap.c; with the x86-64 top-down placement of
 * arch/x86/kernel/sys_x86_64.c.
 */
#include "internal.h"

/*
 * pte_prot_flags (vma_set_page_prot): the vm_flags a new PTE of vma is
 * made from, the model's vm_page_prot.  A VMA that wants write
 * notification (vma_wants_writenotify) maps its pages read-only until a
 * write fault, as vma_set_page_prot drops VM_SHARED from vm_page_prot.
 */
uint64_t pte_prot_flags(const struct vm_area_struct *vma, uint64_t vm_flags)
{
	return vma_wants_writenotify(vma, vm_flags) ? vm_flags & ~VM_SHARED : vm_flags;
}

/*
 * vm_stat_account: npages more (or fewer) mapped with flags: total_vm and
 * exactly one of exec_vm, stack_vm, data_vm (or none).
 */
void vm_stat_account(struct mm_struct *mm, uint64_t flags, int64_t npages)
{
	mm->total_vm += npages;
	if ((flags & (VM_EXEC | VM_WRITE | VM_STACK)) == VM_EXEC)
		mm->exec_vm += npages;
	else if (flags & VM_STACK)
		mm->stack_vm += npages;
	else if ((flags & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE)
		mm->data_vm += npages;
	if (mm->total_vm > mm->hiwater_vm)
		mm->hiwater_vm = mm->total_vm;
}

/*
 * may_expand_vm: may the mm map npages more with flags?  Divergence: no
 * resource limits: the kernel refuses growth past RLIMIT_AS, and of data
 * mappings past RLIMIT_DATA; the model has them unlimited and refuses
 * only what cannot fit below TASK_SIZE.
 */
bool may_expand_vm(struct mm_struct *mm, uint64_t flags, uint64_t npages)
{
	(void)flags;
	return mm->total_vm + npages <= (TASK_SIZE >> PAGE_SHIFT);
}

static uint64_t calc_vm_flag_bits(uint64_t flags)
{
	uint64_t vm = 0;

	if (flags & MAP_GROWSDOWN_)
		vm |= VM_GROWSDOWN;
	if (flags & MAP_LOCKED_)
		vm |= VM_LOCKED;
	if (flags & MAP_SYNC_)
		vm |= VM_SYNC;
	/* 6.7+ with THP: stacks do not get huge pages (observed: `nh`). */
	if (flags & MAP_STACK_)
		vm |= VM_NOHUGEPAGE;
	return vm;
}

/* stack_guard_gap: the gap kept below a stack, 256 pages (its default). */
#define STACK_GUARD_GAP (256UL << PAGE_SHIFT)

/* vm_start_gap (include/linux/mm.h): where vma starts, its guard gap included. */
static uint64_t vm_start_gap(const struct vm_area_struct *vma)
{
	uint64_t gap = STACK_GUARD_GAP;

	if ((vma->vm_flags & VM_GROWSDOWN) && vma->vm_start > gap)
		return vma->vm_start - gap;
	return (vma->vm_flags & VM_GROWSDOWN) ? 0 : vma->vm_start;
}

/*
 * unmapped_area_topdown (mm/mmap.c): the highest gap of len bytes below
 * high_limit and above low_limit, guard gaps respected.  -ENOMEM if none.
 */
static int64_t unmapped_area_topdown(struct mm_struct *mm, uint64_t len, uint64_t low_limit,
				     uint64_t high_limit)
{
	struct vm_area_struct *prev;
	struct vm_area_struct *next = find_vma_prev(mm, high_limit, &prev);
	uint64_t top = next ? MIN(high_limit, vm_start_gap(next)) : high_limit;

	for (;;) {
		uint64_t bottom = MAX(prev ? prev->vm_end : 0, low_limit);

		if (top >= bottom && top - bottom >= len)
			return (int64_t)(top - len);
		if (prev == NULL || top <= low_limit)
			return -ENOMEM;
		top = MIN(high_limit, vm_start_gap(prev));
		prev = vma_prev(mm, prev);
	}
}

/*
 * get_unmapped_area (arch_get_unmapped_area_topdown): MAP_FIXED takes
 * addr as is; a hint is used if the range is free; otherwise the highest
 * free range below mmap_base.  Returns the address or -errno.
 * Divergence: no THP alignment: without a hint, the kernel places a
 * private anonymous mapping whose length is a multiple of 2 MiB at a
 * 2 MiB boundary (thp_get_unmapped_area_vmflags); the model takes the
 * highest fit.
 */
uint64_t get_unmapped_area(struct mm_struct *mm, uint64_t addr, uint64_t len, uint64_t flags)
{
	int64_t r;

	if (len > TASK_SIZE - MMAP_MIN_ADDR)
		return (uint64_t)-ENOMEM;
	if (flags & MAP_FIXED_) {
		if (addr > TASK_SIZE - len)
			return (uint64_t)-ENOMEM;
		if (addr & ~PAGE_MASK)
			return (uint64_t)-EINVAL;
		return addr;
	}
	if (addr) {
		struct vm_area_struct *prev, *vma;

		addr = PAGE_ALIGN(addr);
		vma = find_vma_prev(mm, addr, &prev);
		if (TASK_SIZE - len >= addr && addr >= MMAP_MIN_ADDR &&
		    (!vma || addr + len <= vm_start_gap(vma)) && (!prev || addr >= prev->vm_end))
			return addr;
	}
	r = unmapped_area_topdown(mm, len, MAX(PAGE_SIZE, MMAP_MIN_ADDR), mm->mmap_base);
	if (r < 0) /* bottom-up fallback: the whole space */
		r = unmapped_area_topdown(mm, len, MMAP_MIN_ADDR, TASK_SIZE);
	return (uint64_t)r;
}

/*
 * accountable_mapping: private writable without MAP_NORESERVE is charged.
 * Divergence: the charge is never refused: the kernel's
 * security_vm_enough_memory_mm refuses one the overcommit policy forbids
 * (mode 0, the heuristic: a request larger than RAM plus swap); the model
 * only counts vm_committed_as.
 */
static bool accountable_mapping(uint64_t vm_flags)
{
	return (vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE;
}

/*
 * mmap_region (__mmap_region; mm/mmap.c in 6.12, mm/vma.c since 6.13):
 * replace whatever is at [addr, addr+len) with a mapping: extend a
 * neighbour when the merge rules allow (file mappings included, shared
 * anonymous never: their shmem file is unique), else a new VMA, as also
 * when the merge needs anon_vma links that cannot be allocated.
 */
static int64_t mmap_region(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len,
			   uint64_t vm_flags, uint64_t pgoff)
{
	uint64_t pages = len >> PAGE_SHIFT;
	struct vm_area_struct *vma;
	int err;

	if (!may_expand_vm(mm, vm_flags, pages))
		return -ENOMEM;
	err = do_vmi_munmap(mm, addr, len);
	if (err)
		return err;
	if (accountable_mapping(vm_flags))
		vm_flags |= VM_ACCOUNT;

	vma = vma_merge_new_range(mm, addr, addr + len, vm_flags, file, pgoff, NULL, NULL);
	if (vma == NULL) {
		vma = vm_area_alloc(mm);
		vma->vm_start = addr;
		vma->vm_end = addr + len;
		vma->vm_flags = vm_flags;
		vma->vm_pgoff = pgoff;
		if (file)
			vma->vm_file = get_file(file);
		else if (vm_flags & VM_SHARED)
			vma->vm_file = shmem_file_setup(len); /* shmem_zero_setup */
		vma_link(mm, vma);
	}
	if (vm_flags & VM_ACCOUNT)
		vm_committed_as += (int64_t)pages;
	vm_stat_account(mm, vm_flags, (int64_t)pages);
	/*
	 * vma_supports_mlock: a VM_DROPPABLE VMA is never locked, even when
	 * mlockall(MCL_FUTURE) asked for it (after the merge, which saw
	 * VM_LOCKED: such a mapping merges with no droppable neighbour).
	 * do_mmap still populates it (MMAP-DROPPABLE-1).
	 */
	if (vm_flags & VM_LOCKED) {
		if (vma->vm_flags & VM_DROPPABLE)
			vma->vm_flags &= ~VM_LOCKED_MASK;
		else
			mm->locked_vm += pages;
	}
	return (int64_t)addr;
}

/*
 * do_mmap (mm/mmap.c): argument checks in the kernel's order, then
 * placement and mmap_region.  Returns the address or -errno, and in
 * *populate the length to fault in (MAP_POPULATE, VM_LOCKED).
 */
int64_t do_mmap(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len, uint64_t prot,
		uint64_t flags, uint64_t pgoff, uint64_t *populate)
{
	uint64_t vm_flags = 0;
	int64_t ret;

	*populate = 0;
	if (!len)
		return -EINVAL;
	if (flags & MAP_FIXED_NOREPLACE_)
		flags |= MAP_FIXED_;
	if (!(flags & MAP_FIXED_)) {
		addr &= PAGE_MASK; /* round_hint_to_min */
		if (addr && addr < MMAP_MIN_ADDR)
			addr = PAGE_ALIGN(MMAP_MIN_ADDR);
	}
	len = PAGE_ALIGN(len);
	if (!len)
		return -ENOMEM;
	if (pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (mm->map_count > sysctl_max_map_count)
		return -ENOMEM;
	vm_flags = calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags) | mm->def_flags | VM_MAYREAD |
		   VM_MAYWRITE | VM_MAYEXEC;
	/* placement and MAP_FIXED_NOREPLACE come before the type checks (observed) */
	ret = (int64_t)get_unmapped_area(mm, addr, len, flags);
	if (ret < 0)
		return ret;
	addr = (uint64_t)ret;
	if ((flags & MAP_FIXED_NOREPLACE_) && find_vma_intersection(mm, addr, addr + len))
		return -EEXIST;

	if (file) {
		switch (flags & MAP_TYPE_) {
		case MAP_SHARED_:
		case MAP_SHARED_VALIDATE_:
			if ((prot & PROT_WRITE_) && !file->writable)
				return -EACCES;
			vm_flags |= VM_SHARED | VM_MAYSHARE;
			if (!file->writable)
				vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
			/* fallthrough */
		case MAP_PRIVATE_:
			if (!file->readable)
				return -EACCES;
			/* do_mmap: a file mapping cannot grow down (observed: EINVAL) */
			if (vm_flags & VM_GROWSDOWN)
				return -EINVAL;
			break;
		default: return -EINVAL;
		}
	} else {
		switch (flags & MAP_TYPE_) {
		case MAP_SHARED_:
			if (vm_flags & VM_GROWSDOWN)
				return -EINVAL;
			pgoff = 0;
			vm_flags |= VM_SHARED | VM_MAYSHARE;
			break;
		case MAP_DROPPABLE_:
			/* not locked, no hugetlb, not a stack (MMAP-DROPPABLE-1) */
			if (flags & (MAP_LOCKED_ | MAP_HUGETLB_))
				return -EINVAL;
			if (vm_flags & VM_GROWSDOWN)
				return -EINVAL;
			vm_flags |= VM_DROPPABLE | VM_WIPEONFORK | VM_DONTDUMP | VM_NORESERVE;
			/* fallthrough */
		case MAP_PRIVATE_: pgoff = addr >> PAGE_SHIFT; break;
		default: return -EINVAL;
		}
	}
	if (!file && (flags & MAP_TYPE_) != MAP_SHARED_)
		pgoff = addr >> PAGE_SHIFT;
	if (flags & MAP_NORESERVE_)
		vm_flags |= VM_NORESERVE;
	ret = mmap_region(mm, file, addr, len, vm_flags, pgoff);
	if (ret >= 0 &&
	    ((vm_flags & VM_LOCKED) || (flags & (MAP_POPULATE_ | MAP_NONBLOCK_)) == MAP_POPULATE_))
		*populate = len;
	return ret;
}

long vm_munmap(struct mm_struct *mm, uint64_t start, uint64_t len)
{
	return do_vmi_munmap(mm, start, len);
}

void mm_set_brk(struct mm_struct *mm, uint64_t start_brk) { mm->start_brk = mm->brk = start_brk; }

/*
 * do_brk_flags: grow the heap over [addr, addr+len): extend the heap VMA
 * if it ends at addr and is compatible, else a new VMA.
 */
static int do_brk_flags(struct mm_struct *mm, struct vm_area_struct *brkvma, uint64_t addr,
			uint64_t len)
{
	uint64_t flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT |
			 mm->def_flags;
	struct vm_area_struct *vma = NULL;

	if (!may_expand_vm(mm, flags, len >> PAGE_SHIFT) || mm->map_count > sysctl_max_map_count)
		return -ENOMEM;
	if (brkvma && brkvma->vm_end == addr) /* just_expand: merge left only */
		vma = vma_merge_new_range(mm, addr, addr + len, flags, NULL, addr >> PAGE_SHIFT,
					  NULL, NULL);
	if (vma == NULL || vma->vm_end != addr + len) {
		vma = vm_area_alloc(mm);
		vma->vm_start = addr;
		vma->vm_end = addr + len;
		vma->vm_flags = flags;
		vma->vm_pgoff = addr >> PAGE_SHIFT;
		vma_link(mm, vma);
	}
	vm_committed_as += (int64_t)(len >> PAGE_SHIFT);
	vm_stat_account(mm, flags, (int64_t)(len >> PAGE_SHIFT));
	if (flags & VM_LOCKED)
		mm->locked_vm += len >> PAGE_SHIFT;
	return 0;
}

/*
 * do_brk_syscall (mm/mmap.c SYSCALL brk): move the program break.  Returns
 * the new break, or the old one when the request is refused (brk reports
 * failure only that way).
 */
long do_brk_syscall(struct mm_struct *mm, uint64_t brk)
{
	uint64_t newbrk, oldbrk, origbrk = mm->brk;
	struct vm_area_struct *next, *brkvma = NULL, *prev;

	if (brk < mm->start_brk)
		return (long)origbrk;
	newbrk = PAGE_ALIGN(brk);
	oldbrk = PAGE_ALIGN(mm->brk);
	if (oldbrk == newbrk) {
		mm->brk = brk;
		return (long)brk;
	}
	if (brk <= mm->brk) {
		/*
		 * Shrinking is refused when nothing is mapped in [newbrk, oldbrk)
		 * any more (the heap was unmapped from under brk: "mapping
		 * intersects with an existing non-brk vma").
		 */
		if (find_vma_intersection(mm, newbrk, oldbrk) == NULL)
			return (long)origbrk;
		mm->brk = brk;
		if (do_vmi_munmap(mm, newbrk, oldbrk - newbrk)) {
			mm->brk = origbrk;
			return (long)origbrk;
		}
		return (long)brk;
	}
	next = find_vma(mm, oldbrk);
	if (next && newbrk + PAGE_SIZE > vm_start_gap(next))
		return (long)origbrk;
	find_vma_prev(mm, oldbrk, &prev);
	if (prev && prev->vm_end > mm->start_brk)
		brkvma = prev;
	if (do_brk_flags(mm, brkvma, oldbrk, newbrk - oldbrk) < 0)
		return (long)origbrk;
	mm->brk = brk;
	if (mm->def_flags & VM_LOCKED)
		mm_populate(mm, oldbrk, newbrk - oldbrk);
	return (long)brk;
}

/*
 * expand_stack (mm/mmap.c expand_downwards): a VM_GROWSDOWN VMA grows to
 * cover an access just below it, keeping a guard gap (stack_guard_gap,
 * 256 pages) above the previous VMA if that one is accessible and not a
 * stack itself.  It grows before the access is checked: a PROT_NONE stack
 * grows, then the access faults (observed).  Divergence: no resource
 * limits: the kernel's acct_stack_growth refuses growth past RLIMIT_STACK
 * (and RLIMIT_AS, RLIMIT_MEMLOCK for a locked stack); the model has them
 * unlimited.
 */
struct vm_area_struct *expand_stack(struct mm_struct *mm, uint64_t addr)
{
	struct vm_area_struct *prev, *vma = find_vma_prev(mm, addr, &prev);
	uint64_t start = addr & PAGE_MASK;

	if (!vma || !(vma->vm_flags & VM_GROWSDOWN) || start < MMAP_MIN_ADDR)
		return NULL;
	if (prev && (start < prev->vm_end || start - prev->vm_end < STACK_GUARD_GAP) &&
	    !(prev->vm_flags & VM_GROWSDOWN) && (prev->vm_flags & VM_ACCESS_FLAGS))
		return NULL;
	/* expand_downwards: the anon_vma first, so fork copies the stack's PTEs (observed) */
	if (anon_vma_prepare(vma))
		return NULL;
	vm_stat_account(mm, vma->vm_flags, (int64_t)((vma->vm_start - start) >> PAGE_SHIFT));
	if (vma->vm_flags & VM_LOCKED)
		mm->locked_vm += (vma->vm_start - start) >> PAGE_SHIFT;
	vma_set_start(vma, start);
	return vma;
}

/*
 * exit_mmap: tell the secondary MMUs, unmap everything, free the tables,
 * drop every VMA and its anon_vma links, and return the commit charge.
 */
void exit_mmap(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	mmu_notifier_release(mm);
	unmap_vmas(mm, 0, TASK_SIZE);
	free_pgtables(mm, 0, TASK_SIZE, 0, 1ULL << 47);
	while ((vma = vma_first(mm)) != NULL) {
		if (vma->vm_flags & VM_ACCOUNT)
			vm_committed_as -= (int64_t)vma_pages(vma);
		vma_unlink(mm, vma);
		remove_vma(vma);
	}
	mm->total_vm = mm->data_vm = mm->exec_vm = mm->stack_vm = mm->locked_vm = 0;
}

/*
 * The three ways fork treats a VMA (OpenBSD's uvmspace_fork shape):
 *
 *   VM_DONTCOPY    the child has a hole there: no VMA, no charge, and the
 *                  pages are subtracted from its VM counters;
 *   VM_WIPEONFORK  the child has the VMA, same range and flags ("a clean
 *                  slate"), but no anon_vma and no page tables: it reads
 *                  zeroes and its first write gets a fresh anon_vma;
 *   otherwise      the child is linked to the parent's anon_vmas and its
 *                  page tables are copied (copy_page_range), COW pages
 *                  write-protected on both sides.
 */
static struct vm_area_struct *dup_vma_common(struct mm_struct *mm, struct vm_area_struct *mpnt)
{
	struct vm_area_struct *vma = vm_area_dup(mpnt);

	vma->vm_mm = mm;
	/* security_vm_enough_memory_mm; never refused (see accountable_mapping) */
	if (vma->vm_flags & VM_ACCOUNT)
		vm_committed_as += (int64_t)vma_pages(vma);
	return vma;
}

static int dup_vma_wipe(struct mm_struct *mm, struct vm_area_struct *mpnt)
{
	struct vm_area_struct *vma = dup_vma_common(mm, mpnt);

	/*
	 * "A clean slate": no anon_vma until the child's first write fault
	 * prepares one (dup_mmap; 4.14 prepared it here, 5.7 stopped).
	 */
	vma->anon_vma = NULL;
	vma->vm_flags &= ~VM_LOCKED_MASK;
	vma_link(mm, vma);
	count_vm_event(FORK_VMA_WIPED);
	return 0;
}

static int dup_vma_copy(struct mm_struct *mm, struct vm_area_struct *mpnt)
{
	struct vm_area_struct *vma = dup_vma_common(mm, mpnt);
	int err = anon_vma_fork(vma, mpnt);

	if (err) {
		if (vma->vm_flags & VM_ACCOUNT)
			vm_committed_as -= (int64_t)vma_pages(vma);
		if (vma->vm_file)
			fput(vma->vm_file);
		vm_area_free(vma);
		return err;
	}
	vma->vm_flags &= ~VM_LOCKED_MASK;
	vma_link(mm, vma);
	count_vm_event(FORK_VMA_COPIED);
	/* The VMA is stored: on failure the caller's teardown frees it too. */
	return copy_page_range(vma, mpnt);
}

/*
 * dup_mmap: build the child's address space from the parent's.  The
 * child's VMA list is the parent's minus DONTCOPY VMAs, one for one: fork
 * never merges, even where clearing VM_LOCKED made neighbours' flags
 * equal.  The VM counters are copied wholesale, then DONTCOPY VMAs
 * subtracted; locked_vm stays 0 and RSS counts only what
 * copy_page_range copied.  Returns 0 or -ENOMEM; on failure the caller
 * drops the half-built mm with mmput.
 */
int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm)
{
	mm->total_vm = oldmm->total_vm;
	mm->data_vm = oldmm->data_vm;
	mm->exec_vm = oldmm->exec_vm;
	mm->stack_vm = oldmm->stack_vm;

	for (struct vm_area_struct *mpnt = vma_first(oldmm); mpnt; mpnt = vma_next(oldmm, mpnt)) {
		int err;

		if (mpnt->vm_flags & VM_DONTCOPY) {
			vm_stat_account(mm, mpnt->vm_flags, -(int64_t)vma_pages(mpnt));
			count_vm_event(FORK_VMA_DONTCOPY);
			continue;
		}
		if (mpnt->vm_flags & VM_WIPEONFORK)
			err = dup_vma_wipe(mm, mpnt);
		else
			err = dup_vma_copy(mm, mpnt);
		if (err)
			return err;
	}
	return 0;
}
