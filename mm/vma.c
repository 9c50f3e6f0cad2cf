/*
 * The VMAs of an mm, after mm/vma.c (6.12+) and the VMA parts of
 * include/linux/mm.h: the VMA tree and its lookups, link and unlink,
 * split, merge, munmap's VMA side (do_vmi_munmap), mremap's copy_vma.
 *
 * Divergence: the kernel keeps VMAs in a maple tree; dupmm keeps them in a
 * GTree ordered by address.  The tree compares vm_end, so find_vma() is one
 * upper-bound search ("first VMA whose end is above addr"), and a VMA's
 * bounds may change in place as long as VMAs never overlap, which keeps the
 * order.  Code that grows a VMA over a neighbour removes the neighbour from
 * the tree first.
 */
#include "internal.h"

static gint vma_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
	const struct vm_area_struct *va = a, *vb = b;

	(void)unused;
	if (va->vm_end < vb->vm_end)
		return -1;
	return va->vm_end > vb->vm_end;
}

/* mm_mt_new: an empty VMA tree (mm_init's mt_init_flags). */
GTree *mm_mt_new(void) { return g_tree_new_full(vma_cmp, NULL, NULL, NULL); }

/* find_vma: the first VMA with vm_end > addr, or NULL. */
struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t addr)
{
	struct vm_area_struct probe = { .vm_end = addr };
	GTreeNode *node = g_tree_upper_bound(mm->mm_mt, &probe);

	return node ? g_tree_node_key(node) : NULL;
}

struct vm_area_struct *vma_first(struct mm_struct *mm)
{
	GTreeNode *node = g_tree_node_first(mm->mm_mt);

	return node ? g_tree_node_key(node) : NULL;
}

struct vm_area_struct *vma_next(struct mm_struct *mm, struct vm_area_struct *vma)
{
	GTreeNode *node = vma->vm_node ? vma->vm_node : g_tree_lookup_node(mm->mm_mt, vma);

	node = node ? g_tree_node_next(node) : NULL;
	return node ? g_tree_node_key(node) : NULL;
}

struct vm_area_struct *vma_prev(struct mm_struct *mm, struct vm_area_struct *vma)
{
	GTreeNode *node = vma->vm_node ? vma->vm_node : g_tree_lookup_node(mm->mm_mt, vma);

	node = node ? g_tree_node_previous(node) : NULL;
	return node ? g_tree_node_key(node) : NULL;
}

/* find_vma_prev: find_vma(addr), and in *pprev the VMA before it. */
struct vm_area_struct *find_vma_prev(struct mm_struct *mm, uint64_t addr,
				     struct vm_area_struct **pprev)
{
	struct vm_area_struct probe = { .vm_end = addr };
	GTreeNode *node = g_tree_upper_bound(mm->mm_mt, &probe);
	GTreeNode *prev;

	if (node) {
		prev = g_tree_node_previous(node);
	} else {
		prev = g_tree_node_last(mm->mm_mt);
	}
	*pprev = prev ? g_tree_node_key(prev) : NULL;
	return node ? g_tree_node_key(node) : NULL;
}

/* find_vma_intersection: the first VMA overlapping [start, end), or NULL. */
struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct vm_area_struct *vma = find_vma(mm, start);

	if (vma && end <= vma->vm_start)
		return NULL;
	return vma;
}

void vma_link_file(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		list_add_tail(&vma->shared, &vma->vm_file->f_mapping->i_mmap);
}

void unlink_file_vma(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		list_del(&vma->shared);
}

/* vma_link: insert into the tree and the file's i_mmap; map_count++. */
void vma_link(struct mm_struct *mm, struct vm_area_struct *vma)
{
	vma->vm_mm = mm;
	vma->vm_node = g_tree_insert_node(mm->mm_mt, vma, vma);
	vma_link_file(vma);
	mm->map_count++;
}

