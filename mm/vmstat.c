/*
 * Event counters, after mm/vmstat.c (vm_event_states, vmstat_text).
 * phys_init resets them.
 */
#include "internal.h"

uint64_t vm_events[NR_VM_EVENTS];

const char *vm_event_name(enum vm_event_item item)
{
	static const char *const names[NR_VM_EVENTS] = {
		[PGFAULT] = "pgfault",
		[PGREUSE] = "pgreuse",
		[COW_COPY] = "cow_copy",
		[ZERO_PAGE_MAP] = "zero_page_map",
		[ANON_ALLOC] = "anon_alloc",
		[FORK_VMA_COPIED] = "fork_vma_copied",
		[FORK_VMA_WIPED] = "fork_vma_wiped",
		[FORK_VMA_DONTCOPY] = "fork_vma_dontcopy",
		[FORK_PTE_COPIED] = "fork_pte_copied",
		[VMA_SPLIT] = "vma_split",
		[VMA_MERGE] = "vma_merge",
		[ANON_VMA_REUSED_AT_FORK] = "anon_vma_reused_at_fork",
		[UNEVICTABLE_PGCULLED] = "unevictable_pgs_culled",
		[UNEVICTABLE_PGMLOCKED] = "unevictable_pgs_mlocked",
		[UNEVICTABLE_PGMUNLOCKED] = "unevictable_pgs_munlocked",
	};
	return item < NR_VM_EVENTS ? names[item] : "?";
}
