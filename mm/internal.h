/*
 * mm/internal.h: what the files of mm/ share among themselves, after the
 * kernel's mm/internal.h.  Not for emu/.  First the inline helpers the
 * kernel keeps in include/linux/ headers, then a table of contents by
 * file of mm/ (docs/code-map.md says which kernel file each mirrors).
 */
#ifndef DUPMM_MM_INTERNAL_H
#define DUPMM_MM_INTERNAL_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <dupmm/mm.h>
#include <dupmm/uapi.h>

/* debug.c: programming errors: "function: reason", the expression, then go on. */
void mm_warn(const char *func, const char *file, int line, const char *expr);
static inline bool mm_warn_on(bool cond, const char *func, const char *file, int line,
			      const char *expr)
{
	if (cond)
		mm_warn(func, file, line, expr);
	return cond;
}
#define MM_WARN_ON(cond) mm_warn_on(!!(cond), __func__, __FILE__, __LINE__, #cond)

/*
 * VM_IGNORE_MERGE (include/linux/mm.h, 6.19 and the 6.18.y backport): flags
 * one VMA may have and its neighbour not without preventing a merge
 * (is_mergeable_vma) or the sharing of an anon_vma (anon_vma_compatible).
 * "mm: propagate VM_SOFTDIRTY on merge" (6707915e030a, after it) makes
 * VM_SOFTDIRTY sticky too; the mask is the same.
 */
#define VM_IGNORE_MERGE (VM_SOFTDIRTY | VM_STICKY)

/* include/linux/vmstat.h (the counters are vmstat.c's) */
static inline void count_vm_event(enum vm_event_item item) { vm_events[item]++; }

/* include/linux/mm.h, include/linux/mman.h */
static inline uint64_t vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}
static inline bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return vma->vm_file == NULL && vma->special_name == NULL;
}
/*
 * Transparent huge pages, as the host's policy has them (sysfs enabled
 * "madvise" for 2 MiB, every other mTHP size "never";
 * __thp_vma_allowable_orders): an anonymous VMA that asked with
 * MADV_HUGEPAGE and did not take it back.  Divergence: the model maps no
 * huge page (DIV-THP); it only knows where the host would.
 */
