/*
 * Page faults, copy-on-write, zapping, the fork-time page-table copy and
 * the freeing of page tables, after mm/memory.c.  Also the model's user
 * accessors (mm_read, mm_write, mm_fill: loads and stores through
 * mm_fault, in the spirit of access_remote_vm) and mm_peek.
 */
#include "internal.h"

unsigned int mm_planted_bug;

/* vm_normal_page: the struct page a PTE maps, or NULL for the zero page. */
struct page *vm_normal_page(struct vm_area_struct *vma, uint64_t addr, pte_t pte)
{
	(void)vma;
	(void)addr;
	if (pte_special(pte) || is_zero_pfn(pte_pfn(pte)))
		return NULL;
	return pfn_to_page(pte_pfn(pte));
}

static pte_t mk_anon_pte(struct page *page, struct vm_area_struct *vma)
{
	pte_t pte = mk_pte(page_to_pfn(page), vma->vm_flags) | _PAGE_ACCESSED | _PAGE_DIRTY;

	/* maybe_mkwrite: a private page we own outright may be written. */
	if (vma->vm_flags & VM_WRITE)
		pte = pte_mkwrite(pte);
	return pte;
}

/*
 * do_anonymous_page: first touch of an anonymous page.  A read maps the
 * shared zero page (special: no refcount, no mapcount, no RSS, and no
 * anon_vma yet); a write gets a zeroed page of its own.
 *
 * Divergence: order-0 folios only: with THP "madvise" (the host's) the
 * kernel gives a VM_HUGEPAGE VMA a PMD-mapped 2 MiB folio where an
 * aligned 2 MiB of it fits (do_huge_pmd_anonymous_page), and may use
 * mTHP sizes; the model maps one page, and smaps' AnonHugePages stays 0.
 */
static int do_anonymous_page(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep,
			     unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page;

	if (!(flags & FAULT_FLAG_WRITE)) {
		set_pte(ptep, mk_pte(zero_pfn, vma->vm_flags) | _PAGE_SPECIAL);
		count_vm_event(ZERO_PAGE_MAP);
		return 0;
	}
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = alloc_page(true);
	if (page == NULL)
		return VM_FAULT_OOM;
	folio_add_new_anon_rmap(page, vma, addr);
	folio_add_lru_vma(page, vma);
	add_mm_counter(mm, MM_ANONPAGES, 1);
	set_pte(ptep, mk_anon_pte(page, vma));
	count_vm_event(ANON_ALLOC);
	return 0;
}

/*
 * do_fault_around (mm/memory.c, with filemap_map_pages' mapping loop): a
 * read fault on a file or shmem page also maps the pages around it that
 * are already in the page cache (no read-ahead: only what is cached): 16
 * pages (fault_around_bytes, 64 KiB) from the aligned-down address
 * clamped to the VMA's start, clipped to the VMA and to the PTE table.
 * Observed on the host: a parent's read fault maps the shmem page its
 * child had faulted in, so its Rss grows by both.
 */
