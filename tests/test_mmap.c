/*
 * mm/mmap.c: brk and top-down placement, which dupmm-hostrun cannot check
 * on the host (the helper's own heap is the real brk area, and the host's
 * placement depends on its own mappings; BRK-1, MMAP-PLACE-1,
 * HOSTCMP-BRK, DIV-PLACEMENT).  Each expectation is derived by hand from
 * the kernel code cited beside it.  Then stack growth (FAULT-STACK-1) and
 * mmap's checks as host traces show them (MMAP-PROT-1, MMAP-DROPPABLE-1,
 * MMAP-HUGETLB-1).
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define RW   (PROT_READ_ | PROT_WRITE_)
#define HEAP 0x555555559000ULL

#define mm test_mm

static void setup(void)
{
	mm_setup();
	mm_set_brk(mm, HEAP);
}

/* The VmFlags of the VMA holding addr are want. */
static void assert_vmflags(struct mm_struct *m, uint64_t addr, const char *want)
{
	g_autofree char *f = vmflags_at(m, addr);

	ck_assert_str_eq(f, want);
}

START_TEST(test_brk_grow_shrink)
{
	g_autoptr(GString) maps = g_string_new(NULL);
	g_autofree char *f = NULL;

	/* BRK-1 */
	ck_assert_int_eq(do_brk_syscall(mm, 0), (long)HEAP); /* brk(NULL): the break */
	ck_assert_int_eq(do_brk_syscall(mm, HEAP + 100), (long)(HEAP + 100));
	ck_assert_int_eq(count_vmas(mm, HEAP, HEAP + PG), 1); /* rounded up to a page */
	ck_assert_int_eq(do_brk_syscall(mm, HEAP + 3 * PG), (long)(HEAP + 3 * PG));
	ck_assert_int_eq(count_vmas(mm, HEAP, HEAP + 3 * PG), 1); /* extended, not a new VMA */
	ck_assert_uint_eq(find_vma(mm, HEAP)->vm_end, HEAP + 3 * PG);
	f = vmflags_at(mm, HEAP);
	ck_assert_str_eq(f, "rd wr mr mw me ac"); /* VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT */
	show_maps(mm, maps);
	ck_assert_ptr_nonnull(strstr(maps->str, "[heap]\n"));
	ck_assert_int_eq(status_kb(mm, "VmData:"), 12);
	put_byte(mm, HEAP, 1, 3 * PG);
	/* shrinking unmaps the pages past the new break */
	ck_assert_int_eq(do_brk_syscall(mm, HEAP + PG), (long)(HEAP + PG));
	ck_assert_uint_eq(find_vma(mm, HEAP)->vm_end, HEAP + PG);
	ck_assert_int_eq(smaps_kb(mm, HEAP, "Rss:"), 4);
	/* below start_brk: refused, the old break comes back */
	ck_assert_int_eq(do_brk_syscall(mm, HEAP - PG), (long)(HEAP + PG));
}
END_TEST

START_TEST(test_brk_stops_before_a_mapping)
{
	/* SYSCALL brk: refused when newbrk + PAGE_SIZE > vm_start_gap(next) */
	map_anon(mm, HEAP + 16 * PG, PG, RW);
	ck_assert_int_eq(do_brk_syscall(mm, HEAP + 16 * PG), (long)HEAP);
	ck_assert_int_eq(do_brk_syscall(mm, HEAP + 15 * PG), (long)(HEAP + 15 * PG));
	ck_assert_int_eq(count_vmas(mm, HEAP, HEAP + 17 * PG), 2);
}
END_TEST

START_TEST(test_topdown_placement)
{
	uint64_t base = mm->mmap_base;
	long a, b, c;

	/* MMAP-PLACE-1, arch_get_unmapped_area_topdown: the highest gap below mmap_base */
	ck_assert_uint_eq(base, TASK_SIZE - (128ULL << 20));
	a = vm_mmap_pgoff(mm, NULL, 0, 2 * PG, RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, 0);
	ck_assert_int_eq(a, (long)(base - 2 * PG));
	b = vm_mmap_pgoff(mm, NULL, 0, PG, RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, 0);
	ck_assert_int_eq(b, a - (long)PG);
	ck_assert_int_eq(count_vmas(mm, (uint64_t)b, base), 1); /* merged with a */
	/* a free hint is taken as is; a taken one falls back to top-down */
	c = vm_mmap_pgoff(mm, NULL, W, PG, RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, 0);
	ck_assert_int_eq(c, (long)W);
	c = vm_mmap_pgoff(mm, NULL, W, PG, RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, 0);
	ck_assert_int_eq(c, b - (long)PG);
	/* a hint below mmap_min_addr is rounded up to it (round_hint_to_min) */
	c = vm_mmap_pgoff(mm, NULL, 4096, PG, RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, 0);
	ck_assert_int_eq(c, (long)MMAP_MIN_ADDR);
	/* MAP_FIXED past TASK_SIZE: ENOMEM (get_unmapped_area) */
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, TASK_SIZE, PG, RW,
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_FIXED_, 0),
			 -ENOMEM);
}
END_TEST

