/*
 * mm/madvise.c: validation, holes, DONTNEED/FREE, DROPPABLE, guard
 * regions.  Expectations from the host's behaviour as docs/ records it:
 * MADV-ARGS-1, MADV-HOLE-1, MADV-DONTNEED-1, MADV-FREE-1, MADV-FREE-2,
 * MMAP-DROPPABLE-1, GUARD-1, FORK-COPY-3, GUARD-6, GUARD-7,
 * MADV-POPULATE-1.
 */
#include <signal.h>

#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define RW (PROT_READ_ | PROT_WRITE_)

#define mm test_mm

START_TEST(test_validation_order)
{
	/* MADV-ARGS-1: the checks in the kernel's order */
	map_anon(mm, W, 4 * PG, RW);
	ck_assert_int_eq(do_madvise(mm, W + 1, PG, MADV_NORMAL_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W + 1, 0, MADV_NORMAL_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W, 0, 999), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W, PG, 5), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W, 0, MADV_WIPEONFORK_), 0);
	ck_assert_int_eq(do_madvise(mm, W, (uint64_t)-4096, MADV_NORMAL_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W, (uint64_t)-1, MADV_NORMAL_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, 0, PG, MADV_NORMAL_), -ENOMEM);
	ck_assert_int_eq(do_madvise(mm, W, 1ULL << 47, MADV_NORMAL_), -ENOMEM);
	/* len 1 is one page */
	ck_assert_int_eq(do_madvise(mm, W, 1, MADV_WIPEONFORK_), 0);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 2);
}
END_TEST

START_TEST(test_holes_apply_and_enomem)
{
	/* MADV-HOLE-1: A (2 pages), hole (2), B (2): ENOMEM, and both get wf */
	map_anon(mm, W, 2 * PG, RW);
	map_anon(mm, W + 4 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_madvise(mm, W, 6 * PG, MADV_WIPEONFORK_), -ENOMEM);
	ck_assert(flags_at(mm, W) & VM_WIPEONFORK);
	ck_assert(flags_at(mm, W + 4 * PG) & VM_WIPEONFORK);
	ck_assert_int_eq(do_madvise(mm, W + 4 * PG, 4 * PG, MADV_DONTDUMP_), -ENOMEM);
	ck_assert(flags_at(mm, W + 4 * PG) & VM_DONTDUMP);
	ck_assert_int_eq(do_madvise(mm, W + 2 * PG, 2 * PG, MADV_FREE_), -ENOMEM);
}
END_TEST

START_TEST(test_free_semantics)
{
	uint8_t v;

	/* MADV-FREE-1: FREE on 4 faulted pages: data still readable, dirty becomes
	 * clean; MADV-FREE-2: LazyFree 0 (the batch has not drained); on 256 pages,
	 * 248 of them (PROC-LAZYFREE-1). */
	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 0x42, 4 * PG);
	ck_assert_int_eq(do_madvise(mm, W, 4 * PG, MADV_FREE_), 0);
	get_byte(mm, W + PG, &v);
	ck_assert_int_eq(v, 0x42);
	ck_assert_int_eq(smaps_kb(mm, W, "Private_Dirty:"), 0);
	ck_assert_int_eq(smaps_kb(mm, W, "Private_Clean:"), 16);
	ck_assert_int_eq(smaps_kb(mm, W, "LazyFree:"), 0);
	map_anon(mm, W + 1024 * PG, 256 * PG, RW);
	put_byte(mm, W + 1024 * PG, 1, 256 * PG);
	ck_assert_int_eq(do_madvise(mm, W + 1024 * PG, 256 * PG, MADV_FREE_), 0);
	/*
	 * madvise_free_single_vma drains first: the 4 earlier pages are
	 * LazyFree now, and of the 256, 8 * 31 = 248 (a full batch moves at once)
	 */
	ck_assert_int_eq(smaps_kb(mm, W, "LazyFree:"), 16);
	ck_assert_int_eq(smaps_kb(mm, W + 1024 * PG, "LazyFree:"), 992);
	put_byte(mm, W + 1024 * PG, 2, PG); /* a write takes a page out of LazyFree */
	ck_assert_int_lt(smaps_kb(mm, W + 1024 * PG, "LazyFree:"), 992);
	/* EINVAL on non-anonymous VMAs; never-faulted anon: 0; locked: EINVAL, and
	 * DONTNEED too, but not DONTNEED_LOCKED (MADV-FREE-1, MADV-DONTNEED-1) */
	map_shared_anon(mm, W + 2048 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_madvise(mm, W + 2048 * PG, 2 * PG, MADV_FREE_), -EINVAL);
	map_anon(mm, W + 3000 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_madvise(mm, W + 3000 * PG, 2 * PG, MADV_FREE_), 0);
	do_mlock(mm, W + 3000 * PG, 2 * PG, 0);
	ck_assert_int_eq(do_madvise(mm, W + 3000 * PG, 2 * PG, MADV_FREE_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W + 3000 * PG, 2 * PG, MADV_DONTNEED_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W + 3000 * PG, 2 * PG, MADV_DONTNEED_LOCKED_), 0);
}
END_TEST

