/*
 * mm/mlock.c: lock flags, VmLck, Locked as a Pss figure, errors
 * (MLOCK-FLAGS-1, MLOCK-ARGS-1, MLOCK-HOLE-1, MLOCK-POP-1, PROC-LOCKED-1);
 * mlock per page and the mlock batch (MLOCK-PAGE-1, MLOCK-PAGE-2,
 * MLOCK-PAGE-3).
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define mm		test_mm
#define RW		(PROT_READ_ | PROT_WRITE_)
#define MOVE_FIXED	(MREMAP_MAYMOVE_ | MREMAP_FIXED_)
#define DONTUNMAP_FIXED (MREMAP_MAYMOVE_ | MREMAP_DONTUNMAP_ | MREMAP_FIXED_)

START_TEST(test_mlock_munlock_split_merge)
{
	/* MLOCK-FLAGS-1 */
	map_anon(mm, W, 8 * PG, RW);
	ck_assert_int_eq(do_mlock(mm, W + 2 * PG, 2 * PG, 0), 0);
	ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 3);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 8);
	ck_assert_int_eq(smaps_kb(mm, W + 2 * PG, "Locked:"), 8);
	/* mlocking twice counts once */
	ck_assert_int_eq(do_mlock(mm, W + 2 * PG, 2 * PG, 0), 0);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 8);
	/* an unaligned start locks the whole page */
	ck_assert_int_eq(do_mlock(mm, W + 5 * PG + 100, 1, 0), 0);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 12);
	ck_assert_int_eq(do_munlock(mm, W, 8 * PG), 0);
	/* mlock populated [2,4) and [5,6) separately: two anon_vmas, so two
	 * VMAs stay (the host shows the same: 200000000000-200000005000 and
	 * 200000005000-200000008000 for these calls; ANON-PREP-1, VMA-MERGE-5,
	 * trace mlock-populate-splits-anon-vmas) */
	ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 2);
	ck_assert_uint_eq(find_vma(mm, W)->vm_end, W + 5 * PG);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 0);
}
END_TEST

START_TEST(test_errors)
{
	/* MLOCK-ARGS-1, MLOCK-HOLE-1 */
	map_anon(mm, W, 2 * PG, RW);
	map_anon(mm, W + 4 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_mlock(mm, W, 2 * PG, 2), -EINVAL);
	ck_assert_int_eq(do_mlock(mm, W, 6 * PG, 0), -ENOMEM); /* the hole */
	ck_assert(flags_at(mm, W) & VM_LOCKED);		       /* what came before it */
	ck_assert_int_eq(do_munlock(mm, W + 2 * PG, PG), -ENOMEM);
	ck_assert_int_eq(do_mlockall(mm, 0), -EINVAL);
	ck_assert_int_eq(do_mlockall(mm, MCL_ONFAULT_), -EINVAL);
	ck_assert_int_eq(do_mlockall(mm, 8), -EINVAL);
}
END_TEST

START_TEST(test_mlockall_current_populates)
{
	/* MLOCK-POP-1: MCL_CURRENT populates, and ignores the PROT_NONE VMA's failure */
	map_anon(mm, W, 4 * PG, RW);
	map_anon(mm, W + 8 * PG, 4 * PG, PROT_NONE_);
	ck_assert_int_eq(do_mlockall(mm, MCL_CURRENT_), 0);
	ck_assert_int_eq(smaps_kb(mm, W, "Rss:"), 16);	       /* write-faulted: private RW */
	ck_assert_int_eq(smaps_kb(mm, W + 8 * PG, "Rss:"), 0); /* PROT_NONE is not */
	ck_assert(flags_at(mm, W + 8 * PG) & VM_LOCKED);
	ck_assert_int_eq(do_munlockall(mm), 0);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 0);
}
END_TEST

