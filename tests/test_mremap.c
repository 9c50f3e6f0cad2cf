/*
 * mm/mremap.c: contents move with the pages (MREMAP-MOVE-1), resizing
 * (MREMAP-RESIZE-1), accounting follows (MREMAP-HIWATER-1,
 * MREMAP-UNMAPFAIL-1), DONTUNMAP (MREMAP-DONTUNMAP-1).
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define mm test_mm
#define RW (PROT_READ_ | PROT_WRITE_)

START_TEST(test_move_keeps_pages_and_counts)
{
	uint64_t pfn;
	uint8_t v;

	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 0x61, 4 * PG);
	pfn = pte_pfn(mm_lookup_pte(mm, W + PG));
	ck_assert_int_eq(
		do_mremap(mm, W, 4 * PG, 8 * PG, MREMAP_MAYMOVE_ | MREMAP_FIXED_, W + 64 * PG),
		(long)(W + 64 * PG));
	ck_assert_uint_eq(pte_pfn(mm_lookup_pte(mm, W + 65 * PG)), pfn); /* moved: MREMAP-MOVE-1 */
	get_byte(mm, W + 67 * PG, &v);
	ck_assert_int_eq(v, 0x61);
	get_byte(mm, W + 68 * PG, &v);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 0);
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 32);
	ck_assert_int_eq(status_kb(mm, "RssAnon:"),
			 16); /* the read of a new page mapped the zero page */
	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 12); /* the old table was freed */
}
END_TEST

START_TEST(test_grow_in_place_and_into_next)
{
	uint64_t b = W + 64 * PG;
	int64_t committed;
	uint8_t v;

	/*
	 * MREMAP-RESIZE-1, vma_merge_extend: growing a VMA in place up to a
	 * compatible next VMA joins the two, the grown range between them
	 * included:
	 *
	 *   |AA..BB|  mremap(A, 2 pages, 4 pages)  |AAAAAA|
	 *
	 * Observed on the 6.18 host (private anonymous RW, B two pages above
	 * A): one VMA of six pages, VmSize 8 kB more, whether A, B or
	 * neither was written before; with both written (two anon_vmas that
	 * cannot merge) A grows up to B and they stay two.
	 */
	for (int i = 0; i < 4; i++) {
		bool wa = i & 1, wb = i & 2;
		uint64_t a = W + (uint64_t)i * 16 * PG;
		long size;

		map_anon(mm, a, 2 * PG, RW);
		map_anon(mm, a + 4 * PG, 2 * PG, RW);
		if (wa)
			put_byte(mm, a, 0x0a, PG);
		if (wb)
			put_byte(mm, a + 4 * PG, 0x0b, PG);
		size = status_kb(mm, "VmSize:");
		committed = vm_committed_as;
		ck_assert_int_eq(do_mremap(mm, a, 2 * PG, 4 * PG, 0, 0), (long)a);
		ck_assert_int_eq(count_vmas(mm, a, a + 6 * PG), (wa && wb) ? 2 : 1);
		ck_assert_uint_eq(find_vma(mm, a)->vm_end, (wa && wb) ? a + 4 * PG : a + 6 * PG);
		ck_assert_int_eq(status_kb(mm, "VmSize:"), size + 8);
		ck_assert_int_eq(vm_committed_as - committed, 2);
		get_byte(mm, a, &v);
		ck_assert_int_eq(v, wa ? 0x0a : 0);
		get_byte(mm, a + 4 * PG, &v);
		ck_assert_int_eq(v, wb ? 0x0b : 0);
	}
	/* A neighbour with another protection is not joined, and a growth into it is refused. */
	map_anon(mm, b, 2 * PG, RW);
	map_anon(mm, b + 4 * PG, 2 * PG, PROT_READ_);
	ck_assert_int_eq(do_mremap(mm, b, 2 * PG, 4 * PG, 0, 0), (long)b);
	ck_assert_int_eq(count_vmas(mm, b, b + 6 * PG), 2);
	ck_assert_uint_eq(find_vma(mm, b)->vm_end, b + 4 * PG);
	ck_assert_int_eq(do_mremap(mm, b, 4 * PG, 5 * PG, 0, 0), -ENOMEM);
}
END_TEST

