/*
 * mm/mprotect.c: flags, commit accounting (MPROT-ACCT-1), errors
 * (MPROT-ARGS-1), holes (MPROT-HOLE-1), the PTEs (MPROT-PTE-1).
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define mm test_mm
#define RW (PROT_READ_ | PROT_WRITE_)

/* The VmFlags of the VMA holding addr are want. */
static void assert_vmflags(struct mm_struct *m, uint64_t addr, const char *want)
{
	g_autofree char *f = vmflags_at(m, addr);

	ck_assert_str_eq(f, want);
}

START_TEST(test_account_dropped_on_never_faulted)
{
	/* MPROT-ACCT-1: RO of a never-faulted private anon VMA drops ac and its
	 * charge; writable again re-charges; a faulted one keeps ac. */
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
	/* MPROT-HOLE-1, do_mprotect_pkey: the loop fixes up VMAs until it meets the hole */
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
	/* MPROT-ARGS-1, in the kernel's order (traces/mprotect-grows.strace) */
	map_anon(mm, W, 2 * PG, RW);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 1, PG, PROT_READ_, -1), -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, PG, 0x10, -1), -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 0, PROT_READ_, -1), 0);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, PG, PROT_READ_ | PROT_GROWSDOWN_, -1), -EINVAL);
	ck_assert_int_eq(
		do_mprotect_pkey(mm, W, PG, PROT_READ_ | PROT_GROWSDOWN_ | PROT_GROWSUP_, -1),
		-EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, (uint64_t)-PG, PROT_READ_, -1), -ENOMEM);
	/* length 0 comes before the prot bits; an unaligned start before both */
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 0, PROT_READ_ | 0x10, -1), 0);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 1, 0, PROT_READ_ | 0x10, -1), -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 0, PROT_GROWSDOWN_ | PROT_GROWSUP_, -1), -EINVAL);
	/* the prot bits come before the lookup: EINVAL where nothing is mapped */
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 256 * PG, PG, PROT_READ_ | 0x10, -1), -EINVAL);
	/* PROT_SEM is accepted, and ignored */
	ck_assert_int_eq(do_mprotect_pkey(mm, W, PG, PROT_READ_ | PROT_WRITE_ | PROT_SEM_, -1), 0);
	assert_vmflags(mm, W, "rd wr mr mw me ac");
}
END_TEST

START_TEST(test_grows_after_lookup)
{
	/*
	 * MPROT-ARGS-1 (DIV-MPROT-GROWSUP, fixed): PROT_GROWSUP fails only after the VMA
	 * lookup, so with nothing mapped at or after the address, or a start
	 * in a hole, ENOMEM; on a VMA, EINVAL (no VMA grows up on x86).
	 * PROT_GROWSDOWN starts at the VMA's start, even from a hole below
	 * it, and needs VM_GROWSDOWN (traces/mprotect-grows.strace).
	 */
	uint64_t gd = W + 32 * PG;

	map_anon(mm, W, 4 * PG, RW);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, gd, 4 * PG, RW,
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_GROWSDOWN_ | MAP_FIXED_,
				       0),
			 (long)gd);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 256 * PG, PG, PROT_READ_ | PROT_GROWSUP_, -1),
			 -ENOMEM);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 16 * PG, PG, PROT_READ_ | PROT_GROWSUP_, -1),
			 -ENOMEM);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 16 * PG, 32 * PG, PROT_READ_ | PROT_GROWSUP_, -1),
			 -ENOMEM);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 2 * PG, PG, PROT_READ_ | PROT_GROWSUP_, -1),
			 -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, gd + 2 * PG, PG, PROT_READ_ | PROT_GROWSUP_, -1),
			 -EINVAL);
	ck_assert_int_eq(
		do_mprotect_pkey(mm, (uint64_t)-PG, 2 * PG, PROT_READ_ | PROT_GROWSUP_, -1),
		-ENOMEM);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 2 * PG, PG, PROT_READ_ | PROT_GROWSDOWN_, -1),
			 -EINVAL);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 16 * PG, PG, PROT_READ_ | PROT_GROWSDOWN_, -1),
			 -ENOMEM);
	ck_assert(flags_at(mm, W) & VM_WRITE);
	/* from the hole below, up to one page into the VMA: [gd, gd + PG) */
	ck_assert_int_eq(
		do_mprotect_pkey(mm, W + 16 * PG, 17 * PG, PROT_READ_ | PROT_GROWSDOWN_, -1), 0);
	ck_assert(!(flags_at(mm, gd) & VM_WRITE));
	ck_assert(flags_at(mm, gd + PG) & VM_WRITE);
	/* from inside: the whole VMA below the end */
	ck_assert_int_eq(do_mprotect_pkey(mm, gd + 2 * PG, PG, PROT_READ_ | PROT_GROWSDOWN_, -1),
			 0);
	ck_assert(!(flags_at(mm, gd + 2 * PG) & VM_WRITE));
	ck_assert(flags_at(mm, gd + 3 * PG) & VM_WRITE);
	ck_assert_int_eq(count_vmas(mm, gd, gd + 4 * PG), 2);
}
END_TEST

