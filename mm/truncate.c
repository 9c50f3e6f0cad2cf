/*
 * Dropping a file's page cache, after mm/truncate.c.
 */
#include "internal.h"

static gboolean drop_cached_page(gpointer key, gpointer value, gpointer unused)
{
	struct page *page = pfn_to_page(GPOINTER_TO_SIZE(value));

	(void)key;
	(void)unused;
	MM_WARN_ON(page->mapcount != 0);
	put_page(page);
	return TRUE;
}

/* truncate_inode_pages: drop every cached page (none may be mapped). */
void truncate_inode_pages(struct address_space *mapping)
{
	g_hash_table_foreach_remove(mapping->i_pages, drop_cached_page, NULL);
}
