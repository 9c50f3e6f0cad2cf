/*
 * Page faults, copy-on-write, zapping and the fork-time page-table copy,
 * after mm/memory.c (and the populate loop of mm/gup.c).
 *
 * The CPU side of a fault is modelled by mm_fault(): the access check the
 * MMU makes, the VMA checks of arch/x86/mm/fault.c (do_user_addr_fault,
 * access_error), then handle_mm_fault, then the accessed/dirty bits the
 * hardware sets when the access completes.
 */
#include "internal.h"

unsigned int mm_planted_bug;

void add_mm_counter(struct mm_struct *mm, int member, int64_t value)
{
	mm->rss_stat[member] += value;
}

/* mm_counter_of: which RSS counter a mapped page counts in (mm_counter). */
int mm_counter_of(const struct page *page)
{
	struct address_space *mapping;

	if (PageAnon(page))
		return MM_ANONPAGES;
	mapping = page_mapping(page);
	return (mapping && mapping->shmem) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

/* vm_normal_page: the struct page a PTE maps, or NULL for the zero page. */
struct page *vm_normal_page(struct vm_area_struct *vma, uint64_t addr, pte_t pte)
{
	(void)vma;
	(void)addr;
	if (pte_special(pte) || is_zero_pfn(pte_pfn(pte)))
		return NULL;
	return pfn_to_page(pte_pfn(pte));
}

void mmu_notifier_register(struct mmu_notifier *mn, struct mm_struct *mm)
{
	list_add_tail(&mn->list, &mm->notifiers);
}

void mmu_notifier_unregister(struct mmu_notifier *mn, struct mm_struct *mm)
{
	(void)mm;
	list_del(&mn->list);
}

/* mmu_notifier_invalidate: PTEs of [start, end) changed; tell secondary MMUs. */
void mmu_notifier_invalidate(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct mmu_notifier *mn;

	list_for_each_entry(mn, &mm->notifiers, struct mmu_notifier, list)
		if (mn->ops->invalidate_range)
			mn->ops->invalidate_range(mn, mm, start, end);
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
	add_mm_counter(mm, MM_ANONPAGES, 1);
	set_pte(ptep, mk_anon_pte(page, vma));
	count_vm_event(ANON_ALLOC);
	return 0;
}

/*
 * do_fault_around (mm/memory.c, filemap_map_pages): a read fault on a file
 * or shmem page also maps the pages around it that are already in the
 * page cache (no read-ahead: only what is cached): 16 pages
 * (fault_around_bytes, 64 KiB) from the aligned-down address clamped to
 * the VMA's start, clipped to the VMA and to the PTE table.  Observed on the host: a parent's read fault maps the
 * shmem page its child had faulted in, so its Rss grows by both.
 */
/*
 * vma_wants_writenotify (mm/mmap.c): a shared writable mapping of a file
 * whose dirtying is tracked (a regular file; not shmem) gets read-only
 * PTEs until a write fault marks the page dirty (observed: a page written
 * through such a mapping is dirty for a process that maps it later).
 */
static bool vma_wants_writenotify(const struct vm_area_struct *vma, uint64_t vm_flags)
{
	return (vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED) && vma->vm_file &&
	       !vma->vm_file->f_mapping->shmem;
}

/* The flags a new PTE of vma is made from (vm_page_prot). */
static uint64_t pte_prot_flags(const struct vm_area_struct *vma, uint64_t vm_flags)
{
	return vma_wants_writenotify(vma, vm_flags) ? vm_flags & ~VM_SHARED : vm_flags;
}

#define FAULT_AROUND_PAGES 16
static void do_fault_around(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep, unsigned int flags)
{
	struct address_space *mapping = vma->vm_file->f_mapping;
	uint64_t win = (uint64_t)FAULT_AROUND_PAGES << PAGE_SHIFT;
	/* from_pte: aligned down, clamped to the VMA; to_pte: 16 pages on from there */
	uint64_t from = MAX(MAX(addr & ~(win - 1), vma->vm_start), addr & PMD_MASK);
	uint64_t to = pmd_addr_end(addr, MIN(from + win, vma->vm_end));
	uint64_t eof = PAGE_ALIGN(mapping->size) >> PAGE_SHIFT;

	/*
	 * Observed on the host (ext4; the mechanism is not known here): a
	 * fault past the end of a regular file that has to allocate its page
	 * table, whose window's part inside the file is the file's last page
	 * alone, maps nothing; with two pages or more, or a table already
	 * there, or shmem, the cached pages are mapped.  Seen for files of 4,
	 * 6, 7 and 9 pages (traces/fault-past-eof-tables.strace).
	 */
	if (!mapping->shmem && (flags & FAULT_FLAG_NEW_TABLE) && linear_page_index(vma, addr) >= eof &&
	    from < to && linear_page_index(vma, from) + 1 == eof)
		return;
	for (uint64_t a = from; a < to; a += PAGE_SIZE) {
		pte_t *p = ptep + (((int64_t)a - (int64_t)addr) >> PAGE_SHIFT);
		uint64_t pgoff = linear_page_index(vma, a);
		gpointer v;
		struct page *page;

		if (a == addr || !pte_none(*p) || pgoff >= eof ||
		    !g_hash_table_lookup_extended(mapping->i_pages, GSIZE_TO_POINTER(pgoff), NULL, &v))
			continue;
		page = pfn_to_page(GPOINTER_TO_SIZE(v));
		get_page(page);
		folio_add_file_rmap_pte(page);
		add_mm_counter(vma->vm_mm, mm_counter_of(page), 1);
		set_pte(p, mk_pte(page_to_pfn(page), pte_prot_flags(vma, vma->vm_flags)) | _PAGE_ACCESSED);
	}
}

/*
 * do_sync_mmap_readahead (mm/filemap.c): a fault that misses a file's page
 * cache reads more than the page.  VM_RAND_READ: just the page.
 * VM_SEQ_READ: a read-ahead window from the page on.  Otherwise the mmap
 * read-around: ra_pages centred on the page.  ra_pages is 32 (the default
 * read_ahead_kb of 128, the host's).  VM_EXEC (6.16+): executable code is
 * read at random, so only from the page to the end of the VMA, ra_pages
 * at most, and nothing before it.  Observed: the first read of a 6-page
 * file maps all 6 pages (fault-around maps what read-around cached); in a
 * PROT_EXEC mapping it maps the page alone when the page ends the VMA.
 * Divergence: the kernel stops reading around after 100 misses without
 * hits (MMAP_LOTSAMISS); the model always reads around.
 */
#define RA_PAGES 32
static void do_sync_mmap_readahead(struct vm_area_struct *vma, struct address_space *mapping, uint64_t pgoff)
{
	/*
	 * The order the host shows: MADV_HUGEPAGE's read-ahead first (two
	 * PMD-sized folios' worth from the aligned start; observed: the whole
	 * small file), MADV_SEQUENTIAL's, then VM_EXEC's (meant for random
	 * access, so before MADV_RANDOM's none).
	 */
	if (vma->vm_flags & VM_HUGEPAGE) {
		filemap_readahead(mapping, pgoff & ~(uint64_t)(PTRS_PER_TABLE - 1), 2 * PTRS_PER_TABLE);
		return;
	}
	if (vma->vm_flags & VM_SEQ_READ) {
		filemap_readahead(mapping, pgoff, RA_PAGES);
		return;
	}
	if (vma->vm_flags & VM_EXEC) {
		uint64_t end = vma->vm_pgoff + vma_pages(vma);

		filemap_readahead(mapping, pgoff, MIN(pgoff + RA_PAGES, end) - pgoff);
		return;
	}
	if (vma->vm_flags & VM_RAND_READ)
		return;
	filemap_readahead(mapping, pgoff > RA_PAGES / 2 ? pgoff - RA_PAGES / 2 : 0, RA_PAGES);
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
		add_mm_counter(mm, MM_ANONPAGES, 1);
		set_pte(ptep, mk_anon_pte(new, vma));
		count_vm_event(COW_COPY);
		return 0;
	}
	get_page(page);
	folio_add_file_rmap_pte(page);
	add_mm_counter(mm, mm_counter_of(page), 1);
	pte = mk_pte(page_to_pfn(page), pte_prot_flags(vma, vma->vm_flags)) | _PAGE_ACCESSED;
	if (flags & FAULT_FLAG_WRITE) {
		pte = pte_mkwrite(pte) | _PAGE_DIRTY;	/* do_shared_fault: the page is dirty now */
		page->flags |= PG_dirty;
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
		add_mm_counter(mm, mm_counter_of(old), -1);
		add_mm_counter(mm, MM_ANONPAGES, 1);
	}
	folio_add_new_anon_rmap(new, vma, addr);
	set_pte(ptep, mk_anon_pte(new, vma));
	mmu_notifier_invalidate(mm, addr, addr + PAGE_SIZE);
	if (old) {
		folio_remove_rmap_pte(old);
		put_page(old);
	}
	count_vm_event(COW_COPY);
	return 0;
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
			page->flags |= PG_dirty;
		set_pte(ptep, pte_mkyoung(pte_mkdirty(pte_mkwrite(*ptep))));
		mmu_notifier_invalidate(vma->vm_mm, addr, addr + PAGE_SIZE);
		return 0;
	}
	if (page && PageAnon(page) &&
	    ((page->flags & PG_anon_exclusive) || page->refcount == 1)) {
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
		flags |= FAULT_FLAG_NEW_TABLE;
		ptep = pte_alloc(vma->vm_mm, addr);
	}
	count_vm_event(PGFAULT);
	if (ptep == NULL)
		return VM_FAULT_OOM;
	if (pte_none(*ptep)) {
		if (vma->vm_file)
			return do_fault(vma, addr, ptep, flags);
		return do_anonymous_page(vma, addr, ptep, flags);
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

/*
 * expand_stack (mm/mmap.c expand_downwards): a VM_GROWSDOWN VMA grows to
 * cover an access just below it, keeping a guard gap (stack_guard_gap,
 * 256 pages) above the previous VMA if that one is accessible and not a
 * stack itself.  It grows before the access is checked: a PROT_NONE stack
 * grows, then the access faults (observed).
 */
#define STACK_GUARD_GAP (256UL << PAGE_SHIFT)
static struct vm_area_struct *expand_stack(struct mm_struct *mm, uint64_t addr)
{
	struct vm_area_struct *prev, *vma = find_vma_prev(mm, addr, &prev);
	uint64_t start = addr & PAGE_MASK;

	if (!vma || !(vma->vm_flags & VM_GROWSDOWN) || start < MMAP_MIN_ADDR)
		return NULL;
	if (prev && (start < prev->vm_end || start - prev->vm_end < STACK_GUARD_GAP) &&
	    !(prev->vm_flags & VM_GROWSDOWN) && (prev->vm_flags & VM_ACCESS_FLAGS))
		return NULL;
	/* expand_downwards: the anon_vma first, so fork copies the stack's PTEs (observed) */
	if (anon_vma_prepare(vma))
		return NULL;
	vm_stat_account(mm, vma->vm_flags, (int64_t)((vma->vm_start - start) >> PAGE_SHIFT));
	if (vma->vm_flags & VM_LOCKED)
		mm->locked_vm += (vma->vm_start - start) >> PAGE_SHIFT;
	vma_set_start(vma, start);
	return vma;
}

/* access_error (arch/x86/mm/fault.c): does the VMA forbid this access? */
static bool access_error(const struct vm_area_struct *vma, unsigned int access)
{
	if (access & FAULT_WRITE)
		return !(vma->vm_flags & VM_WRITE);
	if (access & FAULT_EXEC)
		return !(vma->vm_flags & VM_EXEC);
	return !(vma->vm_flags & VM_ACCESS_FLAGS);
}

static bool pte_allows(pte_t pte, unsigned int access)
{
	if (!(pte & _PAGE_PRESENT))
		return false;
	if ((access & FAULT_WRITE) && !pte_write(pte))
		return false;
	return !((access & FAULT_EXEC) && (pte & _PAGE_NX));
}

pte_t mm_lookup_pte(struct mm_struct *mm, uint64_t addr)
{
	pte_t *ptep = pte_offset(mm, addr);

	return ptep ? *ptep : 0;
}

/*
 * mm_fault: one CPU access to addr.  Returns 0 with the page mapped as the
 * access needs (and its PTE accessed, and dirty for a write), or -EFAULT
 * with the signal the CPU would raise in *fi.
 */
int mm_fault(struct mm_struct *mm, uint64_t addr, unsigned int access,
	     struct mm_fault_info *fi)
{
	struct vm_area_struct *vma;
	pte_t *ptep = pte_offset(mm, addr);
	unsigned int flags = 0;
	int ret;

	fi->addr = addr;
	if (ptep == NULL || !pte_allows(*ptep, access)) {
		vma = find_vma(mm, addr);
		if (vma && addr < vma->vm_start)
			vma = expand_stack(mm, addr);
		if (vma == NULL || addr >= TASK_SIZE) {
			fi->signo = SIGSEGV;
			fi->code = SEGV_MAPERR;
			return -EFAULT;
		}
		if (access_error(vma, access)) {
			fi->signo = SIGSEGV;
			fi->code = SEGV_ACCERR;
			return -EFAULT;
		}
		if (access & FAULT_WRITE)
			flags |= FAULT_FLAG_WRITE;
		if (access & FAULT_EXEC)
			flags |= FAULT_FLAG_EXEC;
		ret = handle_mm_fault(vma, addr & PAGE_MASK, flags);
		if (ret) {
			fi->signo = (ret & VM_FAULT_SIGBUS) ? SIGBUS :
				    (ret & VM_FAULT_OOM) ? SIGKILL : SIGSEGV;
			fi->code = (ret & VM_FAULT_SIGBUS) ? BUS_ADRERR : SEGV_MAPERR;
			return -EFAULT;
		}
		ptep = pte_offset(mm, addr);
	}
	/* The hardware sets A, and D on a write, when the access completes. */
	*ptep = pte_mkyoung(*ptep);
	if (access & FAULT_WRITE)
		*ptep = pte_mkdirty(*ptep);
	return 0;
}

typedef void (*access_fn)(uint8_t *kaddr, size_t off, size_t n, void *arg);

/* user_access: run fn on each page-sized piece of [addr, addr+len) as CPU loads or stores. */
static int user_access(struct mm_struct *mm, uint64_t addr, size_t len, bool write,
		       access_fn fn, void *arg, struct mm_fault_info *fi)
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
	struct vm_area_struct *vma = hint && hint->vm_start <= addr && addr < hint->vm_end ? hint
										      : find_vma(mm, addr);
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
		return;		/* anonymous, never touched: zeroes */
	mapping = vma->vm_file->f_mapping;
	pgoff = linear_page_index(vma, addr);
	if (pgoff >= PAGE_ALIGN(mapping->size) >> PAGE_SHIFT) {
		out->read_fault = -EIO;
	} else if (g_hash_table_lookup_extended(mapping->i_pages, GSIZE_TO_POINTER(pgoff), NULL, &v)) {
		out->bytes = pfn_to_virt(GPOINTER_TO_SIZE(v));
	} else if (mapping->holes && g_hash_table_contains(mapping->holes, GSIZE_TO_POINTER(pgoff))) {
		;		/* punched: zeroes */
	} else if (mapping->a_ops && mapping->a_ops->read_folio) {
		if (mapping->a_ops->read_folio(mapping->host, pgoff, buf))
			out->read_fault = -EIO;
		else
			out->bytes = buf;
	}			/* else a shmem hole: zeroes */
}

