/* mm/page_alloc.c: frames, the zero page, the RAM limit, the failure switch. */
#include <signal.h>

#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

START_TEST(test_struct_page_fits)
{
	/* The budget: at most 64 bytes of metadata per frame. */
	ck_assert_uint_le(sizeof(struct page), 64);
}
END_TEST

START_TEST(test_alloc_zeroed_and_reused)
{
	struct page *p = alloc_page(true);
	uint8_t *data = page_address(p);
	uint64_t pfn = page_to_pfn(p);
	struct page *q;

	ck_assert_int_eq(p->refcount, 1);
	ck_assert_uint_ne(pfn, 0); /* frame 0 is the zero page (DIV-ZERO-PFN) */
	memset(data, 0x5a, PAGE_SIZE);
	put_page(p);
	q = alloc_page(true);
	ck_assert_uint_eq(page_to_pfn(q), pfn);			/* LIFO reuse */
	ck_assert_int_eq(((uint8_t *)page_address(q))[100], 0); /* zeroed on reuse */
	put_page(q);
	ck_assert_uint_eq(phys_nr_used(), 0);
}
END_TEST

START_TEST(test_ram_limit_is_a_clean_oom)
{
	struct mm_struct *mm;
	struct mm_fault_info fi = { 0 };

	phys_exit();
	ck_assert_int_eq(phys_init(64 * PAGE_SIZE), 0); /* 64 frames of RAM */
	mm = mm_alloc();
	ck_assert_int_eq(map_anon(mm, W, 128 * PG, PROT_READ_ | PROT_WRITE_), (long)W);
	/* Writing 128 pages cannot fit in 63 free frames: the fault reports OOM, SIGKILL
	 * for the faulting task (DIV-OOM). */
	ck_assert_int_eq(mm_fill(mm, W, 1, 128 * PG, &fi), -EFAULT);
	ck_assert_int_eq(fi.signo, SIGKILL);
	ck_assert_uint_gt(fi.addr, W);
	assert_vm_valid();
	mmput(mm);
	ck_assert_uint_eq(phys_nr_used(), 0);
}
END_TEST

START_TEST(test_fail_switch)
{
	phys_fail_alloc_after(1);
	ck_assert_ptr_null(mm_alloc());		  /* its pgd allocation fails */
	ck_assert_ptr_nonnull(alloc_page(false)); /* the switch fired once */
}
END_TEST

START_TEST(test_frames_in_order)
{
	/* Pages faulted in order sit in order in the memfd (host mappings merge). */
	struct mm_struct *mm = mm_alloc();

	map_anon(mm, W, 8 * PG, PROT_READ_ | PROT_WRITE_);
	put_byte(mm, W, 1, 8 * PG);
	for (int i = 1; i < 8; i++)
		ck_assert_uint_eq(pte_pfn(mm_lookup_pte(mm, W + i * PG)),
				  pte_pfn(mm_lookup_pte(mm, W)) + (uint64_t)i);
	mmput(mm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("page_alloc");
	TCase *tc = tcase_create("frames");

	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_add_test(tc, test_struct_page_fits);
	tcase_add_test(tc, test_alloc_zeroed_and_reused);
	tcase_add_test(tc, test_ram_limit_is_a_clean_oom);
	tcase_add_test(tc, test_fail_switch);
	tcase_add_test(tc, test_frames_in_order);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