/* vma_unlink: the reverse of vma_link; the VMA itself is kept. */
void vma_unlink(struct mm_struct *mm, struct vm_area_struct *vma)
{
	gboolean found = g_tree_remove(mm->mm_mt, vma);

	MM_WARN_ON(!found);
	vma->vm_node = NULL;
	unlink_file_vma(vma);
	mm->map_count--;
}

/* remove_vma: free an unlinked VMA with its anon_vma links and file. */
void remove_vma(struct vm_area_struct *vma)
{
	unlink_anon_vmas(vma);
	if (vma->vm_file)
		fput(vma->vm_file);
	vm_area_free(vma);
}

void vma_set_end(struct vm_area_struct *vma, uint64_t end) { vma->vm_end = end; }

/* vma_set_start: moving the start moves pgoff with it. */
void vma_set_start(struct vm_area_struct *vma, uint64_t start)
{
	if (start >= vma->vm_start)
		vma->vm_pgoff += (start - vma->vm_start) >> PAGE_SHIFT;
	else
		vma->vm_pgoff -= (vma->vm_start - start) >> PAGE_SHIFT;
	vma->vm_start = start;
}

/*
 * __split_vma (mm/vma.c): split vma at addr.  With new_below the new VMA
 * is the lower part [vm_start, addr) and vma keeps [addr, vm_end);
 * otherwise vma keeps the lower part and the new one is [addr, vm_end).
 * Both share anon_vma and chain (anon_vma_clone of a VMA with an anon_vma
 * is an exact copy).  Returns 0 or -ENOMEM; on failure nothing changed.
 *
 *   new_below:  |new ... addr| vma ...|     else:  |vma ... addr| new ...|
 */
int __split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new;

	if (MM_WARN_ON(addr <= vma->vm_start || addr >= vma->vm_end))
		return -EINVAL;
	new = vm_area_dup(vma);
	if (new_below) {
		new->vm_end = addr;
	} else {
		new->vm_start = addr;
		new->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
	}
	if (anon_vma_clone(new, vma))
		goto out_free_vma;
	/* Shrink first, so that the tree stays ordered when new goes in. */
	if (new_below)
		vma_set_start(vma, addr);
	else
		vma->vm_end = addr;
	vma_link(mm, new);
	count_vm_event(VMA_SPLIT);
	return 0;

out_free_vma:
	if (new->vm_file)
		fput(new->vm_file); /* vm_area_dup's reference */
	vm_area_free(new);
	return -ENOMEM;
}

/* split_vma: __split_vma, refused at sysctl_max_map_count (ENOMEM). */
int split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below)
{
	if (vma->vm_mm->map_count >= sysctl_max_map_count)
		return -ENOMEM;
	return __split_vma(vma, addr, new_below);
}

/*
 * do_vmi_munmap (mm/vma.c): unmap [start, start+len).  VMAs straddling the
 * ends are split first; a split that adds a VMA is refused at
 * max_map_count with ENOMEM.  Tables no VMA can use any more are freed.
 */