START_TEST(test_locked_is_pss)
{
	/* PROC-LOCKED-1: Locked is a Pss figure: locked pages shared with a child count half */
	struct mm_struct *child;

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	ck_assert_int_eq(do_mlock(mm, W, 2 * PG, 0), 0);
	child = fork_mm(mm);
	ck_assert_int_eq(smaps_kb(child, W, "Locked:"), 0); /* lo not inherited: FORK-LOCK-1 */
	ck_assert_int_eq(do_mlock(child, W, 2 * PG, 0), 0);
	/* mlock populates with write faults: the child's copies are its own (MLOCK-POP-1) */
	ck_assert_int_eq(smaps_kb(child, W, "Locked:"), 8);
	mmput(child);
	child = fork_mm(mm);
	ck_assert_int_eq(smaps_kb(mm, W, "Locked:"), 4); /* 2 pages, half each */
	mmput(child);
}
END_TEST

/* The page mapped at addr (a normal page must be there). */
static struct page *page_at(struct mm_struct *m, uint64_t addr)
{
	pte_t pte = mm_lookup_pte(m, addr);

	ck_assert(pte_present(pte));
	return pfn_to_page(pte_pfn(pte));
}

/* Is the page at addr mlocked, once the CPU's batches have moved? */
static bool mlocked_at(struct mm_struct *m, uint64_t addr)
{
	lru_add_drain();
	return page_at(m, addr)->flags & PG_mlocked;
}

static long map_shared_locked(struct mm_struct *m, uint64_t addr, uint64_t len)
{
	return vm_mmap_pgoff(m, NULL, addr, len, RW,
			     MAP_SHARED_ | MAP_ANONYMOUS_ | MAP_FIXED_NOREPLACE_ | MAP_LOCKED_, 0);
}

START_TEST(test_page_state_follows_mappings)
{
	/*
	 * MLOCK-PAGE-1: mlocked per page.  mlock_fixup's walk mlocks the
	 * pages present; a fault in a VM_LOCKED VMA mlocks its new page
	 * (mlock_new_folio); munlock's walk munlocks.  PG_mlocked is set at
	 * once, the count and PG_unevictable when the mlock batch moves.
	 */
	struct page *p, *q;

	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	p = page_at(mm, W);
	ck_assert_int_eq(do_mlock(mm, W, 4 * PG, MLOCK_ONFAULT_), 0);
	ck_assert_uint_eq(p->flags & (PG_mlocked | PG_unevictable), PG_mlocked | PG_unevictable);
	ck_assert_int_eq(p->mlock_count, 1);
	put_byte(mm, W + 3 * PG, 2, PG); /* ONFAULT: the fault mlocks */
	q = page_at(mm, W + 3 * PG);
	ck_assert(q->flags & PG_mlocked);
	ck_assert(!(q->flags & (PG_lru | PG_unevictable))); /* until the batch moves */
	ck_assert(mlocked_at(mm, W + 3 * PG));
	ck_assert_uint_eq(q->flags & (PG_lru | PG_unevictable), PG_lru | PG_unevictable);
	ck_assert_int_eq(q->mlock_count, 1);
	/* locked again: no walk, no second count ("mlocking twice would be wrong") */
	ck_assert_int_eq(do_mlock(mm, W, 4 * PG, 0), 0);
	ck_assert_int_eq(p->mlock_count, 1);
	ck_assert_int_eq(do_munlock(mm, W, PG), 0);
	ck_assert(!(p->flags & (PG_mlocked | PG_unevictable)));
	ck_assert_int_eq(p->mlock_count, 0);
	ck_assert(mlocked_at(mm, W + PG));
	ck_assert_int_eq(do_munlockall(mm), 0);
	ck_assert(!mlocked_at(mm, W + PG) && !mlocked_at(mm, W + 3 * PG));
	/* COW in a locked VMA: the copy is mlocked, the page left behind munlocked */
	{
		struct mm_struct *child;

		ck_assert_int_eq(do_mlock(mm, W, 2 * PG, 0), 0);
		child = fork_mm(mm);
		p = page_at(mm, W);
		ck_assert(mlocked_at(child, W)); /* the parent's mlock, per page */
		put_byte(mm, W, 3, 1);
		ck_assert(page_at(mm, W) != p);
		ck_assert(mlocked_at(mm, W));
		ck_assert(!mlocked_at(child, W));
		ck_assert(mlocked_at(child, W + PG));
		/* the parent's exit munlocks what it mapped locked (MLOCK-PAGE-3) */
		mmput(mm);
		mm = fork_mm(child); /* the fixture's mm again, unlocked */
		ck_assert(!mlocked_at(child, W + PG));
		mmput(child);
	}
}
END_TEST

