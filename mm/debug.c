/*
 * Invariant checks and dumps, after mm/debug.c and validate_mm() in
 * mm/vma.c (CONFIG_DEBUG_VM).  The tests and `replay --check` run them
 * after every operation.
 */
#include <inttypes.h>

#include "internal.h"

unsigned long mm_warn_count;
mm_warn_fn mm_warn_handler;
mm_simplification_fn mm_simplification_handler;
void *mm_simplification_arg;

void mm_note_simplification(enum mm_simplification s)
{
	if (mm_simplification_handler)
		mm_simplification_handler(s, mm_simplification_arg);
}

static const struct {
	const char *id, *text;
} simplifications[NR_SIMPLIFICATIONS] = {
	[SIMPL_THP] = { "DIV-THP",
			"a fault in a MADV_HUGEPAGE range a 2 MiB page fits: the host (THP "
			"\"madvise\") maps a transparent huge page, the model 4 KiB pages "
			"(Rss, AnonHugePages and the page tables differ)" },
	[SIMPL_FILE_FOLIO] = { "DIV-FILE-FOLIO",
			       "a write to a page of a file a MADV_HUGEPAGE read-ahead read: the "
			       "host's ext4 holds it in large folios and dirties the whole folio, the "
			       "model's page cache holds single pages" },
	[SIMPL_NO_SWAP] = { "DIV-NO-SWAP",
			    "reclaim of swap-backed memory: the model has no swap (as the host here), "
			    "so the pages stay; a kernel with swap would page them out" },
	[SIMPL_MADV_REFUSED] = { "DIV-MADV-REFUSED",
				 "MADV_COLLAPSE, MADV_HWPOISON and MADV_SOFT_OFFLINE are refused "
				 "(EINVAL): the model has no huge pages and no memory failure" },
	[SIMPL_HUGETLB] = { "DIV-HUGETLB",
			    "MAP_HUGETLB: the model has no hugetlbfs pages reserved (as the host "
			    "here) and fails with ENOMEM" },
	[SIMPL_EXECVE] = { "DIV-EXECVE",
			   "execve: the model gives the process an empty address space; the kernel "
			   "maps the program, its interpreter, the stack, [vdso] and the heap" },
	[SIMPL_LRU_UNSETTLED] = { "HOSTCMP-LAZYFREE",
				  "a process's /proc snapshot with MADV_FREE'd pages still queued on "
				  "the per-CPU batch: on the host, what else runs on the CPU may drain "
				  "them first, so its LazyFree is not certain" },
};

const char *mm_simplification_id(enum mm_simplification s)
{
	return s < NR_SIMPLIFICATIONS ? simplifications[s].id : "?";
}

const char *mm_simplification_text(enum mm_simplification s)
{
	return s < NR_SIMPLIFICATIONS ? simplifications[s].text : "?";
}

/*
 * mm_warn: a broken invariant ("function: reason").  mm/ does no I/O: the
 * driver decides what to do with it (the dupmm command prints it); the
 * count is always kept, and the tests' checks look at it.
 */
void mm_warn(const char *func, const char *file, int line, const char *expr)
{
	g_autofree char *msg = g_strdup_printf("%s: %s (%s:%d)", func, expr, file, line);

	mm_warn_count++;
	if (mm_warn_handler)
		mm_warn_handler(msg);
}

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			ok = false;                                       \
			if (why) {                                        \
				g_string_append_printf(why, __VA_ARGS__); \
				g_string_append_c(why, '\n');             \
			}                                                 \
		}                                                         \
	} while (0)

/* A mapping of a page by a PTE: the brute-force side of the rmap check. */
struct mapping_ref {
	uint64_t pfn;
	unsigned int mm_id;
	uint64_t addr;
};

struct pte_recount {
	struct mm_struct *mm;
	struct vm_area_struct *vma; /* the VMA being walked */
	int64_t rss[NR_MM_COUNTERS];
	GString *why;
	bool ok;
	uint64_t tables;	     /* the full walk: tables found */
	uint64_t in_vmas, in_tables; /* non-none PTEs inside VMAs, and in all tables */
	GArray *mappers;	     /* validate_vm: struct mapping_ref of every mapped page */
};

