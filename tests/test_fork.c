/*
 * dup_mmap (mm/mmap.c) and dup_mm (mm/fork.c) over every combination of
 * mapping kind, DONTCOPY, WIPEONFORK and fault state, each expectation
 * derived from the rules the host shows (FORK-LIST-1, FORK-DONTCOPY-1,
 * FORK-WIPE-1, FORK-WIPE-3, FORK-BOTH-1, FORK-COPY-1, FORK-COPY-2,
 * FORKADV-WIPE-1); plus the VM counters (FORK-COUNT-1), the lock flags
 * (FORK-LOCK-1, FORK-DEFFLAGS-1), and ENOMEM (FORK-ERR-1).
 */
#include <signal.h>

#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define RW (PROT_READ_ | PROT_WRITE_)

enum state { UNTOUCHED, READ, WRITTEN };

START_TEST(test_fork_matrix)
{
	int shared = _i & 1, dontcopy = (_i >> 1) & 1, wipe = (_i >> 2) & 1;
	enum state st = (enum state)(_i >> 3);
	struct mm_struct *mm = mm_alloc(), *child;
	struct mm_fault_info fi = { 0 };
	bool wf, copied;
	uint8_t v = 0xee;
	long r;

	ck_assert_int_eq(shared ? map_shared_anon(mm, W, 2 * PG, RW) : map_anon(mm, W, 2 * PG, RW),
			 (long)W);
	if (st == READ)
		ck_assert_int_eq(get_byte(mm, W, &v), 0);
	if (st == WRITTEN)
		put_byte(mm, W, 0xab, 2 * PG);
	r = wipe ? do_madvise(mm, W, 2 * PG, MADV_WIPEONFORK_) : 0;
	/* WIPEONFORK only on private anonymous memory (FORKADV-WIPE-1) */
	ck_assert_int_eq(r, (wipe && shared) ? -EINVAL : 0);
	if (dontcopy)
		ck_assert_int_eq(do_madvise(mm, W, 2 * PG, MADV_DONTFORK_), 0);
	wf = wipe && !shared;
	child = fork_mm(mm);
	assert_vm_valid();

	if (dontcopy) {
		ck_assert_int_eq(count_vmas(child, W, W + 2 * PG), 0);
		ck_assert_int_eq(mm_read(child, W, &v, 1, &fi), -EFAULT);
		ck_assert_int_eq(fi.code, SEGV_MAPERR);
		ck_assert_int_eq(status_kb(child, "VmSize:"), status_kb(mm, "VmSize:") - 8);
		goto out;
	}
	/* the VMA is there, same range, wf kept in the child (FORK-LIST-1, FORK-WIPE-1) */
	ck_assert_uint_eq(find_vma(child, W)->vm_start, W);
	ck_assert_uint_eq(find_vma(child, W)->vm_end, W + 2 * PG);
	ck_assert_int_eq(!!(flags_at(child, W) & VM_WIPEONFORK), wf);
	/* page tables are copied only for a VMA with anonymous pages (FORK-COPY-1) */
	copied = !shared && st == WRITTEN && !wf;
	ck_assert_int_eq(!!pte_present(mm_lookup_pte(child, W)), copied);
	ck_assert_int_eq(smaps_kb(child, W, "Rss:"), copied ? 8 : 0);
	/* the parent's PTEs are write-protected only where shared COW (FORK-COPY-2, FORK-WIPE-3) */
	if (st == WRITTEN)
		ck_assert_int_eq(!!pte_write(mm_lookup_pte(mm, W)), !copied);
	ck_assert_int_eq(get_byte(child, W + PG, &v), 0);
	ck_assert_int_eq(v, (st == WRITTEN && !wf) ? 0xab : 0);
	put_byte(child, W, 0x01, 1);
	get_byte(mm, W, &v);
	ck_assert_int_eq(v, shared ? 0x01 : (st == WRITTEN ? 0xab : 0));
	assert_vm_valid();
out:
	mmput(child);
	assert_vm_valid();
	mmput(mm);
	ck_assert_uint_eq(phys_nr_used(), 0);
}
END_TEST

