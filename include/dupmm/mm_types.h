/*
 * The data structures of the simulated memory manager, after
 * include/linux/mm_types.h, include/linux/rmap.h and include/linux/fs.h.
 *
 * emu/ may read these structures; it changes them only through the
 * functions of <dupmm/mm.h>.
 */
#ifndef DUPMM_MM_TYPES_H
#define DUPMM_MM_TYPES_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "list.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PAGE_ALIGNED(x) (((x) & (PAGE_SIZE - 1)) == 0)
#define PHYS_PFN(x)	((uint64_t)(x) >> PAGE_SHIFT)

/* x86-64 with 4-level paging: 47-bit user half, last page reserved. */
#define TASK_SIZE     ((1UL << 47) - PAGE_SIZE)
#define MMAP_MIN_ADDR 65536UL

/* vm_flags, include/linux/mm.h (bit numbers are the VmFlags order). */
#define VM_NONE		0x00000000ULL
#define VM_READ		0x00000001ULL
#define VM_WRITE	0x00000002ULL
#define VM_EXEC		0x00000004ULL
#define VM_SHARED	0x00000008ULL
#define VM_MAYREAD	0x00000010ULL
#define VM_MAYWRITE	0x00000020ULL
#define VM_MAYEXEC	0x00000040ULL
#define VM_MAYSHARE	0x00000080ULL
#define VM_GROWSDOWN	0x00000100ULL
#define VM_UFFD_MISSING 0x00000200ULL
#define VM_PFNMAP	0x00000400ULL
#define VM_MAYBE_GUARD	0x00000800ULL /* "gu": 6.19, backported on the 6.18 host */
#define VM_UFFD_WP	0x00001000ULL
#define VM_LOCKED	0x00002000ULL
#define VM_IO		0x00004000ULL
#define VM_SEQ_READ	0x00008000ULL
#define VM_RAND_READ	0x00010000ULL
#define VM_DONTCOPY	0x00020000ULL
#define VM_DONTEXPAND	0x00040000ULL
#define VM_LOCKONFAULT	0x00080000ULL
#define VM_ACCOUNT	0x00100000ULL
#define VM_NORESERVE	0x00200000ULL
#define VM_HUGETLB	0x00400000ULL
#define VM_SYNC		0x00800000ULL
#define VM_ARCH_1	0x01000000ULL
#define VM_WIPEONFORK	0x02000000ULL
#define VM_DONTDUMP	0x04000000ULL
#define VM_SOFTDIRTY	0x08000000ULL
#define VM_MIXEDMAP	0x10000000ULL
#define VM_HUGEPAGE	0x20000000ULL
#define VM_NOHUGEPAGE	0x40000000ULL
#define VM_MERGEABLE	0x80000000ULL
#define VM_SHADOW_STACK (1ULL << 37)
#define VM_DROPPABLE	(1ULL << 40)
#define VM_UFFD_MINOR	(1ULL << 41)
#define VM_SEALED	(1ULL << 42)

#define VM_STACK	VM_GROWSDOWN
#define VM_LOCKED_MASK	(VM_LOCKED | VM_LOCKONFAULT)
/* 6.19 sticky flags: ignored when merging, kept by the merged VMA */
#define VM_STICKY	VM_MAYBE_GUARD
#define VM_SPECIAL	(VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP)
#define VM_ACCESS_FLAGS (VM_READ | VM_WRITE | VM_EXEC)

/*
 * struct page, page flags.  Divergence: dupmm has order-0 folios only, so
 * "page" and "folio" are the same object here; the host's THP is
 * "madvise", so its anonymous faults give order-0 folios too except in
 * MADV_HUGEPAGE VMAs (see do_anonymous_page), and its page cache may use
 * large folios (a write dirties the whole folio).
 */
enum pageflags {
	PG_locked = 1u << 0,
	PG_referenced = 1u << 1,
	PG_uptodate = 1u << 2,
	PG_dirty = 1u << 3,
	PG_lru = 1u << 4,
	PG_swapbacked = 1u << 5,
	PG_anon_exclusive = 1u << 6,
	PG_reserved = 1u << 7, /* the zero page */
	PG_table = 1u << 8,    /* a page-table page */
	PG_mlocked = 1u << 9,  /* mlocked by a VM_LOCKED mapping: not reclaimed (mlock.c) */
	PG_young = 1u << 10,
	PG_unevictable = 1u << 11, /* on the unevictable "LRU": mlock_count is valid */
	/*
	 * Not a kernel flag: the mlock batch lost an mlock of this page (it
	 * was processed off the LRU, or after a munlock that cleared
	 * PG_mlocked), so a VM_LOCKED VMA may map it unmlocked, as the
	 * kernel's would.  Only validate_vm's mlock check reads it.
	 */
	PG_dupmm_mlock_lost = 1u << 12,
};

#define PAGE_MAPPING_ANON 0x1UL

