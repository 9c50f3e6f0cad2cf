/*
 * mm/memory.c: faults, COW, zap.  Expectations from the host's behaviour
 * as docs/ records it: FAULT-ZERO-1, FAULT-ANON-1, FAULT-COW-1,
 * FORK-COPY-2, FAULT-SHARED-1, FORK-COPY-1, FORK-WIPE-3, FAULT-SIG-1,
 * FAULT-FILE-1, FAULT-SIGBUS-1, MMAP-POPULATE-1, MLOCK-POP-1.
 */
#include <signal.h>

#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define RW (PROT_READ_ | PROT_WRITE_)

#define mm test_mm

static uint64_t pfn_at(struct mm_struct *m, uint64_t addr)
{
	return pagemap_at(m, addr) & PM_PFRAME_MASK;
}

START_TEST(test_read_fault_maps_zero_page)
{
	/* FAULT-ZERO-1, PROC-RSS-1; then FAULT-ANON-1 */
	uint8_t v = 1;

	map_anon(mm, W, 2 * PG, RW);
	ck_assert_int_eq(get_byte(mm, W, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert(pagemap_at(mm, W) & PM_PRESENT);
	ck_assert(!(pagemap_at(mm, W) & PM_MMAP_EXCLUSIVE)); /* never exclusive */
	ck_assert_uint_eq(pfn_at(mm, W), 0);		     /* the zero page */
	ck_assert(!pte_write(mm_lookup_pte(mm, W)));
	ck_assert_ptr_null(find_vma(mm, W)->anon_vma); /* no anon_vma yet */
	ck_assert_int_eq(smaps_kb(mm, W, "Rss:"), 0);  /* not counted */
	/* a write to the zero-page PTE gets a page of its own */
	ck_assert_int_eq(put_byte(mm, W, 9, 1), 0);
	ck_assert_uint_ne(pfn_at(mm, W), 0);
	ck_assert(pagemap_at(mm, W) & PM_MMAP_EXCLUSIVE);
	ck_assert_ptr_nonnull(find_vma(mm, W)->anon_vma);
	ck_assert_int_eq(smaps_kb(mm, W, "Rss:"), 4);
}
END_TEST

START_TEST(test_cow_copy_then_reuse)
{
	struct mm_struct *child;
	uint64_t a0, a2;
	uint8_t v;

	/* FAULT-COW-1; the fork's sharing: FORK-COPY-2 */
	map_anon(mm, W, 4 * PG, RW);
	put_byte(mm, W, 1, 4 * PG);
	a0 = pfn_at(mm, W);
	a2 = pfn_at(mm, W + 2 * PG);
	child = fork_mm(mm);
	ck_assert(!pte_write(mm_lookup_pte(mm, W))); /* write-protected in both */
	ck_assert(!pte_write(mm_lookup_pte(child, W)));
	ck_assert(!pte_young(mm_lookup_pte(child, W))); /* child's PTEs start old */
	ck_assert_uint_eq(pfn_at(child, W), a0);
	ck_assert(!(pagemap_at(mm, W) & PM_MMAP_EXCLUSIVE));
	/* child writes A[2]: a new page */
	put_byte(child, W + 2 * PG, 2, 1);
	ck_assert_uint_ne(pfn_at(child, W + 2 * PG), a2);
	/* parent writes A[0] while the child still maps it: a new page */
	put_byte(mm, W, 3, 1);
	ck_assert_uint_ne(pfn_at(mm, W), a0);
	/* parent writes A[2], which the child already copied: reuse, same PFN */
	put_byte(mm, W + 2 * PG, 4, 1);
	ck_assert_uint_eq(pfn_at(mm, W + 2 * PG), a2);
	get_byte(child, W, &v);
	ck_assert_int_eq(v, 1);
	get_byte(child, W + 2 * PG, &v);
	ck_assert_int_eq(v, 2);
	assert_vm_valid();
	/* after the child exits, the parent's write to A[3] reuses in place */
	{
		uint64_t a3 = pfn_at(mm, W + 3 * PG);

		mmput(child);
		ck_assert(!pte_write(mm_lookup_pte(mm, W + 3 * PG)));
		put_byte(mm, W + 3 * PG, 5, 1);
		ck_assert_uint_eq(pfn_at(mm, W + 3 * PG), a3);
		ck_assert(pte_write(mm_lookup_pte(mm, W + 3 * PG)));
	}
}
END_TEST

START_TEST(test_shared_anon_not_write_protected)
{
	struct mm_struct *child;

	map_shared_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	child = fork_mm(mm);
	/* shared: never write-protected (FAULT-SHARED-1), not copied: no anon_vma (FORK-COPY-1) */
	ck_assert(pte_write(mm_lookup_pte(mm, W)));
	ck_assert_uint_eq(mm_lookup_pte(child, W), 0);
	put_byte(child, W, 7, 1);
	ck_assert_uint_eq(pfn_at(child, W), pfn_at(mm, W));
	mmput(child);
}
END_TEST

START_TEST(test_wipeonfork_parent_ptes_stay_writable)
{
	/* FORK-WIPE-3 */
	struct mm_struct *child;

	map_anon(mm, W, 2 * PG, RW);
	put_byte(mm, W, 1, 2 * PG);
	do_madvise(mm, W, 2 * PG, MADV_WIPEONFORK_);
	child = fork_mm(mm);
	ck_assert(pte_write(mm_lookup_pte(mm, W)));
	ck_assert(pte_write(mm_lookup_pte(mm, W + PG)));
	ck_assert(pagemap_at(mm, W) & PM_MMAP_EXCLUSIVE);
	mmput(child);
}
END_TEST

START_TEST(test_signal_kinds)
{
	/* FAULT-SIG-1 */
	struct mm_fault_info fi = { 0 };
	uint8_t v;

	map_anon(mm, W, PG, PROT_READ_);
	ck_assert_int_eq(mm_read(mm, W + PG, &v, 1, &fi), -EFAULT);
	ck_assert_int_eq(fi.signo, SIGSEGV);
	ck_assert_int_eq(fi.code, SEGV_MAPERR);
	ck_assert_int_eq(mm_fill(mm, W, 1, 1, &fi), -EFAULT);
	ck_assert_int_eq(fi.code, SEGV_ACCERR);
	ck_assert_int_eq(mm_fault(mm, W, FAULT_EXEC, &fi), -EFAULT);
	ck_assert_int_eq(fi.code, SEGV_ACCERR);
	ck_assert_int_eq(mm_read(mm, W, &v, 1, &fi), 0);
}
END_TEST

/* An in-memory file: 3 pages of 0x46, then EOF. */
static int mem_read_folio(void *host, uint64_t pgoff, uint8_t *dst)
{
	(void)host;
	memset(dst, pgoff < 3 ? 0x46 : 0, PAGE_SIZE);
	return 0;
}

static const struct address_space_operations mem_aops = { .read_folio = mem_read_folio };

START_TEST(test_file_private_cow_and_sigbus)
{
	struct file *f = file_new(&mem_aops, NULL, "/tmp/f", 3 * PG, 8, 1, 42, true, false);
	struct mm_fault_info fi = { 0 };
	uint8_t v = 0;

	ck_assert_int_eq(vm_mmap_pgoff(mm, f, W, 4 * PG, RW, MAP_PRIVATE_ | MAP_FIXED_, 0),
			 (long)W);
	/* read-only opened: no shared writable mapping (MMAP-FILE-1) */
	ck_assert_int_eq(vm_mmap_pgoff(mm, f, W + 8 * PG, PG, RW, MAP_SHARED_ | MAP_FIXED_, 0),
			 -EACCES);
	get_byte(mm, W, &v);
	ck_assert_int_eq(v, 0x46);
	ck_assert(pagemap_at(mm, W) & PM_FILE);
	put_byte(mm, W, 0x11, 1); /* COW: a private anonymous copy (FAULT-FILE-1) */
	ck_assert(!(pagemap_at(mm, W) & PM_FILE));
	ck_assert_int_eq(smaps_kb(mm, W, "Anonymous:"), 4);
	ck_assert_int_eq(do_madvise(mm, W, PG, MADV_DONTNEED_), 0);
	get_byte(mm, W, &v);
	ck_assert_int_eq(v, 0x46); /* the file's byte is back */
	ck_assert_int_eq(mm_read(mm, W + 3 * PG, &v, 1, &fi), -EFAULT); /* past EOF */
	ck_assert_int_eq(fi.signo, SIGBUS);				/* FAULT-SIGBUS-1 */
	fput(f);
}
END_TEST

/* mm_peek: what a read would see, with nothing faulted in or cached. */
START_TEST(test_peek_faults_nothing_in)
{
	struct file *f = file_new(&mem_aops, NULL, "/tmp/f", 3 * PG, 8, 1, 43, true, false);
	uint8_t buf[PG];
	struct mm_peek_info pk;

	map_anon(mm, W, 4 * PG, RW);
	mm_peek(mm, W, buf, NULL, &pk);
	ck_assert(pk.vma != NULL && pk.read_fault == 0 && pk.bytes == NULL); /* untouched: zeroes */
	ck_assert_int_eq(smaps_kb(mm, W, "Rss:"), 0);
	put_byte(mm, W + PG, 0x5a, PG);
	mm_peek(mm, W + PG, buf, pk.vma, &pk);
	ck_assert(pk.bytes != NULL && pk.bytes[0] == 0x5a && pk.bytes[PG - 1] == 0x5a);
	ck_assert_int_eq(do_madvise(mm, W + 2 * PG, PG, MADV_GUARD_INSTALL_), 0);
	mm_peek(mm, W + 2 * PG, buf, NULL, &pk);
	ck_assert(pk.guard && pk.read_fault == -EFAULT);
	ck_assert_int_eq(do_mprotect_pkey(mm, W + 3 * PG, PG, PROT_NONE_, -1), 0);
	mm_peek(mm, W + 3 * PG, buf, NULL, &pk);
	ck_assert(pk.vma != NULL && !pk.guard && pk.read_fault == -EFAULT);
	mm_peek(mm, W + 4 * PG, buf, NULL, &pk);
	ck_assert(pk.vma == NULL && pk.next_start == UINT64_MAX);
	/* a file: its bytes through buf, not cached; past the end SIGBUS */
	ck_assert_int_eq(
		vm_mmap_pgoff(mm, f, W + 8 * PG, 4 * PG, PROT_READ_, MAP_PRIVATE_ | MAP_FIXED_, 0),
		(long)(W + 8 * PG));
	mm_peek(mm, W + 8 * PG, buf, NULL, &pk);
	ck_assert(pk.read_fault == 0 && pk.bytes == buf && buf[0] == 0x46);
	ck_assert_uint_eq(g_hash_table_size(f->f_mapping->i_pages), 0);
	mm_peek(mm, W + 11 * PG, buf, NULL, &pk);
	ck_assert_int_eq(pk.read_fault, -EIO);
	mm_peek(mm, W + 5 * PG, buf, NULL, &pk);
	ck_assert(pk.vma == NULL && pk.next_start == W + 8 * PG);
	ck_assert_int_eq(smaps_kb(mm, W + 8 * PG, "Rss:"), 0);
	fput(f);
}
END_TEST

START_TEST(test_write_fault_without_anon_vma_is_oom)
{
	struct mm_fault_info fi = { 0 };
	unsigned long live = anon_vma_live;

	/*
	 * A first write needs an anon_vma: __anon_vma_prepare allocates a
	 * chain link, then the anon_vma.  Failing either, the fault is
	 * VM_FAULT_OOM (SIGKILL), the VMA has no anon_vma, nothing is mapped
	 * and nothing is left allocated; the next write succeeds.
	 */
	for (uint64_t n = 1; n <= 2; n++) {
		uint64_t a = W + n * 16 * PG;

		map_anon(mm, a, PG, RW);
		mm_fail_slab_after(n);
		ck_assert_int_eq(mm_fill(mm, a, 1, 1, &fi), -EFAULT);
		mm_fail_slab_after(0);
		ck_assert_int_eq(fi.signo, SIGKILL);
		ck_assert_ptr_null(find_vma(mm, a)->anon_vma);
		ck_assert(pte_none(mm_lookup_pte(mm, a)));
		ck_assert_uint_eq(anon_vma_live, live);
		assert_vm_valid();
		ck_assert_int_eq(put_byte(mm, a, 1, 1), 0);
		ck_assert_ptr_nonnull(find_vma(mm, a)->anon_vma);
		live = anon_vma_live;
	}
}
END_TEST

START_TEST(test_populate_and_mlock)
{
	/* MAP_POPULATE on a private writable mapping write-faults every page (MMAP-POPULATE-1) */
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W, 4 * PG, RW,
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_FIXED_ | MAP_POPULATE_,
				       0),
			 (long)W);
	ck_assert_int_eq(smaps_kb(mm, W, "Rss:"), 16);
	/* on a read-only one it read-faults: zero pages, Rss 0 */
	ck_assert_int_eq(vm_mmap_pgoff(mm, NULL, W + 8 * PG, 4 * PG, PROT_READ_,
				       MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_FIXED_ | MAP_POPULATE_,
				       0),
			 (long)(W + 8 * PG));
	ck_assert_int_eq(smaps_kb(mm, W + 8 * PG, "Rss:"), 0);
	ck_assert(pagemap_at(mm, W + 8 * PG) & PM_PRESENT);
	/* mlock faults in; MLOCK_ONFAULT does not (MLOCK-POP-1) */
	map_anon(mm, W + 16 * PG, 4 * PG, RW);
	ck_assert_int_eq(do_mlock(mm, W + 16 * PG, 2 * PG, MLOCK_ONFAULT_), 0);
	ck_assert_int_eq(smaps_kb(mm, W + 16 * PG, "Rss:"), 0);
	ck_assert_int_eq(do_mlock(mm, W + 18 * PG, 2 * PG, 0), 0);
	ck_assert_int_eq(smaps_kb(mm, W + 18 * PG, "Rss:"), 8);
	ck_assert_int_eq(smaps_kb(mm, W + 18 * PG, "Locked:"), 8);
	ck_assert_int_eq(status_kb(mm, "VmLck:"), 16);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("memory");
	TCase *tc = tcase_create("faults");

	tcase_add_checked_fixture(tc, mm_setup, mm_teardown);
	tcase_add_test(tc, test_read_fault_maps_zero_page);
	tcase_add_test(tc, test_cow_copy_then_reuse);
	tcase_add_test(tc, test_shared_anon_not_write_protected);
	tcase_add_test(tc, test_wipeonfork_parent_ptes_stay_writable);
	tcase_add_test(tc, test_signal_kinds);
	tcase_add_test(tc, test_file_private_cow_and_sigbus);
	tcase_add_test(tc, test_populate_and_mlock);
	tcase_add_test(tc, test_peek_faults_nothing_in);
	tcase_add_test(tc, test_write_fault_without_anon_vma_is_oom);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
