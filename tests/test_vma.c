/*
 * mm/vma.c: find_vma, split and merge by the 6.x rules.  Each expectation
 * is a host-kernel observation that docs/kernel-semantics.md records
 * (VMA-MERGE-1 to VMA-MERGE-5, VMA-SPLIT-1, MADV-SPLIT-1, MREMAP-MOVE-1).
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define RW (PROT_READ_ | PROT_WRITE_)

#define mm test_mm

static void teardown(void)
{
	sysctl_max_map_count = 65530;
	mm_teardown();
}

START_TEST(test_find_vma)
{
	map_anon(mm, W + 4 * PG, 2 * PG, RW);
	map_anon(mm, W + 10 * PG, 2 * PG, RW);
	ck_assert_uint_eq(find_vma(mm, W)->vm_start, W + 4 * PG); /* the next one */
	ck_assert_uint_eq(find_vma(mm, W + 5 * PG)->vm_start, W + 4 * PG);
	ck_assert_uint_eq(find_vma(mm, W + 6 * PG)->vm_start,
			  W + 10 * PG); /* vm_end is exclusive */
	ck_assert_ptr_null(find_vma(mm, W + 12 * PG));
}
END_TEST

START_TEST(test_adjacent_anon_merge)
{
	/*  VMA-MERGE-1: AA then BB after it, then CC before: one VMA   |CCAABB| */
	map_anon(mm, W + 2 * PG, 2 * PG, RW);
	put_byte(mm, W + 2 * PG, 1, 1);
	map_anon(mm, W + 4 * PG, 2 * PG, RW);
	map_anon(mm, W, 2 * PG, RW);
	ck_assert_int_eq(count_vmas(mm, W, W + 6 * PG), 1);
	/* a different prot does not merge; mprotect to the same prot does */
	map_anon(mm, W + 6 * PG, 2 * PG, PROT_READ_);
	ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 2);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 6 * PG, 2 * PG, RW, -1), 0);
	ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 1);
}
END_TEST

START_TEST(test_split_by_non_access_flag_before_fault)
{
	/* VMA-MERGE-5: RANDOM on the upper half before any fault, fault both halves,
	 * NORMAL: stays 2 (each half got its own anon_vma). */
	map_anon(mm, W, 4 * PG, RW);
	ck_assert_int_eq(do_madvise(mm, W + 2 * PG, 2 * PG, MADV_RANDOM_), 0);
	put_byte(mm, W, 1, 4 * PG);
	ck_assert_ptr_ne(find_vma(mm, W)->anon_vma, find_vma(mm, W + 2 * PG)->anon_vma);
	ck_assert_int_eq(do_madvise(mm, W + 2 * PG, 2 * PG, MADV_NORMAL_), 0);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 2);
}
END_TEST

START_TEST(test_split_by_access_flag_before_fault)
{
	/* VMA-MERGE-5: the same with PROT_EXEC as the difference: 1 VMA (anon_vma reused,
	 * ANON-PREP-1). */
	map_anon(mm, W, 4 * PG, RW);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 2 * PG, 2 * PG, RW | PROT_EXEC_, -1), 0);
	put_byte(mm, W, 1, 4 * PG);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 2);
	ck_assert_ptr_eq(find_vma(mm, W)->anon_vma, find_vma(mm, W + 2 * PG)->anon_vma);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 2 * PG, 2 * PG, RW, -1), 0);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 1);
}
END_TEST

START_TEST(test_every_flag_advice_splits_and_merges)
{
	/* MADV-SPLIT-1: each flag advice and its inverse; HUGEPAGE and NOHUGEPAGE set a
	 * flag either way (MADV-HUGE-1) */
	static const int advice[][2] = {
		{ MADV_WIPEONFORK_, MADV_KEEPONFORK_ },
		{ MADV_DONTFORK_, MADV_DOFORK_ },
		{ MADV_DONTDUMP_, MADV_DODUMP_ },
		{ MADV_RANDOM_, MADV_NORMAL_ },
		{ MADV_SEQUENTIAL_, MADV_NORMAL_ },
		{ MADV_MERGEABLE_, MADV_UNMERGEABLE_ },
		{ MADV_HUGEPAGE_, -1 },
		{ MADV_NOHUGEPAGE_, -1 },
	};

	map_anon(mm, W, 8 * PG, RW);
	put_byte(mm, W, 1, 8 * PG);
	for (size_t i = 0; i < G_N_ELEMENTS(advice); i++) {
		ck_assert_int_eq(do_madvise(mm, W + 3 * PG, PG, advice[i][0]), 0);
		ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 3);
		if (advice[i][1] >= 0) {
			ck_assert_int_eq(do_madvise(mm, W + 3 * PG, PG, advice[i][1]), 0);
			ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 1);
		}
	}
}
END_TEST

START_TEST(test_bridge_merge)
{
	/* VMA-MERGE-4: wf on page 3 and 5 (5 VMAs), then on 4: prev and next bridged,
	 * 3 VMAs. */
	map_anon(mm, W, 8 * PG, RW);
	put_byte(mm, W, 1, 8 * PG);
	do_madvise(mm, W + 3 * PG, PG, MADV_WIPEONFORK_);
	do_madvise(mm, W + 5 * PG, PG, MADV_WIPEONFORK_);
	ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 5);
	do_madvise(mm, W + 4 * PG, PG, MADV_WIPEONFORK_);
	ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 3);
	ck_assert_uint_eq(find_vma(mm, W + 4 * PG)->vm_start, W + 3 * PG);
	ck_assert_uint_eq(find_vma(mm, W + 4 * PG)->vm_end, W + 6 * PG);
}
END_TEST