START_TEST(test_counters_like_f21)
{
	/* FORK-COUNT-1, MMAP-STAT-1: d (100 RW, 10 mlocked), r (50 RO), x (30 RX) all
	 * DONTFORK, w (20 RW) wiped: the child's VmSize is 720 kB lower, VmData 400 kB,
	 * VmLck 0 (FORK-LOCK-1). */
	struct mm_struct *mm = mm_alloc(), *child;
	uint64_t d = W, r = W + 200 * PG, x = W + 300 * PG, w = W + 400 * PG;

	map_anon(mm, d, 100 * PG, RW);
	map_anon(mm, r, 50 * PG, PROT_READ_);
	map_anon(mm, x, 30 * PG, PROT_READ_ | PROT_EXEC_);
	map_anon(mm, w, 20 * PG, RW);
	put_byte(mm, d, 1, 100 * PG);
	put_byte(mm, w, 1, 20 * PG);
	ck_assert_int_eq(do_mlock(mm, d, 10 * PG, 0), 0);
	ck_assert_int_eq(do_madvise(mm, d, 100 * PG, MADV_DONTFORK_), 0);
	ck_assert_int_eq(do_madvise(mm, r, 50 * PG, MADV_DONTFORK_), 0);
	ck_assert_int_eq(do_madvise(mm, x, 30 * PG, MADV_DONTFORK_), 0);
	ck_assert_int_eq(do_madvise(mm, w, 20 * PG, MADV_WIPEONFORK_), 0);
	child = fork_mm(mm);
	ck_assert_int_eq(status_kb(mm, "VmSize:") - status_kb(child, "VmSize:"), 720);
	ck_assert_int_eq(status_kb(mm, "VmData:") - status_kb(child, "VmData:"), 400);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 40);
	ck_assert_int_eq(status_kb(child, "VmLck:"), 0);
	ck_assert_int_eq(status_kb(mm, "RssAnon:"), 480);
	ck_assert_int_eq(status_kb(child, "RssAnon:"), 0);
	assert_vm_valid();
	mmput(child);
	mmput(mm);
}
END_TEST

START_TEST(test_lock_flags_not_inherited)
{
	/* FORK-LOCK-1: lo and lf vanish in the child; FORK-DEFFLAGS-1: mlockall(MCL_FUTURE)
	 * does not carry over */
	struct mm_struct *mm = mm_alloc(), *child;
	g_autofree char *pf = NULL, *cf = NULL;

	map_anon(mm, W, 4 * PG, RW);
	ck_assert_int_eq(do_mlock(mm, W, 4 * PG, MLOCK_ONFAULT_), 0);
	ck_assert_int_eq(do_mlockall(mm, MCL_FUTURE_), 0);
	child = fork_mm(mm);
	pf = vmflags_at(mm, W);
	cf = vmflags_at(child, W);
	ck_assert_str_eq(pf, "rd wr mr mw me lo lf ac");
	ck_assert_str_eq(cf, "rd wr mr mw me ac");
	map_anon(child, W + 8 * PG, PG, RW);
	map_anon(mm, W + 8 * PG, PG, RW);
	ck_assert(!(flags_at(child, W + 8 * PG) & VM_LOCKED));
	ck_assert(flags_at(mm, W + 8 * PG) & VM_LOCKED);
	mmput(child);
	mmput(mm);
}
END_TEST

