/*
 * /proc/PID/maps, smaps, smaps_rollup, status and pagemap, after
 * fs/proc/task_mmu.c and fs/proc/array.c, in the host kernel's (6.18)
 * format, byte for byte where the model has the same state.
 */
#include <inttypes.h>

#include "internal.h"

#define PSS_SHIFT 12

static const char *vma_name(struct mm_struct *mm, struct vm_area_struct *vma)
{
	if (vma->vm_file)
		return vma->vm_file->path;
	if (vma->special_name)
		return vma->special_name;
	if (mm->start_brk && vma->vm_start <= mm->brk && vma->vm_end >= mm->start_brk)
		return "[heap]";
	if (mm->start_stack && vma->vm_start <= mm->start_stack && vma->vm_end >= mm->start_stack)
		return "[stack]";
	return NULL;
}

/* show_map_vma: show_vma_header_prefix, then the name at column 73, as seq_pad places it. */
static void show_map_vma(struct mm_struct *mm, struct vm_area_struct *vma, GString *out)
{
	const char *name = vma_name(mm, vma);
	struct address_space *mapping = vma->vm_file ? vma->vm_file->f_mapping : NULL;
	gsize line_start = out->len;
	uint64_t flags = vma->vm_flags;

	g_string_append_printf(
		out, "%08" PRIx64 "-%08" PRIx64 " %c%c%c%c %08" PRIx64 " %02x:%02x %" PRIu64 " ",
		vma->vm_start, vma->vm_end, flags & VM_READ ? 'r' : '-',
		flags & VM_WRITE ? 'w' : '-', flags & VM_EXEC ? 'x' : '-',
		flags & VM_MAYSHARE ? 's' : 'p', mapping ? vma->vm_pgoff << PAGE_SHIFT : 0,
		mapping ? mapping->dev_major : 0, mapping ? mapping->dev_minor : 0,
		mapping ? mapping->ino : 0);
	if (name) {
		while (out->len - line_start < 73)
			g_string_append_c(out, ' ');
		g_string_append(out, name);
	}
	g_string_append_c(out, '\n');
}

void show_maps(struct mm_struct *mm, GString *out)
{
	for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma))
		show_map_vma(mm, vma, out);
}

struct mem_size_stats {
	uint64_t resident, shared_clean, shared_dirty, private_clean, private_dirty;
	uint64_t referenced, anonymous, lazyfree;
	uint64_t pss, pss_dirty, pss_anon, pss_file, pss_shmem, pss_locked;
};

/*
 * smaps_pte_entry (with smaps_account): one present page, counted shared
 * or private by its refcount and mapcount.
 */
static void smaps_pte_entry(struct vm_area_struct *vma, uint64_t addr, pte_t pte,
			    struct mem_size_stats *mss)
{
	struct page *page = vm_normal_page(vma, addr, pte);
	bool dirty, young, locked = (vma->vm_flags & VM_LOCKED) != 0;
	uint64_t pss, size = PAGE_SIZE;
	int counter;

	if (page == NULL) /* the zero page is not counted at all */
		return;
	dirty = pte_dirty(pte) || (page->flags & PG_dirty);
	young = pte_young(pte) || (page->flags & (PG_young | PG_referenced));
	mss->resident += size;
	if (PageAnon(page)) {
		mss->anonymous += size;
		if (!(page->flags & PG_swapbacked) && !dirty)
			mss->lazyfree += size;
	}
	if (young)
		mss->referenced += size;
	if (page->refcount == 1 || page->mapcount < 2) {
		pss = size << PSS_SHIFT;
		if (dirty)
			mss->private_dirty += size;
		else
			mss->private_clean += size;
	} else {
		pss = (size << PSS_SHIFT) / (uint64_t)page->mapcount;
		if (dirty)
			mss->shared_dirty += size;
		else
			mss->shared_clean += size;
	}
	mss->pss += pss;
	if (dirty)
		mss->pss_dirty += pss;
	counter = mm_counter(page);
	if (counter == MM_ANONPAGES)
		mss->pss_anon += pss;
	else if (counter == MM_SHMEMPAGES)
		mss->pss_shmem += pss;
	else
		mss->pss_file += pss;
	if (locked)
		mss->pss_locked += pss;
}

struct smaps_walk {
	struct vm_area_struct *vma;
	struct mem_size_stats *mss;
};

static void smaps_visit(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg)
{
	struct smaps_walk *w = arg;

	(void)mm;
	if (pte_present(*ptep))
		smaps_pte_entry(w->vma, addr, *ptep, w->mss);
}

static void smap_gather_stats(struct vm_area_struct *vma, struct mem_size_stats *mss)
{
	struct smaps_walk w = { vma, mss };

	walk_ptes(vma->vm_mm, vma->vm_start, vma->vm_end, smaps_visit, &w);
}

#define SEQ_PUT_DEC(out, name, kb) \
	g_string_append_printf(out, "%-16s%8" PRIu64 " kB\n", name, (uint64_t)(kb))

