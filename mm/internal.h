/*
 * mm/internal.h: what the files of mm/ share among themselves, after the
 * kernel's mm/internal.h.  Not for emu/.  Table of contents by file.
 */
#ifndef DUPMM_MM_INTERNAL_H
#define DUPMM_MM_INTERNAL_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <dupmm/mm.h>
#include <dupmm/uapi.h>

/* Programming errors: "function: reason", the expression, then go on. */
void mm_warn(const char *func, const char *file, int line, const char *expr);
static inline bool mm_warn_on(bool cond, const char *func, const char *file, int line,
			      const char *expr)
{
	if (cond)
		mm_warn(func, file, line, expr);
	return cond;
}
#define MM_WARN_ON(cond) mm_warn_on(!!(cond), __func__, __FILE__, __LINE__, #cond)

static inline void count_vm_event(enum vm_event_item item) { vm_events[item]++; }

static inline uint64_t vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}
static inline bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return vma->vm_file == NULL && vma->special_name == NULL;
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

/* page_alloc.c */
extern struct page *mem_map;	/* for the hot paths: pfn_to_page without its check */
extern uint8_t *direct_map;	/* frame pfn is at direct_map + pfn * PAGE_SIZE (__va) */
static inline void *pfn_to_virt(uint64_t pfn) { return direct_map + (pfn << PAGE_SHIFT); }
/* Table walks skip empty runs of 8 entries (a cache line) at a time. */
static inline bool table_block_empty(const pte_t *e)
{
	return (e[0] | e[1] | e[2] | e[3] | e[4] | e[5] | e[6] | e[7]) == 0;
}
struct page *alloc_page(bool zero);	/* refcount 1; NULL on ENOMEM */
void get_page(struct page *page);
void put_page(struct page *page);
void copy_highpage(struct page *to, const struct page *from);
extern uint64_t zero_pfn;
extern uint64_t phys_hwm;		/* frames [1, phys_hwm) were ever handed out */

/* pgtable.c */
int pgd_alloc(struct mm_struct *mm);
void pgd_free(struct mm_struct *mm);
pte_t *pte_offset(struct mm_struct *mm, uint64_t addr);	/* NULL if no table */
pte_t *pte_alloc(struct mm_struct *mm, uint64_t addr);	/* NULL on ENOMEM */
void pte_table_inc(pte_t *ptep);
void pte_table_dec(pte_t *ptep);
void pte_table_add(pte_t *ptep, int n);
void set_pte(pte_t *ptep, pte_t pte);
void pte_clear(pte_t *ptep);
void free_pgtables(struct mm_struct *mm, uint64_t start, uint64_t end,
		   uint64_t floor, uint64_t ceiling);
pte_t mk_pte(uint64_t pfn, uint64_t vm_flags);
uint64_t pgtables_count(struct mm_struct *mm);
/* Visit every table level; used by validate and copy. */
typedef void (*pte_visit_fn)(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg);
void walk_ptes(struct mm_struct *mm, uint64_t start, uint64_t end, pte_visit_fn fn, void *arg);

/* vma.c */
GTree *mm_mt_new(void);		/* an empty VMA tree, ordered as find_vma needs */
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);
void vma_link(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_unlink(struct mm_struct *mm, struct vm_area_struct *vma);
void remove_vma(struct vm_area_struct *vma);
struct vm_area_struct *find_vma_intersection(struct mm_struct *mm, uint64_t start, uint64_t end);
struct vm_area_struct *find_vma_prev(struct mm_struct *mm, uint64_t addr,
				     struct vm_area_struct **pprev);
int split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below);
int __split_vma(struct vm_area_struct *vma, uint64_t addr, int new_below);
struct vm_area_struct *vma_modify_flags(struct vm_area_struct *prev,
					struct vm_area_struct *vma, uint64_t start,
					uint64_t end, uint64_t new_flags, int *err);