START_TEST(test_growsdown_stack)
{
	/* FAULT-STACK-1, expand_downwards: an access just below a VM_GROWSDOWN VMA grows it */
	uint64_t top = W + 1024 * PG;

	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, top - 4 * PG, 4 * PG, RW,
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_GROWSDOWN_ | MAP_FIXED_,
				       0),
			 (long)(top - 4 * PG));
	ck_assert(flags_at(mm, top - PG) & VM_GROWSDOWN);
	ck_assert_int_eq(put_byte(mm, top - 6 * PG, 1, 1), 0);
	ck_assert_uint_eq(find_vma(mm, top - PG)->vm_start, top - 6 * PG);
	ck_assert_int_eq(status_kb(mm, "VmStk:"), 24);
	/* MAP_SHARED | MAP_GROWSDOWN is refused (MMAP-FILE-1) */
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W, PG, RW,
				       MAP_SHARED_ | MAP_ANONYMOUS_ | MAP_GROWSDOWN_ | MAP_FIXED_,
				       0),
			 -EINVAL);
}
END_TEST

START_TEST(test_growsdown_enomem)
{
	/*
	 * FAULT-STACK-1: expand_downwards prepares the stack's anon_vma first:
	 * failing that, the stack does not grow and the access is SIGSEGV
	 * (SEGV_MAPERR, bad_area after expand_stack fails).
	 */
	uint64_t top = W + 1024 * PG;
	struct mm_fault_info fi = { 0 };
	uint8_t v;

	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, top - 4 * PG, 4 * PG, RW,
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_GROWSDOWN_ | MAP_FIXED_,
				       0),
			 (long)(top - 4 * PG));
	mm_fail_slab_after(1);
	ck_assert_int_eq(mm_read(mm, top - 6 * PG, &v, 1, &fi), -EFAULT);
	mm_fail_slab_after(0);
	ck_assert_int_eq(fi.signo, SIGSEGV);
	ck_assert_int_eq(fi.code, SEGV_MAPERR);
	ck_assert_uint_eq(find_vma(mm, top - PG)->vm_start, top - 4 * PG);
	ck_assert_int_eq(status_kb(mm, "VmStk:"), 16);
	ck_assert_int_eq(mm_read(mm, top - 6 * PG, &v, 1, &fi), 0);
	ck_assert_uint_eq(find_vma(mm, top - PG)->vm_start, top - 6 * PG);
}
END_TEST

START_TEST(test_prot_not_validated)
{
	/*
	 * MMAP-PROT-1 (DIV-MMAP-PROT, fixed): do_mmap keeps prot's READ,
	 * WRITE and EXEC bits and ignores the rest (host:
	 * traces/mmap-prot-droppable.strace); mprotect validates them.
	 */
	uint8_t v;

	ck_assert_int_eq(map_anon(mm, W, 4 * PG, PROT_READ_ | 0x10), (long)W);
	assert_vmflags(mm, W, "rd mr mw me");
	ck_assert_int_eq(map_anon(mm, W + 16 * PG, 4 * PG, RW | PROT_SEM_ | PROT_GROWSDOWN_),
			 (long)(W + 16 * PG));
	assert_vmflags(mm, W + 16 * PG, "rd wr mr mw me ac");
	ck_assert_int_eq(map_anon(mm, W + 32 * PG, 4 * PG, 0x10), (long)(W + 32 * PG));
	assert_vmflags(mm, W + 32 * PG, "mr mw me");
	ck_assert_int_eq(get_byte(mm, W, &v), 0);
	ck_assert_int_eq(put_byte(mm, W, 1, 1), -EFAULT);
	ck_assert_int_eq(do_mprotect_pkey(mm, W, PG, RW, -1), 0);
	ck_assert_int_eq(put_byte(mm, W, 1, 1), 0);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 2 * PG, PG, PROT_READ_ | 0x10, -1), -EINVAL);
}
END_TEST

