/*
 * mm/debug.c: the checkers must catch each kind of corruption they claim
 * to (a checker that cannot fail proves nothing), and the dumps show the
 * anon_vma chain.
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define mm test_mm
#define RW (PROT_READ_ | PROT_WRITE_)

static bool invalid(const char *needle)
{
	g_autoptr(GString) why = g_string_new(NULL);

	return !validate_vm(why) && strstr(why->str, needle) != NULL;
}

START_TEST(test_catches_each_corruption)
{
	struct mm_struct *child;
	struct vm_area_struct *v;
	pte_t *ptep;

	map_anon(mm, W, 4 * PG, RW);
	map_anon(mm, W + 8 * PG, 4 * PG, RW);
	put_byte(mm, W, 1, 4 * PG);
	child = fork_mm(mm);
	ck_assert(validate_vm(NULL));

	/* a writable PTE to a page still shared COW */
	ptep = pte_offset(mm, W);
	*ptep |= _PAGE_RW;
	ck_assert(invalid("COW page mapped 2 times"));
	*ptep &= ~_PAGE_RW;
	/* overlapping VMAs */
	v = find_vma(mm, W);
	v->vm_end += 5 * PG;
	ck_assert(invalid("overlaps"));
	v->vm_end -= 5 * PG;
	/* counters */
	mm->total_vm++;
	ck_assert(invalid("total_vm"));
	mm->total_vm--;
	mm->map_count++;
	ck_assert(invalid("map_count"));
	mm->map_count--;
	/* a PTE outside every VMA */
	ptep = pte_alloc(mm, W + 6 * PG);
	set_pte(ptep, mk_pte(zero_pfn, VM_READ) | _PAGE_SPECIAL);
	ck_assert(invalid("outside any VMA"));
	pte_clear(ptep);
	/* an anon_vma that lost its VMA count */
	find_vma(child, W)->anon_vma->num_active_vmas++;
	ck_assert(invalid("num_active_vmas"));
	find_vma(child, W)->anon_vma->num_active_vmas--;
	ck_assert(validate_vm(NULL));
	/* a frame nobody maps, caches or uses as a table: a leak */
	{
		struct page *leak = alloc_page(false);

		ck_assert(invalid("frames in use"));
		put_page(leak);
	}
	ck_assert(validate_vm(NULL));
	mmput(child);
}
END_TEST

/*
 * The per-page mlock state (mm/mlock.c): a page a VM_LOCKED VMA maps is
 * mlocked (MLOCK-PAGE-1; unless the mlock batch lost it, as the kernel's
 * may: MLOCK-PAGE-2), its mlock_count is never below zero and lives on
 * the unevictable LRU only, and only mlocked pages are there.
 * validate_mm sees each.
 */
START_TEST(test_catches_mlock_corruption)
{
	struct page *p;

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	ck_assert_int_eq(do_mlock(mm, W, 2 * PG, 0), 0);
	p = pfn_to_page(pte_pfn(mm_lookup_pte(mm, W)));
	ck_assert(validate_mm(mm, NULL));
	/* a page of a VM_LOCKED VMA that is not mlocked */
	p->flags &= ~(PG_mlocked | PG_unevictable);
	p->mlock_count = 0;
	ck_assert(invalid("of a VM_LOCKED VMA is not PG_mlocked"));
	ck_assert(!validate_mm(mm, NULL));
	/* ... which a lost mlock excuses */
	p->flags |= PG_dupmm_mlock_lost;
	ck_assert(validate_vm(NULL));
	p->flags &= ~PG_dupmm_mlock_lost;
	p->flags |= PG_mlocked | PG_unevictable;
	p->mlock_count = 1;
	ck_assert(validate_vm(NULL));
	/* a count below zero */
	p->mlock_count = -1;
	ck_assert(invalid("has mlock_count -1"));
	/* a count off the unevictable LRU */
	p->mlock_count = 1;
	p->flags &= ~PG_unevictable;
	ck_assert(invalid("off the unevictable LRU"));
	/* mlocked on the LRU, but neither unevictable nor queued in the mlock batch */
	p->mlock_count = 0;
	ck_assert(invalid("not unevictable, and not queued"));
	p->flags |= PG_unevictable;
	p->mlock_count = 1;
	/* unevictable but not mlocked */
	do_mremap(mm, W, PG, PG, MREMAP_MAYMOVE_ | MREMAP_DONTUNMAP_ | MREMAP_FIXED_, W + 16 * PG);
	p = pfn_to_page(pte_pfn(mm_lookup_pte(mm, W + PG)));
	ck_assert(validate_vm(NULL));
	p->flags &= ~PG_mlocked;
	ck_assert(invalid("unevictable but not mlocked"));
	p->flags |= PG_mlocked;
	ck_assert(validate_vm(NULL));
}
END_TEST

/*
 * The cheaper per-call checks: validate_mm_range looks at the PTEs of the
 * VMAs a range meets, and validate_mm at all of them with the RSS
 * recount; each must catch what it claims and only that.
 */
START_TEST(test_cheap_checks_see_what_they_claim)
{
	struct mm_struct *child;
	pte_t *ptep;

	map_anon(mm, W, 4 * PG, RW);
	map_anon(mm, W + 16 * PG, 4 * PG, RW | PROT_EXEC_); /* another VMA, not merged */
	put_byte(mm, W, 1, 4 * PG);
	put_byte(mm, W + 16 * PG, 2, 4 * PG);
	child = fork_mm(mm);
	ck_assert(validate_mm(mm, NULL));
	ck_assert(validate_mm_range(mm, W, W + PG, NULL));
	/* a writable PTE to a COW-shared page in the second VMA */
	ptep = pte_offset(mm, W + 17 * PG);
	*ptep |= _PAGE_RW;
	ck_assert(!validate_mm(mm, NULL));
	ck_assert(!validate_mm_range(mm, W + 17 * PG, W + 18 * PG, NULL));
	ck_assert(validate_mm_range(mm, W, W + PG, NULL)); /* a range that does not meet it */
	*ptep &= ~_PAGE_RW;
	/* the RSS counters: validate_mm recounts, validate_mm_range leaves them */
	mm->rss_stat[MM_ANONPAGES]++;
	ck_assert(!validate_mm(mm, NULL));
	ck_assert(validate_mm_range(mm, W, W + PG, NULL));
	mm->rss_stat[MM_ANONPAGES]--;
	/* the VMA counters: both */
	mm->total_vm++;
	ck_assert(!validate_mm_range(mm, W, W + PG, NULL));
	mm->total_vm--;
	ck_assert(validate_vm(NULL));
	mmput(child);
}
END_TEST

START_TEST(test_dump_chain)
{
	struct mm_struct *child;
	g_autoptr(GString) s = g_string_new(NULL);

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	child = fork_mm(mm);
	dump_anon_vmas(child, s);
	/* the child's own anon_vma, newest first, then the parent's (the root) */
	ck_assert_ptr_nonnull(strstr(
		s->str,
		"anon_vma=av2 chain: av2(root av1, parent av1, children 0, active 1, refs 1) "
		"av1(root av1, parent av1, children 2, active 1, refs 2)"));
	mmput(child);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("debug");
	TCase *tc = tcase_create("validate");

	tcase_add_checked_fixture(tc, mm_setup, mm_teardown);
	tcase_add_test(tc, test_catches_each_corruption);
	tcase_add_test(tc, test_catches_mlock_corruption);
	tcase_add_test(tc, test_cheap_checks_see_what_they_claim);
	tcase_add_test(tc, test_dump_chain);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