START_TEST(test_count_per_locked_mapping)
{
	/*
	 * MLOCK-PAGE-3: a page-cache page counts one mlock per VM_LOCKED
	 * mapping (mlock_vma_folio, __mlock_folio): shared memory mapped twice,
	 * both locked, stays mlocked until both are munlocked or unmapped.
	 */
	struct page *p;

	map_shared_locked(mm, W, 2 * PG);
	p = page_at(mm, W);
	ck_assert(mlocked_at(mm, W));
	ck_assert_int_eq(p->mlock_count, 1);
	/* old_len 0: a second mapping (MREMAP-SHM-1); a locked one is populated */
	ck_assert_int_eq(do_mremap(mm, W, 0, 2 * PG, MOVE_FIXED, W + 16 * PG), (long)(W + 16 * PG));
	ck_assert(page_at(mm, W + 16 * PG) == p);
	ck_assert(mlocked_at(mm, W));
	ck_assert_int_eq(p->mlock_count, 2);
	ck_assert_int_eq(vm_munmap(mm, W + 16 * PG, 2 * PG), 0);
	ck_assert(mlocked_at(mm, W));
	ck_assert_int_eq(p->mlock_count, 1);
	ck_assert_int_eq(do_munlock(mm, W, PG), 0);
	ck_assert(!(p->flags & (PG_mlocked | PG_unevictable)));
	ck_assert(mlocked_at(mm, W + PG));
	/* a fork child's VMA is not locked: its mapping counts no mlock (FORK-LOCK-1) */
	{
		struct mm_struct *child = fork_mm(mm);
		uint8_t v;

		get_byte(child, W + PG, &v);
		ck_assert_int_eq(page_at(mm, W + PG)->mlock_count, 1);
		ck_assert_int_eq(do_mlock(child, W + PG, PG, 0), 0);
		ck_assert_int_eq(page_at(mm, W + PG)->mlock_count, 2);
		mmput(child); /* exit: its locked mapping munlocks */
		ck_assert(mlocked_at(mm, W + PG));
		ck_assert_int_eq(page_at(mm, W + PG)->mlock_count, 1);
	}
}
END_TEST

