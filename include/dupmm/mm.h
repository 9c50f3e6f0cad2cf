/*
 * The interface of the simulated memory manager (mm/), the only door emu/
 * and the tests use.  Functions that model a syscall return what the
 * kernel returns: a value >= 0, or -errno.
 *
 * Table of contents, by file of mm/ (docs/code-map.md says which kernel
 * file each one mirrors):
 */
#ifndef DUPMM_MM_H
#define DUPMM_MM_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "mm_types.h"
#include "pgtable.h"

/* page_alloc.c: simulated RAM, one memfd with a direct map */
#define DUPMM_DEFAULT_RAM (4ULL << 30)
int phys_init(uint64_t ram_bytes);
void phys_exit(void);
struct page *pfn_to_page(uint64_t pfn);
uint64_t page_to_pfn(const struct page *page);
void *page_address(const struct page *page);
bool is_zero_pfn(uint64_t pfn);
uint64_t phys_nr_frames(void);
uint64_t phys_nr_used(void); /* frames holding data or tables */
int phys_memfd(void);	     /* for a secondary MMU that maps frames */

/* Test switches, never set outside the tests (page_alloc.c, failslab.c, memory.c) */
/* page_alloc.c: the n-th frame allocation from now fails (0 = never). */
void phys_fail_alloc_after(uint64_t n);
/* failslab.c: the n-th anon_vma or anon_vma_chain allocation from now fails (0 = never). */
void mm_fail_slab_after(uint64_t n);
/*
 * memory.c: a deliberate semantic bug, so that the fuzzer's test can show
 * it finds one.  Never set outside that test.
 */
#define MM_BUG_FORK_NO_WRPROTECT 1u /* fork leaves the parent's COW PTEs writable */
extern unsigned int mm_planted_bug;

/* fork.c: mm lifetime and fork (dup_mm; dup_mmap itself is mmap.c's) */
struct mm_struct *mm_alloc(void); /* NULL on ENOMEM */
void mmget(struct mm_struct *mm);
void mmput(struct mm_struct *mm);
struct mm_struct *dup_mm(struct mm_struct *oldmm, int *err);
void mm_set_mmap_base(struct mm_struct *mm, uint64_t mmap_base);

/* util.c, mmap.c, mprotect.c, madvise.c, mlock.c, mremap.c, msync.c: the syscalls */
long vm_mmap_pgoff(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len,
		   uint64_t prot, uint64_t flags, uint64_t pgoff);
long vm_munmap(struct mm_struct *mm, uint64_t start, uint64_t len);
long do_mprotect_pkey(struct mm_struct *mm, uint64_t start, uint64_t len, uint64_t prot, int pkey);
long do_madvise(struct mm_struct *mm, uint64_t start, uint64_t len_in, int behavior);
long do_mlock(struct mm_struct *mm, uint64_t start, uint64_t len, uint64_t flags);
long do_munlock(struct mm_struct *mm, uint64_t start, uint64_t len);
long do_mlockall(struct mm_struct *mm, uint64_t flags);
long do_munlockall(struct mm_struct *mm);
long do_mremap(struct mm_struct *mm, uint64_t addr, uint64_t old_len, uint64_t new_len,
	       uint64_t flags, uint64_t new_addr);
long do_brk_syscall(struct mm_struct *mm, uint64_t brk);
long do_msync(struct mm_struct *mm, uint64_t start, uint64_t len, uint64_t flags);
/* exec: the brk area, placed after the image (randomisation off). */
void mm_set_brk(struct mm_struct *mm, uint64_t start_brk);

/* vma.c */
struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t addr);
struct vm_area_struct *vma_next(struct mm_struct *mm, struct vm_area_struct *vma);
struct vm_area_struct *vma_prev(struct mm_struct *mm, struct vm_area_struct *vma);
struct vm_area_struct *vma_first(struct mm_struct *mm);

/* arch/x86/fault.c: one CPU access and the fault it may take */
enum fault_access { FAULT_READ = 1, FAULT_WRITE = 2, FAULT_EXEC = 4 };
/* What a CPU access that could not complete would deliver. */
struct mm_fault_info {
	int signo; /* SIGSEGV, SIGBUS, or SIGKILL when out of memory */
	int code;  /* SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR (no meaning for SIGKILL) */
	uint64_t addr;
};
/* Resolve one access as the CPU would: 0, or -EFAULT with *fi set. */
int mm_fault(struct mm_struct *mm, uint64_t addr, unsigned int access, struct mm_fault_info *fi);

/* memory.c: user access, peeks */
/* Read or write user memory as loads/stores: 0, or -EFAULT at fi->addr. */
int mm_read(struct mm_struct *mm, uint64_t addr, void *buf, size_t len, struct mm_fault_info *fi);
int mm_write(struct mm_struct *mm, uint64_t addr, const void *buf, size_t len,
	     struct mm_fault_info *fi);
int mm_fill(struct mm_struct *mm, uint64_t addr, uint8_t byte, size_t len,
	    struct mm_fault_info *fi);
/*
 * mm_peek: what a program would see of the page at addr, faulting nothing
 * in: the VMA there (NULL: unmapped), whether the page is a guard, and
 * what a read gives: 0 with bytes at PAGE_SIZE bytes (perhaps buf, which
 * must hold a page; NULL when the page is known to read zeroes: the zero
 * page, or anonymous memory never touched), -EFAULT if the read would
 * raise SIGSEGV, -EIO if SIGBUS.
 */
