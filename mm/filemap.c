/*
 * The page cache of file and shmem mappings, after mm/filemap.c: the
 * cache's pages (filemap_get_page, filemap_remove_page) and the read-ahead
 * a fault that misses it starts (do_sync_mmap_readahead); and the model's
 * files and inodes (file_new, get_file, fput, mapping_get), which the
 * kernel keeps in fs/.
 *
 * One address_space per (dev, ino), however many files open it, so two
 * opens of one host file share their pages as they do in the kernel.
 * Contents arrive through a_ops->read_folio, which emu/ provides.
 */
#include "internal.h"

static GHashTable *inode_table;	 /* (dev << 40 ^ ino) -> address_space */
static GHashTable *all_mappings; /* every live address_space, shmem too */

static uint64_t inode_key(uint32_t major, uint32_t minor, uint64_t ino)
{
	return ((uint64_t)major << 52) ^ ((uint64_t)minor << 40) ^ ino;
}

/*
 * mapping_get: the address_space (the inode) of (major:minor, ino), with a
 * new reference; a new one unless a file of that inode is open already.
 * shmem objects are never shared this way.
 */
struct address_space *mapping_get(const struct address_space_operations *a_ops, void *host,
				  uint64_t size, uint32_t major, uint32_t minor, uint64_t ino,
				  bool shmem)
{
	struct address_space *mapping = NULL;
	uint64_t key = inode_key(major, minor, ino);

	if (inode_table == NULL)
		inode_table = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	if (!shmem)
		mapping = g_hash_table_lookup(inode_table, &key);
	if (mapping) {
		mapping->refcount++;
		if (a_ops && a_ops->release)
			a_ops->release(host); /* the first opener's host wins */
		return mapping;
	}
	mapping = g_new0(struct address_space, 1);
	mapping->a_ops = a_ops;
	mapping->host = host;
	mapping->i_pages = g_hash_table_new(g_direct_hash, g_direct_equal);
	INIT_LIST_HEAD(&mapping->i_mmap);
	mapping->size = size;
	mapping->dev_major = major;
	mapping->dev_minor = minor;
	mapping->ino = ino;
	mapping->shmem = shmem;
	mapping->refcount = 1;
	if (!shmem)
		g_hash_table_insert(inode_table, g_memdup2(&key, sizeof(key)), mapping);
	if (all_mappings == NULL)
		all_mappings = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_hash_table_add(all_mappings, mapping);
	return mapping;
}

static void mapping_put(struct address_space *mapping)
{
	uint64_t key;

	if (--mapping->refcount > 0)
		return;
	/*
	 * The last reference to a shmem object (an unlinked inode) evicts it:
	 * shmem_evict_inode -> shmem_truncate_range -> shmem_undo_range,
	 * whose folio_batch_release drains (__folio_batch_release:
	 * lru_add_drain) if it found cached pages.  Observed: a fork child
	 * that maps shared anonymous memory, writes it and exits settles its
	 * parent's pending MADV_FREE.  (A regular file's inode and cache
	 * outlive their last user in the kernel: nothing is truncated there.)
	 */
	if (mapping->shmem && g_hash_table_size(mapping->i_pages) > 0)
		lru_add_drain();
	truncate_inode_pages(mapping);
	g_hash_table_destroy(mapping->i_pages);
	if (mapping->holes)
		g_hash_table_destroy(mapping->holes);
	if (!mapping->shmem) {
		key = inode_key(mapping->dev_major, mapping->dev_minor, mapping->ino);
		g_hash_table_remove(inode_table, &key);
	}
	if (mapping->a_ops && mapping->a_ops->release)
		mapping->a_ops->release(mapping->host);
	g_hash_table_remove(all_mappings, mapping);
	g_free(mapping);
}

/*
 * file_new: an open file of the model.  A later open of the same (dev,
 * ino) shares the first one's page cache (and its host reader: this one's
 * is released at once).  The file starts with one reference.
 */
struct file *file_new(const struct address_space_operations *a_ops, void *host, const char *path,
		      uint64_t size, uint32_t dev_major, uint32_t dev_minor, uint64_t ino,
		      bool readable, bool writable)
{
	struct file *file = g_new0(struct file, 1);

	file->f_mapping = mapping_get(a_ops, host, size, dev_major, dev_minor, ino, false);
	file->path = g_strdup(path);
	file->readable = readable;
	file->writable = writable;
	file->refcount = 1;
	return file;
}

struct file *get_file(struct file *file)
{
	file->refcount++;
	return file;
}

void fput(struct file *file)
{
	if (--file->refcount > 0)
		return;
	mapping_put(file->f_mapping);
	g_free(file->path);
	g_free(file);
}

/*
 * filemap_get_page: page pgoff of the mapping, read in on first use.  The
 * cache holds one reference; the caller takes its own for a mapping.
 * NULL with *err set when the read fails or RAM is exhausted.
 */
struct page *filemap_get_page(struct address_space *mapping, uint64_t pgoff, int *err)
{
	gpointer v;
	struct page *page;