START_TEST(test_enomem_fails_cleanly)
{
	uint64_t committed;
	uint8_t v;

	/*
	 * A faulted VMA moved where it joins nothing: copy_vma's copy cannot
	 * link to the anon_vma (anon_vma_clone), so mremap gives ENOMEM
	 * (move_vma), the source keeps its pages and the target stays
	 * unmapped, with the counters as they were.
	 */
	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 0x61, 4 * PG);
	committed = (uint64_t)vm_committed_as;
	mm_fail_slab_after(1);
	ck_assert_int_eq(
		do_mremap(mm, W, 4 * PG, 4 * PG, MREMAP_MAYMOVE_ | MREMAP_FIXED_, W + 64 * PG),
		-ENOMEM);
	mm_fail_slab_after(0);
	ck_assert_int_eq(count_vmas(mm, W + 64 * PG, W + 68 * PG), 0);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 1);
	get_byte(mm, W + 3 * PG, &v);
	ck_assert_int_eq(v, 0x61);
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 16);
	ck_assert_int_eq(status_kb(mm, "RssAnon:"), 16);
	ck_assert_uint_eq((uint64_t)vm_committed_as, committed);
	/*
	 * |AA..BB| A never faulted, B faulted: growing A in place up to B
	 * joins them (vma_merge_extend), which needs A on B's anon_vma
	 * (dup_anon_vma).  Failing that link: ENOMEM, both as they were.
	 */
	map_anon(mm, W + 16 * PG, 2 * PG, RW);
	map_anon(mm, W + 20 * PG, 2 * PG, RW);
	put_byte(mm, W + 20 * PG, 1, 2 * PG);
	mm_fail_slab_after(1);
	ck_assert_int_eq(do_mremap(mm, W + 16 * PG, 2 * PG, 4 * PG, 0, 0), -ENOMEM);
	mm_fail_slab_after(0);
	ck_assert_int_eq(count_vmas(mm, W + 16 * PG, W + 22 * PG), 2);
	ck_assert_uint_eq(find_vma(mm, W + 16 * PG)->vm_end, W + 18 * PG);
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 32);
	ck_assert_uint_eq((uint64_t)vm_committed_as, committed + 4);
}
END_TEST

START_TEST(test_table_enomem_moves_back)
{
	/*
	 * Four faulted pages across a PTE-table boundary (after page 1),
	 * moved 1 GiB up to straddle another one (after page 0): three
	 * extents, pages 0, 1 and 2-3.  Each extent's destination table
	 * comes before anything of it moves: a PMD and a PTE table for the
	 * first, a PTE table for the second, none for the third.  Failing
	 * each of those allocations in turn (the last after page 0 has
	 * moved), mremap gives ENOMEM (move_vma's error path): what was
	 * moved goes back, the new range is unmapped, and the pages, their
	 * frames, the VMA and the counters are as they were.  Then the move
	 * works.
	 */
	uint64_t a = W + PMD_SIZE - 2 * PG, to = W + (1ULL << 30) + PMD_SIZE - PG, pfn[4], used;
	uint64_t committed;
	long r = -ENOMEM;
	uint64_t n;
	uint8_t v;

	map_anon(mm, a, 4 * PG, RW);
	for (int i = 0; i < 4; i++) {
		put_byte(mm, a + (uint64_t)i * PG, (uint8_t)(0x10 + i), PG);
		pfn[i] = pte_pfn(mm_lookup_pte(mm, a + (uint64_t)i * PG));
	}
	used = phys_nr_used();
	committed = (uint64_t)vm_committed_as;
	for (n = 1; r < 0; n++) {
		phys_fail_alloc_after(n);
		r = do_mremap(mm, a, 4 * PG, 4 * PG, MREMAP_MAYMOVE_ | MREMAP_FIXED_, to);
		phys_fail_alloc_after(0);
		if (r >= 0)
			break;
		ck_assert_int_eq(r, -ENOMEM);
		ck_assert_int_eq(count_vmas(mm, to, to + 4 * PG), 0);
		ck_assert_int_eq(count_vmas(mm, a, a + 4 * PG), 1);
		for (int i = 0; i < 4; i++) {
			ck_assert_uint_eq(pte_pfn(mm_lookup_pte(mm, a + (uint64_t)i * PG)), pfn[i]);
			get_byte(mm, a + (uint64_t)i * PG, &v);
			ck_assert_int_eq(v, 0x10 + i);
		}
		ck_assert_uint_eq(phys_nr_used(), used);
		ck_assert_uint_eq((uint64_t)vm_committed_as, committed);
		ck_assert_int_eq(status_kb(mm, "VmSize:"), 16);
		ck_assert_int_eq(status_kb(mm, "RssAnon:"), 16);
		assert_vm_valid();
	}
	ck_assert_uint_eq(n, 4); /* three tables to allocate, three ways to fail */
	ck_assert_int_eq(r, (long)to);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(pte_pfn(mm_lookup_pte(mm, to + (uint64_t)i * PG)), pfn[i]);
}
END_TEST