int do_vmi_munmap(struct mm_struct *mm, uint64_t start, uint64_t len)
{
	uint64_t end;
	struct vm_area_struct *vma, *prev, *next;
	int err;

	if ((start & ~PAGE_MASK) || start > TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	end = start + PAGE_ALIGN(len);
	if (end == start)
		return -EINVAL;
	vma = find_vma(mm, start);
	if (vma == NULL || vma->vm_start >= end)
		return 0;
	if (start > vma->vm_start) {
		if (end < vma->vm_end && mm->map_count >= sysctl_max_map_count)
			return -ENOMEM;
		err = __split_vma(vma, start, 1);
		if (err)
			return err;
	}
	next = find_vma(mm, end);
	if (next && next->vm_start < end) {
		err = __split_vma(next, end, 0);
		if (err)
			return err;
	}
	unmap_vmas(mm, start, end);
	while ((vma = find_vma(mm, start)) != NULL && vma->vm_start < end) {
		vm_stat_account(mm, vma->vm_flags, -(int64_t)vma_pages(vma));
		if (vma->vm_flags & VM_LOCKED)
			mm->locked_vm -= vma_pages(vma);
		if (vma->vm_flags & VM_ACCOUNT)
			vm_committed_as -= (int64_t)vma_pages(vma);
		vma_unlink(mm, vma);
		remove_vma(vma);
	}
	next = find_vma_prev(mm, start, &prev);
	free_pgtables(mm, start, end, prev ? prev->vm_end : 0,
		      next ? next->vm_start : (1ULL << 47));
	return 0;
}

/*
 * vma_had_uncowed_parents (6.18 mm/vma.c; vma_is_fork_child in 6.19): a
 * VMA whose chain holds more than its own anon_vma may map pages it
 * shares with a parent.  Merging such VMAs would widen the root anon_vma's
 * lock; the kernel refuses, and the refusal is visible in /proc/PID/maps.
 */
static bool vma_had_uncowed_parents(const struct vm_area_struct *vma)
{
	return vma && vma->anon_vma && !list_is_singular(&vma->anon_vma_chain);
}

/* A candidate range to merge into a neighbour, after struct vma_merge_struct. */
struct vma_merge_struct {
	struct mm_struct *mm;
	struct vm_area_struct *prev;   /* |prev|  range  |next| */
	struct vm_area_struct *middle; /* existing VMA being modified, or NULL */
	struct vm_area_struct *next;
	struct vm_area_struct *copied_from; /* mremap source, or NULL */
	uint64_t start, end, pgoff, flags;
	struct file *file;
	struct anon_vma *anon_vma;
};

/*
 * is_mergeable_vma: same flags but the soft-dirty and sticky ones, same
 * file, no special mapping.  Divergence: no memory policies: the kernel
 * also wants equal NUMA policies (mpol_equal) and userfaultfd contexts and
 * anon_vma names; every VMA here has the default policy, no uffd context
 * and no name.
 */
static bool is_mergeable_vma(const struct vma_merge_struct *vmg, const struct vm_area_struct *vma)
{
	if ((vma->vm_flags ^ vmg->flags) & ~VM_IGNORE_MERGE)
		return false;
	if (vma->vm_file != vmg->file)
		return false;
	return vma->special_name == NULL;
}

/* is_mergeable_anon_vma, 6.18 text: the three cases. */
static bool is_mergeable_anon_vma(const struct vma_merge_struct *vmg,
				  const struct vm_area_struct *tgt)
{
	struct anon_vma *tgt_anon = tgt->anon_vma;
	struct anon_vma *src_anon = vmg->anon_vma;

	/* Case 1 - we will dup_anon_vma() from src into tgt. */
	if (!tgt_anon && src_anon)
		return !vma_had_uncowed_parents(vmg->middle) &&
		       !vma_had_uncowed_parents(vmg->copied_from);
	/* Case 2 - we will simply use tgt's anon_vma. */
	if (tgt_anon && !src_anon)
		return !vma_had_uncowed_parents(tgt);
	/* Case 3 - the anon_vmas are already shared. */
	return src_anon == tgt_anon;
}

static bool can_vma_merge_before(const struct vma_merge_struct *vmg)
{
	uint64_t pglen = (vmg->end - vmg->start) >> PAGE_SHIFT;

	return is_mergeable_vma(vmg, vmg->next) && is_mergeable_anon_vma(vmg, vmg->next) &&
	       vmg->next->vm_pgoff == vmg->pgoff + pglen;
}

static bool can_vma_merge_after(const struct vma_merge_struct *vmg)
{
	return is_mergeable_vma(vmg, vmg->prev) && is_mergeable_anon_vma(vmg, vmg->prev) &&
	       vmg->prev->vm_pgoff + vma_pages(vmg->prev) == vmg->pgoff;
}

static bool can_vma_merge_left(const struct vma_merge_struct *vmg)
{
	return vmg->prev && vmg->prev->vm_end == vmg->start && can_vma_merge_after(vmg);
}

static bool can_vma_merge_right(const struct vma_merge_struct *vmg, bool can_merge_left)
{
	struct anon_vma *pa, *na;

	if (!vmg->next || vmg->end != vmg->next->vm_start || !can_vma_merge_before(vmg))
		return false;
	if (!can_merge_left)
		return true;
	/* Mergeable with each side does not make prev and next compatible. */
	pa = vmg->prev->anon_vma;
	na = vmg->next->anon_vma;
	return !pa || !na || pa == na;
}

/*
 * dup_anon_vma: dst takes src's anon_vma before src's range joins it.
 * Easily overlooked, as the kernel's comment says: when mprotect moves
 * the boundary between two VMAs, the growing one takes over pages of the
 * shrinking one, and rmap must find them through its anon_vma chain.
 * Returns 0, or -ENOMEM with dst as it was.
 */
static int dup_anon_vma(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	if (src->anon_vma && !dst->anon_vma) {
		dst->anon_vma = src->anon_vma;
		return anon_vma_clone(dst, src);
	}
	return 0;
}

/* Remove a VMA that a merge has absorbed. */
static void merge_remove(struct mm_struct *mm, struct vm_area_struct *vma)
{
	vma_unlink(mm, vma);
	remove_vma(vma);
}

/*
 * vma_merge_existing_range (mm/vma.c): can [start, end) of middle, given
 * new flags, join prev and/or next?  Returns the VMA now covering the
 * range, or NULL (no merge; *err = 0) or NULL with *err = -ENOMEM.
 *
 *      merge left        merge right         merge both
 *   |prev|<--->|  |   |   |<--->|next|    |prev|<-middle->|next|
 *   extend prev,      extend next down,   prev swallows middle
 *   shrink/del middle shrink/del middle   and next
 */
static struct vm_area_struct *vma_merge_existing_range(struct vma_merge_struct *vmg, int *err)
{
	struct vm_area_struct *middle = vmg->middle, *prev = vmg->prev, *next;
	bool left_side = vmg->start == middle->vm_start;
	bool right_side = vmg->end == middle->vm_end;
	bool merge_left, merge_right;

	*err = 0;
	if ((vmg->flags & VM_SPECIAL) || (!left_side && !right_side))
		return NULL;
	merge_left = left_side && can_vma_merge_left(vmg);
	next = right_side ? vma_next(vmg->mm, middle) : NULL;
	vmg->next = next;
	merge_right = right_side && can_vma_merge_right(vmg, merge_left);
	if (!merge_left && !merge_right)
		return NULL;

	if (merge_left && merge_right) {
		uint64_t next_end = next->vm_end;

		*err = dup_anon_vma(prev, next->anon_vma ? next : middle);
		if (*err)
			return NULL;
		prev->vm_flags |= (middle->vm_flags | next->vm_flags) & VM_STICKY;
		merge_remove(vmg->mm, middle);
		merge_remove(vmg->mm, next);
		vma_set_end(prev, next_end);
		count_vm_event(VMA_MERGE);
		return prev;
	}
	if (merge_left) {
		*err = dup_anon_vma(prev, middle);
		if (*err)
			return NULL;
		prev->vm_flags |= middle->vm_flags & VM_STICKY;
		if (right_side)
			merge_remove(vmg->mm, middle);
		else
			vma_set_start(middle, vmg->end);
		vma_set_end(prev, vmg->end);
		count_vm_event(VMA_MERGE);
		return prev;
	}
	*err = dup_anon_vma(next, middle);
	if (*err)
		return NULL;
	next->vm_flags |= middle->vm_flags & VM_STICKY;
	if (left_side)
		merge_remove(vmg->mm, middle);
	else
		vma_set_end(middle, vmg->start);
	vma_set_start(next, vmg->start);
	count_vm_event(VMA_MERGE);
	return next;
}

/*
 * vma_modify_flags (mm/vma.c vma_modify): give [start, end) of vma the
 * flags new_flags, merging with a neighbour where the rules allow, else
 * splitting vma at start and end.  Returns the VMA that covers exactly
 * [start, end) with its flags not yet set (the caller sets them), or NULL
 * with *err = -ENOMEM.  prev is the VMA before vma, or NULL.
 */
struct vm_area_struct *vma_modify_flags(struct vm_area_struct *prev, struct vm_area_struct *vma,
					uint64_t start, uint64_t end, uint64_t new_flags, int *err)
{
	struct vma_merge_struct vmg = {
		.mm = vma->vm_mm,
		.prev = prev,
		.middle = vma,
		.start = start,
		.end = end,
		.flags = new_flags,
		.pgoff = vma->vm_pgoff + ((start - vma->vm_start) >> PAGE_SHIFT),
		.file = vma->vm_file,
		.anon_vma = vma->anon_vma,
	};
	struct vm_area_struct *merged;

	merged = vma_merge_existing_range(&vmg, err);
	if (merged || *err)
		return merged;
	if (vma->vm_start < start) {
		*err = split_vma(vma, start, 1);
		if (*err)
			return NULL;
	}
	if (vma->vm_end > end) {
		*err = split_vma(vma, end, 0);
		if (*err)
			return NULL;
	}
	return vma;
}

/*
 * vma_merge_new_range (mm/vma.c): a new range [start, end) with these
 * properties is about to be mapped in a hole; extend prev and/or next over
 * it instead if they are compatible.  Returns the extended VMA (flags
 * equal to the range's), or NULL when no merge is possible, or when the
 * merge needs anon_vma links that cannot be allocated; then nothing has
 * changed (the kernel's vma_expand undoes its dup_anon_vma), and the
 * caller maps a VMA of its own (mmap_region, copy_vma) or fails with
 * ENOMEM (mremap's vma_merge_extend), as the kernel's callers do.
 */
struct vm_area_struct *vma_merge_new_range(struct mm_struct *mm, uint64_t start, uint64_t end,
					   uint64_t flags, struct file *file, uint64_t pgoff,
					   struct anon_vma *anon_vma,
					   struct vm_area_struct *copied_from)
{
	struct vma_merge_struct vmg = {
		.mm = mm,
		.start = start,
		.end = end,
		.flags = flags,
		.pgoff = pgoff,
		.file = file,
		.anon_vma = anon_vma,
		.copied_from = copied_from,
	};
	struct vm_area_struct *next = find_vma_prev(mm, start, &vmg.prev);
	bool left, right;
	struct vm_area_struct *target;

	if (flags & VM_SPECIAL)
		return NULL;
	vmg.next = (next && next->vm_start == end) ? next : NULL;
	left = can_vma_merge_left(&vmg);
	right = can_vma_merge_right(&vmg, left);
	if (!left && !right)
		return NULL;
	target = left ? vmg.prev : vmg.next;
	/* The anon_vma links first: they can fail, and then nothing has changed. */
	if (left && right && dup_anon_vma(target, vmg.next))
		return NULL;
	/* mremap: the moved pages' anon_vma must be on the target's chain. */
	if (anon_vma && !target->anon_vma && copied_from) {
		target->anon_vma = anon_vma;
		if (anon_vma_clone(target, copied_from))
			return NULL;
	}
	if (left && right) {
		end = vmg.next->vm_end;
		target->vm_flags |= vmg.next->vm_flags & VM_STICKY;
		merge_remove(mm, vmg.next);
		vma_set_end(target, end);
	} else if (left) {
		vma_set_end(target, end);
	} else {
		vma_set_start(target, start);
	}
	/*
	 * The new range's sticky flags stay with the VMA it merged into
	 * (observed: a guarded page moved by mremap next to an unguarded VMA
	 * leaves the merged VMA "gu", so fork copies its guard).
	 */
	target->vm_flags |= flags & VM_STICKY;
	count_vm_event(VMA_MERGE);
	return target;
}

/*
 * copy_vma (mm/vma.c): the VMA that will hold [addr, addr+len) after a
 * move of vma's pages there: an extended neighbour if the merge rules
 * allow, else a copy of vma.  A never-faulted anonymous VMA takes the new
 * address as pgoff (so it can merge there); a faulted one keeps its pgoff,
 * which its pages' index depends on.  NULL on ENOMEM, with nothing
 * changed.
 */
struct vm_area_struct *copy_vma(struct vm_area_struct *vma, uint64_t addr, uint64_t len,
				uint64_t pgoff)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new_vma;

	if (vma_is_anonymous(vma) && !vma->anon_vma)
		pgoff = addr >> PAGE_SHIFT;
	new_vma = vma_merge_new_range(mm, addr, addr + len, vma->vm_flags, vma->vm_file, pgoff,
				      vma->anon_vma, vma);
	if (new_vma)
		return new_vma;
	new_vma = vm_area_dup(vma);
	new_vma->vm_start = addr;
	new_vma->vm_end = addr + len;
	new_vma->vm_pgoff = pgoff;
	if (anon_vma_clone(new_vma, vma))
		goto out_free_vma;
	vma_link(mm, new_vma);
	return new_vma;

out_free_vma:
	if (new_vma->vm_file)
		fput(new_vma->vm_file); /* vm_area_dup's reference */
	vm_area_free(new_vma);
	return NULL;
}

