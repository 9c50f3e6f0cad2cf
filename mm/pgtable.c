/*
 * x86-64 four-level page tables kept in frames of simulated RAM, after
 * arch/x86/mm/pgtable.c, include/linux/pgtable.h and the table-freeing part
 * of mm/memory.c (free_pgtables).
 *
 * Tables are allocated on demand (pte_alloc) and freed when the range they
 * cover holds no VMA any more (free_pgtables, on munmap and exit).  The
 * struct page of a table counts its entries in use (mapcount), so an empty
 * table is known without scanning it.
 */
#include "internal.h"

static pte_t *table_of(uint64_t pfn)
{
	return pfn_to_virt(pfn);
}

static struct page *table_page_of_entry(pte_t *ptep)
{
	uintptr_t base = (uintptr_t)page_address(pfn_to_page(0));

	return pfn_to_page(((uintptr_t)ptep - base) >> PAGE_SHIFT);
}

/* pte_table_inc/dec: an entry of the table holding ptep became used/unused. */
void pte_table_inc(pte_t *ptep)
{
	table_page_of_entry(ptep)->mapcount++;
}

/* pte_table_add: n entries of the table holding ptep became used at once. */
void pte_table_add(pte_t *ptep, int n)
{
	table_page_of_entry(ptep)->mapcount += n;
}

void pte_table_dec(pte_t *ptep)
{
	struct page *t = table_page_of_entry(ptep);

	MM_WARN_ON(t->mapcount <= 0);
	t->mapcount--;
}

/* set_pte: store pte, keeping the table's used-entry count right. */
void set_pte(pte_t *ptep, pte_t pte)
{
	if (pte_none(*ptep) && !pte_none(pte))
		pte_table_inc(ptep);
	else if (!pte_none(*ptep) && pte_none(pte))
		pte_table_dec(ptep);
	*ptep = pte;
}

void pte_clear(pte_t *ptep)
{
	set_pte(ptep, 0);
}

static struct page *alloc_table(struct mm_struct *mm)
{
	struct page *t = alloc_page(true);

	if (t == NULL)
		return NULL;
	t->flags |= PG_table;
	mm->pgtables_bytes += PAGE_SIZE;
	return t;
}

static void free_table(struct mm_struct *mm, uint64_t pfn)
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

/* The entry for addr in the table at pfn, for the level given by shift. */
static pte_t *entry_at(uint64_t table_pfn, uint64_t addr, unsigned int shift)
{
	return &table_of(table_pfn)[(addr >> shift) & (PTRS_PER_TABLE - 1)];
}

/*
 * pte_offset: the PTE slot for addr, or NULL when a table on the way is
 * missing.  Never allocates.
 */
pte_t *pte_offset(struct mm_struct *mm, uint64_t addr)
{
	static const unsigned int shifts[] = { PGDIR_SHIFT, PUD_SHIFT, PMD_SHIFT };
	uint64_t pfn = mm->pgd;

	for (size_t i = 0; i < G_N_ELEMENTS(shifts); i++) {
		pte_t e = *entry_at(pfn, addr, shifts[i]);

		if (!(e & _PAGE_PRESENT))
			return NULL;
		pfn = pte_pfn(e);
	}
	return entry_at(pfn, addr, PTE_SHIFT);
}