static inline bool thp_vma_allowed(const struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma) && (vma->vm_flags & VM_HUGEPAGE) &&
	       !(vma->vm_flags & (VM_NOHUGEPAGE | VM_SHARED));
}
/* thp_vma_suitable_order for the PMD order: the 2 MiB block around addr lies in the VMA. */
static inline bool thp_vma_suitable_pmd(const struct vm_area_struct *vma, uint64_t addr)
{
	uint64_t haddr = addr & PMD_MASK;

	return haddr >= vma->vm_start && haddr + PMD_SIZE <= vma->vm_end;
}
static inline bool is_cow_mapping(uint64_t flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}
static inline uint64_t linear_page_index(const struct vm_area_struct *vma, uint64_t addr)
{
	return ((addr - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
}
static inline bool PageAnon(const struct page *page)
{
	return ((uintptr_t)page->mapping & PAGE_MAPPING_ANON) != 0;
}
static inline struct anon_vma *page_anon_vma(const struct page *page)
{
	if (!PageAnon(page))
		return NULL;
	return (struct anon_vma *)((uintptr_t)page->mapping & ~PAGE_MAPPING_ANON);
}
static inline struct address_space *page_mapping(const struct page *page)
{
	return PageAnon(page) ? NULL : (struct address_space *)page->mapping;
}

/*
 * folio_mark_dirty (mm/page-writeback.c): a page written through a
 * mapping, or by GUP.  Divergence: the model's page cache holds order-0
 * pages; the host's ext4 reads a file into large folios under
 * MADV_HUGEPAGE read-ahead (page_cache_ra_order) and dirties a whole one
 * at a write (DIV-FILE-FOLIO), which the model says when a page of such a
 * file is first dirtied.  (A fault's ordinary read-around gives order-0
 * folios on the host too.)
 */
static inline void folio_mark_dirty(struct page *page)
{
	struct address_space *mapping = page_mapping(page);

	if (mapping && mapping->dupmm_large_folios && !(page->flags & PG_dirty))
		mm_note_simplification(SIMPL_FILE_FOLIO);
	page->flags |= PG_dirty;
}
/*
 * folio_evictable (mm/internal.h): may reclaim take the page?  Not if it
 * is mlocked.  (The kernel also keeps the pages of an unevictable mapping,
 * SHM_LOCK'd shmem or ramfs, off reclaim; the model has none.)
 */
static inline bool folio_evictable(const struct page *page) { return !(page->flags & PG_mlocked); }
/* mm_counter: which RSS counter a mapped page counts in. */
static inline int mm_counter(const struct page *page)
{
	struct address_space *mapping;

	if (PageAnon(page))
		return MM_ANONPAGES;
	mapping = page_mapping(page);
	return (mapping && mapping->shmem) ? MM_SHMEMPAGES : MM_FILEPAGES;
}
static inline void add_mm_counter(struct mm_struct *mm, int member, int64_t value)
{
	mm->rss_stat[member] += value;
}
/* calc_vm_prot_bits: PROT_* to VM_*, which have the same bit values. */
static inline uint64_t calc_vm_prot_bits(uint64_t prot)
{
	return prot & (PROT_READ_ | PROT_WRITE_ | PROT_EXEC_);
}

/* page_alloc.c */
extern struct page *mem_map; /* for the hot paths: pfn_to_page without its check */
extern uint8_t *direct_map;  /* frame pfn is at direct_map + pfn * PAGE_SIZE (__va) */
static inline void *pfn_to_virt(uint64_t pfn) { return direct_map + (pfn << PAGE_SHIFT); }
/* Table walks skip empty runs of 8 entries (a cache line) at a time. */
static inline bool table_block_empty(const pte_t *e)
{
	return (e[0] | e[1] | e[2] | e[3] | e[4] | e[5] | e[6] | e[7]) == 0;
}
struct page *alloc_page(bool zero); /* refcount 1; NULL on ENOMEM */
void get_page(struct page *page);
void put_page(struct page *page);
void copy_highpage(struct page *to, const struct page *from);
extern uint64_t zero_pfn;
extern uint64_t phys_hwm; /* frames [1, phys_hwm) were ever handed out */

/* pgtable.c */
int pgd_alloc(struct mm_struct *mm);
void pgd_free(struct mm_struct *mm);
void free_table(struct mm_struct *mm, uint64_t pfn);
/* The entry for addr in the table at table_pfn, whose entries span 1 << shift bytes. */
static inline pte_t *entry_at(uint64_t table_pfn, uint64_t addr, unsigned int shift)
{
	return &((pte_t *)pfn_to_virt(table_pfn))[(addr >> shift) & (PTRS_PER_TABLE - 1)];
}
/* pgd_offset, pud_offset, pmd_offset, pte_offset_map: the entry for addr one level down. */
static inline pgd_t *pgd_offset(struct mm_struct *mm, uint64_t addr)
{
	return entry_at(mm->pgd, addr, PGDIR_SHIFT);
}
static inline pud_t *pud_offset(pgd_t *pgd, uint64_t addr)
{
	return entry_at(pte_pfn(*pgd), addr, PUD_SHIFT);
}
static inline pmd_t *pmd_offset(pud_t *pud, uint64_t addr)
{
	return entry_at(pte_pfn(*pud), addr, PMD_SHIFT);
}
static inline pte_t *pte_offset_map(pmd_t *pmd, uint64_t addr)
{
	return entry_at(pte_pfn(*pmd), addr, PTE_SHIFT);
}
/* The same, allocating the table below a none entry first; NULL on ENOMEM. */
pud_t *pud_alloc(struct mm_struct *mm, pgd_t *pgd, uint64_t addr);
pmd_t *pmd_alloc(struct mm_struct *mm, pud_t *pud, uint64_t addr);
pte_t *pte_alloc_map(struct mm_struct *mm, pmd_t *pmd, uint64_t addr);
pte_t *pte_offset(struct mm_struct *mm, uint64_t addr); /* NULL if no table */
pte_t *pte_alloc(struct mm_struct *mm, uint64_t addr);	/* NULL on ENOMEM */
void pte_table_inc(pte_t *ptep);
void pte_table_dec(pte_t *ptep);
void pte_table_add(pte_t *ptep, int n);
void set_pte(pte_t *ptep, pte_t pte);
void pte_clear(pte_t *ptep);
pte_t mk_pte(uint64_t pfn, uint64_t vm_flags);

/* pagewalk.c: call fn for every non-none PTE of [start, end), in order (walk_page_range). */
typedef void (*pte_visit_fn)(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg);
void walk_ptes(struct mm_struct *mm, uint64_t start, uint64_t end, pte_visit_fn fn, void *arg);

/* memory.c */
#define VM_FAULT_OOM		  0x0001
#define VM_FAULT_SIGBUS		  0x0002
#define VM_FAULT_SIGSEGV	  0x0040
#define FAULT_FLAG_WRITE	  0x01
#define FAULT_FLAG_UNSHARE	  0x02 /* unused */
#define FAULT_FLAG_EXEC		  0x04
/*
 * Divergence: not a kernel flag.  The kernel allocates a fault's PTE table
 * late (do_fault's prealloc_pte, installed only when something is mapped)
 * and tests pmd_none() where it decides; dupmm allocates the table up
 * front (handle_mm_fault) and remembers here that there was none.
 */
#define FAULT_FLAG_DUPMM_PMD_NONE 0x08
int handle_mm_fault(struct vm_area_struct *vma, uint64_t addr, unsigned int flags);
struct page *vm_normal_page(struct vm_area_struct *vma, uint64_t addr, pte_t pte);
void zap_page_range_single(struct vm_area_struct *vma, uint64_t start, uint64_t end,
			   bool keep_guards);
void unmap_vmas(struct mm_struct *mm, uint64_t start, uint64_t end);
void free_pgtables(struct mm_struct *mm, uint64_t start, uint64_t end, uint64_t floor,
		   uint64_t ceiling);
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);

/* gup.c */
bool gup_touch(struct vm_area_struct *vma, uint64_t addr, bool write);
long faultin_page_range(struct mm_struct *mm, uint64_t start, uint64_t end, bool write);
int __mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len, bool ignore_errors);
/* mm_populate: __mm_populate with its errors ignored (MAP_POPULATE, mlockall, brk). */
static inline void mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len)
{
	(void)__mm_populate(mm, start, len, true);
}