/*
 * One per frame of simulated RAM: 32 bytes.
 *
 * mapcount counts the PTEs that map the page (the kernel stores that
 * number minus one in _mapcount).  For a page-table page it counts the
 * entries in use, so that an empty table is found without a scan.
 *
 * mlock_count shares its word with the free-list link, as the kernel's
 * folio->mlock_count shares lru.prev with the LRU link (the unevictable
 * "LRU" is no list, so the link is free for the count): it is the number
 * of VM_LOCKED mappings that have mlocked the page, valid only while the
 * page is PG_unevictable (0 otherwise, by the model's convention), and
 * may undercount as the kernel's does (mm/mlock.c).
 */
struct page {
	uint32_t flags;
	int32_t refcount;
	int32_t mapcount;
	union {
		uint32_t free_next;  /* free: the free-list link, a pfn, 0 = end */
		int32_t mlock_count; /* PG_unevictable: mlocks held (__mlock_folio) */
	};
	void *mapping;	/* anon_vma | PAGE_MAPPING_ANON, or address_space */
	uint64_t index; /* linear page index in its mapping */
};

struct anon_vma {
	struct anon_vma *root;
	struct anon_vma *parent;
	int refcount; /* self; a root one more per descendant (each pins it) */
	unsigned int num_children;
	unsigned int num_active_vmas;
	/* Divergence: a list of AVCs rather than an interval tree keyed by pgoff. */
	struct list_head rb_root;
	unsigned int id; /* for dumps only */
};

struct anon_vma_chain {
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct list_head same_vma; /* in vma->anon_vma_chain, newest first */
	struct list_head rb;	   /* in anon_vma->rb_root */
};

/*
 * Reads file contents for the page cache.  emu/ provides it (mm/ does no
 * I/O): fill PAGE_SIZE bytes of dst with page pgoff of the file, zeroes past
 * its end.  Returns 0 or -errno.
 */
struct address_space_operations {
	int (*read_folio)(void *host, uint64_t pgoff, uint8_t *dst);
	void (*release)(void *host);
};

/*
 * address_space doubles as the inode: dupmm needs of an inode only what
 * /proc shows (dev, ino, size) and what faults need.
 */
struct address_space {
	const struct address_space_operations *a_ops;
	void *host;
	GHashTable *i_pages; /* pgoff -> pfn (GSIZE_TO_POINTER) */
	GHashTable *holes;   /* pgoffs MADV_REMOVE punched in a file: zeroes, not its bytes */
	/* Divergence: a list of the VMAs mapping it (vma->shared), not an interval tree. */
	struct list_head i_mmap;
	uint64_t size; /* i_size in bytes */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	bool shmem;
	/*
	 * The host would hold some of this file in large folios: a MADV_HUGEPAGE
	 * read-ahead read it (page_cache_ra_order).  The model's pages are
	 * order-0 either way (DIV-FILE-FOLIO); it only says so at a write.
	 */
	bool dupmm_large_folios;
	int refcount;
};

struct file {
	struct address_space *f_mapping;
	char *path; /* as /proc/PID/maps names it */
	bool readable, writable;
	int refcount;
};

struct vm_area_struct {
	uint64_t vm_start;
	uint64_t vm_end; /* first byte after */
	struct mm_struct *vm_mm;
	GTreeNode *vm_node; /* its node in mm_mt while linked: vma_next in O(1) */
	uint64_t vm_flags;
	/* in pages: the file offset; anonymous: vm_start >> PAGE_SHIFT when created */
	uint64_t vm_pgoff;
	struct file *vm_file;
	struct anon_vma *anon_vma;
	struct list_head anon_vma_chain;
	struct list_head shared;  /* in vm_file->f_mapping->i_mmap */
	const char *special_name; /* vm_ops->name: "[vdso]"...; NULL otherwise */
};

enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES, NR_MM_COUNTERS };

struct mmu_notifier;
struct mmu_notifier_ops {
	/* PTEs of [start, end) changed or went away: drop secondary mappings. */
	void (*invalidate_range)(struct mmu_notifier *mn, struct mm_struct *mm, uint64_t start,
				 uint64_t end);
	/* The mm is being torn down. */
	void (*release)(struct mmu_notifier *mn, struct mm_struct *mm);
};

struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
	struct list_head list;
};

struct mm_struct {
	GTree *mm_mt; /* VMAs ordered by address */
	int map_count;
	uint64_t pgd; /* pfn of the top-level table */
	int mm_users;
	uint64_t total_vm, locked_vm, pinned_vm, data_vm, exec_vm, stack_vm;
	int64_t rss_stat[NR_MM_COUNTERS];
	int64_t pgtables_bytes;
	uint64_t hiwater_rss, hiwater_vm;
	uint64_t mmap_base;
	uint64_t task_size;
	uint64_t start_brk, brk, start_stack;
	uint64_t def_flags; /* VM_LOCKED (VM_LOCKONFAULT) after mlockall(MCL_FUTURE) */
	struct list_head notifiers;
	unsigned int id; /* for dumps only */
};

#endif