#define FAULT_AROUND_PAGES 16
static void do_fault_around(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep,
			    unsigned int flags)
{
	struct address_space *mapping = vma->vm_file->f_mapping;
	uint64_t win = (uint64_t)FAULT_AROUND_PAGES << PAGE_SHIFT;
	/* from_pte: aligned down, clamped to the VMA; to_pte: 16 pages on from there */
	uint64_t from = MAX(MAX(addr & ~(win - 1), vma->vm_start), addr & PMD_MASK);
	uint64_t to = pmd_addr_end(addr, MIN(from + win, vma->vm_end));
	uint64_t eof = PAGE_ALIGN(mapping->size) >> PAGE_SHIFT;

	/*
	 * filemap_map_pages, since 74207de2ba10 ("mm/memory: do not populate
	 * page table entries beyond i_size", 6.18, backported to stable; read
	 * in 6.12.118's mm/filemap.c and the 6.17.y backport): of a regular
	 * file it calls filemap_map_pmd, which installs the PTE table
	 * do_fault_around preallocated, only if file_end >=
	 * folio_next_index(folio), file_end being the index of the file's last
	 * page and folio the window's first uptodate one (next_uptodate_folio,
	 * which skips indexes past the end).  So a folio holding the last page
	 * counts as crossing i_size, and with no table yet (pmd_none)
	 * pte_offset_map_lock fails: nothing is mapped.  The model's folios
	 * are single pages: the window's first cached page is the file's
	 * last.  (Checked on the 6.18.44 host, reads settled: a fault past the
	 * end maps nothing when only the last page is cached, or when the
	 * window's part inside the file is that page alone, and maps it with
	 * the table there; traces/fault-past-eof-tables.strace.)
	 */
	if (!mapping->shmem && (flags & FAULT_FLAG_DUPMM_PMD_NONE)) {
		for (uint64_t a = from; a < to; a += PAGE_SIZE) {
			uint64_t pgoff = linear_page_index(vma, a);

			if (pgoff >= eof)
				break;
			if (!g_hash_table_contains(mapping->i_pages, GSIZE_TO_POINTER(pgoff)))
				continue;
			if (pgoff + 1 == eof)
				return;
			break;
		}
	}
	for (uint64_t a = from; a < to; a += PAGE_SIZE) {
		pte_t *p = ptep + (((int64_t)a - (int64_t)addr) >> PAGE_SHIFT);
		uint64_t pgoff = linear_page_index(vma, a);
		gpointer v;
		struct page *page;

		if (a == addr || !pte_none(*p) || pgoff >= eof ||
		    !g_hash_table_lookup_extended(mapping->i_pages, GSIZE_TO_POINTER(pgoff), NULL,
						  &v))
			continue;
		page = pfn_to_page(GPOINTER_TO_SIZE(v));
		get_page(page);
		folio_add_file_rmap_pte(page, vma);
		add_mm_counter(vma->vm_mm, mm_counter(page), 1);
		set_pte(p, mk_pte(page_to_pfn(page), pte_prot_flags(vma, vma->vm_flags)) |
				   _PAGE_ACCESSED);
	}
}

/*
 * do_fault: first touch of a file or shmem page.  Reads and shared writes
 * map the page-cache page (do_read_fault, do_shared_fault); a private
 * write maps a private copy of it (do_cow_fault).  Past the end of the
 * file: SIGBUS.
 */
static int do_fault(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct address_space *mapping = vma->vm_file->f_mapping;
	uint64_t pgoff = linear_page_index(vma, addr);
	struct page *page, *new;
	pte_t pte;
	int err;

	/*
	 * do_cow_fault prepares the anon_vma before ->fault looks at the page
	 * (so a private write past the end leaves one, and fork then copies
	 * the VMA's PTEs: observed).
	 */
	if ((flags & FAULT_FLAG_WRITE) && !(vma->vm_flags & VM_SHARED) && anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	if (pgoff >= PAGE_ALIGN(mapping->size) >> PAGE_SHIFT) {
		/*
		 * do_read_fault maps around before ->fault finds the page past
		 * the end: the cached neighbours get mapped, then SIGBUS
		 * (observed).
		 */
		if (!(flags & FAULT_FLAG_WRITE))
			do_fault_around(vma, addr, ptep, flags);
		return VM_FAULT_SIGBUS;
	}
	if (!mapping->shmem && !g_hash_table_contains(mapping->i_pages, GSIZE_TO_POINTER(pgoff)))
		do_sync_mmap_readahead(vma, mapping, pgoff);
	page = filemap_get_page(mapping, pgoff, &err);
	if (page == NULL)
		return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;

	if ((flags & FAULT_FLAG_WRITE) && !(vma->vm_flags & VM_SHARED)) {
		if (anon_vma_prepare(vma) || (new = alloc_page(false)) == NULL)
			return VM_FAULT_OOM;
		copy_highpage(new, page);
		folio_add_new_anon_rmap(new, vma, addr);
		folio_add_lru_vma(new, vma);
		add_mm_counter(mm, MM_ANONPAGES, 1);
		set_pte(ptep, mk_anon_pte(new, vma));
		count_vm_event(COW_COPY);
		return 0;
	}
	get_page(page);
	folio_add_file_rmap_pte(page, vma);
	add_mm_counter(mm, mm_counter(page), 1);
	pte = mk_pte(page_to_pfn(page), pte_prot_flags(vma, vma->vm_flags)) | _PAGE_ACCESSED;
	if (flags & FAULT_FLAG_WRITE) {
		pte = pte_mkwrite(pte) | _PAGE_DIRTY; /* do_shared_fault: the page is dirty now */
		folio_mark_dirty(page);
	}
	set_pte(ptep, pte);
	if (!(flags & FAULT_FLAG_WRITE))
		do_fault_around(vma, addr, ptep, flags);
	return 0;
}

/*
 * wp_page_copy: break COW by copying into a new page (a zeroed one when
 * the old PTE mapped the zero page), then drop the old mapping.
 */
static int wp_page_copy(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep, struct page *old)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *new;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	new = alloc_page(old == NULL);
	if (new == NULL)
		return VM_FAULT_OOM;
	if (old)
		copy_highpage(new, old);
	if (old == NULL) {
		add_mm_counter(mm, MM_ANONPAGES, 1);
	} else if (!PageAnon(old)) {
		add_mm_counter(mm, mm_counter(old), -1);
		add_mm_counter(mm, MM_ANONPAGES, 1);
	}
	folio_add_new_anon_rmap(new, vma, addr);
	folio_add_lru_vma(new, vma);
	set_pte(ptep, mk_anon_pte(new, vma));
	mmu_notifier_invalidate(mm, addr, addr + PAGE_SIZE);
	if (old) {
		folio_remove_rmap_pte(old, vma);
		put_page(old);
	}
	count_vm_event(COW_COPY);
	return 0;
}