START_TEST(test_fork_enomem_leaves_parent_sound)
{
	struct mm_struct *mm = mm_alloc(), *child;
	int err = 0;
	uint64_t used;
	uint8_t v;

	for (int i = 0; i < 4; i++) {
		map_anon(mm, W + (uint64_t)i * (1ULL << 30), 4 * PG, RW);
		put_byte(mm, W + (uint64_t)i * (1ULL << 30), (uint8_t)i, 4 * PG);
	}
	used = phys_nr_used();
	phys_fail_alloc_after(5); /* pgd, then the tables of the second VMA fail */
	child = dup_mm(mm, &err);
	ck_assert_ptr_null(child);
	ck_assert_int_eq(err, -ENOMEM);
	ck_assert_uint_eq(phys_nr_used(), used); /* the half-built child is gone */
	assert_vm_valid();
	for (int i = 0; i < 4; i++) {
		get_byte(mm, W + (uint64_t)i * (1ULL << 30), &v);
		ck_assert_int_eq(v, i);
	}
	/* FORK-ERR-1: the failed fork write-protected the first VMA; a write reuses the page */
	{
		uint64_t pfn = pte_pfn(mm_lookup_pte(mm, W));

		ck_assert(!pte_write(mm_lookup_pte(mm, W)));
		put_byte(mm, W, 9, PG);
		ck_assert_uint_eq(pte_pfn(mm_lookup_pte(mm, W)), pfn);
		ck_assert(pte_write(mm_lookup_pte(mm, W)));
	}
	assert_vm_valid();
	mmput(mm);
}
END_TEST

/* The parent's whole state as the dumps show it, and what it holds. */
struct mm_snapshot {
	GString *dump;
	unsigned long anon_vmas;
	uint64_t frames;
	int64_t committed;
};

static void snapshot(struct mm_struct *mm, struct mm_snapshot *s)
{
	s->dump = g_string_new(NULL);
	dump_mm(mm, s->dump);
	dump_anon_vmas(mm, s->dump);
	s->anon_vmas = anon_vma_live;
	s->frames = phys_nr_used();
	s->committed = vm_committed_as;
}

static void assert_same(struct mm_struct *mm, const struct mm_snapshot *s)
{
	struct mm_snapshot now;

	snapshot(mm, &now);
	ck_assert_str_eq(now.dump->str, s->dump->str);
	ck_assert_uint_eq(now.anon_vmas, s->anon_vmas);
	ck_assert_uint_eq(now.frames, s->frames);
	ck_assert_int_eq(now.committed, s->committed);
	g_string_free(now.dump, TRUE);
}

START_TEST(test_fork_enomem_at_each_slab_allocation)
{
	/*
	 * dup_mmap allocates an anon_vma and chain links for each VMA with
	 * an anon_vma (anon_vma_fork).  Failing each of those allocations in
	 * turn, fork gives ENOMEM (dup_mmap's fail_nomem_anon_vma_fork), the
	 * half-built child is gone, and the parent is as it was: its VMAs,
	 * anon_vmas, pages, page tables and charge.  The parent here is
	 * itself a child: two VMAs are on chains of two (2 links, an anon_vma
	 * and its link each), a third, its own, on one (1 + 2), a wiped and
	 * a shared one need none: 11 allocations, and the 12th try forks
	 * (FORK-ERR-1).
	 */
	struct mm_struct *gp = mm_alloc(), *mm, *child = NULL;
	struct mm_snapshot before;
	uint64_t n;
	uint8_t v;

	map_anon(gp, W, 4 * PG, RW);
	map_anon(gp, W + 16 * PG, 4 * PG, RW | PROT_EXEC_);
	put_byte(gp, W, 1, 4 * PG);
	put_byte(gp, W + 16 * PG, 2, 4 * PG);
	mm = fork_mm(gp);
	map_anon(mm, W + 32 * PG, 4 * PG, RW);
	put_byte(mm, W + 32 * PG, 3, 4 * PG);
	map_anon(mm, W + 48 * PG, 4 * PG, RW);
	put_byte(mm, W + 48 * PG, 4, 4 * PG);
	ck_assert_int_eq(do_madvise(mm, W + 48 * PG, 4 * PG, MADV_WIPEONFORK_), 0);
	map_shared_anon(mm, W + 64 * PG, 4 * PG, RW);
	put_byte(mm, W + 64 * PG, 5, 4 * PG);
	snapshot(mm, &before);
	for (n = 1; child == NULL; n++) {
		int err = 0;

		mm_fail_slab_after(n);
		child = dup_mm(mm, &err);
		mm_fail_slab_after(0);
		if (child)
			break;
		ck_assert_int_eq(err, -ENOMEM);
		assert_same(mm, &before);
		assert_vm_valid();
	}
	ck_assert_uint_eq(n, 12);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(get_byte(child, W + (uint64_t)i * 16 * PG, &v), 0);
		ck_assert_int_eq(v, i == 3 ? 0 : i + 1); /* the wiped VMA reads zeroes */
		ck_assert_int_eq(get_byte(mm, W + (uint64_t)i * 16 * PG, &v), 0);
		ck_assert_int_eq(v, i + 1);
	}
	assert_vm_valid();
	g_string_free(before.dump, TRUE);
	mmput(child);
	mmput(mm);
	mmput(gp);
	ck_assert_uint_eq(anon_vma_live, 0);
	ck_assert_uint_eq(phys_nr_used(), 0);
}
END_TEST