START_TEST(test_dontunmap_leaves_pages_mlocked)
{
	/*
	 * MLOCK-PAGE-1: MREMAP_DONTUNMAP clears the source VMA's VM_LOCKED
	 * without a walk, so the pages it still maps stay mlocked: MADV_FREE
	 * does not make them lazily freeable (folio_mark_lazyfree skips the
	 * unevictable) and MADV_PAGEOUT keeps them (folio_evictable), where
	 * it unmaps the pages of shared memory never locked (MADV-FREE-1,
	 * MADV-PAGEOUT-1).  Their count goes on: an mlock and a munlock of the
	 * unlocked VMA leave them mlocked, and munlockall does not walk it
	 * (MLOCK-PAGE-3).
	 */
	uint64_t s = W + 32 * PG, n = W + 64 * PG;
	uint8_t v;

	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 0x41, 4 * PG);
	ck_assert_int_eq(do_mlock(mm, W, 4 * PG, 0), 0);
	ck_assert_int_eq(do_mremap(mm, W, PG, PG, DONTUNMAP_FIXED, W + 16 * PG),
			 (long)(W + 16 * PG));
	ck_assert(!(flags_at(mm, W + PG) & VM_LOCKED));
	ck_assert(mlocked_at(mm, W + PG));
	ck_assert_int_eq(do_madvise(mm, W + PG, 3 * PG, MADV_FREE_), 0);
	lru_add_drain();
	ck_assert_int_eq(smaps_kb(mm, W + PG, "LazyFree:"), 0);
	ck_assert_int_eq(smaps_kb(mm, W + PG, "Private_Clean:"), 12); /* PTEs cleaned */
	ck_assert_int_eq(lru_lazyfree_pending(), 0);

	map_shared_locked(mm, s, 4 * PG);
	map_shared_anon(mm, n, 4 * PG, RW);
	put_byte(mm, n, 0x42, 4 * PG);
	ck_assert_int_eq(do_mremap(mm, s, PG, PG, DONTUNMAP_FIXED, W + 48 * PG),
			 (long)(W + 48 * PG));
	ck_assert_int_eq(do_madvise(mm, s, 4 * PG, MADV_PAGEOUT_), 0);
	ck_assert_int_eq(do_madvise(mm, n, 4 * PG, MADV_PAGEOUT_), 0);
	ck_assert_int_eq(smaps_kb(mm, s, "Rss:"), 12);
	ck_assert_int_eq(smaps_kb(mm, n, "Rss:"), 0);
	get_byte(mm, n + PG, &v); /* dirty shmem keeps its bytes */
	ck_assert_int_eq(v, 0x42);
	ck_assert_int_eq(do_mlock(mm, s + 2 * PG, PG, 0), 0);
	ck_assert_int_eq(page_at(mm, s + 2 * PG)->mlock_count, 2);
	ck_assert_int_eq(do_munlock(mm, s + 2 * PG, PG), 0);
	ck_assert(mlocked_at(mm, s + 2 * PG));
	ck_assert_int_eq(do_munlockall(mm), 0);
	ck_assert_int_eq(do_madvise(mm, s, 4 * PG, MADV_PAGEOUT_), 0);
	ck_assert_int_eq(smaps_kb(mm, s, "Rss:"), 12);
	ck_assert(mlocked_at(mm, W + PG));
}
END_TEST

START_TEST(test_munlock_before_mlock_loses_it)
{
	/*
	 * MLOCK-PAGE-2: the mlock batch moves its entries in order.  A page
	 * unmapped from one locked mapping (munlock queued) and faulted into
	 * another (mlock queued) before the batch moves loses its mlock: the
	 * munlock's count reaches 0 and clears PG_mlocked, and the mlock then
	 * finds the page evictable.  With a drain in between it stays.
	 */
	struct page *p;
	uint8_t v;

	for (int drain = 0; drain < 2; drain++) {
		uint64_t a = W + (uint64_t)drain * 64 * PG;

		map_shared_locked(mm, a, PG);
		ck_assert_int_eq(do_mlock(mm, a, PG, MLOCK_ONFAULT_), 0);
		/* a second mapping, locked on fault: not populated */
		ck_assert_int_eq(do_mremap(mm, a, 0, PG, MOVE_FIXED, a + 16 * PG),
				 (long)(a + 16 * PG));
		ck_assert(!pte_present(mm_lookup_pte(mm, a + 16 * PG)));
		p = page_at(mm, a);
		ck_assert(mlocked_at(mm, a));
		ck_assert_int_eq(vm_munmap(mm, a, PG), 0);
		if (drain)
			lru_add_drain();
		get_byte(mm, a + 16 * PG, &v);
		ck_assert(page_at(mm, a + 16 * PG) == p);
		lru_add_drain();
		ck_assert(flags_at(mm, a + 16 * PG) & VM_LOCKED);
		ck_assert_int_eq(!!(p->flags & PG_mlocked), drain);
		ck_assert_int_eq(p->mlock_count, drain);
		assert_vm_valid();
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mlock");
	TCase *tc = tcase_create("mlock");

	tcase_add_checked_fixture(tc, mm_setup, mm_teardown);
	tcase_add_test(tc, test_mlock_munlock_split_merge);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_mlockall_current_populates);
	tcase_add_test(tc, test_locked_is_pss);
	tcase_add_test(tc, test_page_state_follows_mappings);
	tcase_add_test(tc, test_count_per_locked_mapping);
	tcase_add_test(tc, test_dontunmap_leaves_pages_mlocked);
	tcase_add_test(tc, test_munlock_before_mlock_loses_it);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