/*
 * wp_can_reuse_anon_folio: reuse a page that is not AnonExclusive only if
 * we hold the one reference.  The kernel's count includes the per-CPU
 * batches' references (folio_lru_batch_refs): more than 3 and it gives up
 * at once; else, a page not yet on the LRU (still in the lru_add batch)
 * makes it drain them (lru_add_drain) and count again.  Observed: a write
 * to a just-faulted page that a fork shares settles a pending MADV_FREE;
 * to an older page it does not.
 */
static bool wp_can_reuse_anon_folio(struct page *page)
{
	if (page->refcount + folio_lru_batch_refs(page) > 3)
		return false;
	if (!(page->flags & PG_lru))
		lru_add_drain();
	return page->refcount + folio_lru_batch_refs(page) == 1;
}

/*
 * do_wp_page: a write to a present, write-protected PTE.  Shared mappings
 * just become writable.  A private anonymous page is reused in place if it
 * is exclusive to us (AnonExclusive), or if its refcount says nobody else
 * holds it (wp_can_reuse_anon_folio: the 5.9+ rule is refcount-based, not
 * mapcount-based).  Anything else is copied.
 */
static int do_wp_page(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep)
{
	struct page *page = vm_normal_page(vma, addr, *ptep);

	if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) {
		if (page)
			folio_mark_dirty(page);
		set_pte(ptep, pte_mkyoung(pte_mkdirty(pte_mkwrite(*ptep))));
		mmu_notifier_invalidate(vma->vm_mm, addr, addr + PAGE_SIZE);
		return 0;
	}
	if (page && PageAnon(page) &&
	    ((page->flags & PG_anon_exclusive) || wp_can_reuse_anon_folio(page))) {
		folio_move_anon_rmap(page, vma);
		page->flags |= PG_anon_exclusive;
		set_pte(ptep, pte_mkyoung(pte_mkdirty(pte_mkwrite(*ptep))));
		mmu_notifier_invalidate(vma->vm_mm, addr, addr + PAGE_SIZE);
		count_vm_event(PGREUSE);
		return 0;
	}
	return wp_page_copy(vma, addr, ptep, page);
}

/*
 * handle_mm_fault: resolve a fault at addr in vma, whose protection the
 * caller has already checked.  Returns 0 or VM_FAULT_* bits.
 */