START_TEST(test_fork_tables_level_by_level)
{
	/*
	 * copy_pud_range and copy_pmd_range allocate the child's table below
	 * the entry they are given before they look at the parent's entries
	 * under it (pud_alloc, pmd_alloc), so a copied VMA whose range has a
	 * PMD table but no PTE table in the parent gives the child a PUD and
	 * a PMD table and nothing below them.  Here: S (shared, faulted, not
	 * copied) makes the parent's upper tables; X has an anon_vma (its
	 * faulted page was unmapped with its table) but no PTE table.
	 */
	struct mm_struct *mm = mm_alloc(), *child;
	uint64_t x = W + 2 * PMD_SIZE;

	map_shared_anon(mm, W, PG, RW);
	put_byte(mm, W, 1, PG);
	map_anon(mm, x - PG, 2 * PG, RW);
	put_byte(mm, x - PG, 2, PG);
	ck_assert_int_eq(vm_munmap(mm, x - PG, PG), 0);
	ck_assert_ptr_nonnull(find_vma(mm, x)->anon_vma);
	ck_assert_int_eq(status_kb(mm, "VmPTE:"), 12); /* PUD, PMD, S's PTE table */
	child = fork_mm(mm);
	ck_assert_int_eq(status_kb(child, "VmPTE:"), 8);
	ck_assert_uint_eq(mm_lookup_pte(child, x), 0);
	assert_vm_valid();
	mmput(child);
	mmput(mm);
	ck_assert_uint_eq(phys_nr_used(), 0);
}
END_TEST

START_TEST(test_fork_large_and_exit)
{
	/* 16 MiB shared COW: Pss halved, Shared_Dirty, the child's PTEs old
	 * (FORK-COPY-2, PROC-PSS-1, PROC-REFERENCED-1); whole again once the
	 * parent is gone. */
	struct mm_struct *mm = mm_alloc(), *child;

	map_anon(mm, W, 4096 * PG, RW);
	put_byte(mm, W, 3, 4096 * PG);
	child = fork_mm(mm);
	ck_assert_int_eq(smaps_kb(child, W, "Pss:"), 8192);
	ck_assert_int_eq(smaps_kb(child, W, "Shared_Dirty:"), 16384);
	ck_assert_int_eq(smaps_kb(child, W, "Referenced:"), 0);
	assert_vm_valid();
	mmput(mm);
	ck_assert_int_eq(smaps_kb(child, W, "Pss:"), 16384);
	ck_assert_int_eq(smaps_kb(child, W, "Private_Dirty:"), 16384);
	mmput(child);
	ck_assert_uint_eq(phys_nr_used(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fork");
	TCase *tc = tcase_create("dup_mmap");

	tcase_add_checked_fixture(tc, phys_setup, phys_teardown);
	tcase_add_loop_test(tc, test_fork_matrix, 0, 24);
	tcase_add_test(tc, test_counters_like_f21);
	tcase_add_test(tc, test_lock_flags_not_inherited);
	tcase_add_test(tc, test_fork_enomem_leaves_parent_sound);
	tcase_add_test(tc, test_fork_enomem_at_each_slab_allocation);
	tcase_add_test(tc, test_fork_large_and_exit);
	tcase_add_test(tc, test_fork_tables_level_by_level);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
