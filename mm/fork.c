/*
 * mm lifetime and fork's address-space copy, after kernel/fork.c (mm_init,
 * dup_mm, mmput) and dup_mmap (mm/mmap.c since 6.15, kernel/fork.c
 * before), and exit_mmap (mm/mmap.c).
 */
#include "internal.h"

GList *mm_list;
static unsigned int mm_ids;

/* mmap_base (arch/x86/mm/mmap.c) without randomisation: 8 MiB stack rlimit, 128 MiB minimum gap. */
#define MMAP_MIN_GAP	(128UL << 20)
#define DEFAULT_MMAP_BASE PAGE_ALIGN(TASK_SIZE - MMAP_MIN_GAP)

/* mm_alloc: an empty mm with its pgd, one user.  NULL on ENOMEM. */
struct mm_struct *mm_alloc(void)
{
	struct mm_struct *mm = g_new0(struct mm_struct, 1);

	if (pgd_alloc(mm)) {
		g_free(mm);
		return NULL;
	}
	mm->mm_mt = mm_mt_new();
	mm->mm_users = 1;
	mm->mmap_base = DEFAULT_MMAP_BASE;
	mm->task_size = TASK_SIZE;
	mm->id = ++mm_ids;
	INIT_LIST_HEAD(&mm->notifiers);
	mm_list = g_list_prepend(mm_list, mm);
	return mm;
}

void mm_set_mmap_base(struct mm_struct *mm, uint64_t mmap_base)
{
	mm->mmap_base = mmap_base;
}

void mmget(struct mm_struct *mm)
{
	mm->mm_users++;
}

/*
 * exit_mmap: unmap everything, free the tables, drop every VMA and its
 * anon_vma links, and return the commit charge.
 */
static void exit_mmap(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

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

/* mmput: drop a user; the last one tears the address space down. */
void mmput(struct mm_struct *mm)
{
	struct mmu_notifier *mn, *n;

	if (--mm->mm_users > 0)
		return;
	list_for_each_entry_safe(mn, n, &mm->notifiers, struct mmu_notifier, list)
		if (mn->ops->release)
			mn->ops->release(mn, mm);
	exit_mmap(mm);
	pgd_free(mm);
	g_tree_destroy(mm->mm_mt);
	mm_list = g_list_remove(mm_list, mm);
	g_free(mm);
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
	if (vma->vm_flags & VM_ACCOUNT)	/* security_vm_enough_memory_mm: overcommit 0 */
		vm_committed_as += (int64_t)vma_pages(vma);
	return vma;
}

static int dup_vma_wipe(struct mm_struct *mm, struct vm_area_struct *mpnt)
{
	struct vm_area_struct *vma = dup_vma_common(mm, mpnt);

	/* Divergence from 4.14, which prepared an anon_vma here eagerly (v5.7 dropped it). */
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
static int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm)
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

/*
 * dup_mm: fork's copy of oldmm (copy_mm without CLONE_VM).  mm_init resets
 * what the child does not inherit: def_flags keep only VM_NOHUGEPAGE, so
 * mlockall(MCL_FUTURE) does not carry over.  NULL with *err on failure.
 */
struct mm_struct *dup_mm(struct mm_struct *oldmm, int *err)
{
	struct mm_struct *mm = mm_alloc();

	if (mm == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	mm->mmap_base = oldmm->mmap_base;
	mm->task_size = oldmm->task_size;
	mm->start_brk = oldmm->start_brk;
	mm->brk = oldmm->brk;
	mm->start_stack = oldmm->start_stack;
	mm->def_flags = oldmm->def_flags & VM_NOHUGEPAGE;
	*err = dup_mmap(mm, oldmm);
	if (*err) {
		mmput(mm);
		return NULL;
	}
	mm->hiwater_rss = mm->rss_stat[MM_ANONPAGES] + mm->rss_stat[MM_FILEPAGES] +
			  mm->rss_stat[MM_SHMEMPAGES];
	mm->hiwater_vm = mm->total_vm;
	return mm;
}
