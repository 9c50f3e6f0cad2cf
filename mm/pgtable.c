/*
 * x86-64 four-level page tables kept in frames of simulated RAM, after
 * arch/x86/mm/pgtable.c (pgd_alloc, the table allocator), the entry
 * accessors of arch/x86/include/asm/pgtable.h and include/linux/pgtable.h,
 * and vm_get_page_prot (arch/x86/mm/pgprot.c) for mk_pte.
 *
 * Tables are allocated on demand (pte_alloc) and freed when the range they
 * cover holds no VMA any more (free_pgtables in memory.c, on munmap and
 * exit).  The struct page of a table counts its entries in use (mapcount),
 * so an empty table is known without scanning it.
 */
#include "internal.h"

static struct page *table_page_of_entry(pte_t *ptep)
{
	uintptr_t base = (uintptr_t)page_address(pfn_to_page(0));

	return pfn_to_page(((uintptr_t)ptep - base) >> PAGE_SHIFT);
}

/* pte_table_inc/dec: an entry of the table holding ptep became used/unused. */
void pte_table_inc(pte_t *ptep) { table_page_of_entry(ptep)->mapcount++; }

void pte_table_dec(pte_t *ptep)
{
	struct page *t = table_page_of_entry(ptep);

	MM_WARN_ON(t->mapcount <= 0);
	t->mapcount--;
}

/* pte_table_add: n entries of the table holding ptep became used at once. */
void pte_table_add(pte_t *ptep, int n) { table_page_of_entry(ptep)->mapcount += n; }

/* set_pte: store pte, keeping the table's used-entry count right. */
void set_pte(pte_t *ptep, pte_t pte)
{
	if (pte_none(*ptep) && !pte_none(pte))
		pte_table_inc(ptep);
	else if (!pte_none(*ptep) && pte_none(pte))
		pte_table_dec(ptep);
	*ptep = pte;
}

void pte_clear(pte_t *ptep) { set_pte(ptep, 0); }

/*
 * alloc_table: a zeroed frame for a table of any level (pte_alloc_one,
 * pmd_alloc_one, pud_alloc_one), counted in VmPTE.  NULL on ENOMEM.
 */
static struct page *alloc_table(struct mm_struct *mm)
{
	struct page *t = alloc_page(true);

	if (t == NULL)
		return NULL;
	t->flags |= PG_table;
	mm->pgtables_bytes += PAGE_SIZE;
	return t;
}

/* free_table: a table with no entry in use goes back (pte_free, pmd_free, pud_free). */
void free_table(struct mm_struct *mm, uint64_t pfn)
{
	struct page *t = pfn_to_page(pfn);

	MM_WARN_ON(t->mapcount != 0);
	t->flags &= ~PG_table;
	mm->pgtables_bytes -= PAGE_SIZE;
	put_page(t);
}

/* The pgd is not counted in pgtables_bytes (VmPTE), as in the kernel. */
int pgd_alloc(struct mm_struct *mm)
{
	struct page *t = alloc_table(mm);

	if (t == NULL)
		return -ENOMEM;
	mm->pgtables_bytes -= PAGE_SIZE;
	mm->pgd = page_to_pfn(t);
	return 0;
}

void pgd_free(struct mm_struct *mm)
{
	if (mm->pgd) {
		mm->pgtables_bytes += PAGE_SIZE;
		free_table(mm, mm->pgd);
	}
	mm->pgd = 0;
}

/*
 * table_alloc: the entry for addr in the table below *ep, whose entries
 * span 1 << shift bytes; that table is allocated and *ep pointed at it
 * first if *ep is none.  NULL on ENOMEM.
 */
static pte_t *table_alloc(struct mm_struct *mm, pte_t *ep, uint64_t addr, unsigned int shift)
{
	if (!(*ep & _PAGE_PRESENT)) {
		struct page *t = alloc_table(mm);

		if (t == NULL)
			return NULL;
		set_pte(ep, (page_to_pfn(t) << PAGE_SHIFT) | _PAGE_TABLE);
	}
	return entry_at(pte_pfn(*ep), addr, shift);
}

/*
 * pud_alloc, pmd_alloc, pte_alloc_map (include/linux/mm.h, over
 * __pud_alloc, __pmd_alloc and __pte_alloc): the entry for addr in the
 * table below pgd, pud or pmd, allocating that table if the entry is none.
 * NULL on ENOMEM.
 */
pud_t *pud_alloc(struct mm_struct *mm, pgd_t *pgd, uint64_t addr)
{
	return table_alloc(mm, pgd, addr, PUD_SHIFT);
}

pmd_t *pmd_alloc(struct mm_struct *mm, pud_t *pud, uint64_t addr)
{
	return table_alloc(mm, pud, addr, PMD_SHIFT);
}

pte_t *pte_alloc_map(struct mm_struct *mm, pmd_t *pmd, uint64_t addr)
{
	return table_alloc(mm, pmd, addr, PTE_SHIFT);
}

/*
 * pte_offset: the PTE slot for addr, or NULL when a table on the way is
 * missing.  Never allocates.
 */
pte_t *pte_offset(struct mm_struct *mm, uint64_t addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	pud_t *pud;
	pmd_t *pmd;

	if (pgd_none(*pgd))
		return NULL;
	pud = pud_offset(pgd, addr);
	if (pud_none(*pud))
		return NULL;
	pmd = pmd_offset(pud, addr);
	if (pmd_none(*pmd))
		return NULL;
	return pte_offset_map(pmd, addr);
}

/* pte_alloc: like pte_offset, allocating missing tables; NULL on ENOMEM. */
pte_t *pte_alloc(struct mm_struct *mm, uint64_t addr)
{
	pud_t *pud = pud_alloc(mm, pgd_offset(mm, addr), addr);
	pmd_t *pmd = pud ? pmd_alloc(mm, pud, addr) : NULL;

	return pmd ? pte_alloc_map(mm, pmd, addr) : NULL;
}

/*
 * mk_pte: a present PTE for frame pfn with the protection of a VMA with
 * vm_flags, as vm_get_page_prot() gives it on x86: private mappings never
 * get RW here (that is the point of COW; the fault adds it); PROT_NONE
 * gives a PROTNONE entry that the CPU treats as not present.
 */
pte_t mk_pte(uint64_t pfn, uint64_t vm_flags)
{
	pte_t pte = (pfn << PAGE_SHIFT) | _PAGE_USER;

	if (vm_flags & VM_ACCESS_FLAGS)
		pte |= _PAGE_PRESENT;
	else
		pte |= _PAGE_PROTNONE;
	if ((vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED))
		pte |= _PAGE_RW;
	if (!(vm_flags & VM_EXEC))
		pte |= _PAGE_NX;
	return pte;
}