START_TEST(test_mremap_pgoff_rule)
{
	/* MREMAP-MOVE-1: a faulted anon VMA moved next to another keeps its pgoff: no merge;
	 * a never-faulted one takes the new address as pgoff: merges. */
	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 1);
	map_anon(mm, W + 100 * PG, 2 * PG, RW);
	put_byte(mm, W + 100 * PG, 1, 1);
	ck_assert_int_eq(do_mremap(mm, W + 100 * PG, 2 * PG, 2 * PG,
				   MREMAP_MAYMOVE_ | MREMAP_FIXED_, W + 2 * PG),
			 (long)(W + 2 * PG));
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 2);
	/* |C|A|B|: C moved in front of A, never faulted, merges with A */
	map_anon(mm, W + 200 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_mremap(mm, W + 200 * PG, 2 * PG, 2 * PG,
				   MREMAP_MAYMOVE_ | MREMAP_FIXED_, W - 2 * PG),
			 (long)(W - 2 * PG));
	ck_assert_int_eq(count_vmas(mm, W - 2 * PG, W + 4 * PG), 2);
	ck_assert_uint_eq(find_vma(mm, W)->vm_start, W - 2 * PG);
}
END_TEST

START_TEST(test_child_merge_rules)
{
	struct mm_struct *child;

	/* VMA-MERGE-3: a new mmap next to an inherited faulted VMA: 2 in the child, 1 in
	 * the parent */
	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 1, 4 * PG);
	map_anon(mm, W + 16 * PG, 4 * PG, RW); /* never faulted */
	child = fork_mm(mm);
	map_anon(child, W + 4 * PG, 2 * PG, RW);
	ck_assert_int_eq(count_vmas(child, W, W + 6 * PG), 2);
	map_anon(child, W + 20 * PG, 2 * PG, RW);
	ck_assert_int_eq(count_vmas(child, W + 16 * PG, W + 22 * PG), 1);
	/* the child's own split of an inherited VMA re-merges */
	ck_assert_int_eq(do_mprotect_pkey(child, W + PG, PG, PROT_READ_, -1), 0);
	ck_assert_int_eq(count_vmas(child, W, W + 4 * PG), 3);
	ck_assert_int_eq(do_mprotect_pkey(child, W + PG, PG, RW, -1), 0);
	ck_assert_int_eq(count_vmas(child, W, W + 4 * PG), 1);
	map_anon(mm, W + 4 * PG, 2 * PG, RW);
	ck_assert_int_eq(count_vmas(mm, W, W + 6 * PG), 1);
	assert_vm_valid();
	mmput(child);
}
END_TEST

START_TEST(test_merge_enomem_maps_a_vma_of_its_own)
{
	/*
	 * |PP..NN| P never faulted, N faulted: a mapping of the hole would
	 * join all three, which needs P on N's anon_vma (dup_anon_vma).
	 * Failing that link, mmap still succeeds with a VMA of its own
	 * (__mmap_region falls back to a new VMA when vma_merge_new_range
	 * fails): three VMAs.
	 */
	map_anon(mm, W, 2 * PG, RW);
	map_anon(mm, W + 4 * PG, 2 * PG, RW);
	put_byte(mm, W + 4 * PG, 1, 2 * PG);
	mm_fail_slab_after(1);
	ck_assert_int_eq(map_anon(mm, W + 2 * PG, 2 * PG, RW), (long)(W + 2 * PG));
	mm_fail_slab_after(0);
	ck_assert_int_eq(count_vmas(mm, W, W + 6 * PG), 3);
	ck_assert_ptr_null(find_vma(mm, W)->anon_vma);
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 24);
}
END_TEST

START_TEST(test_max_map_count)
{
	/* VMA-SPLIT-1, MADV-SPLIT-1: at the limit, mprotect that must split gives ENOMEM,
	 * madvise EAGAIN, and a whole-VMA change (no split) still works. */
	map_anon(mm, W, 8 * PG, RW);
	map_anon(mm, W + 10 * PG, 2 * PG, RW);
	sysctl_max_map_count = mm->map_count;
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 2 * PG, PG, PROT_READ_, -1), -ENOMEM);
	ck_assert_int_eq(do_madvise(mm, W + 2 * PG, PG, MADV_WIPEONFORK_), -EAGAIN);
	ck_assert_int_eq(do_madvise(mm, W + 10 * PG, 2 * PG, MADV_WIPEONFORK_), 0);
	ck_assert_int_eq(mm->map_count, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vma");
	TCase *tc = tcase_create("vma");

	tcase_add_checked_fixture(tc, mm_setup, teardown);
	tcase_add_test(tc, test_find_vma);
	tcase_add_test(tc, test_adjacent_anon_merge);
	tcase_add_test(tc, test_split_by_non_access_flag_before_fault);
	tcase_add_test(tc, test_split_by_access_flag_before_fault);
	tcase_add_test(tc, test_every_flag_advice_splits_and_merges);
	tcase_add_test(tc, test_bridge_merge);
	tcase_add_test(tc, test_mremap_pgoff_rule);
	tcase_add_test(tc, test_child_merge_rules);
	tcase_add_test(tc, test_max_map_count);
	tcase_add_test(tc, test_merge_enomem_maps_a_vma_of_its_own);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
