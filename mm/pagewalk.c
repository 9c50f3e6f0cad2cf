/*
 * Walking the page tables of a range, after mm/pagewalk.c.
 */
#include "internal.h"

/*
 * walk_level: the entries of the table at table_pfn, whose entries span
 * 1 << shift bytes from base, that meet [start, end): fn for each non-none
 * PTE of a PTE table, a level down for each present entry above
 * (walk_pgd_range and the walk_*_range below it, in one).  Runs of eight
 * empty entries are skipped at once.
 */
static void walk_level(struct mm_struct *mm, uint64_t table_pfn, unsigned int shift, uint64_t base,
		       uint64_t start, uint64_t end, pte_visit_fn fn, void *arg)
{
	pte_t *table = pfn_to_virt(table_pfn);
	uint64_t size = 1ULL << shift;
	unsigned int first = (unsigned int)((MAX(start, base) - base) >> shift);

	for (unsigned int i = first; i < PTRS_PER_TABLE; i++) {
		uint64_t addr = base + (uint64_t)i * size;

		if (addr >= end)
			break;
		if ((i & 7) == 0 && table_block_empty(&table[i])) {
			i += 7;
			continue;
		}
		if (shift == PTE_SHIFT) {
			if (!pte_none(table[i]))
				fn(mm, addr, &table[i], arg);
		} else if (table[i] & _PAGE_PRESENT) {
			walk_level(mm, pte_pfn(table[i]), shift - 9, addr, start, end, fn, arg);
		}
	}
}

/*
 * walk_ptes (walk_page_range with only a pte_entry callback): call fn for
 * every non-none PTE in [start, end), in order.  Level by level, so a walk
 * costs the tables that exist, not the address space it spans.
 */
void walk_ptes(struct mm_struct *mm, uint64_t start, uint64_t end, pte_visit_fn fn, void *arg)
{
	if (mm->pgd && start < end)
		walk_level(mm, mm->pgd, PGDIR_SHIFT, 0, start, end, fn, arg);
}