	if (g_hash_table_lookup_extended(mapping->i_pages, GSIZE_TO_POINTER(pgoff), NULL, &v))
		return pfn_to_page(GPOINTER_TO_SIZE(v));
	bool hole =
		mapping->holes && g_hash_table_contains(mapping->holes, GSIZE_TO_POINTER(pgoff));

	page = alloc_page(mapping->a_ops == NULL || hole);
	if (page == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	if (!hole && mapping->a_ops && mapping->a_ops->read_folio) {
		*err = mapping->a_ops->read_folio(mapping->host, pgoff, page_address(page));
		if (*err) {
			put_page(page);
			return NULL;
		}
	}
	page->mapping = mapping;
	page->index = pgoff;
	page->flags |= PG_uptodate | (mapping->shmem ? PG_swapbacked : 0);
	g_hash_table_insert(mapping->i_pages, GSIZE_TO_POINTER(pgoff),
			    GSIZE_TO_POINTER(page_to_pfn(page)));
	folio_add_lru(page); /* filemap_add_folio, shmem_alloc_and_add_folio */
	return page;
}

/* filemap_for_each_cached: call fn for the pfn of every page in every page cache (validate_vm). */
void filemap_for_each_cached(void (*fn)(uint64_t pfn, void *arg), void *arg)
{
	GHashTableIter mi;
	gpointer k, v;

	if (all_mappings == NULL)
		return;
	g_hash_table_iter_init(&mi, all_mappings);
	while (g_hash_table_iter_next(&mi, &k, &v)) {
		struct address_space *mapping = k;
		GHashTableIter pi;
		gpointer pk, pv;

		g_hash_table_iter_init(&pi, mapping->i_pages);
		while (g_hash_table_iter_next(&pi, &pk, &pv))
			fn(GPOINTER_TO_SIZE(pv), arg);
	}
}

/* filemap_remove_page: drop an unmapped page from its page cache (__filemap_remove_folio). */
void filemap_remove_page(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	MM_WARN_ON(page->mapcount != 0);
	if (g_hash_table_remove(mapping->i_pages, GSIZE_TO_POINTER(page->index)))
		put_page(page);
}

/*
 * do_sync_mmap_readahead (mm/filemap.c): a fault that misses a file's page
 * cache reads more than the page.  VM_RAND_READ: just the page.
 * VM_SEQ_READ: a read-ahead window from the page on.  Otherwise the mmap
 * read-around: ra_pages centred on the page.  ra_pages is 32 (the default
 * read_ahead_kb of 128, the host's).  VM_EXEC (6.16+): executable code is
 * read at random, so only from the page to the end of the VMA, ra_pages
 * at most, and nothing before it.  Observed: the first read of a 6-page
 * file maps all 6 pages (fault-around maps what read-around cached); in a
 * PROT_EXEC mapping it maps the page alone when the page ends the VMA.
 * Divergence: the kernel stops reading around after 100 misses without
 * hits (MMAP_LOTSAMISS); the model always reads around.  Divergence: no
 * PG_readahead: the kernel marks the folio where the asynchronous part of
 * a read-ahead starts, fault-around (filemap_map_pages) leaves a marked
 * folio unmapped, and a fault that finds one outside a MADV_RANDOM VMA
 * clears the mark and reads the next window (do_async_mmap_readahead);
 * the model marks nothing and reads only on a miss (DIV-RA-MARK; seen on
 * the host only with files larger than the read-ahead window).
 */
#define RA_PAGES 32
void do_sync_mmap_readahead(struct vm_area_struct *vma, struct address_space *mapping,
			    uint64_t pgoff)
{
	/*
	 * The order the host shows: MADV_HUGEPAGE's read-ahead first (from
	 * the PMD-aligned index, two PMD-sized folios' worth, or one with
	 * VM_RAND_READ: "Fetch two PMD folios, so we get the chance to
	 * actually readahead, unless we've been told not to"; observed with
	 * mincore on a 4 MiB file: pages 0-1023, or 0-511 under MADV_RANDOM,
	 * for a fault on page 1), MADV_SEQUENTIAL's, then VM_EXEC's (meant
	 * for random access, so before MADV_RANDOM's none).  FILE-RA-1.
	 */
	if (vma->vm_flags & VM_HUGEPAGE) {
		uint64_t nr = (vma->vm_flags & VM_RAND_READ) ? PTRS_PER_TABLE : 2 * PTRS_PER_TABLE;

		filemap_readahead(mapping, pgoff & ~(uint64_t)(PTRS_PER_TABLE - 1), nr);
		mapping->dupmm_large_folios = true; /* the host reads these in large folios */
		return;
	}
	if (vma->vm_flags & VM_SEQ_READ) {
		filemap_readahead(mapping, pgoff, RA_PAGES);
		return;
	}
	if (vma->vm_flags & VM_EXEC) {
		uint64_t end = vma->vm_pgoff + vma_pages(vma);

		filemap_readahead(mapping, pgoff, MIN(pgoff + RA_PAGES, end) - pgoff);
		return;
	}
	if (vma->vm_flags & VM_RAND_READ)
		return;
	filemap_readahead(mapping, pgoff > RA_PAGES / 2 ? pgoff - RA_PAGES / 2 : 0, RA_PAGES);
}
