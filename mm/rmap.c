/*
 * Reverse mapping of anonymous pages, after mm/rmap.c.
 *
 * Every VMA that may map an anonymous page is on the anon_vma_chain of
 * the page's anon_vma: its own anon_vma plus every ancestor's, so that the
 * pages it still shares with a parent since fork are found.  fork() builds
 * those chains (anon_vma_fork), split/merge copy them (anon_vma_clone), and
 * munmap/exit tear them down (unlink_anon_vmas).
 */
#include "internal.h"

unsigned long anon_vma_live;
static unsigned int anon_vma_ids;

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *anon_vma = g_new0(struct anon_vma, 1);

	anon_vma->refcount = 1;
	anon_vma->root = anon_vma;
	anon_vma->parent = anon_vma;
	anon_vma->id = ++anon_vma_ids;
	INIT_LIST_HEAD(&anon_vma->rb_root);
	anon_vma_live++;
	return anon_vma;
}

static void anon_vma_free(struct anon_vma *anon_vma)
{
	MM_WARN_ON(!list_empty(&anon_vma->rb_root));
	anon_vma_live--;
	g_free(anon_vma);
}

static void get_anon_vma(struct anon_vma *anon_vma)
{
	anon_vma->refcount++;
}

/* put_anon_vma: the last reference frees it and drops its root's pin. */
static void put_anon_vma(struct anon_vma *anon_vma)
{
	struct anon_vma *root = anon_vma->root;

	if (--anon_vma->refcount > 0)
		return;
	anon_vma_free(anon_vma);
	if (root != anon_vma && --root->refcount == 0)
		anon_vma_free(root);
}

static void anon_vma_chain_link(struct vm_area_struct *vma, struct anon_vma_chain *avc,
				struct anon_vma *anon_vma)
{
	avc->vma = vma;
	avc->anon_vma = anon_vma;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	list_add_tail(&avc->rb, &anon_vma->rb_root);
}

/*
 * __anon_vma_prepare: give vma an anon_vma before its first anonymous
 * page: a compatible neighbour's if that neighbour never inherited pages
 * (find_mergeable_anon_vma), else a new root.  Returns 0 or -ENOMEM.
 */
int __anon_vma_prepare(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc = g_new0(struct anon_vma_chain, 1);
	struct anon_vma *anon_vma = find_mergeable_anon_vma(vma);

	if (anon_vma == NULL) {
		anon_vma = anon_vma_alloc();
		anon_vma->num_children++;	/* self-parent link for new root */
	}
	vma->anon_vma = anon_vma;
	anon_vma_chain_link(vma, avc, anon_vma);
	anon_vma->num_active_vmas++;
	return 0;
}

/*
 * anon_vma_clone: put dst on every anon_vma of src's chain, oldest first,
 * so dst's chain ends up in the same order.  For split, merge and mremap
 * dst->anon_vma already equals src's and the result is an exact copy.
 *
 * At fork (dst->anon_vma NULL, src's set) an anon_vma of the chain with no
 * VMA left and at most one child is recycled as dst's own, the one closest
 * to the root winning: that keeps a long-running fork server's chains from
 * growing without bound.  Returns 0 (dupmm's allocations do not fail).
 */
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma_chain *pavc;

	list_for_each_entry_reverse(pavc, &src->anon_vma_chain, struct anon_vma_chain, same_vma) {
		struct anon_vma_chain *avc = g_new0(struct anon_vma_chain, 1);
		struct anon_vma *anon_vma = pavc->anon_vma;

		anon_vma_chain_link(dst, avc, anon_vma);
		if (!dst->anon_vma && src->anon_vma &&
		    anon_vma->num_children < 2 && anon_vma->num_active_vmas == 0) {
			dst->anon_vma = anon_vma;
			count_vm_event(ANON_VMA_REUSED_AT_FORK);
		}
	}
	if (dst->anon_vma)
		dst->anon_vma->num_active_vmas++;
	return 0;
}