/* Merge a new range into its neighbours (mmap, brk, mremap): NULL if no merge. */
struct vm_area_struct *vma_merge_new_range(struct mm_struct *mm, uint64_t start,
					   uint64_t end, uint64_t flags,
					   struct file *file, uint64_t pgoff,
					   struct anon_vma *anon_vma,
					   struct vm_area_struct *copied_from);
void vma_set_end(struct vm_area_struct *vma, uint64_t end);
void vma_set_start(struct vm_area_struct *vma, uint64_t start);
void vma_link_file(struct vm_area_struct *vma);
void unlink_file_vma(struct vm_area_struct *vma);
bool anon_vma_compatible(struct vm_area_struct *a, struct vm_area_struct *b);
struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma);
extern int sysctl_max_map_count;

/* mmap.c */
void vm_stat_account(struct mm_struct *mm, uint64_t flags, int64_t npages);
uint64_t calc_vm_prot_bits(uint64_t prot);
int do_vmi_munmap(struct mm_struct *mm, uint64_t start, uint64_t len);
uint64_t get_unmapped_area(struct mm_struct *mm, uint64_t addr, uint64_t len,
			   uint64_t flags);
int mm_populate(struct mm_struct *mm, uint64_t start, uint64_t len, bool ignore_errors);
extern int64_t vm_committed_as;
bool may_expand_vm(struct mm_struct *mm, uint64_t flags, uint64_t npages);

/* memory.c */
#define VM_FAULT_OOM		0x0001
#define VM_FAULT_SIGBUS		0x0002
#define VM_FAULT_SIGSEGV	0x0040
#define FAULT_FLAG_WRITE	0x01
#define FAULT_FLAG_UNSHARE	0x02	/* unused */
#define FAULT_FLAG_EXEC		0x04
#define FAULT_FLAG_NEW_TABLE	0x08	/* the fault had to allocate addr's PTE table */
int handle_mm_fault(struct vm_area_struct *vma, uint64_t addr, unsigned int flags);
struct page *vm_normal_page(struct vm_area_struct *vma, uint64_t addr, pte_t pte);
void zap_page_range_single(struct vm_area_struct *vma, uint64_t start, uint64_t end,
			   bool keep_guards);
bool gup_touch(struct vm_area_struct *vma, uint64_t addr, bool write);
void unmap_vmas(struct mm_struct *mm, uint64_t start, uint64_t end);
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);
void change_protection(struct vm_area_struct *vma, uint64_t start, uint64_t end,
		       uint64_t newflags);
void mmu_notifier_invalidate(struct mm_struct *mm, uint64_t start, uint64_t end);
void add_mm_counter(struct mm_struct *mm, int member, int64_t value);
int mm_counter_of(const struct page *page);
void move_page_tables(struct vm_area_struct *vma, uint64_t old_addr,
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
void folio_add_file_rmap_pte(struct page *page);
void folio_remove_rmap_pte(struct page *page);
void folio_move_anon_rmap(struct page *page, struct vm_area_struct *vma);
typedef bool (*rmap_one_fn)(struct page *page, struct vm_area_struct *vma,
			    uint64_t addr, void *arg);
void rmap_walk(struct page *page, rmap_one_fn fn, void *arg);
extern unsigned long anon_vma_live;

/* filemap.c, shmem.c */
struct page *filemap_get_page(struct address_space *mapping, uint64_t pgoff, int *err);
void filemap_remove_page(struct page *page);
void filemap_readahead(struct address_space *mapping, uint64_t start, uint64_t nr);
struct file *shmem_file_setup(uint64_t size);
void truncate_inode_pages(struct address_space *mapping);
void filemap_for_each_cached(void (*fn)(uint64_t pfn, void *arg), void *arg);

/* madvise.c */
void lazyfree_forget(struct page *page);

/* fork.c */
extern GList *mm_list;		/* every live mm, for validate_vm */

#endif
