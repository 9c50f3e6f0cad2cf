/*
 * mm/rmap.c: anon_vma chains built by fork, the reuse rule, and the
 * checker itself (validate_vm must catch a planted inconsistency).
 * Expected structures are those of mm/rmap.c in the kernel (ANON-FORK-1,
 * ANON-FORK-2, ANON-REUSE-1, FORK-WIPE-4); they show on the host only
 * through merging.
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define RW (PROT_READ_ | PROT_WRITE_)

static int chain_len(struct vm_area_struct *vma)
{
	int n = 0;
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, struct anon_vma_chain, same_vma)
		n++;
	return n;
}

START_TEST(test_fork_builds_chain)
{
	/* ANON-FORK-1 */
	struct mm_struct *mm = mm_alloc(), *child;
	struct anon_vma *a;
	struct vm_area_struct *cv;

	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 1, 4 * PG);
	a = find_vma(mm, W)->anon_vma;
	ck_assert_uint_eq(a->num_children, 1); /* the root's self-parent link */
	child = fork_mm(mm);
	cv = find_vma(child, W);
	ck_assert_ptr_ne(cv->anon_vma, a);
	ck_assert_ptr_eq(cv->anon_vma->parent, a);
	ck_assert_ptr_eq(cv->anon_vma->root, a);
	ck_assert_int_eq(chain_len(cv), 2); /* [C', A] */
	ck_assert_uint_eq(a->num_children, 2);
	assert_vm_valid();
	mmput(child);
	ck_assert_uint_eq(a->num_children, 1);
	mmput(mm);
	ck_assert_uint_eq(anon_vma_live, 0);
}
END_TEST

START_TEST(test_split_before_fork_gives_three_anon_vmas)
{
	/* ANON-FORK-2 */
	struct mm_struct *mm = mm_alloc(), *child;
	struct anon_vma *x, *y, *z;

	map_anon(mm, W, 6 * PG, RW);
	put_byte(mm, W, 1, 6 * PG);
	do_mprotect_pkey(mm, W + 2 * PG, 2 * PG, PROT_READ_, -1);
	ck_assert_uint_eq(find_vma(mm, W)->anon_vma->num_active_vmas, 3);
	child = fork_mm(mm);
	x = find_vma(child, W)->anon_vma;
	y = find_vma(child, W + 2 * PG)->anon_vma;
	z = find_vma(child, W + 4 * PG)->anon_vma;
	ck_assert(x != y && y != z && x != z);
	/* so they never merge in the child (VMA-MERGE-3) */
	do_mprotect_pkey(child, W + 2 * PG, 2 * PG, RW, -1);
	ck_assert_int_eq(count_vmas(child, W, W + 6 * PG), 3);
	assert_vm_valid();
	mmput(child);
	mmput(mm);
}
END_TEST

START_TEST(test_reuse_of_idle_anon_vma)
{
	/* ANON-REUSE-1: P forks C1, C1 forks C2, C1 exits: C1's anon_vma has no
	 * VMA and one child.  When C2 forks C3, C3 recycles it instead of a new one. */
	struct mm_struct *p = mm_alloc(), *c1, *c2, *c3;
	struct anon_vma *av1;

	map_anon(p, W, 2 * PG, RW);
	put_byte(p, W, 1, 2 * PG);
	c1 = fork_mm(p);
	av1 = find_vma(c1, W)->anon_vma;
	c2 = fork_mm(c1);
	mmput(c1);
	ck_assert_uint_eq(av1->num_active_vmas, 0);
	ck_assert_uint_eq(av1->num_children, 1);
	c3 = fork_mm(c2);
	ck_assert_ptr_eq(find_vma(c3, W)->anon_vma, av1);
	ck_assert_uint_eq(vm_events[ANON_VMA_REUSED_AT_FORK], 1);
	assert_vm_valid();
	mmput(c3);
	mmput(c2);
	mmput(p);
	ck_assert_uint_eq(anon_vma_live, 0);
}
END_TEST

