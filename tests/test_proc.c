/*
 * mm/proc.c: the /proc formats as the host prints them (PROC-MAPS-1,
 * PROC-SMAPS-1, PROC-STATUS-1, PROC-PAGEMAP-1, PROC-THP-1), and the
 * fixed-point Pss (PROC-PSS-1).
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define RW (PROT_READ_ | PROT_WRITE_)

START_TEST(test_maps_line_format)
{
	struct mm_struct *mm = mm_alloc();
	g_autoptr(GString) s = g_string_new(NULL);

	map_anon(mm, W, PG, RW);
	map_shared_anon(mm, W + 4 * PG, PG, RW);
	show_maps(mm, s);
	/* PROC-MAPS-1: an unnamed anonymous line ends "00:00 0 " + newline */
	ck_assert(g_str_has_prefix(s->str, "200000000000-200000001000 rw-p 00000000 00:00 0 \n"));
	/* a named one puts the name at column 73 */
	{
		const char *l2 = strchr(s->str, '\n') + 1;

		ck_assert(g_str_has_prefix(l2, "200000004000-200000005000 rw-s 00000000 00:01 "));
		ck_assert(g_str_has_prefix(l2 + 73, "/dev/zero (deleted)\n"));
	}
	mmput(mm);
}
END_TEST

START_TEST(test_smaps_rollup_and_fields)
{
	struct mm_struct *mm = mm_alloc();
	g_autoptr(GString) r = g_string_new(NULL);
	g_autoptr(GString) s = g_string_new(NULL);

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	show_smaps_rollup(mm, r);
	ck_assert(g_str_has_prefix(r->str, "200000000000-200000002000 ---p 00000000 00:00 0 "));
	/* PROC-SMAPS-1 (smaps_rollup: the model only) */
	ck_assert_int_eq(strstr(r->str, "[rollup]\n") - r->str, 73); /* name column, as maps */
	ck_assert_ptr_nonnull(strstr(r->str, "\nPss_Anon:              8 kB\n"));
	show_smaps(mm, s);
	ck_assert_ptr_nonnull(strstr(s->str, "\nRss:                   8 kB\n"));
	ck_assert_ptr_nonnull(
		strstr(s->str, "\nTHPeligible:           0\nProtectionKey:         0\n"));
	ck_assert_ptr_nonnull(strstr(s->str, "\nVmFlags: rd wr mr mw me ac \n"));
	mmput(mm);
}
END_TEST

START_TEST(test_pss_fixed_point)
{
	/* PROC-PSS-1: 5 pages mapped three times and 1 twice: 5 * 4/3 + 4/2 = 8.67 kB,
	 * printed 8, where rounding each page's share would give 5 * 1 + 2 = 7. */
	struct mm_struct *mm = mm_alloc(), *c1, *c2;

	map_anon(mm, W, 6 * PG, RW);
	put_byte(mm, W, 1, 6 * PG);
	c1 = fork_mm(mm);
	c2 = fork_mm(mm);
	put_byte(c2, W + 5 * PG, 2, PG); /* page 5: mapped by mm and c1 only */
	ck_assert_int_eq(smaps_kb(mm, W, "Pss:"), 8);
	ck_assert_int_eq(smaps_kb(mm, W, "Shared_Dirty:"), 24);
	mmput(c2);
	mmput(c1);
	mmput(mm);
}
END_TEST

START_TEST(test_status_and_pagemap)
{
	/* PROC-STATUS-1 (model only), PROC-PAGEMAP-1 */
	struct mm_struct *mm = mm_alloc(), *child;

	map_anon(mm, W, 4 * PG, RW);
	map_anon(mm, W + 8 * PG, 2 * PG, PROT_READ_);
	put_byte(mm, W, 1, 2 * PG);
	ck_assert_int_eq(status_kb(mm, "VmSize:"), 24);
	ck_assert_int_eq(status_kb(mm, "VmData:"), 16);
	ck_assert_int_eq(status_kb(mm, "VmRSS:"), 8);
	ck_assert_int_eq(status_kb(mm, "RssAnon:"), 8);
	ck_assert(pagemap_at(mm, W) & PM_MMAP_EXCLUSIVE);
	ck_assert_uint_eq(pagemap_at(mm, W + 2 * PG), 0);
	child = fork_mm(mm);
	ck_assert(!(pagemap_at(mm, W) & PM_MMAP_EXCLUSIVE));
	ck_assert_uint_eq(pagemap_at(mm, W) & PM_PFRAME_MASK,
			  pagemap_at(child, W) & PM_PFRAME_MASK);
	mmput(child);
	ck_assert(pagemap_at(mm, W) & PM_MMAP_EXCLUSIVE);
	mmput(mm);
}
END_TEST