/*
 * __show_smap: the fields from Rss on (rollup adds the Pss_* split).
 * Divergence: what the model lacks prints 0: KSM (no merging),
 * AnonHugePages, ShmemPmdMapped, FilePmdMapped (order-0 folios),
 * Shared_Hugetlb, Private_Hugetlb (no hugetlbfs), Swap, SwapPss (no swap).
 */
static void show_smap_fields(GString *out, const struct mem_size_stats *mss, bool rollup)
{
	SEQ_PUT_DEC(out, "Rss:", mss->resident >> 10);
	SEQ_PUT_DEC(out, "Pss:", mss->pss >> (10 + PSS_SHIFT));
	SEQ_PUT_DEC(out, "Pss_Dirty:", mss->pss_dirty >> (10 + PSS_SHIFT));
	if (rollup) {
		SEQ_PUT_DEC(out, "Pss_Anon:", mss->pss_anon >> (10 + PSS_SHIFT));
		SEQ_PUT_DEC(out, "Pss_File:", mss->pss_file >> (10 + PSS_SHIFT));
		SEQ_PUT_DEC(out, "Pss_Shmem:", mss->pss_shmem >> (10 + PSS_SHIFT));
	}
	SEQ_PUT_DEC(out, "Shared_Clean:", mss->shared_clean >> 10);
	SEQ_PUT_DEC(out, "Shared_Dirty:", mss->shared_dirty >> 10);
	SEQ_PUT_DEC(out, "Private_Clean:", mss->private_clean >> 10);
	SEQ_PUT_DEC(out, "Private_Dirty:", mss->private_dirty >> 10);
	SEQ_PUT_DEC(out, "Referenced:", mss->referenced >> 10);
	SEQ_PUT_DEC(out, "Anonymous:", mss->anonymous >> 10);
	SEQ_PUT_DEC(out, "KSM:", 0);
	SEQ_PUT_DEC(out, "LazyFree:", mss->lazyfree >> 10);
	SEQ_PUT_DEC(out, "AnonHugePages:", 0);
	SEQ_PUT_DEC(out, "ShmemPmdMapped:", 0);
	SEQ_PUT_DEC(out, "FilePmdMapped:", 0);
	SEQ_PUT_DEC(out, "Shared_Hugetlb:", 0);
	SEQ_PUT_DEC(out, "Private_Hugetlb:", 0);
	SEQ_PUT_DEC(out, "Swap:", 0);
	SEQ_PUT_DEC(out, "SwapPss:", 0);
	SEQ_PUT_DEC(out, "Locked:", mss->pss_locked >> (10 + PSS_SHIFT));
}

/* show_smap_vma_flags: mnemonics in bit order; "??" for a bit without one. */
static void show_smap_vma_flags(GString *out, uint64_t flags)
{
	static const char mnemonics[64][3] = {
		[0] = "rd",  [1] = "wr",  [2] = "ex",  [3] = "sh",  [4] = "mr",	 [5] = "mw",
		[6] = "me",  [7] = "ms",  [8] = "gd",  [9] = "um",  [10] = "pf", [11] = "gu",
		[12] = "uw", [13] = "lo", [14] = "io", [15] = "sr", [16] = "rr", [17] = "dc",
		[18] = "de", [19] = "lf", [20] = "ac", [21] = "nr", [22] = "ht", [23] = "sf",
		[24] = "ar", [25] = "wf", [26] = "dd", [27] = "sd", [28] = "mm", [29] = "hg",
		[30] = "nh", [31] = "mg", [37] = "ss", [40] = "dp", [41] = "ui", [42] = "sl",
	};

	g_string_append(out, "VmFlags: ");
	for (int i = 0; i < 64; i++) {
		if (!(flags & (1ULL << i)) || (i >= 32 && i <= 35)) /* pkey bits print nothing */
			continue;
		g_string_append(out, mnemonics[i][0] ? mnemonics[i] : "??");
		g_string_append_c(out, ' ');
	}
	g_string_append_c(out, '\n');
}

/*
 * THPeligible (thp_vma_allowable_orders with TVA_SMAPS): a VMA the policy
 * allows, with room for an aligned 2 MiB page (the block ending at the
 * VMA's last aligned 2 MiB boundary: __thp_vma_allowable_orders tests
 * vm_end - HPAGE_PMD_SIZE).  Observed: a 16 KiB MADV_HUGEPAGE VMA is 0.
 */
static int thp_eligible(const struct vm_area_struct *vma)
{
	return thp_vma_allowed(vma) && vma->vm_end - vma->vm_start >= PMD_SIZE &&
	       thp_vma_suitable_pmd(vma, vma->vm_end - PMD_SIZE);
}

void show_smaps(struct mm_struct *mm, GString *out)
{
	for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma)) {
		struct mem_size_stats mss = { 0 };

		smap_gather_stats(vma, &mss);
		show_map_vma(mm, vma, out);
		SEQ_PUT_DEC(out, "Size:", (vma->vm_end - vma->vm_start) >> 10);
		SEQ_PUT_DEC(out, "KernelPageSize:", PAGE_SIZE >> 10);
		SEQ_PUT_DEC(out, "MMUPageSize:", PAGE_SIZE >> 10);
		show_smap_fields(out, &mss, false);
		g_string_append_printf(out, "%-16s%8d\n", "THPeligible:", thp_eligible(vma));
		/* Divergence: no protection keys (see do_mprotect_pkey). */
		g_string_append_printf(out, "%-16s%8d\n", "ProtectionKey:", 0);
		show_smap_vma_flags(out, vma->vm_flags);
	}
}

