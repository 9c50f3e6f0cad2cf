/*
 * Simulated physical memory, after mm/page_alloc.c.
 *
 * RAM is one memfd, reached through one shared mapping of it, the direct
 * map (as the kernel reaches all RAM through its direct map).  A secondary
 * MMU maps the same frames into guest-visible places by mapping pages of
 * the memfd.  Both the frames and the struct page array are reserved with
 * MAP_NORESERVE and so cost host memory only once touched: a trace that
 * never touches memory costs no memory for contents.
 *
 * Divergence: one node and one zone, no NUMA placement and no memory
 * policies (mbind, set_mempolicy); the host has NUMA configured.
 *
 * Frame 0 is the shared zero page (Divergence: pagemap shows PFN 0 for
 * it; the kernel's empty_zero_page has a PFN in the kernel image).  Frames
 * are handed out from a bump pointer first (so that pages faulted in order
 * in a VMA sit in order in the memfd, which lets host mappings of them
 * merge), then from a LIFO free list.  A frame past the bump pointer has
 * never been written and reads as zero, so zeroing it is free.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

struct phys_mem {
	int memfd;
	uint8_t *direct_map;
	struct page *mem_map;
	uint64_t nr_frames;
	uint64_t nr_used;
	uint32_t free_head; /* pfn, 0 = empty */
	uint64_t fail_countdown;
};

static struct phys_mem phys = { .memfd = -1 };
struct page *mem_map;
uint8_t *direct_map;
uint64_t zero_pfn;
uint64_t phys_hwm;

/*
 * phys_init: set up ram_bytes of simulated RAM (rounded down to pages).
 * Returns 0, or -errno if the host refuses the reservation.  Resets the
 * event counters.  Call phys_exit() before calling it again.
 */
int phys_init(uint64_t ram_bytes)
{
	uint64_t nr = ram_bytes >> PAGE_SHIFT;
	int err;

	if (nr < 16 || nr > (1ULL << 32))
		return -EINVAL;
	phys.memfd = memfd_create("dupmm-ram", MFD_CLOEXEC);
	if (phys.memfd < 0)
		return -errno;
	if (ftruncate(phys.memfd, (off_t)(nr << PAGE_SHIFT)) < 0)
		goto out_close;
	phys.direct_map = mmap(NULL, nr << PAGE_SHIFT, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_NORESERVE, phys.memfd, 0);
	if (phys.direct_map == MAP_FAILED)
		goto out_close;
	phys.mem_map = mmap(NULL, nr * sizeof(struct page), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (phys.mem_map == MAP_FAILED)
		goto out_unmap;
	phys.nr_frames = nr;
	mem_map = phys.mem_map;
	direct_map = phys.direct_map;
	phys.nr_used = 0;
	phys.free_head = 0;
	phys.fail_countdown = 0;
	zero_pfn = 0;
	phys.mem_map[0].flags = PG_reserved | PG_uptodate;
	phys.mem_map[0].refcount = 1;
	phys_hwm = 1;
	memset(vm_events, 0, sizeof(vm_events));
	lru_batches_reset();
	return 0;

out_unmap:
	err = -errno;
	munmap(phys.direct_map, nr << PAGE_SHIFT);
	close(phys.memfd);
	phys.memfd = -1;
	return err;
out_close:
	err = -errno;
	close(phys.memfd);
	phys.memfd = -1;
	return err;
}

void phys_exit(void)
{
	if (phys.memfd < 0)
		return;
	munmap(phys.mem_map, phys.nr_frames * sizeof(struct page));
	munmap(phys.direct_map, phys.nr_frames << PAGE_SHIFT);
	close(phys.memfd);
	phys.memfd = -1;
	phys.nr_frames = 0;
}

struct page *pfn_to_page(uint64_t pfn)
{
	MM_WARN_ON(pfn >= phys.nr_frames);
	return &phys.mem_map[pfn];
}

uint64_t page_to_pfn(const struct page *page) { return (uint64_t)(page - phys.mem_map); }

void *page_address(const struct page *page)
{
	return phys.direct_map + (page_to_pfn(page) << PAGE_SHIFT);
}

bool is_zero_pfn(uint64_t pfn) { return pfn == zero_pfn; }
uint64_t phys_nr_frames(void) { return phys.nr_frames; }
uint64_t phys_nr_used(void) { return phys.nr_used; }
int phys_memfd(void) { return phys.memfd; }
void phys_fail_alloc_after(uint64_t n) { phys.fail_countdown = n; }

/*
 * alloc_page: a frame with refcount 1 and no other state, zeroed if asked.
 * NULL when RAM is exhausted (the caller turns that into ENOMEM or
 * VM_FAULT_OOM), or when the test switch says this allocation fails.
 * Divergence: no reclaim: short of memory, the kernel reclaims (drops
 * clean page cache, swaps, compacts) and at last OOM-kills a task; the
 * model fails the allocation at once.
 */
struct page *alloc_page(bool zero)
{
	struct page *page;
	uint64_t pfn;
	bool fresh = false;

	if (phys.fail_countdown && --phys.fail_countdown == 0)
		return NULL;
	if (phys.free_head) {
		pfn = phys.free_head;
		phys.free_head = phys.mem_map[pfn].free_next;
	} else if (phys_hwm < phys.nr_frames) {
		pfn = phys_hwm++;
		fresh = true;
	} else {
		return NULL;
	}
	page = &phys.mem_map[pfn];
	memset(page, 0, sizeof(*page));
	page->refcount = 1;
	if (zero && !fresh)
		memset(page_address(page), 0, PAGE_SIZE);
	phys.nr_used++;
	return page;
}

static void free_page(struct page *page)
{
	uint64_t pfn = page_to_pfn(page);

	MM_WARN_ON(page->mapcount != 0);
	lru_batch_forget(page);
	page->flags = 0;
	page->mapping = NULL;
	page->free_next = phys.free_head;
	phys.free_head = (uint32_t)pfn;
	phys.nr_used--;
}

void get_page(struct page *page)
{
	if (page->flags & PG_reserved)
		return;
	page->refcount++;
}

/* put_page: drop a reference; the last one frees the frame. */
void put_page(struct page *page)
{
	if (page->flags & PG_reserved)
		return;
	if (MM_WARN_ON(page->refcount <= 0))
		return;
	if (--page->refcount == 0)
		free_page(page);
}

void copy_highpage(struct page *to, const struct page *from)
{
	memcpy(page_address(to), page_address(from), PAGE_SIZE);
}