START_TEST(test_dontunmap_and_locked)
{
	uint8_t v = 1;

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 0x71, 2 * PG);
	ck_assert_int_eq(do_mlock(mm, W, 2 * PG, 0), 0);
	ck_assert_int_eq(do_mremap(mm, W, 2 * PG, 2 * PG,
				   MREMAP_MAYMOVE_ | MREMAP_DONTUNMAP_ | MREMAP_FIXED_,
				   W + 16 * PG),
			 (long)(W + 16 * PG));
	/* MREMAP-DONTUNMAP-1: the old range stays mapped, empty and unlocked; the new one
	 * has the data */
	ck_assert_int_eq(count_vmas(mm, W, W + 2 * PG), 1);
	ck_assert(!(flags_at(mm, W) & VM_LOCKED));
	ck_assert(flags_at(mm, W + 16 * PG) & VM_LOCKED);
	get_byte(mm, W, &v);
	ck_assert_int_eq(v, 0);
	get_byte(mm, W + 16 * PG, &v);
	ck_assert_int_eq(v, 0x71);
}
END_TEST

START_TEST(test_move_restores_hiwater_vm)
{
	/*
	 * MREMAP-HIWATER-1: move_vma accounts the new range before it unmaps the old one, and
	 * restores hiwater_vm afterwards: the moment's double count does not
	 * reach VmPeak.  A move that grows raises it by the growth only; a
	 * DONTUNMAP move keeps both ranges, so VmPeak follows VmSize.
	 */
	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 1, 4 * PG);
	ck_assert_int_eq(status_kb(mm, "VmPeak:"), 16);
	ck_assert_int_eq(
		do_mremap(mm, W, 4 * PG, 4 * PG, MREMAP_MAYMOVE_ | MREMAP_FIXED_, W + 64 * PG),
		(long)(W + 64 * PG));
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 16);
	ck_assert_int_eq(status_kb(mm, "VmPeak:"), 16);
	ck_assert_int_eq(do_mremap(mm, W + 64 * PG, 4 * PG, 8 * PG, MREMAP_MAYMOVE_ | MREMAP_FIXED_,
				   W + 128 * PG),
			 (long)(W + 128 * PG));
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 32);
	ck_assert_int_eq(status_kb(mm, "VmPeak:"), 32);
	/* a move without MREMAP_FIXED, which finds its own place */
	ck_assert_int_gt(do_mremap(mm, W + 128 * PG, 8 * PG, 12 * PG, MREMAP_MAYMOVE_, 0), 0);
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 48);
	ck_assert_int_eq(status_kb(mm, "VmPeak:"), 48);
	ck_assert_int_eq(vm_munmap(mm, find_vma(mm, 0)->vm_start, 12 * PG), 0);
	ck_assert_int_eq(status_kb(mm, "VmPeak:"), 48);
	map_anon(mm, W, 2 * PG, RW);
	ck_assert_int_eq(do_mremap(mm, W, 2 * PG, 2 * PG,
				   MREMAP_MAYMOVE_ | MREMAP_DONTUNMAP_ | MREMAP_FIXED_,
				   W + 16 * PG),
			 (long)(W + 16 * PG));
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 16);
	ck_assert_int_eq(status_kb(mm, "VmPeak:"), 48);
}
END_TEST