/* The checks of one PTE of vma (a walk of the VMA's range: no lookup). */
static void recount_pte(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg)
{
	struct pte_recount *r = arg;
	GString *why = r->why;
	bool ok = true;
	struct vm_area_struct *vma = r->vma;
	struct page *page;

	r->in_vmas++;
	if (!pte_present(*ptep))
		return;
	CHECK(((vma->vm_flags & VM_ACCESS_FLAGS) != 0) == ((*ptep & _PAGE_PRESENT) != 0),
	      "mm %u: PTE at %#" PRIx64 " presence disagrees with VMA protection", mm->id, addr);
	page = vm_normal_page(vma, addr, *ptep);
	if (page == NULL) {
		CHECK(!pte_write(*ptep), "mm %u: writable zero-page PTE at %#" PRIx64, mm->id,
		      addr);
		r->ok &= ok;
		return;
	}
	CHECK(page->refcount > 0, "mm %u: PTE at %#" PRIx64 " maps a free frame", mm->id, addr);
	r->rss[mm_counter(page)]++;
	/*
	 * The per-page mlock state (mm/mlock.c).  Every PTE of a VM_LOCKED
	 * VMA mlocked its page when it was made (mlock_vma_folio,
	 * mlock_new_folio) or when the VMA became locked
	 * (mlock_vma_pages_range), and the page stays mlocked while one does
	 * (__munlock_folio counts), unless the mlock batch lost an mlock, as
	 * the kernel's may (MLOCK-PAGE-2; PG_dupmm_mlock_lost).  The count
	 * lives only on the unevictable LRU, never below zero; only mlocked
	 * pages are there, and an mlocked page on the LRU is there once the
	 * batch has no entry for it.  (Not checked, because not true: that an
	 * mlocked page has a VM_LOCKED mapping; MREMAP_DONTUNMAP's source
	 * keeps its pages mlocked, MLOCK-PAGE-1.)
	 */
	CHECK((vma->vm_flags & (VM_LOCKED | VM_SPECIAL)) != VM_LOCKED ||
		      (page->flags & (PG_mlocked | PG_dupmm_mlock_lost)),
	      "mm %u: page at %#" PRIx64 " of a VM_LOCKED VMA is not PG_mlocked", mm->id, addr);
	CHECK(page->mlock_count >= 0, "mm %u: page at %#" PRIx64 " has mlock_count %d", mm->id,
	      addr, page->mlock_count);
	CHECK(page->mlock_count == 0 || (page->flags & PG_unevictable),
	      "mm %u: page at %#" PRIx64 " has mlock_count %d off the unevictable LRU", mm->id,
	      addr, page->mlock_count);
	CHECK(!(page->flags & PG_unevictable) ||
		      (page->flags & (PG_mlocked | PG_lru)) == (PG_mlocked | PG_lru),
	      "mm %u: page at %#" PRIx64 " is unevictable but not mlocked on the LRU", mm->id,
	      addr);
	CHECK((page->flags & (PG_mlocked | PG_lru | PG_unevictable)) != (PG_mlocked | PG_lru) ||
		      mlock_batch_refs(page) > 0,
	      "mm %u: page at %#" PRIx64 " is mlocked on the LRU, not unevictable, and not queued",
	      mm->id, addr);
	if (r->mappers) {
		struct mapping_ref m = { pte_pfn(*ptep), mm->id, addr };

		g_array_append_val(r->mappers, m);
	}
	if (is_cow_mapping(vma->vm_flags) && pte_write(*ptep)) {
		CHECK(PageAnon(page),
		      "mm %u: writable PTE at %#" PRIx64
		      " maps a page-cache page in a private mapping",
		      mm->id, addr);
		CHECK(page->mapcount == 1,
		      "mm %u: writable PTE at %#" PRIx64 " to a COW page mapped %d times", mm->id,
		      addr, page->mapcount);
	}
	if (PageAnon(page)) {
		struct anon_vma *av = page_anon_vma(page);
		struct anon_vma_chain *avc;
		bool on_chain = false;

		list_for_each_entry(avc, &vma->anon_vma_chain, struct anon_vma_chain, same_vma)
			on_chain |= avc->anon_vma == av;
		CHECK(on_chain,
		      "mm %u: anon page at %#" PRIx64 " has an anon_vma not on its VMA's chain",
		      mm->id, addr);
		CHECK(page->index == linear_page_index(vma, addr),
		      "mm %u: anon page at %#" PRIx64 " has index %" PRIu64 ", VMA says %" PRIu64,
		      mm->id, addr, page->index, linear_page_index(vma, addr));
	}
	r->ok &= ok;
}

