/*
 * x86-64 four-level page tables in the hardware's entry format, after
 * arch/x86/include/asm/pgtable_types.h and pgtable_64_types.h.
 *
 *   47      39 38      30 29      21 20      12 11         0
 *  +----------+----------+----------+----------+------------+
 *  | PGD idx  | PUD idx  | PMD idx  | PTE idx  |   offset   |
 *  +----------+----------+----------+----------+------------+
 *
 * Each table is one 4 KiB frame of 512 eight-byte entries.  An entry holds
 * the next table's (or the page's) frame number in bits 12..51 and the bits
 * below.  P4D is folded: the host runs 4-level paging (no LA57).
 */
#ifndef DUPMM_PGTABLE_H
#define DUPMM_PGTABLE_H

#include <stdint.h>

#include "mm_types.h"

typedef uint64_t pte_t;
/*
 * An upper level's entry (the pgd's, a PUD or PMD table's) is none or a
 * present table: dupmm maps no huge pages.  P4D is folded into the pgd.
 */
typedef uint64_t pgd_t;
typedef uint64_t pud_t;
typedef uint64_t pmd_t;

#define _PAGE_BIT_PRESENT  0
#define _PAGE_BIT_RW	   1
#define _PAGE_BIT_USER	   2
#define _PAGE_BIT_PWT	   3
#define _PAGE_BIT_PCD	   4
#define _PAGE_BIT_ACCESSED 5
#define _PAGE_BIT_DIRTY	   6
#define _PAGE_BIT_PSE	   7
#define _PAGE_BIT_GLOBAL   8
#define _PAGE_BIT_SOFTW1   9
#define _PAGE_BIT_SOFTW2   10
#define _PAGE_BIT_SOFTW3   11
#define _PAGE_BIT_NX	   63

#define _PAGE_PRESENT	 (1ULL << _PAGE_BIT_PRESENT)
#define _PAGE_RW	 (1ULL << _PAGE_BIT_RW)
#define _PAGE_USER	 (1ULL << _PAGE_BIT_USER)
#define _PAGE_ACCESSED	 (1ULL << _PAGE_BIT_ACCESSED)
#define _PAGE_DIRTY	 (1ULL << _PAGE_BIT_DIRTY)
#define _PAGE_PSE	 (1ULL << _PAGE_BIT_PSE)
#define _PAGE_GLOBAL	 (1ULL << _PAGE_BIT_GLOBAL)
/* Software bits as the kernel uses them. */
#define _PAGE_SPECIAL	 (1ULL << _PAGE_BIT_SOFTW1) /* no struct page refcount (zero page) */
#define _PAGE_UFFD_WP	 (1ULL << _PAGE_BIT_SOFTW2)
#define _PAGE_SOFT_DIRTY (1ULL << _PAGE_BIT_SOFTW3)
/* PROT_NONE PTEs: not present to the CPU, present to the mm. */
#define _PAGE_PROTNONE	 _PAGE_GLOBAL
#define _PAGE_NX	 (1ULL << _PAGE_BIT_NX)

#define PTE_PFN_MASK 0x000ffffffffff000ULL
/* Upper-level entries: the kernel's _PAGE_TABLE. */
#define _PAGE_TABLE  (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)

/*
 * Non-present, non-none entries are swap-format: bit 0 clear, bits 1..5 the
 * type, bits 12.. the offset.  dupmm has no swap; it uses the format for
 * PTE markers, as the kernel does (SWP_PTE_MARKER).  Divergence: the
 * kernel's swap PTE layout inverts the offset; ours does not.
 */
#define SWP_TYPE_SHIFT	    1
#define SWP_TYPE_MASK	    (0x1fULL << SWP_TYPE_SHIFT)
#define SWP_PTE_MARKER	    0x1fULL
#define PTE_MARKER_GUARD    (1ULL << 12)
#define PTE_MARKER_POISONED (1ULL << 13)

