/*
 * mm/mmap.c: brk and top-down placement, which dupmm-hostrun cannot check
 * on the host (the helper's own heap is the real brk area, and the host's
 * placement depends on its own mappings).  Each expectation is derived by
 * hand from the kernel code cited beside it.
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define RW (PROT_READ_ | PROT_WRITE_)
#define HEAP 0x555555559000ULL

#define mm test_mm

static void setup(void)
{
	mm_setup();
	mm_set_brk(mm, HEAP);
}

START_TEST(test_brk_grow_shrink)
{
	g_autoptr(GString) maps = g_string_new(NULL);
	g_autofree char *f = NULL;

	ck_assert_int_eq(do_brk_syscall(mm, 0), (long)HEAP);		/* brk(NULL): the break */
	ck_assert_int_eq(do_brk_syscall(mm, HEAP + 100), (long)(HEAP + 100));
	ck_assert_int_eq(count_vmas(mm, HEAP, HEAP + PG), 1);	/* rounded up to a page */
	ck_assert_int_eq(do_brk_syscall(mm, HEAP + 3 * PG), (long)(HEAP + 3 * PG));
	ck_assert_int_eq(count_vmas(mm, HEAP, HEAP + 3 * PG), 1);	/* extended, not a new VMA */
	ck_assert_uint_eq(find_vma(mm, HEAP)->vm_end, HEAP + 3 * PG);
	f = vmflags_at(mm, HEAP);
	ck_assert_str_eq(f, "rd wr mr mw me ac");	/* VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT */
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

	/* arch_get_unmapped_area_topdown: the highest gap below mmap_base */
	ck_assert_uint_eq(base, TASK_SIZE - (128ULL << 20));
	a = vm_mmap_pgoff(mm, NULL, 0, 2 * PG, RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, 0);
	ck_assert_int_eq(a, (long)(base - 2 * PG));
	b = vm_mmap_pgoff(mm, NULL, 0, PG, RW, MAP_PRIVATE_ | MAP_ANONYMOUS_, 0);
	ck_assert_int_eq(b, a - (long)PG);
	ck_assert_int_eq(count_vmas(mm, (uint64_t)b, base), 1);	/* merged with a */
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
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_FIXED_, 0), -ENOMEM);
}
END_TEST

START_TEST(test_growsdown_stack)
{
	/* expand_downwards: an access just below a VM_GROWSDOWN VMA grows it */
	uint64_t top = W + 1024 * PG;

	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, top - 4 * PG, 4 * PG, RW,
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_GROWSDOWN_ | MAP_FIXED_, 0),
			 (long)(top - 4 * PG));
	ck_assert(flags_at(mm, top - PG) & VM_GROWSDOWN);
	ck_assert_int_eq(put_byte(mm, top - 6 * PG, 1, 1), 0);
	ck_assert_uint_eq(find_vma(mm, top - PG)->vm_start, top - 6 * PG);
	ck_assert_int_eq(status_kb(mm, "VmStk:"), 24);
	/* MAP_SHARED | MAP_GROWSDOWN is refused */
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W, PG, RW,
				       MAP_SHARED_ | MAP_ANONYMOUS_ | MAP_GROWSDOWN_ | MAP_FIXED_, 0), -EINVAL);
}
END_TEST

START_TEST(test_growsdown_enomem)
{
	/*
	 * expand_downwards prepares the stack's anon_vma before it grows:
	 * failing that, the stack does not grow and the access is SIGSEGV
	 * (SEGV_MAPERR, bad_area after expand_stack fails).
	 */
	uint64_t top = W + 1024 * PG;
	struct mm_fault_info fi = { 0 };
	uint8_t v;

	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, top - 4 * PG, 4 * PG, RW,
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_GROWSDOWN_ | MAP_FIXED_, 0),
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
	suite_add_tcase(s, tc);
	return run_suite(s);
}