START_TEST(test_ptes_follow)
{
	/* MPROT-PTE-1: PROT_NONE makes present PTEs PROTNONE; restoring makes a
	 * dirty exclusive page writable again without a fault; MMAP-STAT-1 */
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
	ck_assert_int_eq(status_kb(mm, "VmData:"), 4); /* the RX page is not data */
}
END_TEST

START_TEST(test_clean_exclusive_made_writable)
{
	/*
	 * MPROT-PTE-1 (DIV-MPROT-DIRTY, fixed): can_change_pte_writable wants no dirty PTE
	 * for a private exclusive anonymous page.  MADV_FREE leaves it clean;
	 * read-only and back, it is writable at once, still clean.  A page
	 * shared with a fork child is not exclusive: it stays read-only.
	 */
	struct mm_struct *child;

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	ck_assert_int_eq(do_madvise(mm, W, PG, MADV_FREE_), 0);
	ck_assert(!pte_dirty(mm_lookup_pte(mm, W)));
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 2 * PG, PROT_READ_, -1), 0);
	ck_assert(!pte_write(mm_lookup_pte(mm, W)));
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 2 * PG, RW, -1), 0);
	ck_assert(pte_write(mm_lookup_pte(mm, W)));
	ck_assert(!pte_dirty(mm_lookup_pte(mm, W)));
	ck_assert(pte_write(mm_lookup_pte(mm, W + PG)));
	ck_assert(pte_dirty(mm_lookup_pte(mm, W + PG)));
	child = fork_mm(mm);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 2 * PG, PROT_READ_, -1), 0);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, 2 * PG, RW, -1), 0);
	ck_assert(!pte_write(mm_lookup_pte(mm, W)));
	ck_assert(!pte_write(mm_lookup_pte(mm, W + PG)));
	mmput(child);
}
END_TEST

START_TEST(test_enomem_changes_nothing)
{
	uint64_t committed;

	/*
	 * |AAAA| mprotect of page 1 must split the faulted VMA; the split's
	 * chain link cannot be allocated (__split_vma's anon_vma_clone), so
	 * ENOMEM, and the VMA, its flags, its PTEs and the charge are as
	 * they were.
	 */
	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 1, 4 * PG);
	committed = (uint64_t)vm_committed_as;
	mm_fail_slab_after(1);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + PG, PG, PROT_READ_, -1), -ENOMEM);
	mm_fail_slab_after(0);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 1);
	ck_assert(flags_at(mm, W + PG) & VM_WRITE);
	ck_assert(pte_write(mm_lookup_pte(mm, W + PG)));
	ck_assert_uint_eq((uint64_t)vm_committed_as, committed);
	/*
	 * |PPMM| P never faulted, M faulted and read-only: making M writable
	 * joins it to P, which must take M's anon_vma first (dup_anon_vma).
	 * Failing that link: ENOMEM (vma_modify's VMA_MERGE_ERROR_NOMEM),
	 * both VMAs as they were.
	 */
	map_anon(mm, W + 18 * PG, 2 * PG, RW);
	put_byte(mm, W + 18 * PG, 1, 2 * PG);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 18 * PG, 2 * PG, PROT_READ_, -1), 0);
	map_anon(mm, W + 16 * PG, 2 * PG, RW);
	ck_assert_int_eq(count_vmas(mm, W + 16 * PG, W + 20 * PG), 2);
	mm_fail_slab_after(1);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 18 * PG, 2 * PG, RW, -1), -ENOMEM);
	mm_fail_slab_after(0);
	ck_assert_int_eq(count_vmas(mm, W + 16 * PG, W + 20 * PG), 2);
	ck_assert(!(flags_at(mm, W + 18 * PG) & VM_WRITE));
	ck_assert_ptr_null(find_vma(mm, W + 16 * PG)->anon_vma);
	/* with memory, it merges */
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 18 * PG, 2 * PG, RW, -1), 0);
	ck_assert_int_eq(count_vmas(mm, W + 16 * PG, W + 20 * PG), 1);
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
	tcase_add_test(tc, test_grows_after_lookup);
	tcase_add_test(tc, test_ptes_follow);
	tcase_add_test(tc, test_clean_exclusive_made_writable);
	tcase_add_test(tc, test_enomem_changes_nothing);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