/*
 * mlock.c: the per-page mlock state and the CPU's mlock batch (the model's
 * mlock_batch_* count, forget and reset its entries as mm/swap.c does for
 * the LRU batches).
 */
void mlock_folio(struct page *page);
void mlock_new_folio(struct page *page);
void munlock_folio(struct page *page);
void mlock_drain_local(void);
unsigned int mlock_batch_refs(const struct page *page);
void mlock_batch_forget(const struct page *page);
void mlock_batch_reset(void);
/*
 * mlock_vma_folio, munlock_vma_folio (mm/internal.h): the rmap add and
 * remove paths' mlock of a page a PTE of vma starts or stops mapping:
 * __folio_add_file_rmap (fault-around, file and shmem faults), the end of
 * __folio_remove_rmap (zap, COW, munmap, exit).  New anonymous pages are
 * mlocked by folio_add_lru_vma instead (mlock_new_folio).  VM_SPECIAL
 * VMAs are never mlocked.  munlock is unconditional for a VM_LOCKED VMA:
 * __munlock_folio's count decides.
 */
static inline void mlock_vma_folio(struct page *page, const struct vm_area_struct *vma)
{
	if ((vma->vm_flags & (VM_LOCKED | VM_SPECIAL)) == VM_LOCKED)
		mlock_folio(page);
}
static inline void munlock_vma_folio(struct page *page, const struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_LOCKED)
		munlock_folio(page);
}

/* mmap.c */
uint64_t pte_prot_flags(const struct vm_area_struct *vma, uint64_t vm_flags);
void vm_stat_account(struct mm_struct *mm, uint64_t flags, int64_t npages);
bool may_expand_vm(struct mm_struct *mm, uint64_t flags, uint64_t npages);
uint64_t get_unmapped_area(struct mm_struct *mm, uint64_t addr, uint64_t len, uint64_t flags);
int64_t do_mmap(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len, uint64_t prot,
		uint64_t flags, uint64_t pgoff, uint64_t *populate);
struct vm_area_struct *expand_stack(struct mm_struct *mm, uint64_t addr);
void exit_mmap(struct mm_struct *mm);
int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm);

/* util.c */
extern int sysctl_max_map_count;
extern int64_t vm_committed_as;