START_TEST(test_droppable_rules)
{
	/*
	 * MMAP-DROPPABLE-1 (DIV-DROPPABLE-LOCKED, fixed): MAP_DROPPABLE is
	 * EINVAL with MAP_LOCKED, MAP_GROWSDOWN and a file's MAP_DROPPABLE
	 * type, EEXIST first over a mapping; mlockall(MCL_FUTURE) neither
	 * locks it nor counts it in VmLck, yet faults it in, and two such
	 * mappings side by side do not merge (the merge saw VM_LOCKED).
	 */
	const uint64_t drop = MAP_DROPPABLE_ | MAP_ANONYMOUS_ | MAP_FIXED_;

	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W, 2 * PG, RW, drop | MAP_LOCKED_, 0), -EINVAL);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W, 2 * PG, RW, drop | MAP_GROWSDOWN_, 0), -EINVAL);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W, 2 * PG, RW, drop | MAP_HUGETLB_, 0), -EINVAL);
	ck_assert_int_eq(count_vmas(mm, W, W + 1024 * PG), 0);
	map_anon(mm, W, 2 * PG, RW);
	ck_assert_int_eq(
		vm_mmap_pgoff(mm, NULL, W, 2 * PG, RW,
			      MAP_DROPPABLE_ | MAP_ANONYMOUS_ | MAP_LOCKED_ | MAP_FIXED_NOREPLACE_,
			      0),
		-EEXIST);
	ck_assert_int_eq(do_mlockall(mm, MCL_FUTURE_ | MCL_ONFAULT_), 0);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W + 16 * PG, 2 * PG, RW, drop, 0),
			 (long)(W + 16 * PG));
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W + 18 * PG, 2 * PG, RW, drop, 0),
			 (long)(W + 18 * PG));
	assert_vmflags(mm, W + 16 * PG, "rd wr mr mw me nr wf dd dp");
	ck_assert_int_eq(count_vmas(mm, W + 16 * PG, W + 20 * PG), 2);
	ck_assert_int_eq(smaps_kb(mm, W + 16 * PG, "Rss:"), 8);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 0);
	ck_assert_int_eq(do_munlockall(mm), 0);
}
END_TEST

START_TEST(test_hugetlb_check_order)
{
	/*
	 * MMAP-HUGETLB-1: an anonymous MAP_HUGETLB mapping meets do_mmap's
	 * checks before the reservation fails (ENOMEM): length 0 and a
	 * misaligned fixed address EINVAL, MAP_FIXED_NOREPLACE over a mapping
	 * EEXIST, then a type other than shared or private and growing down
	 * EINVAL (host: traces/mmap-prot-droppable.strace).
	 */
	const uint64_t huge = MAP_ANONYMOUS_ | MAP_HUGETLB_;
	uint64_t a = W + 512 * PG;

	map_anon(mm, W, 4 * PG, RW);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, a, 0, RW, huge | MAP_PRIVATE_ | MAP_FIXED_, 0),
			 -EINVAL);
	ck_assert_int_eq(
		vm_mmap_pgoff(mm, NULL, a + PG, PMD_SIZE, RW, huge | MAP_PRIVATE_ | MAP_FIXED_, 0),
		-EINVAL);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W, PMD_SIZE, RW,
				       huge | MAP_FIXED_ | MAP_FIXED_NOREPLACE_, 0),
			 -EEXIST);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, a, PMD_SIZE, RW, huge | MAP_FIXED_, 0), -EINVAL);
	ck_assert_int_eq(
		vm_mmap_pgoff(mm, NULL, a, PMD_SIZE, RW, huge | MAP_DROPPABLE_ | MAP_FIXED_, 0),
		-EINVAL);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, a, PMD_SIZE, RW,
				       huge | MAP_PRIVATE_ | MAP_GROWSDOWN_ | MAP_FIXED_, 0),
			 -EINVAL);
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, a, PMD_SIZE, RW,
				       huge | MAP_SHARED_VALIDATE_ | MAP_FIXED_, 0),
			 -ENOMEM);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mmap");
	TCase *tc = tcase_create("mmap");

	tcase_add_checked_fixture(tc, setup, mm_teardown);
	tcase_add_test(tc, test_brk_grow_shrink);
	tcase_add_test(tc, test_brk_stops_before_a_mapping);
	tcase_add_test(tc, test_topdown_placement);
	tcase_add_test(tc, test_growsdown_stack);
	tcase_add_test(tc, test_growsdown_enomem);
	tcase_add_test(tc, test_prot_not_validated);
	tcase_add_test(tc, test_droppable_rules);
	tcase_add_test(tc, test_hugetlb_check_order);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