START_TEST(test_unmap_failure_keeps_both)
{
	/*
	 * MREMAP-UNMAPFAIL-1: when move_vma cannot unmap the old range (a split short of
	 * memory), the kernel keeps both ranges and returns the new address:
	 * the page has moved, the old range stays mapped and empty, and the
	 * old VMA has lost VM_ACCOUNT (cleared before the unmap, restored only
	 * after a successful one) while its charge is taken again.  The first
	 * slab allocation is copy_vma's anon_vma_chain, the second the split
	 * at the range's start, the third the split at its end.
	 */
	int64_t committed;
	uint8_t v;

	for (int fail = 2; fail <= 3; fail++) {
		uint64_t a = W + (uint64_t)(fail - 2) * 16 * PG, to = a + 256 * PG;

		map_anon(mm, a, 4 * PG, RW);
		put_byte(mm, a, 0x61, 4 * PG);
		put_byte(mm, a + PG, 0x62, PG);
		committed = vm_committed_as;
		mm_fail_slab_after((uint64_t)fail);
		ck_assert_int_eq(do_mremap(mm, a + PG, PG, PG, MREMAP_MAYMOVE_ | MREMAP_FIXED_, to),
				 (long)to);
		mm_fail_slab_after(0);
		get_byte(mm, to, &v);
		ck_assert_int_eq(v, 0x62);
		get_byte(mm, a + PG, &v); /* mapped, and empty */
		ck_assert_int_eq(v, 0);
		get_byte(mm, a + 2 * PG, &v);
		ck_assert_int_eq(v, 0x61);
		/* the first failure splits nothing; the second leaves the first split */
		ck_assert_int_eq(count_vmas(mm, a, a + 4 * PG), fail == 2 ? 1 : 2);
		ck_assert(!(flags_at(mm, a) & VM_ACCOUNT));
		ck_assert(!(flags_at(mm, a + 3 * PG) & VM_ACCOUNT));
		ck_assert(flags_at(mm, to) & VM_ACCOUNT);
		ck_assert_int_eq(vm_committed_as - committed, 1);
		assert_vm_valid();
	}
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 40);
	ck_assert_int_eq(status_kb(mm, "VmPeak:"), 40);
}
END_TEST

START_TEST(test_shmem_grow_sigbus)
{
	/* SHMEM-2: growing shared anonymous memory succeeds, but touching
	 * the new pages past the shmem object's size raises SIGBUS */
	struct mm_fault_info fi = { 0 };
	uint8_t v;

	map_shared_anon(mm, W, 2 * PG, RW);
	ck_assert_int_eq(do_mremap(mm, W, 2 * PG, 4 * PG, 0, 0), (long)W);
	ck_assert_int_eq(mm_read(mm, W + PG, &v, 1, &fi), 0);
	ck_assert_int_eq(mm_read(mm, W + 3 * PG, &v, 1, &fi), -EFAULT);
	ck_assert_int_eq(fi.signo, SIGBUS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mremap");
	TCase *tc = tcase_create("mremap");

	tcase_add_checked_fixture(tc, mm_setup, mm_teardown);
	tcase_add_test(tc, test_move_keeps_pages_and_counts);
	tcase_add_test(tc, test_grow_in_place_and_into_next);
	tcase_add_test(tc, test_dontunmap_and_locked);
	tcase_add_test(tc, test_shmem_grow_sigbus);
	tcase_add_test(tc, test_enomem_fails_cleanly);
	tcase_add_test(tc, test_table_enomem_moves_back);
	tcase_add_test(tc, test_move_restores_hiwater_vm);
	tcase_add_test(tc, test_unmap_failure_keeps_both);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
