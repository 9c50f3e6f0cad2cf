/*
 * Reading a file's pages into its page cache ahead of use, after
 * mm/readahead.c.
 */
#include "internal.h"

/*
 * filemap_readahead (page_cache_ra_unbounded): read pages [start,
 * start + nr) of the file into its page cache, up to its end; what is
 * cached already stays.  Errors end it quietly, as read-ahead's do.
 */
void filemap_readahead(struct address_space *mapping, uint64_t start, uint64_t nr)
{
	uint64_t eof = PAGE_ALIGN(mapping->size) >> PAGE_SHIFT;

	for (uint64_t pg = start; pg < start + nr && pg < eof; pg++) {
		int err = 0;

		if (!g_hash_table_contains(mapping->i_pages, GSIZE_TO_POINTER(pg)) &&
		    filemap_get_page(mapping, pg, &err) == NULL)
			return;
	}
}