int handle_mm_fault(struct vm_area_struct *vma, uint64_t addr, unsigned int flags)
{
	pte_t *ptep = pte_offset(vma->vm_mm, addr);

	if (ptep == NULL) {
		/*
		 * __handle_mm_fault: with the pmd none, a VMA the THP policy
		 * allows and a 2 MiB block that fits, the kernel maps a huge
		 * page (create_huge_pmd; the huge zero page for a read).
		 * Divergence: the model goes on with 4 KiB pages (DIV-THP), and
		 * says so.
		 */
		if (thp_vma_allowed(vma) && thp_vma_suitable_pmd(vma, addr))
			mm_note_simplification(SIMPL_THP);
		flags |= FAULT_FLAG_DUPMM_PMD_NONE;
		ptep = pte_alloc(vma->vm_mm, addr);
	}
	count_vm_event(PGFAULT);
	if (ptep == NULL)
		return VM_FAULT_OOM;
	if (pte_none(*ptep)) {
		int ret;

		if (!vma->vm_file)
			return do_anonymous_page(vma, addr, ptep, flags);
		ret = do_fault(vma, addr, ptep, flags);
		/*
		 * A file fault installs the PTE table only when it maps
		 * something (filemap_map_pmd from fault-around, or
		 * finish_fault); a fault past the end that mapped nothing
		 * frees do_fault's prealloc_pte and leaves the pmd none
		 * (observed: a second such fault still maps nothing).  The
		 * model allocated the table up front: free it again if empty.
		 */
		if (flags & FAULT_FLAG_DUPMM_PMD_NONE) {
			uint64_t pmd = addr & PMD_MASK;

			free_pgtables(vma->vm_mm, pmd, pmd + PMD_SIZE, pmd, pmd + PMD_SIZE);
		}
		return ret;
	}
	if (!pte_present(*ptep))
		return pte_is_guard(*ptep) ? VM_FAULT_SIGSEGV : VM_FAULT_SIGBUS;
	if ((flags & FAULT_FLAG_WRITE) && !pte_write(*ptep))
		return do_wp_page(vma, addr, ptep);
	*ptep = pte_mkyoung(*ptep);
	if (flags & FAULT_FLAG_WRITE)
		*ptep = pte_mkdirty(*ptep);
	return 0;
}

pte_t mm_lookup_pte(struct mm_struct *mm, uint64_t addr)
{
	pte_t *ptep = pte_offset(mm, addr);

	return ptep ? *ptep : 0;
}

typedef void (*access_fn)(uint8_t *kaddr, size_t off, size_t n, void *arg);

/* user_access: run fn on each page-sized piece of [addr, addr+len) as CPU loads or stores. */
static int user_access(struct mm_struct *mm, uint64_t addr, size_t len, bool write, access_fn fn,
		       void *arg, struct mm_fault_info *fi)
{
	size_t done = 0;

	if (addr + len < addr) {
		fi->signo = SIGSEGV;
		fi->code = SEGV_MAPERR;
		fi->addr = addr;
		return -EFAULT;
	}
	while (done < len) {
		uint64_t a = addr + done;
		size_t n = MIN(len - done, PAGE_SIZE - (a & ~PAGE_MASK));
		int err = mm_fault(mm, a, write ? FAULT_WRITE : FAULT_READ, fi);
		uint8_t *kaddr;

		if (err)
			return err;
		kaddr = page_address(pfn_to_page(pte_pfn(mm_lookup_pte(mm, a))));
		fn(kaddr + (a & ~PAGE_MASK), done, n, arg);
		done += n;
	}
	return 0;
}

static void do_copy_out(uint8_t *kaddr, size_t off, size_t n, void *arg)
{
	memcpy((uint8_t *)arg + off, kaddr, n);
}

static void do_copy_in(uint8_t *kaddr, size_t off, size_t n, void *arg)
{
	memcpy(kaddr, (const uint8_t *)arg + off, n);
}

static void do_fill(uint8_t *kaddr, size_t off, size_t n, void *arg)
{
	(void)off;
	memset(kaddr, *(uint8_t *)arg, n);
}

int mm_read(struct mm_struct *mm, uint64_t addr, void *buf, size_t len, struct mm_fault_info *fi)
{
	return user_access(mm, addr, len, false, do_copy_out, buf, fi);
}

int mm_write(struct mm_struct *mm, uint64_t addr, const void *buf, size_t len,
	     struct mm_fault_info *fi)
{
	return user_access(mm, addr, len, true, do_copy_in, (void *)buf, fi);
}

int mm_fill(struct mm_struct *mm, uint64_t addr, uint8_t byte, size_t len, struct mm_fault_info *fi)
{
	return user_access(mm, addr, len, true, do_fill, &byte, fi);
}

/*
 * mm_peek: what a program would see of the page at addr, without faulting
 * anything in and without filling the page cache, for the fuzzer's
 * reference check (a debugging accessor in the spirit of follow_page();
 * access_remote_vm() would fault).  The bytes are the mapped frame, a
 * cached page, or buf when the file's page is not cached yet; NULL for
 * the zero page and untouched anonymous memory.  Stack growth is not a
 * peek's business.
 */
