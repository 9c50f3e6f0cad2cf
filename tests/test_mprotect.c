/* mm/mprotect.c: flags, commit accounting (F20), errors, holes. */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define mm test_mm
#define RW (PROT_READ_ | PROT_WRITE_)

START_TEST(test_account_dropped_on_never_faulted)
{
	/* F20: RO of a never-faulted private anon VMA drops ac and its charge;
	 * writable again re-charges; a faulted one keeps ac. */
	int64_t before = vm_committed_as;

	map_anon(mm, W, 100 * PG, RW);
	ck_assert_int_eq(vm_committed_as - before, 100);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 100 * PG, PROT_READ_, -1), 0);
	ck_assert(!(flags_at(mm, W) & VM_ACCOUNT));
	ck_assert_int_eq(vm_committed_as - before, 0);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 100 * PG, RW, -1), 0);
	ck_assert(flags_at(mm, W) & VM_ACCOUNT);
	ck_assert_int_eq(vm_committed_as - before, 100);
	put_byte(mm, W, 1, 1);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 100 * PG, PROT_READ_, -1), 0);
	ck_assert(flags_at(mm, W) & VM_ACCOUNT);
	ck_assert_int_eq(vm_committed_as - before, 100);
}
END_TEST

START_TEST(test_hole_changes_what_came_before)
{
	/* do_mprotect_pkey: the loop fixes up VMAs until it meets the hole */
	map_anon(mm, W, 2 * PG, RW);
	map_anon(mm, W + 4 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 6 * PG, PROT_READ_, -1), -ENOMEM);
	ck_assert(!(flags_at(mm, W) & VM_WRITE));
	ck_assert(flags_at(mm, W + 4 * PG) & VM_WRITE);
	/* a range starting in a hole changes nothing */
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 2 * PG, 4 * PG, PROT_READ_, -1), -ENOMEM);
	ck_assert(flags_at(mm, W + 4 * PG) & VM_WRITE);
}
END_TEST

START_TEST(test_argument_errors)
{
	map_anon(mm, W, 2 * PG, RW);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 1, PG, PROT_READ_, -1), -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, PG, 0x10, -1), -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 0, PROT_READ_, -1), 0);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, PG, PROT_READ_ | PROT_GROWSDOWN_, -1), -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, PG, PROT_READ_ | PROT_GROWSDOWN_ | PROT_GROWSUP_, -1),
			 -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, (uint64_t)-PG, PROT_READ_, -1), -ENOMEM);
}
END_TEST

START_TEST(test_ptes_follow)
{
	/* PROT_NONE makes present PTEs PROTNONE; restoring makes a dirty
	 * exclusive page writable again without a fault */
	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 2 * PG, PROT_NONE_, -1), 0);
	ck_assert(!(mm_lookup_pte(mm, W) & _PAGE_PRESENT));
	ck_assert(pte_present(mm_lookup_pte(mm, W)));
	ck_assert_int_eq(smaps_kb(mm, W, "Rss:"), 8);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 2 * PG, RW, -1), 0);
	ck_assert(pte_write(mm_lookup_pte(mm, W)));
	ck_assert_int_eq(do_mprotect_pkey(mm, W, PG, PROT_READ_ | PROT_EXEC_, -1), 0);
	ck_assert(!(mm_lookup_pte(mm, W) & _PAGE_NX));
	ck_assert_int_eq(status_kb(mm, "VmData:"), 4);	/* the RX page is not data */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mprotect");
	TCase *tc = tcase_create("mprotect");

	tcase_add_checked_fixture(tc, mm_setup, mm_teardown);
	tcase_add_test(tc, test_account_dropped_on_never_faulted);
	tcase_add_test(tc, test_hole_changes_what_came_before);
	tcase_add_test(tc, test_argument_errors);
	tcase_add_test(tc, test_ptes_follow);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