/* vma.c */
GTree *mm_mt_new(void); /* an empty VMA tree, ordered as find_vma needs */
void vma_link(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_unlink(struct mm_struct *mm, struct vm_area_struct *vma);
void remove_vma(struct vm_area_struct *vma);
struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, uint64_t start, uint64_t end);
struct vm_area_struct *find_vma_prev(struct mm_struct *mm, uint64_t addr,
				     struct vm_area_struct **pprev);
int split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below);
int __split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below);
int do_vmi_munmap(struct mm_struct *mm, uint64_t start, uint64_t len);
struct vm_area_struct *vma_modify_flags(struct vm_area_struct *prev, struct vm_area_struct *vma,
					uint64_t start, uint64_t end, uint64_t new_flags, int *err);
/* Merge a new range into its neighbours (mmap, brk, mremap): NULL if no merge. */
struct vm_area_struct *vma_merge_new_range(struct mm_struct *mm, uint64_t start, uint64_t end,
					   uint64_t flags, struct file *file, uint64_t pgoff,
					   struct anon_vma *anon_vma,
					   struct vm_area_struct *copied_from);
struct vm_area_struct *copy_vma(struct vm_area_struct *vma, uint64_t addr, uint64_t len,
				uint64_t pgoff);
void vma_set_end(struct vm_area_struct *vma, uint64_t end);
void vma_set_start(struct vm_area_struct *vma, uint64_t start);
void vma_link_file(struct vm_area_struct *vma);
void unlink_file_vma(struct vm_area_struct *vma);
bool anon_vma_compatible(struct vm_area_struct *a, struct vm_area_struct *b);
struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma);
bool vma_wants_writenotify(const struct vm_area_struct *vma, uint64_t vm_flags);

/* fork.c */
extern GList *mm_list; /* every live mm, for validate_vm */
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);

/* mprotect.c */
void change_protection(struct vm_area_struct *vma, uint64_t start, uint64_t end, uint64_t newflags);

/* mremap.c */
uint64_t move_page_tables(struct vm_area_struct *vma, uint64_t old_addr,
			  struct vm_area_struct *new_vma, uint64_t new_addr, uint64_t len);

/* rmap.c */
int __anon_vma_prepare(struct vm_area_struct *vma);
static inline int anon_vma_prepare(struct vm_area_struct *vma)
{
	return vma->anon_vma ? 0 : __anon_vma_prepare(vma);
}
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src);
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma);
void unlink_anon_vmas(struct vm_area_struct *vma);
void folio_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma, uint64_t addr);
void folio_add_file_rmap_pte(struct page *page, struct vm_area_struct *vma);
void folio_remove_rmap_pte(struct page *page, struct vm_area_struct *vma);
void folio_move_anon_rmap(struct page *page, struct vm_area_struct *vma);
typedef bool (*rmap_one_fn)(struct page *page, struct vm_area_struct *vma, uint64_t addr,
			    void *arg);
void rmap_walk(struct page *page, rmap_one_fn fn, void *arg);
extern unsigned long anon_vma_live;

/* filemap.c */
struct address_space *mapping_get(const struct address_space_operations *a_ops, void *host,
				  uint64_t size, uint32_t major, uint32_t minor, uint64_t ino,
				  bool shmem);
struct page *filemap_get_page(struct address_space *mapping, uint64_t pgoff, int *err);
void filemap_remove_page(struct page *page);
void filemap_for_each_cached(void (*fn)(uint64_t pfn, void *arg), void *arg);
void do_sync_mmap_readahead(struct vm_area_struct *vma, struct address_space *mapping,
			    uint64_t pgoff);

/* readahead.c */
void filemap_readahead(struct address_space *mapping, uint64_t start, uint64_t nr);

/* truncate.c */
void truncate_inode_pages(struct address_space *mapping);

/* shmem.c */
struct file *shmem_file_setup(uint64_t size);

/* swap.c: the per-CPU LRU batches */
void folio_add_lru(struct page *page);
void folio_add_lru_vma(struct page *page, struct vm_area_struct *vma);
void folio_mark_lazyfree(struct page *page);
void lru_batches_reset(void);
unsigned int folio_lru_batch_refs(const struct page *page);
void lru_batch_forget(const struct page *page);

/* failslab.c */
bool should_failslab(void);

/* mmu_notifier.c */
void mmu_notifier_invalidate(struct mm_struct *mm, uint64_t start, uint64_t end);
void mmu_notifier_release(struct mm_struct *mm);

#endif