/*
 * anon_vma_fork: attach the child's VMA vma to the anon_vmas of its
 * parent's pvma, then give it an anon_vma of its own (a reused one, or a
 * new one whose parent is pvma's), where its COW copies will be filed.
 * A parent VMA without anon_vma leaves the child's without one.
 */
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	int err;

	if (!pvma->anon_vma)
		return 0;
	vma->anon_vma = NULL;
	err = anon_vma_clone(vma, pvma);
	if (err)
		return err;
	if (vma->anon_vma)
		return 0;

	anon_vma = anon_vma_alloc();
	anon_vma->num_active_vmas++;
	avc = g_new0(struct anon_vma_chain, 1);
	anon_vma->root = pvma->anon_vma->root;
	anon_vma->parent = pvma->anon_vma;
	get_anon_vma(anon_vma->root);
	vma->anon_vma = anon_vma;
	anon_vma_chain_link(vma, avc, anon_vma);
	anon_vma->parent->num_children++;
	return 0;
}

/*
 * unlink_anon_vmas: take vma off every anon_vma of its chain.  An
 * anon_vma left with no VMA drops its parent's child count and a
 * reference (which frees it unless pinned as a root).
 */
void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, struct anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		list_del(&avc->rb);
		if (list_empty(&anon_vma->rb_root)) {
			anon_vma->parent->num_children--;
			continue;	/* freed in the second pass */
		}
		list_del(&avc->same_vma);
		g_free(avc);
	}
	if (vma->anon_vma) {
		vma->anon_vma->num_active_vmas--;
		vma->anon_vma = NULL;
	}
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, struct anon_vma_chain, same_vma) {
		put_anon_vma(avc->anon_vma);
		list_del(&avc->same_vma);
		g_free(avc);
	}
}

/* folio_add_new_anon_rmap: a freshly allocated page, exclusively ours. */
void folio_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma, uint64_t addr)
{
	page->mapping = (void *)((uintptr_t)vma->anon_vma | PAGE_MAPPING_ANON);
	page->index = linear_page_index(vma, addr);
	page->mapcount = 1;
	page->flags |= PG_anon_exclusive | PG_swapbacked | PG_uptodate;
	folio_add_lru(page);	/* the callers' folio_add_lru_vma (do_anonymous_page, wp_page_copy, do_cow_fault) */
}

void folio_add_file_rmap_pte(struct page *page)
{
	page->mapcount++;
}

void folio_remove_rmap_pte(struct page *page)
{
	MM_WARN_ON(page->mapcount <= 0);
	page->mapcount--;
	if (page->mapcount == 0 && PageAnon(page))
		page->flags &= ~PG_anon_exclusive;
}

/* folio_move_anon_rmap: a page do_wp_page reuses moves to the VMA's own anon_vma. */
void folio_move_anon_rmap(struct page *page, struct vm_area_struct *vma)
{
	page->mapping = (void *)((uintptr_t)vma->anon_vma | PAGE_MAPPING_ANON);
}

static bool vma_address(struct vm_area_struct *vma, uint64_t pgoff, uint64_t *addr)
{
	if (pgoff < vma->vm_pgoff || pgoff >= vma->vm_pgoff + vma_pages(vma))
		return false;
	*addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
	return true;
}

/*
 * rmap_walk: call fn for each (vma, addr) that may map page: through the
 * anon_vma's chain entries for an anonymous page, the mapping's i_mmap for
 * a file page.  fn checks the PTE itself; returning false stops the walk.
 */
void rmap_walk(struct page *page, rmap_one_fn fn, void *arg)
{
	struct anon_vma *anon_vma = page_anon_vma(page);
	uint64_t addr;

	if (anon_vma) {
		struct anon_vma_chain *avc;

		list_for_each_entry(avc, &anon_vma->rb_root, struct anon_vma_chain, rb)
			if (vma_address(avc->vma, page->index, &addr) &&
			    !fn(page, avc->vma, addr, arg))
				return;
	} else if (page_mapping(page)) {
		struct vm_area_struct *vma;

		list_for_each_entry(vma, &page_mapping(page)->i_mmap, struct vm_area_struct, shared)
			if (vma_address(vma, page->index, &addr) && !fn(page, vma, addr, arg))
				return;
	}
}