/* pte_alloc: like pte_offset, allocating missing tables; NULL on ENOMEM. */
pte_t *pte_alloc(struct mm_struct *mm, uint64_t addr)
{
	static const unsigned int shifts[] = { PGDIR_SHIFT, PUD_SHIFT, PMD_SHIFT };
	uint64_t pfn = mm->pgd;

	for (size_t i = 0; i < G_N_ELEMENTS(shifts); i++) {
		pte_t *ep = entry_at(pfn, addr, shifts[i]);

		if (!(*ep & _PAGE_PRESENT)) {
			struct page *t = alloc_table(mm);

			if (t == NULL)
				return NULL;
			set_pte(ep, (page_to_pfn(t) << PAGE_SHIFT) | _PAGE_TABLE);
		}
		pfn = pte_pfn(*ep);
	}
	return entry_at(pfn, addr, PTE_SHIFT);
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

/*
 * Table freeing, after free_pgtables()/free_pgd_range(): a table is freed
 * when its whole span lies in [floor, ceiling), the hole between the VMAs
 * around the unmapped range, so no VMA can use it any more.
 */
static bool span_free(uint64_t ts, unsigned int shift, uint64_t floor, uint64_t ceiling)
{
	return ts >= floor && ts + (1ULL << shift) <= ceiling;
}

static void free_level(struct mm_struct *mm, pte_t *ep, uint64_t ts, int level,
		       uint64_t start, uint64_t end, uint64_t floor, uint64_t ceiling)
{
	static const unsigned int shifts[] = { PGDIR_SHIFT, PUD_SHIFT, PMD_SHIFT, PTE_SHIFT };
	unsigned int shift = shifts[level];
	uint64_t pfn;

	if (!(*ep & _PAGE_PRESENT))
		return;
	pfn = pte_pfn(*ep);
	if (level < 2) {
		unsigned int cshift = shifts[level + 1];
		uint64_t lo = MAX(start, ts), hi = MIN(end, ts + (1ULL << shift));

		for (uint64_t a = lo & ~((1ULL << cshift) - 1); a < hi; a += 1ULL << cshift)
			free_level(mm, entry_at(pfn, a, cshift), a, level + 1,
				   start, end, floor, ceiling);
	}
	if (span_free(ts, shift, floor, ceiling) && pfn_to_page(pfn)->mapcount == 0) {
		free_table(mm, pfn);
		set_pte(ep, 0);
	}
}

/*
 * free_pgtables: free the tables covering [start, end) that no VMA can use:
 * floor is the end of the VMA before the range (0 if none), ceiling the
 * start of the one after (TASK_SIZE rounded up if none).  The PTEs of the
 * range must already be zapped.
 */
void free_pgtables(struct mm_struct *mm, uint64_t start, uint64_t end,
		   uint64_t floor, uint64_t ceiling)
{
	if (mm->pgd == 0 || start >= end)
		return;
	for (uint64_t a = start & PGDIR_MASK; a < end; a += PGDIR_SIZE) {
		pte_t *ep = entry_at(mm->pgd, a, PGDIR_SHIFT);
		uint64_t ts = a;

		/* free_level handles one PGD entry; it frees PUD tables and below. */
		if (!(*ep & _PAGE_PRESENT))
			continue;
		{
			uint64_t pud = pte_pfn(*ep);
			uint64_t lo = MAX(start, ts), hi = MIN(end, ts + PGDIR_SIZE);

			for (uint64_t b = lo & PUD_MASK; b < hi; b += PUD_SIZE)
				free_level(mm, entry_at(pud, b, PUD_SHIFT), b, 1,
					   start, end, floor, ceiling);
			if (span_free(ts, PGDIR_SHIFT, floor, ceiling) &&
			    pfn_to_page(pud)->mapcount == 0) {
				free_table(mm, pud);
				set_pte(ep, 0);
			}
		}
	}
}

/*
 * walk_ptes: call fn for every non-none PTE in [start, end), in order.
 * Level by level like walk_pgd_range() in mm/pagewalk.c, so a walk costs
 * the tables that exist, not the address space it spans.
 */
static void walk_level(struct mm_struct *mm, uint64_t table_pfn, unsigned int shift, uint64_t base,
		       uint64_t start, uint64_t end, pte_visit_fn fn, void *arg)
{
	pte_t *table = table_of(table_pfn);
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

void walk_ptes(struct mm_struct *mm, uint64_t start, uint64_t end, pte_visit_fn fn, void *arg)
{
	if (mm->pgd && start < end)
		walk_level(mm, mm->pgd, PGDIR_SHIFT, 0, start, end, fn, arg);
}

static void count_tables(pte_t *table, int level, uint64_t *n)
{
	(*n)++;
	if (level == 3)
		return;
	for (int i = 0; i < PTRS_PER_TABLE; i++)
		if (table[i] & _PAGE_PRESENT)
			count_tables(table_of(pte_pfn(table[i])), level + 1, n);
}

/* pgtables_count: the tables reachable from the pgd (for validate_mm). */
uint64_t pgtables_count(struct mm_struct *mm)
{
	uint64_t n = 0;

	if (mm->pgd)
		count_tables(table_of(mm->pgd), 0, &n);
	return n;
}