/*
 * gup_touch (mm/gup.c follow_page_pte with FOLL_TOUCH): GUP finds the page
 * already mapped as the access needs, faults nothing, and for a write
 * marks the page dirty, not the PTE (observed: a shmem page populated
 * for writing through a writable clean PTE shows dirty in a child that
 * maps it later).  false: GUP must fault.
 */
bool gup_touch(struct vm_area_struct *vma, uint64_t addr, bool write)
{
	pte_t *ptep = pte_offset(vma->vm_mm, addr);
	struct page *page;

	if (ptep == NULL || !pte_present(*ptep) || (write && !pte_write(*ptep)))
		return false;
	if (write && !pte_dirty(*ptep) && (page = vm_normal_page(vma, addr, *ptep)) != NULL)
		page->flags |= PG_dirty;
	return true;
}

/*
 * mm_populate (mm/gup.c __mm_populate, populate_vma_page_range): fault in
 * [start, start+len) as MAP_POPULATE, mlock and mlockall do.  Writable
 * private mappings are write-faulted to break COW up front, others
 * read-faulted; VM_IO/PFNMAP, PROT_NONE and VM_LOCKONFAULT VMAs are
 * skipped.  A fault that fails (a guard marker, SIGBUS past a shmem
 * object's end, OOM) stops that VMA there: with ignore_errors (MAP_POPULATE,
 * mlockall, brk) the walk goes on with the next VMA; without (mlock) it
 * returns -EFAULT or -ENOMEM, which mlock reports as ENOMEM or EAGAIN.
 * Observed: mlock over a guard page gives ENOMEM, the pages before the
 * guard populated and none after.
 */
int mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len, bool ignore_errors)
{
	uint64_t end = start + len;

	if (len == 0)
		return 0;	/* observed: mlock(addr, 0) in a PROT_NONE VMA is 0 */

	for (struct vm_area_struct *vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = vma_next(mm, vma)) {
		uint64_t a = MAX(start, vma->vm_start), e = MIN(end, vma->vm_end);
		bool write = (vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE;

		if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_LOCKONFAULT))
			continue;
		/*
		 * PROT_NONE: populate_vma_page_range gives FOLL_FORCE only to
		 * accessible VMAs, so GUP fails here (observed: mlock of a
		 * PROT_NONE range is ENOMEM; MAP_POPULATE ignores it).
		 */
		if (!(vma->vm_flags & VM_ACCESS_FLAGS)) {
			if (!ignore_errors)
				return -EFAULT;
			continue;
		}
		for (; a < e; a += PAGE_SIZE) {
			int ret;

			if (gup_touch(vma, a, write))
				continue;
			ret = handle_mm_fault(vma, a, write ? FAULT_FLAG_WRITE : 0);
			if (ret == 0)
				continue;
			if (!ignore_errors)
				return (ret & VM_FAULT_OOM) ? -ENOMEM : -EFAULT;
			break;	/* the rest of this VMA stays unpopulated */
		}
	}
	return 0;
}

