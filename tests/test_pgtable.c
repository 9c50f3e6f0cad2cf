/* mm/pgtable.c: entry format, on-demand tables, freeing when unused. */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

START_TEST(test_mk_pte_bits)
{
	uint64_t priv_rw = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;
	uint64_t shared_rw = priv_rw | VM_SHARED | VM_MAYSHARE;
	pte_t p = mk_pte(5, priv_rw), s = mk_pte(5, shared_rw), n = mk_pte(5, VM_MAYREAD);
	pte_t x = mk_pte(5, VM_READ | VM_EXEC);

	ck_assert(p & _PAGE_PRESENT);
	ck_assert(p & _PAGE_USER);
	ck_assert(!(p & _PAGE_RW)); /* private: write-protected until do_wp_page */
	ck_assert(p & _PAGE_NX);
	ck_assert(s & _PAGE_RW);
	ck_assert(!(n & _PAGE_PRESENT) && (n & _PAGE_PROTNONE) && pte_present(n));
	ck_assert(!(x & _PAGE_NX));
	ck_assert_uint_eq(pte_pfn(p), 5);
}
END_TEST

START_TEST(test_write_fault_pte_and_tables)
{
	struct mm_struct *mm = mm_alloc();
	pte_t pte;

	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 0);
	map_anon(mm, W, 4 * PG, PROT_READ_ | PROT_WRITE_);
	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 0); /* tables come on demand */
	put_byte(mm, W + PG, 1, 1);
	pte = mm_lookup_pte(mm, W + PG);
	ck_assert(pte & _PAGE_PRESENT);
	ck_assert(pte & _PAGE_RW);
	ck_assert(pte & _PAGE_ACCESSED);
	ck_assert(pte & _PAGE_DIRTY);
	ck_assert(pte & _PAGE_NX);
	/* one PUD, one PMD, one PTE table below the pgd: 12 kB */
	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 12);
	ck_assert_uint_eq(mm_lookup_pte(mm, W), 0);
	assert_vm_valid();
	mmput(mm);
}
END_TEST

START_TEST(test_tables_freed_when_unused)
{
	struct mm_struct *mm = mm_alloc();

	map_anon(mm, W, 4 * PG, PROT_READ_ | PROT_WRITE_);
	map_anon(mm, W + 16 * PG, 4 * PG, PROT_READ_ | PROT_WRITE_);
	put_byte(mm, W, 1, 4 * PG);
	put_byte(mm, W + 16 * PG, 1, 4 * PG);
	/* another 1 GiB region: its own PMD and PTE tables */
	map_anon(mm, W + (1ULL << 30), PG, PROT_READ_ | PROT_WRITE_);
	put_byte(mm, W + (1ULL << 30), 1, 1);
	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 20);
	/* the other VMA still uses the 2 MiB region's PTE table */
	ck_assert_int_eq(vm_munmap(mm, W, 4 * PG), 0);
	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 20);
	ck_assert_int_eq(vm_munmap(mm, W + 16 * PG, 4 * PG), 0);
	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 12);
	ck_assert_int_eq(vm_munmap(mm, W + (1ULL << 30), PG), 0);
	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 0);
	assert_vm_valid();
	mmput(mm);
	ck_assert_uint_eq(phys_nr_used(), 0); /* pgd and all */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pgtable");
	TCase *tc = tcase_create("pgtable");

	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_add_test(tc, test_mk_pte_bits);
	tcase_add_test(tc, test_write_fault_pte_and_tables);
	tcase_add_test(tc, test_tables_freed_when_unused);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
