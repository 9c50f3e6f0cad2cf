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

/* anon_vma_alloc: a new root of its own, one reference; NULL on ENOMEM. */
static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *anon_vma;

	if (should_failslab())
		return NULL;
	anon_vma = g_new0(struct anon_vma, 1);
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

static void get_anon_vma(struct anon_vma *anon_vma) { anon_vma->refcount++; }

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

/* anon_vma_chain_alloc: NULL on ENOMEM. */
static struct anon_vma_chain *anon_vma_chain_alloc(void)
{
	if (should_failslab())
		return NULL;
	return g_new0(struct anon_vma_chain, 1);
}

static void anon_vma_chain_free(struct anon_vma_chain *avc) { g_free(avc); }

static void anon_vma_chain_link(struct vm_area_struct *vma, struct anon_vma_chain *avc,
				struct anon_vma *anon_vma)
{
	avc->vma = vma;
	avc->anon_vma = anon_vma;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	list_add_tail(&avc->rb, &anon_vma->rb_root);
}

/*
 * __anon_vma_prepare (mm/rmap.c): give vma an anon_vma before its first
 * anonymous page is filed under it.  Returns 0 or -ENOMEM.
 *
 * A compatible neighbour's anon_vma is taken if it has one that it did
 * not inherit (find_mergeable_anon_vma): the usual reason two such VMAs
 * exist is an mprotect or madvise that split one VMA, and sharing one
 * anon_vma lets the pieces merge again later (is_mergeable_anon_vma
 * wants the same anon_vma) instead of keeping them apart for good.  One
 * the neighbour came by through a fork (its chain is longer than one) is
 * not taken: reusable_anon_vma wants no anon_vma "complex due to having
 * gone through a fork".  Otherwise the VMA gets a new root.
 *
 * The chain link is allocated before anything is looked up, as the
 * kernel does, so that a failure leaves the VMA as it was.
 */
int __anon_vma_prepare(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc = anon_vma_chain_alloc();
	struct anon_vma *anon_vma;

	if (avc == NULL)
		goto out_enomem;
	anon_vma = find_mergeable_anon_vma(vma);
	if (anon_vma == NULL) {
		anon_vma = anon_vma_alloc();
		if (anon_vma == NULL)
			goto out_enomem_free_avc;
		/*
		 * A root is its own parent and counts itself as a child, so
		 * that it never looks recyclable to anon_vma_clone's reuse
		 * rule (fewer than two children): its descendants pin it.
		 */
		anon_vma->num_children++;
	}
	vma->anon_vma = anon_vma;
	anon_vma_chain_link(vma, avc, anon_vma);
	/* one more VMA files its new pages here: it is not idle, not reusable */
	anon_vma->num_active_vmas++;
	return 0;

out_enomem_free_avc:
	anon_vma_chain_free(avc);
out_enomem:
	return -ENOMEM;
}

/*
 * anon_vma_clone (mm/rmap.c): put dst on every anon_vma of src's chain, so
 * that rmap finds in dst every page src may map.  Called by __split_vma,
 * the merges (dup_anon_vma), copy_vma and anon_vma_fork.  The chain is
 * walked from its oldest entry and each link added at the head of dst's,
 * so that dst's chain ends up in src's order.  For the first callers
 * dst->anon_vma already equals src's and the result is an exact copy.
 *
 * anon_vma_fork calls it with dst->anon_vma NULL and src's set; then an
 * anon_vma of the chain that no VMA uses any more (its process exited or
 * unmapped it) and that has fewer than two children is recycled as dst's
 * own, the one closest to the root winning.  Without that a fork server
 * forking generation after generation would add an anon_vma per
 * generation to every chain, and rmap walks would grow with them.  One
 * with two or more children is left alone, so that an rmap walk of a page
 * filed under it need not scan the whole hierarchy; a root always has two
 * (itself and a descendant), so it is never reused.
 *
 * Returns 0, or -ENOMEM with dst unlinked from whatever it was linked to
 * here and dst->anon_vma NULL, as the kernel leaves it.
 */
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma_chain *pavc;

	list_for_each_entry_reverse(pavc, &src->anon_vma_chain, struct anon_vma_chain, same_vma) {
		struct anon_vma_chain *avc = anon_vma_chain_alloc();
		struct anon_vma *anon_vma = pavc->anon_vma;

		if (avc == NULL)
			goto enomem_failure;
		anon_vma_chain_link(dst, avc, anon_vma);
		if (!dst->anon_vma && src->anon_vma && anon_vma->num_children < 2 &&
		    anon_vma->num_active_vmas == 0) {
			dst->anon_vma = anon_vma;
			count_vm_event(ANON_VMA_REUSED_AT_FORK);
		}
	}
	/* dst now files its new pages under dst->anon_vma too */
	if (dst->anon_vma)
		dst->anon_vma->num_active_vmas++;
	return 0;

enomem_failure:
	/*
	 * dst->anon_vma was not counted in num_active_vmas yet, and
	 * unlink_anon_vmas would uncount it: forget it first.  The callers
	 * do not look at it after a failure.
	 */
	dst->anon_vma = NULL;
	unlink_anon_vmas(dst);
	return -ENOMEM;
}