START_TEST(test_droppable)
{
	/* MMAP-DROPPABLE-1: `nr wf dd dp`; KEEPONFORK and DODUMP EINVAL
	 * (FORKADV-KEEP-1, MADV-DUMP-1); the child reads zeroes (FORK-WIPE-1) */
	g_autofree char *f = NULL;
	struct mm_struct *child;
	uint8_t v = 1;

	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W, 2 * PG, RW,
				       MAP_DROPPABLE_ | MAP_ANONYMOUS_ | MAP_FIXED_, 0),
			 (long)W);
	f = vmflags_at(mm, W);
	ck_assert_str_eq(f, "rd wr mr mw me nr wf dd dp");
	ck_assert_int_eq(do_madvise(mm, W, 2 * PG, MADV_KEEPONFORK_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W, 2 * PG, MADV_DODUMP_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W, 2 * PG, MADV_WIPEONFORK_), 0);
	put_byte(mm, W, 9, PG);
	child = fork_mm(mm);
	get_byte(child, W, &v);
	ck_assert_int_eq(v, 0);
	mmput(child);
}
END_TEST

START_TEST(test_guard_regions_across_fork)
{
	/* GUARD-1; guards survive fork in a normal VMA (FORK-COPY-3), are lost in a
	 * wiped one (GUARD-6) */
	struct mm_struct *child;
	struct mm_fault_info fi = { 0 };
	uint8_t v = 1;

	map_anon(mm, W, 2 * PG, RW);
	map_anon(mm, W + 8 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_madvise(mm, W + PG, PG, MADV_GUARD_INSTALL_), 0);
	ck_assert_int_eq(do_madvise(mm, W + 9 * PG, PG, MADV_WIPEONFORK_), 0);
	ck_assert_int_eq(do_madvise(mm, W + 9 * PG, PG, MADV_GUARD_INSTALL_), 0);
	ck_assert_int_eq(mm_read(mm, W + PG, &v, 1, &fi), -EFAULT);
	ck_assert_int_eq(fi.signo, SIGSEGV);
	ck_assert_int_eq(count_vmas(mm, W, W + 2 * PG), 1); /* no split */
	/* pagemap as the 6.18 host shows a guard page (GUARD-7) */
	ck_assert_uint_eq(pagemap_at(mm, W + PG), 0x440000000000009fULL);
	child = fork_mm(mm);
	ck_assert_int_eq(mm_read(child, W + PG, &v, 1, &fi), -EFAULT);
	ck_assert_int_eq(mm_read(child, W + 9 * PG, &v, 1, &fi), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(do_madvise(mm, W + PG, PG, MADV_GUARD_REMOVE_), 0);
	ck_assert_int_eq(mm_read(mm, W + PG, &v, 1, &fi), 0);
	/* DONTNEED keeps guard markers (MADV-DONTNEED-1) */
	ck_assert_int_eq(do_madvise(child, W, 2 * PG, MADV_DONTNEED_), 0);
	ck_assert_int_eq(mm_read(child, W + PG, &v, 1, &fi), -EFAULT);
	mmput(child);
}
END_TEST

START_TEST(test_enomem)
{
	struct mm_fault_info fi = { 0 };
	uint8_t v;

	/*
	 * A flag change that must split a faulted VMA whose chain link cannot
	 * be allocated: EAGAIN ("kernel resources temporarily unavailable",
	 * madvise_vma_behavior; MADV-SPLIT-1), nothing changed.
	 */
	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 1, 4 * PG);
	mm_fail_slab_after(1);
	ck_assert_int_eq(do_madvise(mm, W + PG, PG, MADV_DONTFORK_), -EAGAIN);
	mm_fail_slab_after(0);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 1);
	ck_assert(!(flags_at(mm, W + PG) & VM_DONTCOPY));
	/*
	 * A guard in a never-faulted anonymous VMA needs its anon_vma; failing
	 * that: ENOMEM and no marker.  "gu" stays: 6.19's
	 * madvise_guard_install sets VM_MAYBE_GUARD before it prepares the
	 * anon_vma (GUARD-5).
	 */
	map_anon(mm, W + 16 * PG, 2 * PG, RW);
	mm_fail_slab_after(1);
	ck_assert_int_eq(do_madvise(mm, W + 16 * PG, PG, MADV_GUARD_INSTALL_), -ENOMEM);
	mm_fail_slab_after(0);
	ck_assert(flags_at(mm, W + 16 * PG) & VM_MAYBE_GUARD);
	ck_assert(!pte_is_guard(mm_lookup_pte(mm, W + 16 * PG)));
	ck_assert_int_eq(mm_read(mm, W + 16 * PG, &v, 1, &fi), 0);
}
END_TEST

START_TEST(test_populate_errors)
{
	map_anon(mm, W, 2 * PG, PROT_READ_);
	/* MADV-POPULATE-1: EINVAL without the permission (EFAULT is for failing faults) */
	ck_assert_int_eq(do_madvise(mm, W, 2 * PG, MADV_POPULATE_WRITE_), -EINVAL);
	ck_assert_int_eq(do_madvise(mm, W, 2 * PG, MADV_POPULATE_READ_), 0);
	ck_assert_int_eq(do_madvise(mm, W, 4 * PG, MADV_POPULATE_READ_), -ENOMEM);
	map_anon(mm, W + 8 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_madvise(mm, W + 8 * PG, 2 * PG, MADV_POPULATE_WRITE_), 0);
	ck_assert_int_eq(smaps_kb(mm, W + 8 * PG, "Rss:"), 8);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("madvise");
	TCase *tc = tcase_create("madvise");

	tcase_add_checked_fixture(tc, mm_setup, mm_teardown);
	tcase_add_test(tc, test_validation_order);
	tcase_add_test(tc, test_holes_apply_and_enomem);
	tcase_add_test(tc, test_free_semantics);
	tcase_add_test(tc, test_droppable);
	tcase_add_test(tc, test_guard_regions_across_fork);
	tcase_add_test(tc, test_populate_errors);
	tcase_add_test(tc, test_enomem);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
