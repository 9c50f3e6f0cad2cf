/* mm/mlock.c: lock flags, VmLck, Locked as a Pss figure, errors (F10, section 10). */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define mm test_mm
#define RW (PROT_READ_ | PROT_WRITE_)

START_TEST(test_mlock_munlock_split_merge)
{
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
	 * 200000005000-200000008000 for these calls) */
	ck_assert_int_eq(count_vmas(mm, W, W + 8 * PG), 2);
	ck_assert_uint_eq(find_vma(mm, W)->vm_end, W + 5 * PG);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 0);
}
END_TEST

START_TEST(test_errors)
{
	map_anon(mm, W, 2 * PG, RW);
	map_anon(mm, W + 4 * PG, 2 * PG, RW);
	ck_assert_int_eq(do_mlock(mm, W, 2 * PG, 2), -EINVAL);
	ck_assert_int_eq(do_mlock(mm, W, 6 * PG, 0), -ENOMEM);	/* the hole */
	ck_assert(flags_at(mm, W) & VM_LOCKED);			/* what came before it */
	ck_assert_int_eq(do_munlock(mm, W + 2 * PG, PG), -ENOMEM);
	ck_assert_int_eq(do_mlockall(mm, 0), -EINVAL);
	ck_assert_int_eq(do_mlockall(mm, MCL_ONFAULT_), -EINVAL);
	ck_assert_int_eq(do_mlockall(mm, 8), -EINVAL);
}
END_TEST

START_TEST(test_mlockall_current_populates)
{
	map_anon(mm, W, 4 * PG, RW);
	map_anon(mm, W + 8 * PG, 4 * PG, PROT_NONE_);
	ck_assert_int_eq(do_mlockall(mm, MCL_CURRENT_), 0);
	ck_assert_int_eq(smaps_kb(mm, W, "Rss:"), 16);		/* write-faulted: private RW */
	ck_assert_int_eq(smaps_kb(mm, W + 8 * PG, "Rss:"), 0);	/* PROT_NONE is not */
	ck_assert(flags_at(mm, W + 8 * PG) & VM_LOCKED);
	ck_assert_int_eq(do_munlockall(mm), 0);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 0);
}
END_TEST

START_TEST(test_locked_is_pss)
{
	/* section 10: Locked is a Pss figure: locked pages shared with a child count half */
	struct mm_struct *child;

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	ck_assert_int_eq(do_mlock(mm, W, 2 * PG, 0), 0);
	child = fork_mm(mm);
	ck_assert_int_eq(smaps_kb(child, W, "Locked:"), 0);	/* lo not inherited */
	ck_assert_int_eq(do_mlock(child, W, 2 * PG, 0), 0);
	/* mlock populates with write faults: the child's copies are its own */
	ck_assert_int_eq(smaps_kb(child, W, "Locked:"), 8);
	mmput(child);
	child = fork_mm(mm);
	ck_assert_int_eq(smaps_kb(mm, W, "Locked:"), 4);	/* 2 pages, half each */
	mmput(child);
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
	suite_add_tcase(s, tc);
	return run_suite(s);
}