void mm_peek(struct mm_struct *mm, uint64_t addr, uint8_t *buf, struct vm_area_struct *hint,
	     struct mm_peek_info *out)
{
	struct vm_area_struct *vma =
		hint && hint->vm_start <= addr && addr < hint->vm_end ? hint : find_vma(mm, addr);
	struct address_space *mapping;
	uint64_t pgoff;
	pte_t pte;
	gpointer v;

	memset(out, 0, sizeof(*out));
	out->read_fault = -EFAULT;
	if (vma == NULL || vma->vm_start > addr) {
		out->next_start = vma ? vma->vm_start : UINT64_MAX;
		return;
	}
	out->vma = vma;
	pte = mm_lookup_pte(mm, addr);
	out->guard = pte_is_guard(pte);
	if (!(vma->vm_flags & VM_ACCESS_FLAGS) || out->guard)
		return;
	out->read_fault = 0;
	if (pte_present(pte)) {
		out->bytes = pte_pfn(pte) == zero_pfn ? NULL : pfn_to_virt(pte_pfn(pte));
		return;
	}
	if (!pte_none(pte)) {
		out->read_fault = -EIO;
		return;
	}
	if (vma->vm_file == NULL)
		return; /* anonymous, never touched: zeroes */
	mapping = vma->vm_file->f_mapping;
	pgoff = linear_page_index(vma, addr);
	if (pgoff >= PAGE_ALIGN(mapping->size) >> PAGE_SHIFT) {
		out->read_fault = -EIO;
	} else if (g_hash_table_lookup_extended(mapping->i_pages, GSIZE_TO_POINTER(pgoff), NULL,
						&v)) {
		out->bytes = pfn_to_virt(GPOINTER_TO_SIZE(v));
	} else if (mapping->holes &&
		   g_hash_table_contains(mapping->holes, GSIZE_TO_POINTER(pgoff))) {
		; /* punched: zeroes */
	} else if (mapping->a_ops && mapping->a_ops->read_folio) {
		if (mapping->a_ops->read_folio(mapping->host, pgoff, buf))
			out->read_fault = -EIO;
		else
			out->bytes = buf;
	} /* else a shmem hole: zeroes */
}

/* zap_pte: drop one PTE's mapping of its page. */
static void zap_pte(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep)
{
	struct page *page = vm_normal_page(vma, addr, *ptep);

	if (page) {
		if (pte_dirty(*ptep) && !PageAnon(page))
			page->flags |= PG_dirty;
		folio_remove_rmap_pte(page, vma);
		add_mm_counter(vma->vm_mm, mm_counter(page), -1);
		put_page(page);
	}
	pte_clear(ptep);
}

/*
 * zap_page_range_single: unmap every page of [start, end) in vma.  Guard
 * markers stay when keep_guards (MADV_DONTNEED keeps them; munmap and
 * exit do not).
 */
void zap_page_range_single(struct vm_area_struct *vma, uint64_t start, uint64_t end,
			   bool keep_guards)
{
	struct mm_struct *mm = vma->vm_mm;

	for (uint64_t a = start, next; a < end; a = next) {
		pte_t *ptep = pte_offset(mm, a);

		next = pmd_addr_end(a, end);
		if (ptep == NULL)
			continue;
		for (; a < next; a += PAGE_SIZE, ptep++) {
			if (pte_present(*ptep))
				zap_pte(vma, a, ptep);
			else if (!pte_none(*ptep) && !(keep_guards && pte_is_guard(*ptep)))
				pte_clear(ptep);
		}
	}
	mmu_notifier_invalidate(mm, start, end);
}

/* unmap_vmas: zap every VMA's part of [start, end). */
void unmap_vmas(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	for (struct vm_area_struct *vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = vma_next(mm, vma))
		zap_page_range_single(vma, MAX(start, vma->vm_start), MIN(end, vma->vm_end), false);
}

/*
 * Table freeing, after free_pgtables() and free_pgd_range(): a table is
 * freed when its whole span lies in [floor, ceiling), the hole between
 * the VMAs around the unmapped range, so that no VMA can use it any more,
 * and none of its entries is in use.
 */
static bool span_free(uint64_t ts, unsigned int shift, uint64_t floor, uint64_t ceiling)
{
	return ts >= floor && ts + (1ULL << shift) <= ceiling;
}