/*
 * anon_vma_compatible (mm/vma.c): may b reuse a's anon_vma at its first
 * fault?  Adjacent, same file and policy, flags equal but for the access
 * bits (so an mprotect-only difference still shares) and the flags merging
 * ignores, contiguous pgoff.
 *
 * The flags merging ignores are VM_IGNORE_MERGE: VM_SOFTDIRTY and the sticky
 * VM_MAYBE_GUARD, since "mm: implement sticky VMA flags" (64212ba02e66,
 * 6.19; in the 6.18.y backport of the sticky-flags series), which changed
 * the mask here from ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY) to
 * ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE).  So a VMA that differs from its
 * neighbour only by "gu" takes the neighbour's anon_vma at its first fault,
 * and the two can merge later.  Observed on the host: a page faulted next to
 * a guarded VMA merges with that VMA's tail after mprotect
 * (traces/guard-shares-anon-vma.strace).
 */
bool anon_vma_compatible(struct vm_area_struct *a, struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
	       !((a->vm_flags ^ b->vm_flags) & ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE)) &&
	       b->vm_pgoff == a->vm_pgoff + ((b->vm_start - a->vm_start) >> PAGE_SHIFT);
}

/*
 * reusable_anon_vma: old's anon_vma, if old never inherited pages (its
 * chain is singular) and is compatible with the VMA a, b.
 */
static struct anon_vma *reusable_anon_vma(struct vm_area_struct *old, struct vm_area_struct *a,
					  struct vm_area_struct *b)
{
	if (anon_vma_compatible(a, b) && old->anon_vma && list_is_singular(&old->anon_vma_chain))
		return old->anon_vma;
	return NULL;
}

/* find_mergeable_anon_vma: the next VMA's, then the previous one's. */
struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *next = vma_next(mm, vma), *prev = vma_prev(mm, vma);
	struct anon_vma *anon_vma = NULL;

	if (next)
		anon_vma = reusable_anon_vma(next, vma, next);
	if (!anon_vma && prev)
		anon_vma = reusable_anon_vma(prev, prev, vma);
	return anon_vma;
}

/*
 * vma_wants_writenotify (mm/vma.c): a shared writable mapping of a file
 * whose dirtying is tracked (a regular file; not shmem) gets read-only
 * PTEs until a write fault marks the page dirty (observed: a page written
 * through such a mapping is dirty for a process that maps it later).
 */
bool vma_wants_writenotify(const struct vm_area_struct *vma, uint64_t vm_flags)
{
	return (vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED) && vma->vm_file &&
	       !vma->vm_file->f_mapping->shmem;
}