/* The THPeligible value of the VMA holding addr. */
static int thp_eligible_at(struct mm_struct *mm, uint64_t addr)
{
	g_autoptr(GString) s = g_string_new(NULL);
	g_autofree char *head =
		g_strdup_printf("%012" G_GINT64_MODIFIER "x-", find_vma(mm, addr)->vm_start);
	const char *at, *f;

	show_smaps(mm, s);
	at = strstr(s->str, head);
	ck_assert_ptr_nonnull(at);
	f = strstr(at, "THPeligible:");
	ck_assert_ptr_nonnull(f);
	return atoi(f + strlen("THPeligible:"));
}

START_TEST(test_thp_eligible_needs_room)
{
	/*
	 * PROC-THP-1, as the host shows it (traces/thp-eligible.strace, where
	 * THPeligible is checked by hand): 1 only with an aligned 2 MiB block
	 * inside a private anonymous MADV_HUGEPAGE VMA, whatever its pgoff
	 * (a VMA mremap moved from another 2 MiB phase counts).
	 */
	struct mm_struct *mm = mm_alloc();
	const uint64_t M2 = PMD_SIZE;

	map_anon(mm, W, 4 * PG, RW);
	map_anon(mm, W + 16 * PG, M2 - 32 * PG, RW);
	map_anon(mm, W + M2 - PG, M2 + PG, RW);
	do_madvise(mm, W, 2 * M2, MADV_HUGEPAGE_);
	ck_assert_int_eq(thp_eligible_at(mm, W), 0);
	ck_assert_int_eq(thp_eligible_at(mm, W + 16 * PG), 0);
	ck_assert_int_eq(thp_eligible_at(mm, W + M2), 1);
	ck_assert_int_eq(vm_munmap(mm, W, 2 * M2), 0);
	map_anon(mm, W + PG, M2, RW);
	map_anon(mm, W + M2 + M2 / 2, M2 / 2, RW);
	do_madvise(mm, W, 2 * M2, MADV_HUGEPAGE_);
	ck_assert_int_eq(thp_eligible_at(mm, W + PG), 0);
	ck_assert_int_eq(thp_eligible_at(mm, W + M2 + M2 / 2), 0);
	ck_assert_int_eq(vm_munmap(mm, W, 2 * M2), 0);
	map_anon(mm, W + 3 * PG, PG, RW);
	put_byte(mm, W + 3 * PG, 1, 1); /* an anon_vma: the move keeps vm_pgoff */
	ck_assert_int_eq(do_mremap(mm, W + 3 * PG, PG, M2, MREMAP_MAYMOVE_ | MREMAP_FIXED_, W + M2),
			 (long)(W + M2));
	ck_assert_uint_ne(find_vma(mm, W + M2)->vm_pgoff, (W + M2) >> PAGE_SHIFT);
	ck_assert_int_eq(thp_eligible_at(mm, W + M2), 0);
	do_madvise(mm, W + M2, M2, MADV_HUGEPAGE_);
	ck_assert_int_eq(thp_eligible_at(mm, W + M2), 1);
	do_madvise(mm, W + M2, M2, MADV_NOHUGEPAGE_);
	ck_assert_int_eq(thp_eligible_at(mm, W + M2), 0);
	map_shared_anon(mm, W, M2, RW);
	do_madvise(mm, W, M2, MADV_HUGEPAGE_);
	ck_assert_int_eq(thp_eligible_at(mm, W), 0);
	mmput(mm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("proc");

	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_add_test(tc, test_maps_line_format);
	tcase_add_test(tc, test_smaps_rollup_and_fields);
	tcase_add_test(tc, test_pss_fixed_point);
	tcase_add_test(tc, test_status_and_pagemap);
	tcase_add_test(tc, test_thp_eligible_needs_room);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
