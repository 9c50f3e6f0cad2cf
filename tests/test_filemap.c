/*
 * mm/filemap.c and shmem: the page cache shared per inode (FILE-CACHE-1),
 * its lifetime, read-ahead (FILE-RA-1), shmem objects (SHMEM-1).
 */
#include <dupmm/uapi.h>

#include "../mm/internal.h"
#include "common.h"

#define mm test_mm
#define RW (PROT_READ_ | PROT_WRITE_)

static int reads;

static int counting_read(void *host, uint64_t pgoff, uint8_t *dst)
{
	(void)host;
	reads++;
	memset(dst, 0x30 + (int)pgoff, PAGE_SIZE);
	return 0;
}

static const struct address_space_operations aops = { .read_folio = counting_read };

START_TEST(test_two_opens_share_the_cache)
{
	struct file *a = file_new(&aops, NULL, "/x", 4 * PG, 8, 1, 77, true, true);
	struct file *b = file_new(&aops, NULL, "/x", 4 * PG, 8, 1, 77, true, true);
	uint8_t v;

	ck_assert_ptr_eq(a->f_mapping, b->f_mapping); /* FILE-CACHE-1 */
	ck_assert_int_eq(vm_mmap_pgoff(mm, a, W, 4 * PG, RW, MAP_SHARED_ | MAP_FIXED_, 0), (long)W);
	ck_assert_int_eq(vm_mmap_pgoff(mm, b, W + 8 * PG, 4 * PG, RW, MAP_SHARED_ | MAP_FIXED_, 0),
			 (long)(W + 8 * PG));
	get_byte(mm, W + 2 * PG, &v);
	ck_assert_int_eq(v, 0x32);
	put_byte(mm, W + 10 * PG, 0x99, 1); /* through the other file */
	get_byte(mm, W + 2 * PG, &v);
	ck_assert_int_eq(v, 0x99);
	/* the first fault read around (all 4 pages, once: FILE-RA-1); the write through b
	 * read nothing */
	ck_assert_int_eq(reads, 4);
	ck_assert_int_eq(smaps_kb(mm, W, "Shared_Dirty:"), 4); /* mapped twice */
	/* contiguous offsets merge for one open file, not across two (vm_file identity:
	 * VMA-MERGE-2) */
	vm_mmap_pgoff(mm, a, W + 32 * PG, 2 * PG, RW, MAP_SHARED_ | MAP_FIXED_, 0);
	vm_mmap_pgoff(mm, b, W + 34 * PG, 2 * PG, RW, MAP_SHARED_ | MAP_FIXED_, 2);
	ck_assert_int_eq(count_vmas(mm, W + 32 * PG, W + 36 * PG), 2);
	vm_mmap_pgoff(mm, a, W + 40 * PG, 2 * PG, RW, MAP_SHARED_ | MAP_FIXED_, 0);
	vm_mmap_pgoff(mm, a, W + 42 * PG, 2 * PG, RW, MAP_SHARED_ | MAP_FIXED_, 2);
	ck_assert_int_eq(count_vmas(mm, W + 40 * PG, W + 44 * PG), 1);
	fput(a);
	fput(b);
}
END_TEST

START_TEST(test_cache_lives_as_long_as_the_file)
{
	uint64_t used = phys_nr_used(); /* the pgd */
	struct file *f = file_new(&aops, NULL, "/y", 2 * PG, 8, 1, 78, true, false);

	vm_mmap_pgoff(mm, f, W, 2 * PG, PROT_READ_, MAP_PRIVATE_ | MAP_FIXED_, 0);
	{
		uint8_t v;

		get_byte(mm, W, &v);
		get_byte(mm, W + PG, &v);
	}
	ck_assert_uint_eq(g_hash_table_size(f->f_mapping->i_pages), 2);
	fput(f); /* the VMA still holds it */
	ck_assert_int_eq(vm_munmap(mm, W, 2 * PG), 0);
	ck_assert_uint_eq(phys_nr_used(), used); /* cache pages and tables gone */
}
END_TEST

START_TEST(test_shmem_is_per_mapping)
{
	/* SHMEM-1, VMA-MERGE-6: two MAP_SHARED|MAP_ANONYMOUS mappings are two objects,
	 * never merged */
	uint8_t v;

	map_shared_anon(mm, W, 2 * PG, RW);
	map_shared_anon(mm, W + 2 * PG, 2 * PG, RW);
	ck_assert_int_eq(count_vmas(mm, W, W + 4 * PG), 2);
	ck_assert_ptr_ne(find_vma(mm, W)->vm_file, find_vma(mm, W + 2 * PG)->vm_file);
	put_byte(mm, W, 5, PG);
	get_byte(mm, W + 2 * PG, &v);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(status_kb(mm, "RssShmem:"), 8); /* the read mapped a shmem page */
}
END_TEST

START_TEST(test_huge_readahead)
{
	/*
	 * FILE-RA-1 (DIV-RA-HUGE-RANDOM, fixed): a miss under MADV_HUGEPAGE
	 * reads from the 2 MiB-aligned index two PMD blocks' worth, one with
	 * MADV_RANDOM too (host: mincore, and traces/file-ra-huge-random).
	 */
	struct file *f = file_new(&aops, NULL, "/big", 2048 * PG, 8, 1, 79, true, false);
	uint8_t v;

	vm_mmap_pgoff(mm, f, W, PG, PROT_READ_, MAP_PRIVATE_ | MAP_FIXED_, 700);
	do_madvise(mm, W, PG, MADV_HUGEPAGE_);
	do_madvise(mm, W, PG, MADV_RANDOM_);
	reads = 0;
	get_byte(mm, W, &v);
	ck_assert_int_eq(v, 0x30 + (700 & 0xff));
	ck_assert_int_eq(reads, 512);
	ck_assert(g_hash_table_contains(f->f_mapping->i_pages, GSIZE_TO_POINTER(512)));
	ck_assert(g_hash_table_contains(f->f_mapping->i_pages, GSIZE_TO_POINTER(1023)));
	ck_assert(!g_hash_table_contains(f->f_mapping->i_pages, GSIZE_TO_POINTER(511)));
	ck_assert(!g_hash_table_contains(f->f_mapping->i_pages, GSIZE_TO_POINTER(1024)));
	/* without MADV_RANDOM: 1024 pages from the aligned index, to the end here */
	vm_mmap_pgoff(mm, f, W + 16 * PG, PG, PROT_READ_, MAP_PRIVATE_ | MAP_FIXED_, 1030);
	do_madvise(mm, W + 16 * PG, PG, MADV_HUGEPAGE_);
	reads = 0;
	get_byte(mm, W + 16 * PG, &v);
	ck_assert_int_eq(reads, 1024);
	ck_assert_uint_eq(g_hash_table_size(f->f_mapping->i_pages), 1536);
	fput(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("filemap");
	TCase *tc = tcase_create("filemap");

	tcase_add_checked_fixture(tc, mm_setup, mm_teardown);
	tcase_add_test(tc, test_two_opens_share_the_cache);
	tcase_add_test(tc, test_cache_lives_as_long_as_the_file);
	tcase_add_test(tc, test_shmem_is_per_mapping);
	tcase_add_test(tc, test_huge_readahead);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
