/*
 * Invariant checks and dumps, after mm/debug.c and validate_mm() in
 * mm/vma.c (CONFIG_DEBUG_VM).  The tests and `replay --check` run them
 * after every operation.
 */
#include <inttypes.h>

#include "internal.h"

unsigned long mm_warn_count;
mm_warn_fn mm_warn_handler;

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

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			ok = false;                                            \
			if (why) {                                             \
				g_string_append_printf(why, __VA_ARGS__);      \
				g_string_append_c(why, '\n');                  \
			}                                                      \
		}                                                              \
	} while (0)

struct pte_recount {
	struct mm_struct *mm;
	int64_t rss[NR_MM_COUNTERS];
	GHashTable *mapcounts;	/* pfn -> PTEs mapping it, over all mms */
	GHashTable *table_use;	/* table pfn -> entries in use (PTE level) */
	GString *why;
	bool ok;
};

static void recount_pte(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg)
{
	struct pte_recount *r = arg;
	GString *why = r->why;
	bool ok = true;
	struct vm_area_struct *vma = find_vma(mm, addr);
	struct page *page;

	CHECK(vma && vma->vm_start <= addr, "mm %u: PTE at %#" PRIx64 " outside any VMA", mm->id, addr);
	if (!ok || !pte_present(*ptep)) {
		r->ok &= ok;
		return;
	}
	CHECK(((vma->vm_flags & VM_ACCESS_FLAGS) != 0) == ((*ptep & _PAGE_PRESENT) != 0),
	      "mm %u: PTE at %#" PRIx64 " presence disagrees with VMA protection", mm->id, addr);
	page = vm_normal_page(vma, addr, *ptep);
	if (page == NULL) {
		CHECK(!pte_write(*ptep), "mm %u: writable zero-page PTE at %#" PRIx64, mm->id, addr);
		r->ok &= ok;
		return;
	}
	CHECK(page->refcount > 0, "mm %u: PTE at %#" PRIx64 " maps a free frame", mm->id, addr);
	r->rss[mm_counter_of(page)]++;
	{
		uint64_t pfn = page_to_pfn(page);
		gpointer key = GSIZE_TO_POINTER(pfn);

		g_hash_table_insert(r->mapcounts, key,
				    GSIZE_TO_POINTER(GPOINTER_TO_SIZE(g_hash_table_lookup(r->mapcounts, key)) + 1));
	}
	if (is_cow_mapping(vma->vm_flags) && pte_write(*ptep)) {
		CHECK(PageAnon(page), "mm %u: writable PTE at %#" PRIx64 " maps a page-cache page in a private mapping", mm->id, addr);
		CHECK(page->mapcount == 1, "mm %u: writable PTE at %#" PRIx64 " to a COW page mapped %d times", mm->id, addr, page->mapcount);
	}
	if (PageAnon(page)) {
		struct anon_vma *av = page_anon_vma(page);
		struct anon_vma_chain *avc;
		bool on_chain = false;

		list_for_each_entry(avc, &vma->anon_vma_chain, struct anon_vma_chain, same_vma)
			on_chain |= avc->anon_vma == av;
		CHECK(on_chain, "mm %u: anon page at %#" PRIx64 " has an anon_vma not on its VMA's chain", mm->id, addr);
		CHECK(page->index == linear_page_index(vma, addr),
		      "mm %u: anon page at %#" PRIx64 " has index %" PRIu64 ", VMA says %" PRIu64,
		      mm->id, addr, page->index, linear_page_index(vma, addr));
	}
	r->ok &= ok;
}