/*
 * The whole-table walk of the full check: every table's count of entries
 * in use is right, and no PTE lies outside a VMA.
 */
static void check_table(struct mm_struct *mm, pte_t *table, int level, struct pte_recount *r,
			uint64_t base)
{
	GString *why = r->why;
	bool ok = true;
	int used = 0;
	uint64_t size = 1ULL << (PGDIR_SHIFT - 9 * level);
	struct page *tp = pfn_to_page(((uintptr_t)table - (uintptr_t)pfn_to_virt(0)) >> PAGE_SHIFT);

	r->tables++;
	for (int i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t addr = base + (uint64_t)i * size;

		if ((i & 7) == 0 && table_block_empty(&table[i])) {
			i += 7;
			continue;
		}
		if (pte_none(table[i]))
			continue;
		used++;
		if (level == 3) {
			r->in_tables++;
		} else if (table[i] & _PAGE_PRESENT) {
			check_table(mm, pfn_to_virt(pte_pfn(table[i])), level + 1, r, addr);
		}
	}
	CHECK(tp->mapcount == used, "mm %u: table %" PRIu64 " (level %d) counts %d entries, has %d",
	      mm->id, page_to_pfn(tp), level, tp->mapcount, used);
	r->ok &= ok;
}

static bool validate_vmas(struct mm_struct *mm, GString *why)
{
	bool ok = true;
	int count = 0;
	uint64_t prev_end = 0, total = 0, data = 0, exec = 0, stack = 0, locked = 0;

	for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma)) {
		uint64_t f = vma->vm_flags, pages = vma_pages(vma);
		struct anon_vma_chain *avc;
		bool found = vma->anon_vma == NULL;

		count++;
		CHECK(vma->vm_mm == mm, "mm %u: VMA %#" PRIx64 " belongs to another mm", mm->id,
		      vma->vm_start);
		CHECK(vma->vm_start < vma->vm_end && PAGE_ALIGNED(vma->vm_start) &&
			      PAGE_ALIGNED(vma->vm_end),
		      "mm %u: bad VMA range %#" PRIx64 "-%#" PRIx64, mm->id, vma->vm_start,
		      vma->vm_end);
		CHECK(vma->vm_start >= prev_end,
		      "mm %u: VMA %#" PRIx64 " overlaps or is out of order", mm->id, vma->vm_start);
		CHECK(vma->vm_end <= TASK_SIZE, "mm %u: VMA %#" PRIx64 " beyond TASK_SIZE", mm->id,
		      vma->vm_start);
		prev_end = vma->vm_end;
		list_for_each_entry(avc, &vma->anon_vma_chain, struct anon_vma_chain, same_vma) {
			struct anon_vma_chain *x;
			bool linked = false;

			CHECK(avc->vma == vma, "mm %u: AVC of VMA %#" PRIx64 " points elsewhere",
			      mm->id, vma->vm_start);
			found |= avc->anon_vma == vma->anon_vma;
			list_for_each_entry(x, &avc->anon_vma->rb_root, struct anon_vma_chain, rb)
				linked |= x == avc;
			CHECK(linked, "mm %u: AVC of VMA %#" PRIx64 " missing from its anon_vma",
			      mm->id, vma->vm_start);
		}
		CHECK(found, "mm %u: VMA %#" PRIx64 "'s anon_vma is not on its chain", mm->id,
		      vma->vm_start);
		CHECK(vma->anon_vma || list_empty(&vma->anon_vma_chain),
		      "mm %u: VMA %#" PRIx64 " has a chain but no anon_vma", mm->id, vma->vm_start);
		total += pages;
		if ((f & (VM_EXEC | VM_WRITE | VM_STACK)) == VM_EXEC)
			exec += pages;
		else if (f & VM_STACK)
			stack += pages;
		else if ((f & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE)
			data += pages;
		if (f & VM_LOCKED)
			locked += pages;
	}
	CHECK(count == mm->map_count, "mm %u: map_count %d, %d VMAs", mm->id, mm->map_count, count);
	CHECK(total == mm->total_vm, "mm %u: total_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id,
	      mm->total_vm, total);
	CHECK(data == mm->data_vm, "mm %u: data_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id,
	      mm->data_vm, data);
	CHECK(exec == mm->exec_vm, "mm %u: exec_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id,
	      mm->exec_vm, exec);
	CHECK(stack == mm->stack_vm, "mm %u: stack_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id,
	      mm->stack_vm, stack);
	CHECK(locked == mm->locked_vm, "mm %u: locked_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id,
	      mm->locked_vm, locked);
	return ok;
}