/*
 * anon_vma_fork (mm/rmap.c): attach the child's VMA vma to the anon_vmas
 * of its parent's pvma, then give it an anon_vma of its own (a recycled
 * one, or a new one whose parent is pvma's), under which its COW copies
 * will be filed.  Returns 0, or -ENOMEM with vma linked to nothing.
 */
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	int err;

	/* No anonymous pages in the parent's VMA: the child's first write prepares one. */
	if (!pvma->anon_vma)
		return 0;
	/* vm_area_dup copied the parent's; the child gets its own (the reuse rule needs NULL). */
	vma->anon_vma = NULL;
	/*
	 * The child maps the parent's pages until it writes them, and those
	 * may be filed under any anon_vma of the parent's chain: link the
	 * child to all of them, so that rmap finds the child's mappings too.
	 */
	err = anon_vma_clone(vma, pvma);
	if (err)
		return err;
	if (vma->anon_vma)
		return 0; /* an idle anon_vma was recycled: done */

	anon_vma = anon_vma_alloc();
	if (anon_vma == NULL)
		goto out_error;
	/* The child's VMA uses it: while it does, it is never recycled. */
	anon_vma->num_active_vmas++;
	avc = anon_vma_chain_alloc();
	if (avc == NULL)
		goto out_error_free_anon_vma;
	/*
	 * Every anon_vma of one fork tree shares its root: in the kernel the
	 * root's lock is the lock of the whole tree (anon_vma_lock_write
	 * takes anon_vma->root->rwsem).
	 */
	anon_vma->root = pvma->anon_vma->root;
	/*
	 * The parent link is what num_children counts: the parent's count
	 * grows here and shrinks when this anon_vma empties
	 * (unlink_anon_vmas), and it decides whether the parent may be
	 * recycled by a later fork.
	 */
	anon_vma->parent = pvma->anon_vma;
	/*
	 * This anon_vma may outlive the process and the parent's VMAs that
	 * the root belongs to (the child keeps the pages it shares); the
	 * root, holder of the tree's lock, is pinned until this one is freed
	 * (put_anon_vma drops the pin).
	 */
	get_anon_vma(anon_vma->root);
	/* The child's new (COW-copied) pages are filed here, its own. */
	vma->anon_vma = anon_vma;
	anon_vma_chain_link(vma, avc, anon_vma);
	anon_vma->parent->num_children++;
	return 0;

out_error_free_anon_vma:
	put_anon_vma(anon_vma);
out_error:
	unlink_anon_vmas(vma); /* what anon_vma_clone linked */
	return -ENOMEM;
}

/*
 * unlink_anon_vmas (mm/rmap.c): take vma off every anon_vma of its chain,
 * as it goes away (or, for MREMAP_DONTUNMAP's source, as it stops mapping
 * anything).  An anon_vma left with no VMA at all can have no page mapped
 * any more: its parent loses a child, and it drops its reference, which
 * frees it unless it is a root that descendants still pin.
 *
 * The chain is newest first, so the root comes last.  Two passes, as in
 * the kernel, where the first runs under the root's lock and the freeing
 * (which may need that lock to drop the root's pin) comes after it: the
 * emptied anon_vmas stay on the chain until the second pass.
 */
void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, struct anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		list_del(&avc->rb);
		if (list_empty(&anon_vma->rb_root)) {
			anon_vma->parent->num_children--;
			continue; /* freed in the second pass */
		}
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
	/* A VMA that lives on gets a new anon_vma at its next anonymous fault. */
	if (vma->anon_vma) {
		vma->anon_vma->num_active_vmas--;
		vma->anon_vma = NULL;
	}
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, struct anon_vma_chain, same_vma) {
		put_anon_vma(avc->anon_vma);
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
}

/*
 * folio_add_new_anon_rmap: a freshly allocated page, exclusively ours.  It
 * does not mlock: its callers put the page on the LRU with
 * folio_add_lru_vma, which mlocks it in a VM_LOCKED VMA (mlock_new_folio).
 */
void folio_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma, uint64_t addr)
{
	page->mapping = (void *)((uintptr_t)vma->anon_vma | PAGE_MAPPING_ANON);
	page->index = linear_page_index(vma, addr);
	page->mapcount = 1;
	page->flags |= PG_anon_exclusive | PG_uptodate;
	/*
	 * A MAP_DROPPABLE page is not swap-backed: reclaim may drop it even
	 * when dirty (folio_add_new_anon_rmap: __folio_set_swapbacked only
	 * without VM_DROPPABLE; observed: MADV_PAGEOUT of a written droppable
	 * page, which then reads zeroes; MMAP-DROPPABLE-2).
	 */
	if (!(vma->vm_flags & VM_DROPPABLE))
		page->flags |= PG_swapbacked;
}

/*
 * folio_add_file_rmap_pte (__folio_add_file_rmap): a PTE of vma maps a
 * page-cache page; in a VM_LOCKED VMA the page is mlocked
 * (mlock_vma_folio, order-0 folios only, as all of the model's are).
 * (__folio_add_anon_rmap does the same for an anonymous page mapped
 * again, by swap-in, KSM or migration: none of which the model has.)
 */
void folio_add_file_rmap_pte(struct page *page, struct vm_area_struct *vma)
{
	page->mapcount++;
	mlock_vma_folio(page, vma);
}

/*
 * folio_remove_rmap_pte (__folio_remove_rmap): a PTE of vma stops mapping
 * the page; in a VM_LOCKED VMA that is one mlock less (munlock_vma_folio).
 */
void folio_remove_rmap_pte(struct page *page, struct vm_area_struct *vma)
{
	MM_WARN_ON(page->mapcount <= 0);
	page->mapcount--;
	if (page->mapcount == 0 && PageAnon(page))
		page->flags &= ~PG_anon_exclusive;
	munlock_vma_folio(page, vma);
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