struct mm_peek_info {
	struct vm_area_struct *vma;
	uint64_t next_start; /* unmapped: where the next VMA starts (UINT64_MAX: none) */
	bool guard;
	int read_fault;
	const uint8_t *bytes;
};
/* hint: a VMA of a previous peek in the same pass (or NULL): no lookup when it covers addr */
void mm_peek(struct mm_struct *mm, uint64_t addr, uint8_t *buf, struct vm_area_struct *hint,
	     struct mm_peek_info *out);
/* The PTE mapping addr, if its tables exist (0 otherwise). */
pte_t mm_lookup_pte(struct mm_struct *mm, uint64_t addr);

/*
 * swap.c: the per-CPU LRU batches (of the one CPU a trace runs on).
 * lru_add_drain settles them, as the kernel's does on its CPU; pages
 * MADV_FREE left queued count as LazyFree only after that.
 */
void lru_add_drain(void);
unsigned int lru_lazyfree_pending(void); /* pages MADV_FREE left queued */

/* filemap.c (files are fs/'s in the kernel) */
struct file *file_new(const struct address_space_operations *a_ops, void *host, const char *path,
		      uint64_t size, uint32_t dev_major, uint32_t dev_minor, uint64_t ino,
		      bool readable, bool writable);
struct file *get_file(struct file *file);
void fput(struct file *file);

/* mmu_notifier.c */
void mmu_notifier_register(struct mmu_notifier *mn, struct mm_struct *mm);
void mmu_notifier_unregister(struct mmu_notifier *mn, struct mm_struct *mm);

/* proc.c: fs/proc/task_mmu.c */
void show_maps(struct mm_struct *mm, GString *out);
void show_smaps(struct mm_struct *mm, GString *out);
void show_smaps_rollup(struct mm_struct *mm, GString *out);
void show_status(struct mm_struct *mm, GString *out);
/* pagemap entries for [start, start + n pages). */
void pagemap_read(struct mm_struct *mm, uint64_t start, size_t n, uint64_t *out);
#define PM_PRESENT	  (1ULL << 63)
#define PM_SWAP		  (1ULL << 62)
#define PM_FILE		  (1ULL << 61)
#define PM_GUARD_REGION	  (1ULL << 58) /* 6.14+ */
#define PM_MMAP_EXCLUSIVE (1ULL << 56)
#define PM_SOFT_DIRTY	  (1ULL << 55)
#define PM_PFRAME_MASK	  ((1ULL << 55) - 1)

/* debug.c: CONFIG_DEBUG_VM.  true when sound; else the reasons in *why. */
bool validate_mm(struct mm_struct *mm, GString *why);
/* The same, but the PTEs only of the VMAs meeting [start, end), and no RSS recount. */
bool validate_mm_range(struct mm_struct *mm, uint64_t start, uint64_t end, GString *why);
/* Global checks over every live mm: mapcounts, refcounts, rmap. */
bool validate_vm(GString *why);
void dump_mm(struct mm_struct *mm, GString *out);
void dump_anon_vmas(struct mm_struct *mm, GString *out);
/* Broken invariants (MM_WARN_ON) are counted, and passed here if set. */
typedef void (*mm_warn_fn)(const char *msg);
extern mm_warn_fn mm_warn_handler;
extern unsigned long mm_warn_count;

/*
 * The simplifications a call can reach (docs/divergences.md): there the
 * model does something other than the kernel the host runs, and says so.
 * mm/ does no I/O: it reports each through mm_simplification_handler (if
 * set; the replay warns the first time a trace reaches each), with the
 * simplification's entry in docs/divergences.md.
 */
enum mm_simplification {
	SIMPL_THP,	     /* a fault a transparent huge page would serve */
	SIMPL_FILE_FOLIO,    /* a write to a shared file page: the host dirties a large folio */
	SIMPL_NO_SWAP,	     /* reclaim of swap-backed memory: no swap */
	SIMPL_MADV_REFUSED,  /* MADV_COLLAPSE, HWPOISON, SOFT_OFFLINE: EINVAL here */
	SIMPL_HUGETLB,	     /* MAP_HUGETLB: no huge pages reserved */
	SIMPL_EXECVE,	     /* execve: the new program's mappings are not made */
	SIMPL_LRU_UNSETTLED, /* a dump with MADV_FREE'd pages still queued (the replay's) */
	NR_SIMPLIFICATIONS
};
typedef void (*mm_simplification_fn)(enum mm_simplification s, void *arg);
extern mm_simplification_fn mm_simplification_handler;
extern void *mm_simplification_arg;
void mm_note_simplification(enum mm_simplification s);
/* Its entry in docs/divergences.md (DIV-THP...), and what it means, in a line. */
const char *mm_simplification_id(enum mm_simplification s);
const char *mm_simplification_text(enum mm_simplification s);

/* vmstat.c: events counted since phys_init, after include/linux/vm_event_item.h */
enum vm_event_item {
	PGFAULT,
	PGREUSE,       /* do_wp_page reused the page */
	COW_COPY,      /* do_wp_page / do_cow_fault copied */
	ZERO_PAGE_MAP, /* read fault mapped the zero page */
	ANON_ALLOC,
	FORK_VMA_COPIED,
	FORK_VMA_WIPED,
	FORK_VMA_DONTCOPY,
	FORK_PTE_COPIED,
	VMA_SPLIT,
	VMA_MERGE,
	ANON_VMA_REUSED_AT_FORK,
	UNEVICTABLE_PGCULLED,	 /* a page went to the unevictable LRU (mm/mlock.c) */
	UNEVICTABLE_PGMLOCKED,	 /* PG_mlocked set */
	UNEVICTABLE_PGMUNLOCKED, /* PG_mlocked cleared by munlock */
	NR_VM_EVENTS
};
extern uint64_t vm_events[NR_VM_EVENTS];
const char *vm_event_name(enum vm_event_item item);

#endif