/*
 * free_level: the entry *ep of a table at level (0: the pgd, 1: a PUD
 * table, 2: a PMD table), spanning [ts, ts + its size): first the tables
 * below it that [start, end) meets, then the table it points to, if that
 * is free (free_pud_range, free_pmd_range and free_pte_range in one).
 */
static void free_level(struct mm_struct *mm, pte_t *ep, uint64_t ts, int level, uint64_t start,
		       uint64_t end, uint64_t floor, uint64_t ceiling)
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
			free_level(mm, entry_at(pfn, a, cshift), a, level + 1, start, end, floor,
				   ceiling);
	}
	if (span_free(ts, shift, floor, ceiling) && pfn_to_page(pfn)->mapcount == 0) {
		free_table(mm, pfn);
		set_pte(ep, 0);
	}
}

/*
 * free_pgtables: free the tables covering [start, end) that no VMA can
 * use: floor is the end of the VMA before the range (0 if none), ceiling
 * the start of the one after (1 << 47, the end of the user half, if
 * none).  The PTEs of the range must already be zapped.
 */
void free_pgtables(struct mm_struct *mm, uint64_t start, uint64_t end, uint64_t floor,
		   uint64_t ceiling)
{
	if (mm->pgd == 0 || start >= end)
		return;
	for (uint64_t a = start & PGDIR_MASK; a < end; a += PGDIR_SIZE)
		free_level(mm, entry_at(mm->pgd, a, PGDIR_SHIFT), a, 0, start, end, floor, ceiling);
}

/*
 * vma_needs_copy: copy page tables at fork only where a fault could not
 * rebuild them: when the VMA has anonymous pages (an anon_vma), or
 * PFN/mixed maps.  "Don't copy ptes where a page fault will fill them
 * correctly": never-written private file pages, shared memory, and VMAs
 * only read-faulted (zero-page PTEs) are refaulted by the child.
 */
static bool vma_needs_copy(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	(void)dst_vma;
	/* VM_COPY_ON_FORK (6.19): PFN maps, and guard markers only the PTEs hold */
	if (src_vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_MAYBE_GUARD))
		return true;
	return src_vma->anon_vma != NULL;
}

struct copy_ctx {
	struct vm_area_struct *dst_vma, *src_vma;
	int64_t rss[NR_MM_COUNTERS];
	bool cow;
};

/*
 * copy_present_pte: share one present page with the child.  A COW
 * mapping's writable PTE is write-protected in both (that is what makes
 * the next write fault into do_wp_page); a shared mapping's child PTE is
 * clean; every child PTE starts old (Referenced 0 in the child's smaps).
 * The caller stores the returned child PTE.
 *
 * Divergence: dupmm models no GUP pins, so the early copy of pinned
 * AnonExclusive pages (folio_needs_cow_for_dma, 5.9+) never happens.
 */
static inline pte_t copy_present_pte(struct copy_ctx *c, pte_t *src)
{
	pte_t pte = *src;

	/* vm_normal_page and is_zero_pfn, inline: this loop is fork's whole cost */
	if (!pte_special(pte) && pte_pfn(pte) != zero_pfn) {
		struct page *page = &mem_map[pte_pfn(pte)];

		page->refcount++;
		page->mapcount++;
		if (PageAnon(page)) {
			page->flags &= ~PG_anon_exclusive;
			c->rss[MM_ANONPAGES]++;
		} else {
			c->rss[mm_counter(page)]++;
		}
	}
	if (c->cow && pte_write(pte)) {
		pte = pte_wrprotect(pte);
		*src = pte;
	}
	if (c->src_vma->vm_flags & VM_SHARED)
		pte = pte_mkclean(pte);
	return pte_mkold(pte);
}

/*
 * Fork's copy walks the parent's tables and the child's together, one
 * function per level, as the kernel's copy_page_range does: each level
 * allocates the child's table below the entry it was given (pud_alloc,
 * pmd_alloc, pte_alloc_map) and descends where the parent's entry is not
 * none, so the child gets tables only where the parent has them.  P4D is
 * folded, so copy_page_range's PGD loop calls copy_pud_range directly
 * (copy_p4d_range's one pass).
 */

/*
 * copy_pte_range: [addr, end), one PTE table's worth.  The child's VMA is
 * new, so its entries here are none: they are stored directly, and the
 * table's used-entry count is raised once.
 */