static void count_table_use(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg)
{
	struct pte_recount *r = arg;
	uintptr_t base = (uintptr_t)page_address(pfn_to_page(0));
	gpointer key = GSIZE_TO_POINTER(((uintptr_t)ptep - base) >> PAGE_SHIFT);

	(void)mm;
	(void)addr;
	g_hash_table_insert(r->table_use, key,
			    GSIZE_TO_POINTER(GPOINTER_TO_SIZE(g_hash_table_lookup(r->table_use, key)) + 1));
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
		CHECK(vma->vm_mm == mm, "mm %u: VMA %#" PRIx64 " belongs to another mm", mm->id, vma->vm_start);
		CHECK(vma->vm_start < vma->vm_end && PAGE_ALIGNED(vma->vm_start) && PAGE_ALIGNED(vma->vm_end),
		      "mm %u: bad VMA range %#" PRIx64 "-%#" PRIx64, mm->id, vma->vm_start, vma->vm_end);
		CHECK(vma->vm_start >= prev_end, "mm %u: VMA %#" PRIx64 " overlaps or is out of order", mm->id, vma->vm_start);
		CHECK(vma->vm_end <= TASK_SIZE, "mm %u: VMA %#" PRIx64 " beyond TASK_SIZE", mm->id, vma->vm_start);
		prev_end = vma->vm_end;
		list_for_each_entry(avc, &vma->anon_vma_chain, struct anon_vma_chain, same_vma) {
			struct anon_vma_chain *x;
			bool linked = false;

			CHECK(avc->vma == vma, "mm %u: AVC of VMA %#" PRIx64 " points elsewhere", mm->id, vma->vm_start);
			found |= avc->anon_vma == vma->anon_vma;
			list_for_each_entry(x, &avc->anon_vma->rb_root, struct anon_vma_chain, rb)
				linked |= x == avc;
			CHECK(linked, "mm %u: AVC of VMA %#" PRIx64 " missing from its anon_vma", mm->id, vma->vm_start);
		}
		CHECK(found, "mm %u: VMA %#" PRIx64 "'s anon_vma is not on its chain", mm->id, vma->vm_start);
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
	CHECK(total == mm->total_vm, "mm %u: total_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id, mm->total_vm, total);
	CHECK(data == mm->data_vm, "mm %u: data_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id, mm->data_vm, data);
	CHECK(exec == mm->exec_vm, "mm %u: exec_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id, mm->exec_vm, exec);
	CHECK(stack == mm->stack_vm, "mm %u: stack_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id, mm->stack_vm, stack);
	CHECK(locked == mm->locked_vm, "mm %u: locked_vm %" PRIu64 ", VMAs add to %" PRIu64, mm->id, mm->locked_vm, locked);
	return ok;
}

static gboolean check_table_use(gpointer key, gpointer value, gpointer arg)
{
	struct pte_recount *r = arg;
	struct page *t = pfn_to_page(GPOINTER_TO_SIZE(key));
	GString *why = r->why;
	bool ok = true;

	CHECK(t->mapcount == (int)GPOINTER_TO_SIZE(value), "mm %u: table %zu counts %d entries, has %zu",
	      r->mm->id, GPOINTER_TO_SIZE(key), t->mapcount, GPOINTER_TO_SIZE(value));
	r->ok &= ok;
	return FALSE;
}

/* validate_mm: the invariants one mm can check alone. */
static bool validate_one(struct mm_struct *mm, GString *why, GHashTable *mapcounts)
{
	struct pte_recount r = { .mm = mm, .mapcounts = mapcounts, .why = why, .ok = true };
	bool ok = validate_vmas(mm, why);
	uint64_t tables = pgtables_count(mm);

	walk_ptes(mm, 0, TASK_SIZE, recount_pte, &r);
	ok &= r.ok;
	r.table_use = g_hash_table_new(g_direct_hash, g_direct_equal);
	walk_ptes(mm, 0, TASK_SIZE, count_table_use, &r);
	g_hash_table_find(r.table_use, check_table_use, &r);
	ok &= r.ok;
	g_hash_table_destroy(r.table_use);
	for (int i = 0; i < NR_MM_COUNTERS; i++)
		CHECK(r.rss[i] == mm->rss_stat[i], "mm %u: RSS counter %d is %" PRId64 ", recount %" PRId64,
		      mm->id, i, mm->rss_stat[i], r.rss[i]);
	CHECK((int64_t)(tables - 1) * (int64_t)PAGE_SIZE == mm->pgtables_bytes,
	      "mm %u: pgtables_bytes %" PRId64 ", %" PRIu64 " tables below the pgd", mm->id,
	      mm->pgtables_bytes, tables - 1);
	return ok;
}

bool validate_mm(struct mm_struct *mm, GString *why)
{
	GHashTable *mapcounts = g_hash_table_new(g_direct_hash, g_direct_equal);
	bool ok = validate_one(mm, why, mapcounts);

	g_hash_table_destroy(mapcounts);
	return ok;
}

struct rmap_check {
	GHashTable *seen;	/* "mm:addr" found by the rmap walk */
	struct page *page;
};

static bool rmap_collect(struct page *page, struct vm_area_struct *vma, uint64_t addr, void *arg)
{
	struct rmap_check *c = arg;
	pte_t pte = mm_lookup_pte(vma->vm_mm, addr);

	if (pte_present(pte) && pte_pfn(pte) == page_to_pfn(page))
		g_hash_table_add(c->seen, g_strdup_printf("%u:%" PRIx64, vma->vm_mm->id, addr));
	return true;
}

/* The brute-force side: every PTE of every mm that maps a page. */
static void collect_mappers(struct mm_struct *mm, uint64_t addr, pte_t *ptep, void *arg)
{
	GHashTable *mappers = arg;
	struct vm_area_struct *vma;
	GPtrArray *list;
	gpointer key;

	if (!pte_present(*ptep) || (vma = find_vma(mm, addr)) == NULL ||
	    vm_normal_page(vma, addr, *ptep) == NULL)
		return;
	key = GSIZE_TO_POINTER(pte_pfn(*ptep));
	list = g_hash_table_lookup(mappers, key);
	if (list == NULL) {
		list = g_ptr_array_new_with_free_func(g_free);
		g_hash_table_insert(mappers, key, list);
	}
	g_ptr_array_add(list, g_strdup_printf("%u:%" PRIx64, mm->id, addr));
}

static void add_cached(uint64_t pfn, void *arg)
{
	g_hash_table_add(arg, GSIZE_TO_POINTER(pfn));
}

/*
 * validate_vm: every live mm, then what only all of them together
 * determine: each page's mapcount equals the PTEs mapping it, its
 * refcount covers them, the rmap walk finds exactly those PTEs, each
 * anon_vma's num_active_vmas equals the VMAs using it, and every frame in
 * use is accounted for.
 */
bool validate_vm(GString *why)
{
	GHashTable *mapcounts = g_hash_table_new(g_direct_hash, g_direct_equal);
	GHashTable *mappers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
						    (GDestroyNotify)g_ptr_array_unref);
	GHashTable *active = g_hash_table_new(g_direct_hash, g_direct_equal);
	GHashTableIter it;
	gpointer k, v;
	bool ok = true;
	GHashTable *pages = g_hash_table_new(g_direct_hash, g_direct_equal);	/* mapped or cached */
	uint64_t tables = 0;

	for (GList *l = mm_list; l; l = l->next) {
		struct mm_struct *mm = l->data;

		ok &= validate_one(mm, why, mapcounts);
		walk_ptes(mm, 0, TASK_SIZE, collect_mappers, mappers);
		tables += pgtables_count(mm);
		for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma))
			if (vma->anon_vma)
				g_hash_table_insert(active, vma->anon_vma,
						    GSIZE_TO_POINTER(GPOINTER_TO_SIZE(g_hash_table_lookup(active, vma->anon_vma)) + 1));
	}
	g_hash_table_iter_init(&it, mappers);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct page *page = pfn_to_page(GPOINTER_TO_SIZE(k));
		GPtrArray *list = v;
		struct rmap_check c = { g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), page };

		CHECK(page->mapcount == (int)list->len, "pfn %zu: mapcount %d, mapped by %u PTEs",
		      GPOINTER_TO_SIZE(k), page->mapcount, list->len);
		CHECK(page->refcount >= page->mapcount, "pfn %zu: refcount %d < mapcount %d",
		      GPOINTER_TO_SIZE(k), page->refcount, page->mapcount);
		CHECK(!(page->flags & PG_anon_exclusive) || page->mapcount == 1,
		      "pfn %zu: AnonExclusive but mapped %d times", GPOINTER_TO_SIZE(k), page->mapcount);
		rmap_walk(page, rmap_collect, &c);
		for (guint i = 0; i < list->len; i++)
			CHECK(g_hash_table_contains(c.seen, list->pdata[i]),
			      "pfn %zu: rmap walk misses the mapping at %s", GPOINTER_TO_SIZE(k),
			      (char *)list->pdata[i]);
		CHECK(g_hash_table_size(c.seen) == list->len, "pfn %zu: rmap walk finds %u mappings, page tables %u",
		      GPOINTER_TO_SIZE(k), g_hash_table_size(c.seen), list->len);
		g_hash_table_destroy(c.seen);
		if (!PageAnon(page))
			continue;
		CHECK(page->refcount == page->mapcount, "pfn %zu: anon refcount %d, mapcount %d",
		      GPOINTER_TO_SIZE(k), page->refcount, page->mapcount);
	}
	g_hash_table_iter_init(&it, active);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct anon_vma *av = k;

		CHECK(av->num_active_vmas == GPOINTER_TO_SIZE(v), "anon_vma %u: num_active_vmas %u, %zu VMAs use it",
		      av->id, av->num_active_vmas, GPOINTER_TO_SIZE(v));
	}
	/* frames in use = tables (pgds too) + the distinct pages mapped or cached */
	g_hash_table_iter_init(&it, mappers);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_add(pages, k);
	filemap_for_each_cached(add_cached, pages);
	CHECK(phys_nr_used() == tables + g_hash_table_size(pages),
	      "%" PRIu64 " frames in use, %" PRIu64 " tables and %u mapped or cached pages account for them",
	      phys_nr_used(), tables, g_hash_table_size(pages));
	g_hash_table_destroy(pages);
	g_hash_table_destroy(active);
	g_hash_table_destroy(mappers);
	g_hash_table_destroy(mapcounts);
	return ok;
}