#define PTRS_PER_TABLE 512
#define PTE_SHIFT      12
#define PMD_SHIFT      21
#define PUD_SHIFT      30
#define PGDIR_SHIFT    39
#define PMD_SIZE       (1UL << PMD_SHIFT)
#define PUD_SIZE       (1UL << PUD_SHIFT)
#define PGDIR_SIZE     (1UL << PGDIR_SHIFT)
#define PMD_MASK       (~(PMD_SIZE - 1))
#define PUD_MASK       (~(PUD_SIZE - 1))
#define PGDIR_MASK     (~(PGDIR_SIZE - 1))

/*
 * pXd_addr_end: where the walk of [addr, end) leaves the entry that addr
 * lies in: the next boundary of the entry's span, or end if that comes
 * first (include/linux/pgtable.h).  The boundary wraps to 0 above the last
 * span of the address space; comparing boundary - 1 with end - 1 keeps the
 * answer right there too.
 */
static inline uint64_t pgd_addr_end(uint64_t addr, uint64_t end)
{
	uint64_t boundary = (addr + PGDIR_SIZE) & PGDIR_MASK;

	return boundary - 1 < end - 1 ? boundary : end;
}

static inline uint64_t pud_addr_end(uint64_t addr, uint64_t end)
{
	uint64_t boundary = (addr + PUD_SIZE) & PUD_MASK;

	return boundary - 1 < end - 1 ? boundary : end;
}

static inline uint64_t pmd_addr_end(uint64_t addr, uint64_t end)
{
	uint64_t boundary = (addr + PMD_SIZE) & PMD_MASK;

	return boundary - 1 < end - 1 ? boundary : end;
}

#define pgd_index(a) (((a) >> PGDIR_SHIFT) & (PTRS_PER_TABLE - 1))
#define pud_index(a) (((a) >> PUD_SHIFT) & (PTRS_PER_TABLE - 1))
#define pmd_index(a) (((a) >> PMD_SHIFT) & (PTRS_PER_TABLE - 1))
#define pte_index(a) (((a) >> PTE_SHIFT) & (PTRS_PER_TABLE - 1))

static inline uint64_t pte_pfn(pte_t pte) { return (pte & PTE_PFN_MASK) >> PAGE_SHIFT; }
static inline bool pte_none(pte_t pte) { return pte == 0; }
static inline bool pgd_none(pgd_t pgd) { return !(pgd & _PAGE_PRESENT); }
static inline bool pud_none(pud_t pud) { return !(pud & _PAGE_PRESENT); }
static inline bool pmd_none(pmd_t pmd) { return !(pmd & _PAGE_PRESENT); }
static inline bool pte_present(pte_t pte) { return (pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) != 0; }
static inline bool pte_write(pte_t pte) { return (pte & _PAGE_RW) != 0; }
static inline bool pte_dirty(pte_t pte) { return (pte & _PAGE_DIRTY) != 0; }
static inline bool pte_young(pte_t pte) { return (pte & _PAGE_ACCESSED) != 0; }
static inline bool pte_special(pte_t pte) { return (pte & _PAGE_SPECIAL) != 0; }
static inline bool pte_is_marker(pte_t pte)
{
	return !pte_none(pte) && !pte_present(pte) &&
	       ((pte & SWP_TYPE_MASK) >> SWP_TYPE_SHIFT) == SWP_PTE_MARKER;
}
static inline bool pte_is_guard(pte_t pte)
{
	return pte_is_marker(pte) && (pte & PTE_MARKER_GUARD);
}
static inline pte_t make_pte_marker(uint64_t bits)
{
	return (SWP_PTE_MARKER << SWP_TYPE_SHIFT) | bits;
}
static inline pte_t pte_wrprotect(pte_t pte) { return pte & ~_PAGE_RW; }
static inline pte_t pte_mkwrite(pte_t pte) { return pte | _PAGE_RW; }
static inline pte_t pte_mkclean(pte_t pte) { return pte & ~_PAGE_DIRTY; }
static inline pte_t pte_mkdirty(pte_t pte) { return pte | _PAGE_DIRTY; }
static inline pte_t pte_mkold(pte_t pte) { return pte & ~_PAGE_ACCESSED; }
static inline pte_t pte_mkyoung(pte_t pte) { return pte | _PAGE_ACCESSED; }

#endif