static int copy_pte_range(struct copy_ctx *c, pmd_t *dst_pmd, pmd_t *src_pmd, uint64_t addr,
			  uint64_t end)
{
	pte_t *dst_pte = pte_alloc_map(c->dst_vma->vm_mm, dst_pmd, addr);
	pte_t *src_pte;
	int used = 0;

	if (dst_pte == NULL)
		return -ENOMEM;
	src_pte = pte_offset_map(src_pmd, addr);
	for (; addr < end; addr += PAGE_SIZE, src_pte++, dst_pte++) {
		pte_t pte = *src_pte;

		if (pte_none(pte))
			continue;
		/*
		 * copy_pte_marker: guards only.  Divergence: no userfaultfd and
		 * no swap: the kernel also copies swap entries and a uffd-wp
		 * marker (to a child VMA that keeps uffd-wp); the model's only
		 * non-present PTEs are guard markers.
		 */
		if (pte_present(pte))
			pte = copy_present_pte(c, src_pte);
		else if (!pte_is_guard(pte))
			continue;
		if (pte_none(*dst_pte))
			used++;
		*dst_pte = pte;
	}
	if (used) {
		pte_table_add(dst_pte - 1, used);
		vm_events[FORK_PTE_COPIED] += (uint64_t)used;
	}
	return 0;
}

static int copy_pmd_range(struct copy_ctx *c, pud_t *dst_pud, pud_t *src_pud, uint64_t addr,
			  uint64_t end)
{
	pmd_t *dst_pmd = pmd_alloc(c->dst_vma->vm_mm, dst_pud, addr);
	pmd_t *src_pmd;
	uint64_t next;

	if (dst_pmd == NULL)
		return -ENOMEM;
	src_pmd = pmd_offset(src_pud, addr);
	do {
		next = pmd_addr_end(addr, end);
		if (pmd_none(*src_pmd))
			continue;
		if (copy_pte_range(c, dst_pmd, src_pmd, addr, next))
			return -ENOMEM;
	} while (dst_pmd++, src_pmd++, addr = next, addr != end);
	return 0;
}

static int copy_pud_range(struct copy_ctx *c, pgd_t *dst_pgd, pgd_t *src_pgd, uint64_t addr,
			  uint64_t end)
{
	pud_t *dst_pud = pud_alloc(c->dst_vma->vm_mm, dst_pgd, addr);
	pud_t *src_pud;
	uint64_t next;

	if (dst_pud == NULL)
		return -ENOMEM;
	src_pud = pud_offset(src_pgd, addr);
	do {
		next = pud_addr_end(addr, end);
		if (pud_none(*src_pud))
			continue;
		if (copy_pmd_range(c, dst_pud, src_pud, addr, next))
			return -ENOMEM;
	} while (dst_pud++, src_pud++, addr = next, addr != end);
	return 0;
}

/*
 * copy_page_range: fork's copy of src_vma's page tables into dst_vma's
 * mm.  Returns 0 or -ENOMEM (the caller tears the child down).
 */
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	struct copy_ctx c = {
		.dst_vma = dst_vma,
		.src_vma = src_vma,
		.cow = is_cow_mapping(src_vma->vm_flags) &&
		       !(mm_planted_bug & MM_BUG_FORK_NO_WRPROTECT),
	};
	uint64_t addr = src_vma->vm_start, end = src_vma->vm_end, next;
	pgd_t *dst_pgd, *src_pgd;
	int err = 0;

	if (!vma_needs_copy(dst_vma, src_vma))
		return 0;
	dst_pgd = pgd_offset(dst_vma->vm_mm, addr);
	src_pgd = pgd_offset(src_vma->vm_mm, addr);
	do {
		next = pgd_addr_end(addr, end);
		if (pgd_none(*src_pgd))
			continue;
		if (copy_pud_range(&c, dst_pgd, src_pgd, addr, next)) {
			err = -ENOMEM;
			break;
		}
	} while (dst_pgd++, src_pgd++, addr = next, addr != end);
	for (int i = 0; i < NR_MM_COUNTERS; i++)
		add_mm_counter(dst_vma->vm_mm, i, c.rss[i]);
	if (c.cow)
		mmu_notifier_invalidate(src_vma->vm_mm, src_vma->vm_start, src_vma->vm_end);
	return err;
}
