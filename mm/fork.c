/*
 * The mm's lifetime and the VMA allocator, after kernel/fork.c: mm_alloc
 * (mm_init), mmget, mmput, dup_mm, and vm_area_alloc, vm_area_dup and
 * vm_area_free (kernel/fork.c in 6.12; mm/vma_init.c in later kernels).
 * What dup_mm copies, dup_mmap, and what mmput tears down, exit_mmap, are
 * in mmap.c, as in the 6.18 kernel.
 */
#include "internal.h"

GList *mm_list;
static unsigned int mm_ids;

/*
 * mmap_base (arch/x86/mm/mmap.c): 8 MiB stack rlimit, 128 MiB minimum gap.
 * Divergence: no address-space randomisation: the kernel subtracts a
 * random offset (mmap_rnd); the model's base is fixed, and a replay
 * places a non-fixed mmap where the log says it landed anyway.
 */
#define MMAP_MIN_GAP	  (128UL << 20)
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

void mm_set_mmap_base(struct mm_struct *mm, uint64_t mmap_base) { mm->mmap_base = mmap_base; }

void mmget(struct mm_struct *mm) { mm->mm_users++; }

/* mmput: drop a user; the last one tears the address space down. */
void mmput(struct mm_struct *mm)
{
	if (--mm->mm_users > 0)
		return;
	exit_mmap(mm);
	pgd_free(mm);
	g_tree_destroy(mm->mm_mt);
	mm_list = g_list_remove(mm_list, mm);
	g_free(mm);
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

/* vm_area_alloc: an empty VMA of mm, not linked yet (vma_init). */
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma = g_new0(struct vm_area_struct, 1);

	vma->vm_mm = mm;
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	INIT_LIST_HEAD(&vma->shared);
	return vma;
}

/*
 * vm_area_dup: a field-by-field copy (kernel/fork.c, mm/vma_init.c), with
 * an empty anon_vma_chain and its own file reference.  The anon_vma
 * pointer is copied; callers either clone the chain or reset it.
 */
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *vma = g_new(struct vm_area_struct, 1);

	*vma = *orig;
	vma->vm_node = NULL; /* not linked yet */
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	INIT_LIST_HEAD(&vma->shared);
	if (vma->vm_file)
		get_file(vma->vm_file);
	return vma;
}

void vm_area_free(struct vm_area_struct *vma) { g_free(vma); }