static void report_stray_pte(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg)
{
	struct pte_recount *r = arg;
	struct vm_area_struct *vma = find_vma(mm, addr);

	(void)ptep;
	if ((vma == NULL || vma->vm_start > addr) && r->why)
		g_string_append_printf(r->why, "mm %u: PTE at %#" PRIx64 " outside any VMA\n",
				       mm->id, addr);
}

/*
 * validate_one: the invariants one mm can check alone.  Always: its VMAs
 * and counters, and every PTE inside a VMA against it, with the RSS
 * counters recounted from them.  With tables: also every page table
 * scanned whole (entry counts, no PTE outside a VMA, VmPTE).
 */
static bool validate_one(struct mm_struct *mm, GString *why, uint64_t start, uint64_t end,
			 bool tables, uint64_t *nr_tables, GArray *mappers)
{
	struct pte_recount r = { .mm = mm, .why = why, .ok = true, .mappers = mappers };
	bool ok = validate_vmas(mm, why), all = start == 0 && end == TASK_SIZE;

	for (struct vm_area_struct *vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = vma_next(mm, vma)) {
		r.vma = vma;
		walk_ptes(mm, vma->vm_start, vma->vm_end, recount_pte, &r);
	}
	ok &= r.ok;
	/* the RSS counters add up every PTE: only a walk of them all can recount them */
	for (int i = 0; i < NR_MM_COUNTERS && all; i++)
		CHECK(r.rss[i] == mm->rss_stat[i],
		      "mm %u: RSS counter %d is %" PRId64 ", recount %" PRId64, mm->id, i,
		      mm->rss_stat[i], r.rss[i]);
	if (tables && mm->pgd) {
		r.ok = true;
		check_table(mm, pfn_to_virt(mm->pgd), 0, &r, 0);
		ok &= r.ok;
		/* every PTE in the tables lies in a VMA iff the two counts agree */
		if (r.in_tables != r.in_vmas) {
			ok = false;
			walk_ptes(mm, 0, TASK_SIZE, report_stray_pte, &r);
		}
		CHECK((int64_t)(r.tables - 1) * (int64_t)PAGE_SIZE == mm->pgtables_bytes,
		      "mm %u: pgtables_bytes %" PRId64 ", %" PRIu64 " tables below the pgd", mm->id,
		      mm->pgtables_bytes, r.tables - 1);
		if (nr_tables)
			*nr_tables += r.tables;
	}
	return ok;
}

/*
 * validate_mm: one mm's VMAs, counters and the PTEs its VMAs cover (as
 * CONFIG_DEBUG_VM's validate_mm checks the VMA tree after each change);
 * cheap enough to run after every call.
 */
bool validate_mm(struct mm_struct *mm, GString *why)
{
	return validate_one(mm, why, 0, TASK_SIZE, false, NULL, NULL);
}