void dump_mm(struct mm_struct *mm, GString *out)
{
	g_string_append_printf(out, "mm %u: map_count %d total_vm %" PRIu64 " locked_vm %" PRIu64
			       " rss anon %" PRId64 " file %" PRId64 " shmem %" PRId64 "\n",
			       mm->id, mm->map_count, mm->total_vm, mm->locked_vm,
			       mm->rss_stat[MM_ANONPAGES], mm->rss_stat[MM_FILEPAGES],
			       mm->rss_stat[MM_SHMEMPAGES]);
	for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma))
		g_string_append_printf(out, "  vma %#" PRIx64 "-%#" PRIx64 " flags %#" PRIx64
				       " pgoff %#" PRIx64 " anon_vma %u\n",
				       vma->vm_start, vma->vm_end, vma->vm_flags, vma->vm_pgoff,
				       vma->anon_vma ? vma->anon_vma->id : 0);
}

/* dump_anon_vmas: each VMA's chain, newest first, with the counters. */
void dump_anon_vmas(struct mm_struct *mm, GString *out)
{
	for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma)) {
		struct anon_vma_chain *avc;

		g_string_append_printf(out, "%08" PRIx64 "-%08" PRIx64 " anon_vma=%s", vma->vm_start,
				       vma->vm_end, vma->anon_vma ? "" : "none");
		if (vma->anon_vma)
			g_string_append_printf(out, "av%u", vma->anon_vma->id);
		g_string_append(out, " chain:");
		list_for_each_entry(avc, &vma->anon_vma_chain, struct anon_vma_chain, same_vma) {
			struct anon_vma *av = avc->anon_vma;

			g_string_append_printf(out, " av%u(root av%u, parent av%u, children %u, active %u, refs %d)",
					       av->id, av->root->id, av->parent->id, av->num_children,
					       av->num_active_vmas, av->refcount);
		}
		g_string_append_c(out, '\n');
	}
}