void show_smaps_rollup(struct mm_struct *mm, GString *out)
{
	struct mem_size_stats mss = { 0 };
	struct vm_area_struct *first = vma_first(mm), *last = first;
	gsize line_start = out->len;

	for (struct vm_area_struct *vma = first; vma; vma = vma_next(mm, vma)) {
		smap_gather_stats(vma, &mss);
		last = vma;
	}
	g_string_append_printf(out, "%08" PRIx64 "-%08" PRIx64 " ---p 00000000 00:00 0 ",
			       first ? first->vm_start : 0, last ? last->vm_end : 0);
	while (out->len - line_start < 73)
		g_string_append_c(out, ' ');
	g_string_append(out, "[rollup]\n");
	show_smap_fields(out, &mss, true);
}

/* task_mem (fs/proc/task_mmu.c): the Vm* and Rss* lines of status. */
void show_status(struct mm_struct *mm, GString *out)
{
	uint64_t anon = (uint64_t)mm->rss_stat[MM_ANONPAGES] << 2;
	uint64_t file = (uint64_t)mm->rss_stat[MM_FILEPAGES] << 2;
	uint64_t shmem = (uint64_t)mm->rss_stat[MM_SHMEMPAGES] << 2;
	uint64_t rss = anon + file + shmem;
	uint64_t hiwater_rss = MAX(mm->hiwater_rss << 2, rss);

#define STATUS_LINE(name, v) \
	g_string_append_printf(out, "%s\t%8" PRIu64 " kB\n", name, (uint64_t)(v))
	STATUS_LINE("VmPeak:", MAX(mm->hiwater_vm, mm->total_vm) << 2);
	STATUS_LINE("VmSize:", mm->total_vm << 2);
	STATUS_LINE("VmLck:", mm->locked_vm << 2);
	STATUS_LINE("VmPin:", mm->pinned_vm << 2);
	STATUS_LINE("VmHWM:", hiwater_rss);
	STATUS_LINE("VmRSS:", rss);
	STATUS_LINE("RssAnon:", anon);
	STATUS_LINE("RssFile:", file);
	STATUS_LINE("RssShmem:", shmem);
	STATUS_LINE("VmData:", mm->data_vm << 2);
	STATUS_LINE("VmStk:", mm->stack_vm << 2);
	/*
	 * Divergence: the model has no executable image (start_code,
	 * end_code): VmExe is 0 and all of exec_vm is VmLib; the kernel
	 * splits exec_vm between the two.  Swap: none.
	 */
	STATUS_LINE("VmExe:", 0);
	STATUS_LINE("VmLib:", mm->exec_vm << 2);
	STATUS_LINE("VmPTE:", (uint64_t)mm->pgtables_bytes >> 10);
	STATUS_LINE("VmSwap:", 0);
#undef STATUS_LINE
}

/*
 * pagemap_read (pagemap_pmd_range, pte_to_pagemap_entry): one entry per
 * page: present, PFN, exclusive (mapcount 1), file-or-shared; a PTE marker
 * as a swap entry.
 */
void pagemap_read(struct mm_struct *mm, uint64_t start, size_t n, uint64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t addr = start + (i << PAGE_SHIFT);
		pte_t pte = mm_lookup_pte(mm, addr);
		struct vm_area_struct *vma = find_vma(mm, addr);
		struct page *page;
		uint64_t e = 0;

		if (vma && vma->vm_start <= addr && pte_present(pte)) {
			page = vm_normal_page(vma, addr, pte);
			e = PM_PRESENT | (pte_pfn(pte) & PM_PFRAME_MASK);
			if (page && !PageAnon(page))
				e |= PM_FILE;
			if (page && page->mapcount == 1)
				e |= PM_MMAP_EXCLUSIVE;
		} else if (pte_is_marker(pte)) {
			/*
			 * Divergence: no swap, so the only swap entries are PTE
			 * markers; the kernel also reports swapped-out pages
			 * (PM_SWAP, their swap type and offset) and migration
			 * entries.
			 *
			 * A PTE marker is a swap entry to pagemap: PM_SWAP, the swap
			 * type (SWP_PTE_MARKER, 31) and offset (the kernel's marker
			 * bits: UFFD_WP 1, POISONED 2, GUARD 4) in the frame bits, and
			 * PM_GUARD_REGION for a guard.  The host: 0x440000000000009f.
			 */
			uint64_t marker = ((pte & PTE_MARKER_POISONED) ? 2 : 0) |
					  ((pte & PTE_MARKER_GUARD) ? 4 : 0);

			e = PM_SWAP | SWP_PTE_MARKER | (marker << 5);
			if (pte_is_guard(pte))
				e |= PM_GUARD_REGION;
		}
		out[i] = e;
	}
}