/*
 * validate_mm_range: the VMAs and counters, and the PTEs of the VMAs that
 * meet [start, end) only; the RSS counters, which every PTE makes up, are
 * left to validate_mm (unless the range is all of it).  For a checker that
 * knows what a call touched.
 */
bool validate_mm_range(struct mm_struct *mm, uint64_t start, uint64_t end, GString *why)
{
	return validate_one(mm, why, start, end, false, NULL, NULL);
}

static gint cmp_mapping(gconstpointer a, gconstpointer b)
{
	const struct mapping_ref *x = a, *y = b;

	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	if (x->mm_id != y->mm_id)
		return x->mm_id < y->mm_id ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The rmap side: what rmap_walk finds mapping the page. */
static bool rmap_collect(struct page *page, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	GArray *seen = arg;
	pte_t pte = mm_lookup_pte(vma->vm_mm, addr);

	if (pte_present(pte) && pte_pfn(pte) == page_to_pfn(page)) {
		struct mapping_ref m = { page_to_pfn(page), vma->vm_mm->id, addr };

		g_array_append_val(seen, m);
	}
	return true;
}

static void add_cached(uint64_t pfn, void *arg)
{
	struct mapping_ref m = { pfn, 0, 0 };

	g_array_append_val((GArray *)arg, m);
}

/* One page's mappers (sorted, n of them): counts, and the rmap walk finds exactly them. */
static bool check_page_mappers(const struct mapping_ref *list, guint n, GArray *seen, GString *why)
{
	struct page *page = pfn_to_page(list[0].pfn);
	uint64_t pfn = list[0].pfn;
	bool ok = true;

	CHECK(page->mapcount == (int)n, "pfn %" PRIu64 ": mapcount %d, mapped by %u PTEs", pfn,
	      page->mapcount, n);
	CHECK(page->refcount >= page->mapcount, "pfn %" PRIu64 ": refcount %d < mapcount %d", pfn,
	      page->refcount, page->mapcount);
	CHECK(!(page->flags & PG_anon_exclusive) || page->mapcount == 1,
	      "pfn %" PRIu64 ": AnonExclusive but mapped %d times", pfn, page->mapcount);
	if (PageAnon(page))
		CHECK(page->refcount == page->mapcount,
		      "pfn %" PRIu64 ": anon refcount %d, mapcount %d", pfn, page->refcount,
		      page->mapcount);
	g_array_set_size(seen, 0);
	rmap_walk(page, rmap_collect, seen);
	g_array_sort(seen, cmp_mapping);
	for (guint k = 0, x = 0; k < n; k++) {
		while (x < seen->len &&
		       cmp_mapping(&g_array_index(seen, struct mapping_ref, x), &list[k]) < 0)
			x++;
		CHECK(x < seen->len && cmp_mapping(&g_array_index(seen, struct mapping_ref, x),
						   &list[k]) == 0,
		      "pfn %" PRIu64 ": rmap walk misses the mapping at mm %u:%#" PRIx64, pfn,
		      list[k].mm_id, list[k].addr);
	}
	CHECK(seen->len == n, "pfn %" PRIu64 ": rmap walk finds %u mappings, page tables %u", pfn,
	      seen->len, n);
	return ok;
}

/*
 * validate_vm: every live mm, whole, then what only all of them together
 * determine: each page's mapcount equals the PTEs mapping it, its
 * refcount covers them, the rmap walk finds exactly those PTEs, each
 * anon_vma's num_active_vmas equals the VMAs using it, and every frame in
 * use is accounted for.  Sorted arrays rather than hash tables: it runs
 * after every fuzzed call in the slow mode.
 */
bool validate_vm(GString *why)
{
	GArray *mappers = g_array_new(FALSE, FALSE, sizeof(struct mapping_ref));
	GArray *seen = g_array_new(FALSE, FALSE, sizeof(struct mapping_ref));
	GHashTable *active = g_hash_table_new(g_direct_hash, g_direct_equal);
	GHashTableIter it;
	gpointer k, v;
	bool ok = true;
	uint64_t tables = 0, distinct = 0;

	for (GList *l = mm_list; l; l = l->next) {
		struct mm_struct *mm = l->data;
		ok &= validate_one(mm, why, 0, TASK_SIZE, true, &tables, mappers);
		for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma)) {
			if (vma->anon_vma)
				g_hash_table_insert(
					active, vma->anon_vma,
					GSIZE_TO_POINTER(GPOINTER_TO_SIZE(g_hash_table_lookup(
								 active, vma->anon_vma)) +
							 1));
		}
	}
	g_array_sort(mappers, cmp_mapping);
	for (guint a = 0, b; a < mappers->len; a = b) {
		const struct mapping_ref *list = &g_array_index(mappers, struct mapping_ref, a);

		for (b = a + 1; b < mappers->len &&
				g_array_index(mappers, struct mapping_ref, b).pfn == list->pfn;
		     b++)
			;
		ok &= check_page_mappers(list, b - a, seen, why);
	}
	g_hash_table_iter_init(&it, active);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct anon_vma *av = k;

		CHECK(av->num_active_vmas == GPOINTER_TO_SIZE(v),
		      "anon_vma %u: num_active_vmas %u, %zu VMAs use it", av->id,
		      av->num_active_vmas, GPOINTER_TO_SIZE(v));
	}
	/* frames in use = tables (pgds too) + the distinct pages mapped or cached */
	filemap_for_each_cached(add_cached, mappers);
	g_array_sort(mappers, cmp_mapping);
	for (guint a = 0; a < mappers->len; a++)
		distinct += a == 0 || g_array_index(mappers, struct mapping_ref, a).pfn !=
					      g_array_index(mappers, struct mapping_ref, a - 1).pfn;
	CHECK(phys_nr_used() == tables + distinct,
	      "%" PRIu64 " frames in use, %" PRIu64 " tables and %" PRIu64
	      " mapped or cached pages account for them",
	      phys_nr_used(), tables, distinct);
	g_hash_table_destroy(active);
	g_array_unref(seen);
	g_array_unref(mappers);
	return ok;
}