/* zap_pte: drop one PTE's mapping of its page. */
static void zap_pte(struct vm_area_struct *vma, uint64_t addr, pte_t *ptep)
{
	struct page *page = vm_normal_page(vma, addr, *ptep);

	if (page) {
		if (pte_dirty(*ptep) && !PageAnon(page))
			page->flags |= PG_dirty;
		folio_remove_rmap_pte(page);
		add_mm_counter(vma->vm_mm, mm_counter_of(page), -1);
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

/* change_pte: one PTE of change_protection. */
static void change_pte(struct vm_area_struct *vma, uint64_t a, pte_t *ptep, uint64_t newflags)
{
	pte_t old = *ptep, pte;
	struct page *page;

	if (!pte_present(old))
		return;
	pte = mk_pte(pte_pfn(old), pte_prot_flags(vma, newflags)) |
	      (old & (_PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SPECIAL | _PAGE_SOFT_DIRTY));
	/* can_change_pte_writable: a dirty-tracked shared page already dirty may stay writable */
	if (vma_wants_writenotify(vma, newflags) && pte_dirty(old))
		pte = pte_mkwrite(pte);
	page = vm_normal_page(vma, a, old);
	if (!(newflags & VM_SHARED) && (newflags & VM_WRITE) && page && PageAnon(page) &&
	    (page->flags & PG_anon_exclusive) && pte_dirty(old))
		pte = pte_mkwrite(pte);
	*ptep = pte;
}

/*
 * change_protection (mm/mprotect.c change_pte_range): rewrite the
 * protection bits of the present PTEs in [start, end) for newflags.  A
 * private exclusive anonymous page that is already dirty becomes writable
 * at once when the VMA is writable (can_change_pte_writable), sparing a
 * fault; anything else waits for do_wp_page.
 */
void change_protection(struct vm_area_struct *vma, uint64_t start, uint64_t end,
		       uint64_t newflags)
{
	struct mm_struct *mm = vma->vm_mm;

	for (uint64_t a = start, next; a < end; a = next) {
		pte_t *ptep = pte_offset(mm, a);

		next = pmd_addr_end(a, end);
		if (ptep == NULL)
			continue;
		for (; a < next; a += PAGE_SIZE, ptep++)
			change_pte(vma, a, ptep, newflags);
	}
	mmu_notifier_invalidate(mm, start, end);
}

/*
 * move_page_tables (mm/mremap.c): move the PTEs of [old_addr, +len) to
 * new_addr.  The pages keep their index (mremap keeps vm_pgoff), so their
 * rmap stays right.
 */
void move_page_tables(struct vm_area_struct *vma, uint64_t old_addr,
		      struct vm_area_struct *new_vma, uint64_t new_addr, uint64_t len)
{
	struct mm_struct *mm = vma->vm_mm;

	(void)new_vma;
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		pte_t *src = pte_offset(mm, old_addr + off), *dst;
		pte_t pte;

		if (src == NULL || pte_none(*src))
			continue;
		pte = *src;
		pte_clear(src);
		dst = pte_alloc(mm, new_addr + off);
		if (MM_WARN_ON(dst == NULL))
			break;
		set_pte(dst, pte);
	}
	mmu_notifier_invalidate(mm, old_addr, old_addr + len);
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

	/* vm_normal_page, inline: this loop is fork's whole cost */
	if (!pte_special(pte) && !is_zero_pfn(pte_pfn(pte))) {
		struct page *page = &mem_map[pte_pfn(pte)];

		page->refcount++;
		page->mapcount++;
		if (PageAnon(page)) {
			page->flags &= ~PG_anon_exclusive;
			c->rss[MM_ANONPAGES]++;
		} else {
			c->rss[mm_counter_of(page)]++;
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
 * copy_pte_range: one PTE table's worth.  The child's table is fresh, so
 * its entries are stored directly and its used-entry count set once.
 */
static int copy_pte_range(struct copy_ctx *c, uint64_t addr, uint64_t end,
			  pte_t *src_pte)
{
	pte_t *dst_pte = pte_alloc(c->dst_vma->vm_mm, addr);
	int used = 0;

	if (dst_pte == NULL)
		return -ENOMEM;
	for (; addr < end; addr += PAGE_SIZE, src_pte++, dst_pte++) {
		pte_t pte = *src_pte;

		if (pte_none(pte))
			continue;
		if (pte_present(pte))
			pte = copy_present_pte(c, src_pte);
		else if (!pte_is_guard(pte))	/* copy_pte_marker: guards only */
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

/* One function per level, the kernel's copy_pXd_range shape. */
static pte_t *next_table(pte_t e)
{
	return page_address(pfn_to_page(pte_pfn(e)));
}

static int copy_pmd_range(struct copy_ctx *c, pte_t *pmd_table, uint64_t addr, uint64_t end)
{
	for (uint64_t next; addr < end; addr = next) {
		pte_t e = pmd_table[pmd_index(addr)];

		next = pmd_addr_end(addr, end);
		if (!(e & _PAGE_PRESENT))
			continue;
		if (copy_pte_range(c, addr, next, next_table(e) + pte_index(addr)))
			return -ENOMEM;
	}
	return 0;
}

static int copy_pud_range(struct copy_ctx *c, pte_t *pud_table, uint64_t addr, uint64_t end)
{
	for (uint64_t next; addr < end; addr = next) {
		pte_t e = pud_table[pud_index(addr)];

		next = pud_addr_end(addr, end);
		if (!(e & _PAGE_PRESENT))
			continue;
		if (copy_pmd_range(c, next_table(e), addr, next))
			return -ENOMEM;
	}
	return 0;
}

static int copy_pgd_range(struct copy_ctx *c, pte_t *pgd_table, uint64_t addr, uint64_t end)
{
	for (uint64_t next; addr < end; addr = next) {
		pte_t e = pgd_table[pgd_index(addr)];

		next = pgd_addr_end(addr, end);
		if (!(e & _PAGE_PRESENT))
			continue;
		if (copy_pud_range(c, next_table(e), addr, next))
			return -ENOMEM;
	}
	return 0;
}

/*
 * copy_page_range: fork's copy of src_vma's page tables into dst_vma's
 * mm.  Child tables are allocated only where the parent has tables.
 * Returns 0 or -ENOMEM (the caller tears the child down).
 */
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma)
{
	struct copy_ctx c = {
		.dst_vma = dst_vma, .src_vma = src_vma,
		.cow = is_cow_mapping(src_vma->vm_flags) &&
		       !(mm_planted_bug & MM_BUG_FORK_NO_WRPROTECT),
	};
	int err;

	if (!vma_needs_copy(dst_vma, src_vma))
		return 0;
	err = copy_pgd_range(&c, next_table((pte_t)src_vma->vm_mm->pgd << PAGE_SHIFT),
			     src_vma->vm_start, src_vma->vm_end);
	for (int i = 0; i < NR_MM_COUNTERS; i++)
		add_mm_counter(dst_vma->vm_mm, i, c.rss[i]);
	if (c.cow)
		mmu_notifier_invalidate(src_vma->vm_mm, src_vma->vm_start, src_vma->vm_end);
	return err;
}