START_TEST(test_wiped_child_gets_fresh_anon_vma_on_write)
{
	/* FORK-WIPE-1, FORK-WIPE-4 */
	struct mm_struct *mm = mm_alloc(), *child;

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	do_madvise(mm, W, 2 * PG, MADV_WIPEONFORK_);
	child = fork_mm(mm);
	ck_assert_ptr_null(find_vma(child, W)->anon_vma);
	put_byte(child, W, 2, 1);
	ck_assert_ptr_nonnull(find_vma(child, W)->anon_vma);
	ck_assert_ptr_eq(find_vma(child, W)->anon_vma->root, find_vma(child, W)->anon_vma);
	ck_assert_int_eq(chain_len(find_vma(child, W)), 1);
	mmput(child);
	mmput(mm);
}
END_TEST

START_TEST(test_clone_failure_unlinks_what_it_linked)
{
	/*
	 * A grandchild's VMA is on three anon_vmas.  Splitting it clones
	 * that chain; the second link cannot be allocated, so anon_vma_clone
	 * unlinks the first again (unlink_anon_vmas) and the split is
	 * refused: mprotect gives ENOMEM, and every anon_vma's counts are as
	 * they were.
	 */
	struct mm_struct *mm = mm_alloc(), *c1, *c2;
	g_autoptr(GString) before = g_string_new(NULL);
	g_autoptr(GString) after = g_string_new(NULL);
	unsigned long live;

	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 1, 4 * PG);
	c1 = fork_mm(mm);
	c2 = fork_mm(c1);
	ck_assert_int_eq(chain_len(find_vma(c2, W)), 3);
	dump_anon_vmas(c2, before);
	live = anon_vma_live;
	mm_fail_slab_after(2);
	ck_assert_int_eq(do_mprotect_pkey(c2, W + PG, PG, PROT_READ_, -1), -ENOMEM);
	mm_fail_slab_after(0);
	dump_anon_vmas(c2, after);
	ck_assert_str_eq(after->str, before->str);
	ck_assert_uint_eq(anon_vma_live, live);
	ck_assert_int_eq(count_vmas(c2, W, W + 4 * PG), 1);
	ck_assert(flags_at(c2, W + PG) & VM_WRITE);
	assert_vm_valid();
	/* with memory, the same split works */
	ck_assert_int_eq(do_mprotect_pkey(c2, W + PG, PG, PROT_READ_, -1), 0);
	ck_assert_int_eq(count_vmas(c2, W, W + 4 * PG), 3);
	assert_vm_valid();
	mmput(c2);
	mmput(c1);
	mmput(mm);
	ck_assert_uint_eq(anon_vma_live, 0);
}
END_TEST

START_TEST(test_validate_catches_corruption)
{
	struct mm_struct *mm = mm_alloc();
	g_autoptr(GString) why = g_string_new(NULL);
	struct page *page;

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	ck_assert(validate_vm(NULL));
	page = pfn_to_page(pte_pfn(mm_lookup_pte(mm, W)));
	page->mapcount++;
	ck_assert(!validate_vm(why));
	ck_assert_ptr_nonnull(strstr(why->str, "mapcount"));
	page->mapcount--;
	mm->rss_stat[MM_ANONPAGES]++;
	ck_assert(!validate_mm(mm, NULL));
	mm->rss_stat[MM_ANONPAGES]--;
	ck_assert(validate_vm(NULL));
	mmput(mm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rmap");
	TCase *tc = tcase_create("anon_vma");

	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_add_test(tc, test_fork_builds_chain);
	tcase_add_test(tc, test_split_before_fork_gives_three_anon_vmas);
	tcase_add_test(tc, test_reuse_of_idle_anon_vma);
	tcase_add_test(tc, test_wiped_child_gets_fresh_anon_vma_on_write);
	tcase_add_test(tc, test_clone_failure_unlinks_what_it_linked);
	tcase_add_test(tc, test_validate_catches_corruption);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