void dump_mm(struct mm_struct *mm, GString *out)
{
	g_string_append_printf(out,
			       "mm %u: map_count %d total_vm %" PRIu64 " locked_vm %" PRIu64
			       " rss anon %" PRId64 " file %" PRId64 " shmem %" PRId64 "\n",
			       mm->id, mm->map_count, mm->total_vm, mm->locked_vm,
			       mm->rss_stat[MM_ANONPAGES], mm->rss_stat[MM_FILEPAGES],
			       mm->rss_stat[MM_SHMEMPAGES]);
	for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma))
		g_string_append_printf(out,
				       "  vma %#" PRIx64 "-%#" PRIx64 " flags %#" PRIx64
				       " pgoff %#" PRIx64 " anon_vma %u\n",
				       vma->vm_start, vma->vm_end, vma->vm_flags, vma->vm_pgoff,
				       vma->anon_vma ? vma->anon_vma->id : 0);
}

/* dump_anon_vmas: each VMA's chain, newest first, with the counters. */
void dump_anon_vmas(struct mm_struct *mm, GString *out)
{
	for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma)) {
		struct anon_vma_chain *avc;

		g_string_append_printf(out, "%08" PRIx64 "-%08" PRIx64 " anon_vma=%s",
				       vma->vm_start, vma->vm_end, vma->anon_vma ? "" : "none");
		if (vma->anon_vma)
			g_string_append_printf(out, "av%u", vma->anon_vma->id);
		g_string_append(out, " chain:");
		list_for_each_entry(avc, &vma->anon_vma_chain, struct anon_vma_chain, same_vma) {
			struct anon_vma *av = avc->anon_vma;

			g_string_append_printf(
				out,
				" av%u(root av%u, parent av%u, children %u, active %u, refs %d)",
				av->id, av->root->id, av->parent->id, av->num_children,
				av->num_active_vmas, av->refcount);
		}
		g_string_append_c(out, '\n');
	}
}
