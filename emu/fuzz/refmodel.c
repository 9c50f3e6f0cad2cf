/*
 * The reference model: see refmodel.h.  Written from the syscalls' man
 * pages and the kernel's syscall entry points (do_mmap, do_mprotect_pkey,
 * madvise_walk_vmas and the madvise_* visitors, apply_vma_lock_flags and
 * __mm_populate, dup_mmap's per-VMA rules), restated page by page.  It
 * includes nothing of mm/ and keeps its own names on purpose: where it and
 * mm/ disagree, one of them misread the kernel, and the host decides.
 *
 * An address space is an array of pages over the window.  A page is
 * either unmapped or mapped with flags (the smaps VmFlags it would show),
 * maybe a guard marker, maybe a backing object (a file, or the shmem
 * segment of a MAP_SHARED|MAP_ANONYMOUS mapping) at an offset, and maybe
 * private data: the page's own bytes once written.  Private data is
 * shared between address spaces after fork, exactly where the kernel
 * shares a physical page, because two rules depend on that sharing: a
 * write to shared data copies it first (that is COW, as seen from
 * outside), and MADV_FREE and MADV_PAGEOUT act only on data no other
 * address space maps.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include <dupmm/uapi.h>

#include "refmodel.h"

#define PG		REF_PAGE_SIZE
#define REF_MAX_PAGES	1024 /* the largest window */
#define TASK_TOP	0x7ffffffff000ULL
#define STACK_GUARD_GAP (256ULL * PG) /* the kernel's default stack_guard_gap */

const char *const ref_flag_names[NR_REF_FLAGS] = {
	"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "lo", "sr",
	"rr", "dc", "lf", "ac", "nr", "wf", "dd", "hg", "nh", "mg",
};

#define F(x)	  RFB(RF_##x)
#define ACCESS	  (F(RD) | F(WR) | F(EX))
#define LOCK_BITS (F(LO) | F(LF))

struct rdata {
	int refs;      /* address spaces mapping these bytes */
	bool lazyfree; /* MADV_FREE'd and not written since */
	uint8_t b[PG];
};

struct robj {
	bool file;
	unsigned int npages;  /* pages that exist: beyond them, SIGBUS */
	struct rdata **pages; /* shmem: its pages (NULL: zeroes) */
	uint8_t *fbytes;      /* file: its contents, padded to npages */
};

struct rpage {
	bool mapped, guard;
	bool dirty;	/* written through this mapping since MADV_FREE cleaned it */
	bool droppable; /* MAP_DROPPABLE: never locked; reclaim drops it, written or not */
	uint32_t flags;
	struct robj *obj; /* file or shmem behind the page, or NULL */
	uint64_t pgoff;
	struct rdata *data; /* a private page's own bytes, or NULL */
};

struct rspace {
	int refs;		 /* processes using it (CLONE_VM, vfork) */
	uint32_t def_flags;	 /* mlockall(MCL_FUTURE): lo, lf for new mappings */
	uint64_t start_brk, brk; /* the heap: [start_brk, brk) */
	struct rpage *pages;
	uint64_t *dirty;
};

struct rfd {
	struct robj *obj;
	bool writable;
};

struct rproc {
	int pid;
	struct rspace *space;
	GHashTable *fds; /* fd -> struct rfd * */
};

struct ref_model {
	uint64_t base;
	unsigned int npages;
	char *dir;
	struct ref_kernel_view view; /* zeroes: none */
	GHashTable *procs;	     /* pid -> struct rproc * */
	GPtrArray *spaces;	     /* live struct rspace * */
	GPtrArray *objs;	     /* struct robj *, all freed at the end */
	GByteArray *read;
	struct rproc *last; /* ref_view's last process */
};

/* ---- data ---- */

static struct rdata *data_new(const uint8_t *from)
{
	struct rdata *d = g_new(struct rdata, 1);

	d->refs = 1;
	d->lazyfree = false;
	if (from)
		memcpy(d->b, from, PG);
	else
		memset(d->b, 0, PG);
	return d;
}

static void data_put(struct rdata *d)
{
	if (d && --d->refs == 0)
		g_free(d);
}

static void obj_free(gpointer p)
{
	struct robj *o = p;

	for (unsigned int i = 0; o->pages && i < o->npages; i++)
		data_put(o->pages[i]);
	g_free(o->pages);
	g_free(o->fbytes);
	g_free(o);
}

static struct robj *shmem_new(struct ref_model *m, unsigned int npages)
{
	struct robj *o = g_new0(struct robj, 1);

	o->npages = npages;
	o->pages = g_new0(struct rdata *, npages);
	g_ptr_array_add(m->objs, o);
	return o;
}

/* ---- address spaces ---- */

static struct rspace *space_new(struct ref_model *m)
{
	struct rspace *s = g_new0(struct rspace, 1);

	s->refs = 1;
	s->pages = g_new0(struct rpage, m->npages);
	s->dirty = g_new0(uint64_t, (m->npages + 63) / 64);
	g_ptr_array_add(m->spaces, s);
	return s;
}

static void mark(struct ref_model *m, struct rspace *s, unsigned int i)
{
	(void)m;
	s->dirty[i / 64] |= 1ULL << (i % 64);
}

static void page_clear(struct rpage *p)
{
	data_put(p->data);
	memset(p, 0, sizeof(*p));
}

static void space_put(struct ref_model *m, struct rspace *s)
{
	if (--s->refs)
		return;
	for (unsigned int i = 0; i < m->npages; i++)
		page_clear(&s->pages[i]);
	g_ptr_array_remove_fast(m->spaces, s);
	g_free(s->pages);
	g_free(s->dirty);
	g_free(s);
}

static void proc_free(gpointer p)
{
	struct rproc *pr = p;

	g_hash_table_destroy(pr->fds);
	g_free(pr);
}

static struct rproc *proc_new(struct ref_model *m, int pid, struct rspace *s, GHashTable *fds_from)
{
	struct rproc *p = g_new0(struct rproc, 1);

	p->pid = pid;
	p->space = s;
	p->fds = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	if (fds_from) {
		GHashTableIter it;
		gpointer k, v;

		g_hash_table_iter_init(&it, fds_from);
		while (g_hash_table_iter_next(&it, &k, &v))
			g_hash_table_insert(p->fds, k, g_memdup2(v, sizeof(struct rfd)));
	}
	g_hash_table_insert(m->procs, GINT_TO_POINTER(pid), p);
	return p;
}

struct ref_model *ref_new(uint64_t base, unsigned int npages, const char *dir,
			  const struct ref_kernel_view *view)
{
	struct ref_model *m = g_new0(struct ref_model, 1);

	g_assert(npages <= REF_MAX_PAGES);
	m->base = base;
	m->npages = npages;
	m->dir = g_strdup(dir ? dir : ".");
	if (view)
		m->view = *view;
	m->procs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, proc_free);
	m->spaces = g_ptr_array_new();
	m->objs = g_ptr_array_new_with_free_func(obj_free);
	m->read = g_byte_array_new();
	return m;
}

void ref_free(struct ref_model *m)
{
	GHashTableIter it;
	gpointer k, v;

	if (m == NULL)
		return;
	g_hash_table_iter_init(&it, m->procs);
	while (g_hash_table_iter_next(&it, &k, &v))
		space_put(m, ((struct rproc *)v)->space);
	g_hash_table_destroy(m->procs);
	g_ptr_array_unref(m->spaces);
	g_ptr_array_unref(m->objs);
	g_byte_array_unref(m->read);
	g_free(m->dir);
	g_free(m);
}

uint64_t ref_base(const struct ref_model *m) { return m->base; }
unsigned int ref_npages(const struct ref_model *m) { return m->npages; }

static gint cmp_int(gconstpointer a, gconstpointer b) { return *(const int *)a - *(const int *)b; }

unsigned int ref_pids(const struct ref_model *m, int *pids, unsigned int max)
{
	GHashTableIter it;
	gpointer k, v;
	unsigned int n = 0;

	g_hash_table_iter_init(&it, m->procs);
	while (g_hash_table_iter_next(&it, &k, &v) && n < max)
		pids[n++] = GPOINTER_TO_INT(k);
	qsort(pids, n, sizeof(int), cmp_int);
	return n;
}

const uint64_t *ref_dirty_bits(const struct ref_model *m, int pid)
{
	struct rproc *p = g_hash_table_lookup(m->procs, GINT_TO_POINTER(pid));

	return p ? p->space->dirty : NULL;
}

void ref_clear_dirty(struct ref_model *m)
{
	for (guint i = 0; i < m->spaces->len; i++) {
		struct rspace *s = m->spaces->pdata[i];

		memset(s->dirty, 0, ((m->npages + 63) / 64) * sizeof(uint64_t));
	}
}

/* ---- what a page reads ---- */

static bool is_shared(const struct rpage *p) { return (p->flags & F(MS)) != 0; }

/*
 * The bytes of a mapped page (NULL for zeroes), or -EIO where a read is
 * SIGBUS: past the end of its file or shmem segment.
 */
static int page_bytes(const struct rpage *p, const uint8_t **out)
{
	if (p->data && !is_shared(p)) {
		*out = p->data->b;
		return 0;
	}
	if (p->obj == NULL) {
		*out = NULL;
		return 0;
	}
	if (p->pgoff >= p->obj->npages)
		return -EIO;
	if (p->obj->pages && p->obj->pages[p->pgoff])
		*out = p->obj->pages[p->pgoff]->b; /* shmem, or a file page written or punched */
	else
		*out = p->obj->file ? p->obj->fbytes + p->pgoff * PG : NULL;
	return 0;
}

static struct rproc *proc_cached(struct ref_model *m, int pid)
{
	if (m->last == NULL || m->last->pid != pid)
		m->last = g_hash_table_lookup(m->procs, GINT_TO_POINTER(pid));
	return m->last;
}

bool ref_mapped(struct ref_model *m, int pid, unsigned int i)
{
	struct rproc *pr = proc_cached(m, pid);

	return pr && i < m->npages && pr->space->pages[i].mapped;
}

unsigned int ref_next_mapped(struct ref_model *m, int pid, unsigned int i)
{
	struct rproc *pr = proc_cached(m, pid);

	while (pr && i < m->npages && !pr->space->pages[i].mapped)
		i++;
	return pr ? i : m->npages;
}

bool ref_view(struct ref_model *m, int pid, unsigned int i, struct ref_view *v)
{
	struct rproc *pr;
	const struct rpage *p;

	pr = proc_cached(m, pid); /* one lookup per process for a page-by-page compare */

	if (pr == NULL || i >= m->npages)
		return false;
	p = &pr->space->pages[i];
	memset(v, 0, sizeof(*v));
	v->mapped = p->mapped;
	v->guard = p->guard;
	v->flags = p->flags;
	if (!p->mapped || p->guard || !(p->flags & ACCESS))
		v->read_fault = -EFAULT;
	else
		v->read_fault = page_bytes(p, &v->bytes);
	return true;
}

/* Mark every address space's page that maps page pgoff of o: a shared write. */
static void mark_obj_page(struct ref_model *m, const struct robj *o, uint64_t pgoff)
{
	for (guint s = 0; s < m->spaces->len; s++) {
		struct rspace *sp = m->spaces->pdata[s];

		for (unsigned int i = 0; i < m->npages; i++)
			if (sp->pages[i].mapped && sp->pages[i].obj == o &&
			    sp->pages[i].pgoff == pgoff)
				mark(m, sp, i);
	}
}

/*
 * The bytes a write to page i lands in: the shared object's page, or the
 * page's own private data, copied first if another address space maps it
 * (COW) or if there is none yet (the first write to the page).
 */
static uint8_t *write_target(struct ref_model *m, struct rspace *s, unsigned int i)
{
	struct rpage *p = &s->pages[i];
	const uint8_t *cur = NULL;

	if (is_shared(p)) {
		struct rdata **slot;

		if (p->obj->pages == NULL) /* a file's first write: its pages start as the file */
			p->obj->pages = g_new0(struct rdata *, p->obj->npages);
		slot = &p->obj->pages[p->pgoff];
		if (*slot == NULL)
			*slot = data_new(p->obj->file ? p->obj->fbytes + p->pgoff * PG : NULL);
		mark_obj_page(m, p->obj, p->pgoff);
		return (*slot)->b;
	}
	mark(m, s, i);
	p->dirty = true;
	if (p->data && p->data->refs == 1)
		return p->data->b;
	page_bytes(p, &cur);
	{
		struct rdata *d = data_new(cur);

		data_put(p->data);
		p->data = d;
		return d->b;
	}
}

/* A write fault that breaks COW without writing (populate, FOLL_WRITE). */
static void break_cow(struct ref_model *m, struct rspace *s, unsigned int i)
{
	struct rpage *p = &s->pages[i];

	if (!is_shared(p) && p->data && p->data->refs > 1) {
		struct rdata *d = data_new(p->data->b);

		data_put(p->data);
		p->data = d;
		p->dirty = true; /* a write fault made the copy */
		mark(m, s, i);
	}
}

/* ---- arguments ---- */

/* A call as the model takes it: its registers, and the log's record for what only the log says. */
struct ref_call {
	const struct strace_record *r;
	const struct sys_args *args;
	const uint64_t *a; /* args->a */
	long model_ret;	   /* the simulated kernel's result, for the delegated cases */
};

static uint64_t page_align(uint64_t len) { return (len + PG - 1) & ~(uint64_t)(PG - 1); }

/*
 * The window pages a byte range [start, end) covers, clipped: pages
 * outside the window are never mapped (ref_step refuses calls that would
 * map them), so clipping loses nothing.
 */
static bool window_range(const struct ref_model *m, uint64_t start, uint64_t end,
			 unsigned int *first, unsigned int *last)
{
	uint64_t top = m->base + (uint64_t)m->npages * PG;

	if (end <= m->base || start >= top || end <= start)
		return false;
	*first = (unsigned int)((MAX(start, m->base) - m->base) / PG);
	*last = (unsigned int)((MIN(end, top) - m->base + PG - 1) / PG);
	return true;
}

static bool inside_window(const struct ref_model *m, uint64_t start, uint64_t end)
{
	return start >= m->base && end <= m->base + (uint64_t)m->npages * PG && start <= end;
}

static void unmap_range(struct ref_model *m, struct rspace *s, uint64_t start, uint64_t end)
{
	unsigned int a, b;

	if (!window_range(m, start, end, &a, &b))
		return;
	for (unsigned int i = a; i < b; i++)
		if (s->pages[i].mapped) {
			page_clear(&s->pages[i]);
			mark(m, s, i);
		}
}

/* ---- mmap, munmap, mprotect ---- */

/* The rd/wr/ex flags of a PROT_* value. */
static uint32_t prot_flags(uint64_t prot)
{
	return ((prot & PROT_READ_) ? F(RD) : 0) | ((prot & PROT_WRITE_) ? F(WR) : 0) |
	       ((prot & PROT_EXEC_) ? F(EX) : 0);
}

static void populate_range(struct ref_model *m, struct rspace *s, unsigned int a, unsigned int b);

/*
 * MAP_HUGETLB (mmap(2), "Huge page (Huge TLB) mappings"): 2 MiB pages from
 * hugetlbfs, never on a regular file, and no length 0; a fixed address
 * must be aligned to them, and MAP_FIXED_NOREPLACE refuses a range
 * (rounded up to them) that meets a mapping (EEXIST); the mapping is of a
 * hugetlbfs file, so it must be shared or private (MAP_DROPPABLE is
 * neither) and cannot grow down (EINVAL, as any file mapping); and the
 * host reserves none, so a mapping that gets that far fails (ENOMEM).
 * The order is the host's (MAP_FIXED_NOREPLACE before the type).
 */
static long mmap_hugetlb(struct ref_model *m, const struct rspace *s, const struct rfd *f,
			 uint64_t addr, uint64_t len, uint64_t flags)
{
	const uint64_t huge = 2ULL << 20;
	uint64_t hlen = (len + huge - 1) & ~(huge - 1), type = flags & MAP_TYPE_;
	unsigned int a, b;

	if (f || hlen == 0)
		return -EINVAL;
	if (flags & (MAP_FIXED_ | MAP_FIXED_NOREPLACE_)) {
		if (addr & (huge - 1))
			return -EINVAL;
		if ((flags & MAP_FIXED_NOREPLACE_) && addr + hlen > addr &&
		    window_range(m, addr, addr + hlen, &a, &b))
			for (unsigned int i = a; i < b; i++)
				if (s->pages[i].mapped)
					return -EEXIST;
	}
	if (type != MAP_SHARED_ && type != MAP_SHARED_VALIDATE_ && type != MAP_PRIVATE_)
		return -EINVAL;
	if (flags & MAP_GROWSDOWN_)
		return -EINVAL;
	return -ENOMEM;
}

/*
 * The VmFlags of a new mapping, or -errno: mmap(2)'s EINVAL for a mapping
 * type that is neither shared nor private (nor MAP_DROPPABLE anonymous
 * memory), EACCES for a shared writable mapping of a file not open for
 * writing, and EINVAL for a file or shared mapping that would grow down
 * (observed on the host).  Only the READ, WRITE and EXEC bits of prot
 * count; the others are ignored, not refused (observed: PROT_READ|0x10,
 * PROT_SEM, PROT_GROWSDOWN map as PROT_READ would).
 *
 * MAP_DROPPABLE (mmap(2), 6.11+): private anonymous memory the kernel may
 * drop under pressure, so not with MAP_LOCKED, MAP_HUGETLB or
 * MAP_GROWSDOWN (EINVAL); it shows `nr wf dd` (and `dp`, which the
 * reference model does not keep).  Observed: mlockall(MCL_FUTURE) does not
 * lock it, yet faults it in as if it did, MCL_ONFAULT or not.
 */
static int64_t mmap_vm_flags(const struct rspace *s, const struct rfd *f, uint64_t prot,
			     uint64_t flags, bool *droppable)
{
	uint64_t type = flags & MAP_TYPE_;
	bool shared = type == MAP_SHARED_ || type == MAP_SHARED_VALIDATE_;
	uint32_t vf = F(MR) | F(MW) | F(ME) | s->def_flags | prot_flags(prot);

	*droppable = type == MAP_DROPPABLE_ && f == NULL;
	if (*droppable) {
		if (flags & (MAP_LOCKED_ | MAP_HUGETLB_ | MAP_GROWSDOWN_))
			return -EINVAL;
		vf |= F(NR) | F(WF) | F(DD);
	} else if (!shared && type != MAP_PRIVATE_) {
		return -EINVAL;
	}
	if (shared && f && (prot & PROT_WRITE_) && !f->writable)
		return -EACCES; /* before the EINVAL of growing down (observed) */
	if (flags & MAP_GROWSDOWN_) {
		if (f || shared)
			return -EINVAL;
		vf |= F(GD);
	}
	if (flags & MAP_LOCKED_)
		vf |= F(LO);
	if (flags & MAP_STACK_)
		vf |= F(NH); /* 6.7+: MAP_STACK means no THP */
	if (shared)
		vf |= F(SH) | F(MS);
	if (shared && f && !f->writable)
		vf &= ~(F(MW) | F(SH)); /* it can never be made writable */
	if (flags & MAP_NORESERVE_)
		vf |= F(NR);
	/* charged for: private and writable, unless NORESERVE */
	if ((vf & (F(NR) | F(SH) | F(WR) | F(MS))) == F(WR))
		vf |= F(AC);
	return vf;
}

/*
 * The pages of [addr, +len) mapped with flags vf, to o at off (or a new
 * shmem segment); droppable: MAP_DROPPABLE, which sheds the lock bits
 * mlockall(MCL_FUTURE) would give it but is faulted in all the same.
 */
static void mmap_install(struct ref_model *m, struct rspace *s, uint64_t addr, uint64_t len,
			 uint32_t vf, struct robj *o, uint64_t off, bool populate, bool droppable)
{
	unsigned int a = 0, b = 0;

	if (o == NULL && (vf & F(MS)))
		o = shmem_new(m, (unsigned int)(len / PG));
	if (droppable && (vf & F(LO))) {
		populate = true;
		vf &= ~LOCK_BITS;
	}
	unmap_range(m, s, addr, addr + len);
	window_range(m, addr, addr + len, &a, &b);
	for (unsigned int i = a; i < b; i++) {
		struct rpage *p = &s->pages[i];

		p->mapped = true;
		p->flags = vf;
		p->obj = o;
		p->pgoff = off / PG + (i - a);
		p->droppable = droppable;
		mark(m, s, i);
	}
	/* MAP_POPULATE, or locked: faulted in now, a private writable one by writes */
	if (populate || (vf & (F(LO) | F(LF))) == F(LO))
		populate_range(m, s, a, b);
}

static long ref_mmap(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		     struct ref_result *out)
{
	uint64_t addr = c->a[0], len = c->a[1], prot = c->a[2], flags = c->a[3], off = c->a[5];
	struct rfd *f = NULL;
	struct rspace *s = pr->space;
	int64_t vf;
	unsigned int a = 0, b = 0;
	bool droppable;

	if (off & (PG - 1))
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS_)) {
		f = g_hash_table_lookup(pr->fds, GINT_TO_POINTER((int)c->a[4]));
		if (f == NULL)
			return -EBADF;
		if (f->obj == NULL)
			return -ENODEV; /* stdin, stdout, stderr: not a file that maps */
	}
	if (flags & MAP_HUGETLB_)
		return mmap_hugetlb(m, s, f, addr, len, flags);
	if (len == 0)
		return -EINVAL;
	if (flags & MAP_FIXED_NOREPLACE_)
		flags |= MAP_FIXED_;
	if (!(flags & MAP_FIXED_)) {
		out->error =
			g_strdup("mmap without MAP_FIXED: placement is beyond the reference model");
		return 0;
	}
	len = page_align(len);
	if (len == 0)
		return -ENOMEM;
	if (addr & (PG - 1))
		return -EINVAL;
	if (addr > TASK_TOP || len > TASK_TOP - addr)
		return -ENOMEM;
	if ((flags & MAP_FIXED_NOREPLACE_) && window_range(m, addr, addr + len, &a, &b))
		for (unsigned int i = a; i < b; i++)
			if (s->pages[i].mapped)
				return -EEXIST;
	vf = mmap_vm_flags(s, f, prot, flags, &droppable);
	if (vf < 0)
		return (long)vf;
	if (!inside_window(m, addr, addr + len)) {
		out->error = g_strdup_printf("mmap at %#" G_GINT64_MODIFIER
					     "x: outside the reference model's window",
					     addr);
		return 0;
	}
	mmap_install(m, s, addr, len, (uint32_t)vf, f ? f->obj : NULL, f ? off : 0,
		     flags & MAP_POPULATE_, droppable);
	return (long)addr;
}

static long ref_munmap(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		       struct ref_result *out)
{
	uint64_t addr = c->a[0], len = c->a[1];
	struct rspace *s = pr->space;

	(void)out;
	if ((addr & (PG - 1)) || addr > TASK_TOP || len > TASK_TOP - addr)
		return -EINVAL;
	len = page_align(len);
	if (len == 0)
		return -EINVAL;
	unmap_range(m, s, addr, addr + len);
	return 0;
}

/*
 * A write through GUP to page i, as populating a writable private mapping
 * does (MAP_POPULATE, mlock, MADV_POPULATE_WRITE): the page gets its own
 * copy now (of the file page, or zeroes), or COW is broken; either way it
 * is dirty.  False if the page cannot be faulted in (past the file's end).
 */
static bool populate_write(struct ref_model *m, struct rspace *s, unsigned int i)
{
	struct rpage *p = &s->pages[i];
	const uint8_t *cur = NULL;

	if ((p->flags & (F(WR) | F(MS))) != F(WR))
		return true;
	if (page_bytes(p, &cur) != 0)
		return false;
	if (p->data == NULL) {
		p->data = data_new(cur);
		mark(m, s, i);
	} else {
		break_cow(m, s, i);
	}
	p->dirty = true;
	return true;
}

/* mm_populate(start, len) with errors ignored: each mapping's pages until one fails. */
static void populate_range(struct ref_model *m, struct rspace *s, unsigned int a, unsigned int b)
{
	for (unsigned int i = a; i < b; i++) {
		struct rpage *p = &s->pages[i];

		if (!p->mapped || (p->flags & F(LF)) || !(p->flags & ACCESS) || p->guard)
			continue;
		if (!populate_write(m, s, i)) /* the rest of this mapping stays as it is */
			while (i + 1 < b && s->pages[i + 1].mapped &&
			       s->pages[i + 1].obj == p->obj &&
			       s->pages[i + 1].pgoff == s->pages[i].pgoff + 1)
				i++;
	}
}

/*
 * The first page of the growing-down mapping that holds page i
 * (PROT_GROWSDOWN's "down to the beginning of a mapping that grows
 * downward", mprotect(2)): the run of anonymous `gd` pages ending at i.
 */
static unsigned int growsdown_start(const struct rspace *s, unsigned int i)
{
	while (i > 0 && s->pages[i - 1].mapped && (s->pages[i - 1].flags & F(GD)) &&
	       s->pages[i - 1].obj == NULL)
		i--;
	return i;
}

/*
 * mprotect(2).  The checks that need no mapping first, in this order
 * (observed): PROT_GROWSDOWN with PROT_GROWSUP EINVAL, a start not on a
 * page EINVAL, length 0 is 0, a range that wraps ENOMEM, a prot bit other
 * than READ, WRITE, EXEC, SEM and the two GROWS EINVAL.  Then the
 * mapping: none in the range is ENOMEM.  PROT_GROWSDOWN applies from the
 * beginning of the mapping that grows down (EINVAL if the first mapping
 * in the range does not), even if addr lies in the hole below it.
 * Otherwise addr must be mapped (ENOMEM), and PROT_GROWSUP is EINVAL: it
 * is for stacks that grow up, which x86 does not have.  The pages are then
 * changed in order up to the first hole, which makes the call ENOMEM.
 */
static long ref_mprotect(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
			 struct ref_result *out)
{
	const uint64_t grows = PROT_GROWSDOWN_ | PROT_GROWSUP_;
	uint64_t start = c->a[0], len = c->a[1], prot = c->a[2], end;
	struct rspace *s = pr->space;
	unsigned int a, b, first;

	(void)out;
	if ((prot & grows) == grows)
		return -EINVAL;
	if (start & (PG - 1))
		return -EINVAL;
	if (len == 0)
		return 0;
	len = page_align(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (prot & ~(uint64_t)(PROT_READ_ | PROT_WRITE_ | PROT_EXEC_ | PROT_SEM_ | grows))
		return -EINVAL;
	if (!window_range(m, start, end, &a, &b) || start < m->base)
		return -ENOMEM;
	for (first = a; first < b && !s->pages[first].mapped; first++)
		;
	if (first == b)
		return -ENOMEM;
	if (prot & PROT_GROWSDOWN_) {
		if (!(s->pages[first].flags & F(GD)))
			return -EINVAL;
		a = growsdown_start(s, first);
	} else {
		if (first != a)
			return -ENOMEM;
		if (prot & PROT_GROWSUP_)
			return -EINVAL;
	}
	for (unsigned int i = a; i < b; i++) {
		struct rpage *p = &s->pages[i];
		uint32_t nf = (p->flags & ~ACCESS) | prot_flags(prot);

		if (!p->mapped)
			return -ENOMEM;
		if (((nf & F(RD)) && !(nf & F(MR))) || ((nf & F(WR)) && !(nf & F(MW))) ||
		    ((nf & F(EX)) && !(nf & F(ME))))
			return -EACCES;
		/* mprotect_fixup: a private mapping made writable is charged */
		if ((nf & F(WR)) && !(p->flags & (F(AC) | F(WR) | F(SH) | F(NR))) &&
		    !(p->flags & F(MS)))
			nf |= F(AC);
		{
			/* a locked private VMA made writable is populated, breaking COW */
			bool populate = (p->flags & (F(WR) | F(MS) | F(LO) | F(LF))) == F(LO) &&
					(nf & F(WR));

			p->flags = nf;
			if (populate && !p->guard)
				populate_write(m, s, i);
		}
		mark(m, s, i);
	}
	if (end > m->base + (uint64_t)m->npages * PG)
		return -ENOMEM;
	return 0;
}

/* ---- madvise ---- */

/*
 * The advice Linux 6.18 accepts (madvise(2), include/uapi/asm-generic/
 * mman-common.h): 0-4, 8-24, and the guard pair 102-103.  Not here:
 * MADV_COLLAPSE (25), which dupmm refuses as it models no huge pages, and
 * MADV_HWPOISON/SOFT_OFFLINE (100-101), which would poison the host's
 * memory; both are EINVAL in the model.
 */
static bool advice_known(uint64_t adv)
{
	return adv <= MADV_DONTNEED_ || (adv >= MADV_FREE_ && adv <= MADV_DONTNEED_LOCKED_) ||
	       adv == MADV_GUARD_INSTALL_ || adv == MADV_GUARD_REMOVE_;
}

/* Drop a page's private data: it reads zeroes, or its file, again. */
static void zap(struct ref_model *m, struct rspace *s, unsigned int i)
{
	struct rpage *p = &s->pages[i];

	if (p->data) {
		data_put(p->data);
		p->data = NULL;
	}
	p->dirty = false;
	mark(m, s, i);
}

/*
 * The advice that only sets or clears VmFlags: the page's new flags, or
 * -EINVAL.  WIPEONFORK is for private anonymous memory only (the patch
 * that introduced it); KSM takes no shared or droppable mapping and says
 * nothing.  MAP_DROPPABLE memory is always wiped at fork and never dumped:
 * KEEPONFORK and DODUMP are EINVAL there (madvise(2)).
 */
static int64_t advice_flags(const struct rpage *p, uint64_t adv)
{
	uint32_t fl = p->flags;

	switch (adv) {
	case MADV_NORMAL_: return fl & ~(F(SR) | F(RR));
	case MADV_RANDOM_: return (fl & ~F(SR)) | F(RR);
	case MADV_SEQUENTIAL_: return (fl & ~F(RR)) | F(SR);
	case MADV_DONTFORK_: return fl | F(DC);
	case MADV_DOFORK_: return fl & ~F(DC);
	case MADV_DONTDUMP_: return fl | F(DD);
	case MADV_DODUMP_: return p->droppable ? -EINVAL : (int64_t)(fl & ~F(DD));
	case MADV_HUGEPAGE_: return (fl & ~F(NH)) | F(HG);
	case MADV_NOHUGEPAGE_: return (fl & ~F(HG)) | F(NH);
	case MADV_KEEPONFORK_: return p->droppable ? -EINVAL : (int64_t)(fl & ~F(WF));
	case MADV_WIPEONFORK_: return (p->obj || (fl & F(MS))) ? -EINVAL : (int64_t)(fl | F(WF));
	case MADV_MERGEABLE_: return ((fl & F(MS)) || p->droppable) ? fl : fl | F(MG);
	case MADV_UNMERGEABLE_: return fl & ~F(MG);
	default: return fl; /* the advice acts on the pages, not the flags */
	}
}

/*
 * Is the page unevictable (mlocked)?  The kernel keeps that per page, over
 * every locked mapping of it in every process (a page a fork parent has
 * mlocked is unevictable in the child too; MREMAP_DONTUNMAP's source keeps
 * its pages mlocked though it loses VM_LOCKED), and batched per CPU: taken
 * from the simulated kernel (delegated; MLOCK-PAGE-1, MLOCK-PAGE-2, MLOCK-PAGE-3).  Without a view,
 * as the page's own lock bits say.
 */
static bool unevictable(struct ref_model *m, struct rproc *pr, unsigned int i)
{
	if (m->view.unevictable == NULL)
		return (pr->space->pages[i].flags & F(LO)) != 0;
	return m->view.unevictable(pr->pid, m->base + (uint64_t)i * PG, m->view.arg);
}

/*
 * Reclaim (MADV_PAGEOUT), without swap: a lazily freed page mapped only
 * here goes if nothing wrote it since MADV_FREE; one written since is
 * ordinary memory again.  A MAP_DROPPABLE page mapped only here goes,
 * written or not (mmap(2): "the kernel can drop its pages"; observed: it
 * reads zeroes after MADV_PAGEOUT).  COLD only ages pages: nothing to see.
 */
static long advise_pageout(struct ref_model *m, struct rproc *pr, unsigned int i, uint64_t adv)
{
	struct rspace *s = pr->space;
	struct rpage *p = &s->pages[i];

	if (p->flags & F(LO))
		return -EINVAL;
	if (adv == MADV_PAGEOUT_ && p->droppable && p->data && p->data->refs == 1) {
		zap(m, s, i);
		return 0;
	}
	if (adv == MADV_PAGEOUT_ && !is_shared(p) && p->data && p->data->lazyfree &&
	    p->data->refs == 1 && !unevictable(m, pr, i)) {
		if (p->dirty)
			p->data->lazyfree = false;
		else
			zap(m, s, i);
	}
	return 0;
}

/*
 * MADV_FREE: private anonymous memory only.  The page is lazily freed
 * even if another process maps it too (reclaim then skips it while it is
 * shared); this mapping's view is clean from now on.
 */
static long advise_free(struct ref_model *m, struct rproc *pr, unsigned int i)
{
	struct rpage *p = &pr->space->pages[i];

	if ((p->flags & F(LO)) || p->obj || is_shared(p))
		return -EINVAL;
	if (p->data && !unevictable(m, pr, i))
		p->data->lazyfree = true;
	p->dirty = false;
	return 0;
}

/*
 * MADV_REMOVE: a hole punched in shared memory or a file mapped shared and
 * writable (EACCES for any other file mapping, EINVAL for anonymous
 * memory): every mapping of the page reads zeroes, a private one's
 * unwritten pages too.
 */
static long advise_remove(struct ref_model *m, struct rpage *p)
{
	if (p->flags & F(LO))
		return -EINVAL;
	if (p->obj == NULL)
		return -EINVAL;
	if ((p->flags & (F(SH) | F(MW))) != (F(SH) | F(MW)))
		return -EACCES;
	if (p->pgoff < p->obj->npages) {
		if (p->obj->pages == NULL)
			p->obj->pages = g_new0(struct rdata *, p->obj->npages);
		data_put(p->obj->pages[p->pgoff]);
		p->obj->pages[p->pgoff] = p->obj->file ? data_new(NULL) : NULL;
		mark_obj_page(m, p->obj, p->pgoff);
	}
	return 0;
}

/* What the advice does to page i beyond its flags; 0 or the error that stops the walk. */
static long advise_page_contents(struct ref_model *m, struct rproc *pr, unsigned int i,
				 uint64_t adv)
{
	struct rspace *s = pr->space;
	struct rpage *p = &s->pages[i];

	switch (adv) {
	case MADV_COLD_:
	case MADV_PAGEOUT_: return advise_pageout(m, pr, i, adv);
	case MADV_DONTNEED_:
	case MADV_DONTNEED_LOCKED_:
		if (adv == MADV_DONTNEED_ && (p->flags & F(LO)))
			return -EINVAL;
		if (!is_shared(p))
			zap(m, s, i);
		return 0;
	case MADV_FREE_: return advise_free(m, pr, i);
	case MADV_REMOVE_: return advise_remove(m, p);
	case MADV_GUARD_INSTALL_:
		if (p->flags & F(LO))
			return -EINVAL;
		if (!is_shared(p))
			zap(m, s, i);
		p->guard = true;
		mark(m, s, i);
		return 0;
	case MADV_GUARD_REMOVE_:
		if (p->guard) {
			p->guard = false;
			mark(m, s, i);
		}
		return 0;
	default: return 0; /* WILLNEED reads ahead: nothing a page shows */
	}
}

/* One page of the walk over the range. */
static long advise_page(struct ref_model *m, struct rproc *pr, unsigned int i, uint64_t adv)
{
	struct rpage *p = &pr->space->pages[i];
	int64_t fl = advice_flags(p, adv);
	long err;

	if (fl < 0)
		return (long)fl;
	err = advise_page_contents(m, pr, i, adv);
	if (err)
		return err;
	if ((uint32_t)fl != p->flags) {
		p->flags = (uint32_t)fl;
		mark(m, pr->space, i);
	}
	return 0;
}

/*
 * MADV_POPULATE_(READ|WRITE): fault each page in as a read or write would,
 * stopping at the first that cannot be: ENOMEM where nothing is mapped,
 * EINVAL without the permission the access needs, EFAULT where the access
 * would signal (a guard page, past the end of a file).
 */
static long advise_populate(struct ref_model *m, struct rspace *s, uint64_t start, uint64_t end,
			    bool write)
{
	for (uint64_t a = start; a < end; a += PG) {
		unsigned int i;
		struct rpage *p;
		const uint8_t *bytes;

		if (!inside_window(m, a, a + PG))
			return -ENOMEM;
		i = (unsigned int)((a - m->base) / PG);
		p = &s->pages[i];
		if (!p->mapped)
			return -ENOMEM;
		if (write ? !(p->flags & F(WR)) : !(p->flags & F(RD)))
			return -EINVAL;
		if (p->guard || page_bytes(p, &bytes) == -EIO)
			return -EFAULT;
		if (write)
			populate_write(m, s, i); /* GUP's write: the page's own, and dirty */
	}
	return 0;
}

/*
 * madvise(2): EINVAL for an advice Linux does not know (even over an empty
 * range), a start not on a page, or a range that wraps; an empty range is
 * then 0.  The pages are visited in order: an unmapped one makes the call
 * ENOMEM at the end, without stopping it; an error stops it there, the
 * pages before keeping what the advice did to them.
 */
static long ref_madvise(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
			struct ref_result *out)
{
	struct rspace *s = pr->space;
	uint64_t start = c->a[0], adv = c->a[2], len = page_align(c->a[1]), end = start + len;
	bool hole = false;
	unsigned int a, b;

	(void)out;
	if (!advice_known(adv) || (start & (PG - 1)) || (c->a[1] && !len) || end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	if (adv == MADV_POPULATE_READ_ || adv == MADV_POPULATE_WRITE_)
		return advise_populate(m, s, start, end, adv == MADV_POPULATE_WRITE_);
	if (!inside_window(m, start, end))
		hole = true;
	if (window_range(m, start, end, &a, &b))
		for (unsigned int i = a; i < b; i++) {
			long err;

			if (!s->pages[i].mapped) {
				hole = true;
				continue;
			}
			err = advise_page(m, pr, i, adv);
			if (err)
				return err;
		}
	return hole ? -ENOMEM : 0;
}

/* ---- mlock ---- */

/* __mm_populate without ignore_errors: stops at the first page it cannot fault in. */
static long populate_for_mlock(struct ref_model *m, struct rspace *s, unsigned int a,
			       unsigned int b)
{
	for (unsigned int i = a; i < b; i++) {
		struct rpage *p = &s->pages[i];
		const uint8_t *bytes;

		if (p->flags & F(LF))
			continue;
		if (!(p->flags & ACCESS) || p->guard || page_bytes(p, &bytes) == -EIO)
			return -ENOMEM; /* GUP's EFAULT, which mlock reports as ENOMEM */
		populate_write(m, s, i);
	}
	return 0;
}

/*
 * mlock, mlock2, munlock: the lock bits lock over [start, +len), which
 * must all be mapped.  MAP_DROPPABLE memory never takes them, but mlock
 * still faults it in.
 */
static long lock_range(struct ref_model *m, struct rspace *s, uint64_t start, uint64_t len,
		       uint32_t lock)
{
	unsigned int a, b;
	uint64_t end;

	len = page_align(len + (start & (PG - 1)));
	start &= ~(uint64_t)(PG - 1);
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;
	if (!window_range(m, start, end, &a, &b) || start < m->base)
		return -ENOMEM;
	for (unsigned int i = a; i < b; i++) {
		struct rpage *p = &s->pages[i];
		uint32_t nf;

		if (!p->mapped)
			return -ENOMEM;
		nf = p->droppable ? p->flags : (p->flags & ~LOCK_BITS) | lock;
		if (nf != p->flags) {
			p->flags = nf;
			mark(m, s, i);
		}
	}
	if (end > m->base + (uint64_t)m->npages * PG)
		return -ENOMEM;
	if (lock)
		return populate_for_mlock(m, s, a, b);
	return 0;
}

static long ref_mlock(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		      struct ref_result *out)
{
	(void)out;
	return lock_range(m, pr->space, c->a[0], c->a[1], F(LO));
}

static long ref_munlock(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
			struct ref_result *out)
{
	(void)out;
	return lock_range(m, pr->space, c->a[0], c->a[1], 0);
}

/* mlock2(2): MLOCK_ONFAULT is its only flag. */
static long ref_mlock2(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		       struct ref_result *out)
{
	(void)out;
	if (c->a[2] & ~(uint64_t)MLOCK_ONFAULT_)
		return -EINVAL;
	return lock_range(m, pr->space, c->a[0], c->a[1],
			  F(LO) | ((c->a[2] & MLOCK_ONFAULT_) ? F(LF) : 0));
}

static long ref_mlockall(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
			 struct ref_result *out)
{
	struct rspace *s = pr->space;
	uint64_t flags = c->a[0];
	uint32_t add = 0;

	(void)out;
	if (!flags || (flags & ~(uint64_t)(MCL_CURRENT_ | MCL_FUTURE_ | MCL_ONFAULT_)) ||
	    flags == MCL_ONFAULT_)
		return -EINVAL;
	s->def_flags &= ~LOCK_BITS;
	if (flags & MCL_FUTURE_) {
		s->def_flags |= F(LO) | ((flags & MCL_ONFAULT_) ? F(LF) : 0);
		if (!(flags & MCL_CURRENT_))
			return 0;
	}
	add = F(LO) | ((flags & MCL_ONFAULT_) ? F(LF) : 0);
	for (unsigned int i = 0; i < m->npages; i++) {
		struct rpage *p = &s->pages[i];

		if (!p->mapped || p->droppable)
			continue; /* droppable: never locked, but populated below */
		p->flags = (p->flags & ~LOCK_BITS) | add;
		mark(m, s, i);
	}
	populate_range(m, s, 0, m->npages); /* mm_populate(0, TASK_SIZE), errors ignored */
	return 0;
}

static long ref_munlockall(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
			   struct ref_result *out)
{
	struct rspace *s = pr->space;

	(void)c;
	(void)out;
	s->def_flags &= ~LOCK_BITS;
	for (unsigned int i = 0; i < m->npages; i++)
		if (s->pages[i].mapped && (s->pages[i].flags & LOCK_BITS)) {
			s->pages[i].flags &= ~LOCK_BITS;
			mark(m, s, i);
		}
	return 0;
}

/* ---- mremap: the outcome is the simulated kernel's (see refmodel.h) ---- */

static long mremap_params(uint64_t addr, uint64_t old_len, uint64_t new_len, uint64_t flags,
			  uint64_t new_addr)
{
	if (flags & ~(uint64_t)(MREMAP_FIXED_ | MREMAP_MAYMOVE_ | MREMAP_DONTUNMAP_))
		return -EINVAL;
	if (addr & (PG - 1))
		return -EINVAL;
	old_len = page_align(old_len);
	new_len = page_align(new_len);
	if (!new_len)
		return -EINVAL;
	if ((flags & MREMAP_FIXED_) && !(flags & MREMAP_MAYMOVE_))
		return -EINVAL;
	if ((flags & MREMAP_DONTUNMAP_) && (!(flags & MREMAP_MAYMOVE_) || old_len != new_len))
		return -EINVAL;
	if (flags & MREMAP_FIXED_) {
		if (new_addr & (PG - 1))
			return -EINVAL;
		if (new_len > TASK_TOP || new_addr > TASK_TOP - new_len)
			return -EINVAL;
		if (addr + old_len > new_addr && new_addr + new_len > addr)
			return -EINVAL; /* overlapping ranges */
	}
	return 0;
}

/* A page beyond a mapping's end, as growing the mapping creates it. */
static void grow_page(struct rpage *to, const struct rpage *last, uint64_t k)
{
	memset(to, 0, sizeof(*to));
	to->mapped = true;
	to->flags = last->flags;
	to->obj = last->obj;
	to->pgoff = last->pgoff + k;
	to->droppable = last->droppable;
}

/* Pages [start, end) take the simulated kernel's lock bits (delegated). */
static void take_lock_bits(struct ref_model *m, struct rproc *pr, uint64_t start, uint64_t end)
{
	unsigned int a, b;

	if (!window_range(m, start, end, &a, &b))
		return;
	for (unsigned int i = a; i < b; i++) {
		struct rpage *p = &pr->space->pages[i];
		int bits = m->view.lock_bits(pr->pid, m->base + (uint64_t)i * PG, m->view.arg);

		if (p->mapped && bits >= 0 && (p->flags & LOCK_BITS) != (uint32_t)bits) {
			p->flags = (p->flags & ~LOCK_BITS) | ((uint32_t)bits & LOCK_BITS);
			mark(m, pr->space, i);
		}
	}
}

/*
 * What the model decides of an mremap itself: mremap(2)'s EINVAL for its
 * arguments, EFAULT where nothing is mapped at the old address, EINVAL for
 * a second mapping (old_size 0) of private memory, and the one case that
 * unmaps: shared memory mapped again onto itself with MREMAP_FIXED, which
 * unmaps the destination first, and the source with it (observed: EFAULT,
 * the page gone).  1: the rest is the simulated kernel's outcome.
 */
static long mremap_own_checks(struct ref_model *m, struct rspace *s, const struct ref_call *c)
{
	uint64_t addr = c->a[0], flags = c->a[3], new_addr = c->a[4];
	uint64_t ol = page_align(c->a[1]), nl = page_align(c->a[2]);
	long err = mremap_params(addr, c->a[1], c->a[2], flags, new_addr);

	if (err)
		return err;
	if (!inside_window(m, addr, addr + PG) || !s->pages[(addr - m->base) / PG].mapped)
		return -EFAULT; /* no VMA at addr */
	if (ol == 0 && !is_shared(&s->pages[(addr - m->base) / PG]))
		return -EINVAL; /* only shared memory can be mapped twice */
	if ((flags & MREMAP_FIXED_) && ol == 0 && new_addr <= addr && addr < new_addr + nl) {
		unmap_range(m, s, new_addr, new_addr + nl);
		return -EFAULT;
	}
	return 1;
}

/* old_size 0: a second mapping of the shared object at oi, nl bytes at ni. */
static void mremap_second_mapping(struct ref_model *m, struct rspace *s, unsigned int oi,
				  unsigned int ni, uint64_t nl)
{
	const struct rpage *src = &s->pages[oi];

	for (unsigned int k = 0; k < nl / PG; k++) {
		page_clear(&s->pages[ni + k]);
		grow_page(&s->pages[ni + k], src, k);
		mark(m, s, ni + k);
	}
}

/* In place: the tail shrinks, or grows from the last page; a locked mapping that grew is populated. */
static void mremap_in_place(struct ref_model *m, struct rspace *s, uint64_t addr, uint64_t ol,
			    uint64_t nl)
{
	unsigned int oi = (unsigned int)((addr - m->base) / PG);

	if (nl < ol)
		unmap_range(m, s, addr + nl, addr + ol);
	for (uint64_t k = ol / PG; k < nl / PG; k++) {
		page_clear(&s->pages[oi + k]);
		grow_page(&s->pages[oi + k], &s->pages[oi + ol / PG - 1], k - ol / PG + 1);
		mark(m, s, (unsigned int)(oi + k));
	}
	if (nl > ol && (s->pages[oi].flags & (F(LO) | F(LF))) == F(LO))
		populate_range(m, s, oi + (unsigned int)(ol / PG), oi + (unsigned int)(nl / PG));
}

/*
 * A move to `to`: the destination is unmapped (but a move without
 * resizing replaces, piece by piece, only what lies opposite a mapped
 * source page: 6.17+), the pages go over with their data, and the new
 * tail grows from the last one moved.  MREMAP_DONTUNMAP leaves the source
 * mapped and empty: its pages fault afresh.
 */
static void mremap_move(struct ref_model *m, struct rspace *s, uint64_t addr, uint64_t ol,
			uint64_t nl, uint64_t to, uint64_t flags)
{
	unsigned int oi = (unsigned int)((addr - m->base) / PG),
		     ni = (unsigned int)((to - m->base) / PG);
	unsigned int mv = (unsigned int)(MIN(ol, nl) / PG);
	struct rpage last = { 0 };
	bool any = false;

	if (!((flags & MREMAP_FIXED_) && ol == nl))
		unmap_range(m, s, to, to + nl);
	if (nl < ol)
		unmap_range(m, s, addr + nl, addr + ol);
	for (unsigned int k = 0; k < mv; k++) {
		struct rpage *src = &s->pages[oi + k], *dst = &s->pages[ni + k];

		if (!src->mapped)
			continue; /* 6.17+: a hole in the source leaves its destination */
		page_clear(dst);
		*dst = *src;
		last = *dst;
		any = true;
		memset(src, 0, sizeof(*src));
		if (flags & MREMAP_DONTUNMAP_) {
			src->mapped = true;
			src->flags = dst->flags;
			src->obj = dst->obj;
			src->pgoff = dst->pgoff;
			src->droppable = dst->droppable;
		}
		mark(m, s, oi + k);
		mark(m, s, ni + k);
	}
	for (unsigned int k = mv; any && k < nl / PG; k++) {
		page_clear(&s->pages[ni + k]);
		grow_page(&s->pages[ni + k], &last, k - mv + 1);
		mark(m, s, ni + k);
	}
	if (any && nl > ol && (last.flags & (F(LO) | F(LF))) == F(LO))
		populate_range(m, s, ni + mv, ni + (unsigned int)(nl / PG));
}

/*
 * MREMAP_DONTUNMAP: the source VMAs lose VM_LOCKED whole, but which pages
 * that covers depends on how the kernel split them (each piece's
 * destination is unmapped first) and merged the destination into them and
 * into its neighbours (a merged VMA loses it whole too): take the
 * simulated kernel's lock bits over the source VMAs as they were and over
 * the destination's VMAs as they are (delegated).
 */
static void mremap_dontunmap_locks(struct ref_model *m, struct rproc *pr, uint64_t addr,
				   uint64_t ol, uint64_t to, uint64_t nl)
{
	const struct ref_kernel_view *v = &m->view;
	uint64_t vs, ve;

	for (uint64_t a = addr; a < addr + ol; a += PG)
		if (v->vma_before(pr->pid, a, &vs, &ve, v->arg)) {
			take_lock_bits(m, pr, vs, ve);
			a = MAX(ve, a + PG) - PG;
		}
	for (uint64_t a = to; a < to + nl; a += PG)
		if (v->vma_now(pr->pid, a, &vs, &ve, v->arg)) {
			take_lock_bits(m, pr, vs, ve);
			a = MAX(ve, a + PG) - PG;
		}
}

static long ref_mremap(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		       struct ref_result *out)
{
	uint64_t addr = c->a[0], ol = page_align(c->a[1]), nl = page_align(c->a[2]);
	uint64_t flags = c->a[3], new_addr = c->a[4], to;
	long own = mremap_own_checks(m, pr->space, c);

	if (own <= 0)
		return own;
	out->delegated = true;
	if (c->model_ret < 0 && c->model_ret >= -4095)
		return c->model_ret; /* a refusal that depends on VMA boundaries */
	to = (uint64_t)c->model_ret;
	if ((!(flags & MREMAP_MAYMOVE_) && to != addr) ||
	    ((flags & MREMAP_FIXED_) && to != new_addr)) {
		out->delegated = false; /* it cannot have landed there */
		return (long)((flags & MREMAP_FIXED_) ? new_addr : addr);
	}
	if (!inside_window(m, addr, addr + MAX(ol, PG)) || !inside_window(m, to, to + nl)) {
		out->error = g_strdup("mremap beyond the reference model's window");
		return c->model_ret;
	}
	if (ol == 0)
		mremap_second_mapping(m, pr->space, (unsigned int)((addr - m->base) / PG),
				      (unsigned int)((to - m->base) / PG), nl);
	else if (to == addr)
		mremap_in_place(m, pr->space, addr, ol, nl);
	else
		mremap_move(m, pr->space, addr, ol, nl, to, flags);
	if (ol && to != addr && (flags & MREMAP_DONTUNMAP_)) {
		if (m->view.vma_before == NULL) {
			out->error =
				g_strdup("MREMAP_DONTUNMAP without a view of the simulated kernel");
			return c->model_ret;
		}
		mremap_dontunmap_locks(m, pr, addr, ol, to, nl);
	}
	return c->model_ret;
}

/* ---- brk ---- */

/*
 * brk (SYSCALL brk): the heap's end moves to brk and brk returns it, or it
 * stays and brk returns the old end.  Below the start: refused.  Within the
 * same page: only the number moves.  Shrinking unmaps [new end, old end)
 * if anything is still mapped there, else is refused.  Growing needs the
 * pages up to the new end and one more free (and a stack's guard gap), and
 * maps them like anonymous memory: rd wr mr mw me ac, and mlockall's.
 */
static long ref_brk(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		    struct ref_result *out)
{
	struct rspace *s = pr->space;
	uint64_t want = c->a[0], newbrk, oldbrk;
	unsigned int a = 0, b = 0;

	if (s->start_brk == 0) {
		/* the first brk: where exec put the heap, as the log says */
		if (c->r->result_unknown || c->r->err) {
			out->error = g_strdup("brk before the log says where the heap starts");
			return 0;
		}
		s->start_brk = s->brk = (uint64_t)c->r->result;
	}
	if (want < s->start_brk)
		return (long)s->brk;
	newbrk = page_align(want);
	oldbrk = page_align(s->brk);
	if (newbrk == oldbrk) {
		s->brk = want;
		return (long)want;
	}
	if (!inside_window(m, MIN(newbrk, oldbrk), MAX(newbrk, oldbrk) + PG)) {
		out->error = g_strdup("brk beyond the reference model's window");
		return (long)s->brk;
	}
	if (want <= s->brk) {
		bool any = false;

		window_range(m, newbrk, oldbrk, &a, &b);
		for (unsigned int i = a; i < b; i++)
			any |= s->pages[i].mapped;
		if (!any)
			return (long)s->brk;
		unmap_range(m, s, newbrk, oldbrk);
		s->brk = want;
		return (long)want;
	}
	window_range(m, oldbrk, newbrk + PG, &a, &b);
	for (unsigned int i = a; i < b; i++)
		if (s->pages[i].mapped)
			return (long)s->brk; /* in the way, or no guard page left */
	for (unsigned int i = b; i < m->npages && (uint64_t)(i - b) * PG < STACK_GUARD_GAP; i++)
		if (s->pages[i].mapped) {
			if ((s->pages[i].flags & F(GD)) && (i == 0 || !s->pages[i - 1].mapped))
				return (long)s->brk; /* a stack's guard gap */
			break;
		}
	window_range(m, oldbrk, newbrk, &a, &b);
	for (unsigned int i = a; i < b; i++) {
		struct rpage *p = &s->pages[i];

		memset(p, 0, sizeof(*p));
		p->mapped = true;
		p->flags = F(RD) | F(WR) | F(MR) | F(MW) | F(ME) | F(AC) | s->def_flags;
		mark(m, s, i);
	}
	if ((s->def_flags & (F(LO) | F(LF))) == F(LO))
		populate_range(m, s, a, b); /* brk under mlockall(MCL_FUTURE) */
	s->brk = want;
	return (long)want;
}

/* ---- memory accesses ---- */

/*
 * An access to unmapped page i: the stack VMA above grows down to it
 * (expand_downwards) if it is VM_GROWSDOWN and no accessible, non-stack
 * mapping lies within stack_guard_gap below.
 */
static bool grow_stack(struct ref_model *m, struct rspace *s, unsigned int i)
{
	unsigned int j = i, k;

	while (j < m->npages && !s->pages[j].mapped)
		j++;
	if (j == m->npages || !(s->pages[j].flags & F(GD)))
		return false;
	for (k = i; k-- > 0;)
		if (s->pages[k].mapped)
			break;
	if (k != (unsigned int)-1) {
		const struct rpage *prev = &s->pages[k];

		if (!(prev->flags & F(GD)) && (prev->flags & ACCESS) &&
		    (uint64_t)(i - k - 1) * PG < STACK_GUARD_GAP)
			return false;
	}
	for (unsigned int n = i; n < j; n++) {
		grow_page(&s->pages[n], &s->pages[j], 0);
		s->pages[n].pgoff = 0;
		mark(m, s, n);
	}
	return true;
}

/* Can page i be accessed (after any stack growth)?  0, -EFAULT or -EIO. */
static int access_page(struct ref_model *m, struct rspace *s, uint64_t a, bool write)
{
	unsigned int i;
	struct rpage *p;
	const uint8_t *bytes;

	if (!inside_window(m, a, a + 1))
		return -EFAULT;
	i = (unsigned int)((a - m->base) / PG);
	p = &s->pages[i];
	if (!p->mapped && !grow_stack(m, s, i))
		return -EFAULT;
	if (p->guard)
		return -EFAULT;
	if (write ? !(p->flags & F(WR)) : !(p->flags & ACCESS))
		return -EFAULT;
	return page_bytes(p, &bytes);
}

/* mem_write(ADDR, BYTE, LEN), mem_read(ADDR, LEN): page by page, up to the first that faults. */
static long access_range(struct ref_model *m, struct rspace *s, const uint64_t *args, bool write)
{
	uint64_t addr = args[0], len = args[write ? 2 : 1], done = 0;
	uint8_t byte = (uint8_t)args[1];

	g_byte_array_set_size(m->read, 0);
	while (done < len) {
		uint64_t a = addr + done, n = MIN(len - done, PG - (a & (PG - 1)));
		unsigned int i;
		const uint8_t *bytes;

		if (access_page(m, s, a, write))
			return -EFAULT;
		i = (unsigned int)((a - m->base) / PG);
		if (write) {
			memset(write_target(m, s, i) + (a & (PG - 1)), byte, n);
		} else {
			static const uint8_t zeroes[PG];

			page_bytes(&s->pages[i], &bytes);
			g_byte_array_append(m->read, (bytes ? bytes : zeroes) + (a & (PG - 1)),
					    (guint)n);
		}
		done += n;
	}
	return 0;
}

/* ---- processes ---- */

static struct rspace *space_copy(struct ref_model *m, const struct rspace *from)
{
	struct rspace *s = space_new(m);

	s->start_brk = from->start_brk;
	s->brk = from->brk;

	for (unsigned int i = 0; i < m->npages; i++) {
		const struct rpage *p = &from->pages[i];
		struct rpage *c = &s->pages[i];

		mark(m, s, i);
		if (!p->mapped || (p->flags & F(DC)))
			continue; /* MADV_DONTFORK: a hole in the child */
		*c = *p;
		c->flags &= ~LOCK_BITS; /* locks are not inherited */
		if (p->flags & F(WF)) {
			c->data = NULL; /* MADV_WIPEONFORK: the child's reads zero */
			c->guard = false;
			c->dirty = false;
		} else if (c->data) {
			c->data->refs++;
		}
	}
	return s;
}

static long ref_mem_write(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
			  struct ref_result *out)
{
	(void)out;
	return access_range(m, pr->space, c->a, true);
}

static long ref_mem_read(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
			 struct ref_result *out)
{
	long ret = access_range(m, pr->space, c->a, false);

	out->read = m->read->data;
	out->read_len = m->read->len;
	return ret;
}

/*
 * fork, vfork, clone, clone3: a child sharing the address space (CLONE_VM:
 * vfork, threads) or with a copy of it.  The child's pid is the log's
 * (delegated to the simulated kernel when the log does not say).
 */
static long ref_fork(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		     struct ref_result *out)
{
	uint64_t flags = syscall_clone_flags(c->r->desc, c->args);
	int pid = (!c->r->result_unknown && !c->r->err) ? (int)c->r->result : (int)c->model_ret;

	if (pid <= 0 || c->model_ret <= 0) {
		out->delegated = true; /* refused: by the simulated kernel's rules */
		return c->model_ret;
	}
	if (flags & CLONE_VM_) {
		pr->space->refs++;
		proc_new(m, pid, pr->space, pr->fds);
	} else {
		proc_new(m, pid, space_copy(m, pr->space), pr->fds);
	}
	return pid;
}

/* The lowest free descriptor, as open(2) returns. */
static int lowest_free_fd(GHashTable *fds)
{
	int fd = 0;

	while (g_hash_table_contains(fds, GINT_TO_POINTER(fd)))
		fd++;
	return fd;
}

/*
 * open, openat: the file's contents, read once (the model's files do not
 * change on disk), under the lowest free descriptor.  Failing to open is
 * the host file system's business: the simulated kernel's result.
 */
static long ref_open(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		     struct ref_result *out)
{
	bool at = syscall_id(c->r->desc) == SC_openat;
	const char *name = c->args->str[at ? 1 : 0];
	g_autofree char *path = NULL;
	g_autofree gchar *bytes = NULL;
	gsize size = 0;
	struct robj *o;
	struct rfd *f;
	int fd;

	if (c->model_ret < 0) {
		out->delegated = true;
		return c->model_ret;
	}
	if (name == NULL) {
		out->error = g_strdup("open of a path in user memory: beyond the reference model");
		return c->model_ret;
	}
	path = g_path_is_absolute(name) ? g_strdup(name) : g_build_filename(m->dir, name, NULL);
	if (!g_file_get_contents(path, &bytes, &size, NULL)) {
		out->error = g_strdup_printf("open: the reference model cannot read %s", path);
		return c->model_ret;
	}
	o = g_new0(struct robj, 1);
	o->file = true;
	o->npages = (unsigned int)((size + PG - 1) / PG);
	o->fbytes = g_malloc0((gsize)o->npages * PG + 1);
	memcpy(o->fbytes, bytes, size);
	g_ptr_array_add(m->objs, o);
	f = g_new0(struct rfd, 1);
	f->obj = o;
	f->writable = (c->a[at ? 2 : 1] & O_ACCMODE_) != O_RDONLY_;
	fd = lowest_free_fd(pr->fds);
	g_hash_table_insert(pr->fds, GINT_TO_POINTER(fd), f);
	return fd;
}

static long ref_close(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		      struct ref_result *out)
{
	(void)m;
	(void)out;
	return g_hash_table_remove(pr->fds, GINT_TO_POINTER((int)c->a[0])) ? 0 : -EBADF;
}

/*
 * msync(2): EINVAL for unknown flags, an unaligned start, or MS_ASYNC and
 * MS_SYNC together; a range that wraps is ENOMEM, an empty one 0.  Then
 * page by page: a hole is ENOMEM (at once for MS_ASYNC alone, else at the
 * end), MS_INVALIDATE of a locked page EBUSY.  The pages do not change.
 */
static long ref_msync(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		      struct ref_result *out)
{
	uint64_t start = c->a[0], flags = c->a[2], end = start + page_align(c->a[1]);
	bool hole = false;

	(void)out;
	if ((flags & ~(uint64_t)(MS_ASYNC_ | MS_INVALIDATE_ | MS_SYNC_)) || (start & (PG - 1)) ||
	    ((flags & MS_ASYNC_) && (flags & MS_SYNC_)))
		return -EINVAL;
	if (end < start)
		return -ENOMEM;
	for (uint64_t a = start; a < end; a += PG) {
		const struct rpage *p =
			inside_window(m, a, a + PG) ? &pr->space->pages[(a - m->base) / PG] : NULL;

		if (p == NULL || !p->mapped) {
			if (flags == MS_ASYNC_)
				return -ENOMEM;
			hole = true;
			continue;
		}
		if ((flags & MS_INVALIDATE_) && (p->flags & F(LO)))
			return -EBUSY;
	}
	return hole ? -ENOMEM : 0;
}

/*
 * execve: the process gets an address space of its own, with nothing in
 * the window (as dupmm's execve: the program's image is not modelled), and
 * keeps its descriptors.  The path is not checked: the simulated kernel's
 * result decides whether it happened.
 */
static long ref_execve(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		       struct ref_result *out)
{
	out->delegated = true;
	if (c->model_ret < 0)
		return c->model_ret;
	space_put(m, pr->space);
	pr->space = space_new(m);
	for (unsigned int i = 0; i < m->npages; i++)
		mark(m, pr->space, i);
	return c->model_ret;
}

/* wait4, getpid, gettid: nothing the pages show; the result is the simulated kernel's. */
static long ref_nothing_shown(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
			      struct ref_result *out)
{
	(void)m;
	(void)pr;
	out->delegated = true;
	return c->model_ret;
}

/* exit, exit_group: the process lets go of its address space. */
static long ref_exit(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		     struct ref_result *out)
{
	struct rspace *s = pr->space;

	m->last = NULL;
	g_hash_table_remove(m->procs, GINT_TO_POINTER(pr->pid));
	space_put(m, s);
	out->delegated = true;
	return c->model_ret;
}

typedef long (*ref_fn)(struct ref_model *m, struct rproc *pr, const struct ref_call *c,
		       struct ref_result *out);

/*
 * The model's function for each row of the syscall table.  A row without
 * one is an error of the model when a trace reaches it: a call nobody
 * modelled must not pass as agreement.
 */
static const ref_fn ref_calls[NR_SYSCALL_ROWS] = {
	[SC_mmap] = ref_mmap,
	[SC_munmap] = ref_munmap,
	[SC_mprotect] = ref_mprotect,
	[SC_madvise] = ref_madvise,
	[SC_mremap] = ref_mremap,
	[SC_brk] = ref_brk,
	[SC_msync] = ref_msync,
	[SC_mlock] = ref_mlock,
	[SC_mlock2] = ref_mlock2,
	[SC_munlock] = ref_munlock,
	[SC_mlockall] = ref_mlockall,
	[SC_munlockall] = ref_munlockall,
	[SC_open] = ref_open,
	[SC_openat] = ref_open,
	[SC_close] = ref_close,
	[SC_fork] = ref_fork,
	[SC_vfork] = ref_fork,
	[SC_clone] = ref_fork,
	[SC_clone3] = ref_fork,
	[SC_execve] = ref_execve,
	[SC_exit] = ref_exit,
	[SC_exit_group] = ref_exit,
	[SC_wait4] = ref_nothing_shown,
	[SC_getpid] = ref_nothing_shown,
	[SC_gettid] = ref_nothing_shown,
	[SC_mem_write] = ref_mem_write,
	[SC_mem_read] = ref_mem_read,
};

void ref_result_clear(struct ref_result *res) { g_clear_pointer(&res->error, g_free); }

static void ref_step1(struct ref_model *m, const struct strace_record *r,
		      const struct sys_args *args, long model_ret, struct ref_result *out);

void ref_step(struct ref_model *m, const struct strace_record *r, const struct sys_args *args,
	      long model_ret, struct ref_result *out)
{
	static int trace = -1; /* DUPMM_REF_TRACE, read once: this runs for every record */

	if (trace < 0)
		trace = g_getenv("DUPMM_REF_TRACE") != NULL;
	ref_step1(m, r, args, model_ret, out);
	if (trace) {
		GHashTableIter it;
		gpointer k, v;

		g_printerr("ref: line %d pid %d %s -> %ld\n", r->line, r->pid,
			   r->name ? r->name : "", out->ret);
		g_hash_table_iter_init(&it, m->procs);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			struct rproc *p = v;

			g_printerr("  %d:", p->pid);
			for (unsigned int i = 0; i < m->npages; i++)
				if (p->space->pages[i].mapped)
					g_printerr(" %x", i);
			g_printerr("\n");
		}
	}
}

/* A process's stdin, stdout and stderr: open, but nothing that maps. */
static struct rproc *first_proc(struct ref_model *m, int pid)
{
	struct rproc *pr = proc_new(m, pid, space_new(m), NULL);

	for (int fd = 0; fd < 3; fd++)
		g_hash_table_insert(pr->fds, GINT_TO_POINTER(fd), g_new0(struct rfd, 1));
	return pr;
}

static void ref_step1(struct ref_model *m, const struct strace_record *r,
		      const struct sys_args *args, long model_ret, struct ref_result *out)
{
	struct rproc *pr;
	struct ref_call c = { r, args, args ? args->a : NULL, model_ret };
	ref_fn fn;

	memset(out, 0, sizeof(*out));
	if (r->kind == REC_SIGNAL)
		return;
	pr = g_hash_table_lookup(m->procs, GINT_TO_POINTER(r->pid));
	if (pr == NULL && r->kind != REC_CALL)
		return; /* the +++ line after exit_group */
	if (pr == NULL) {
		if (g_hash_table_size(m->procs) != 0) {
			out->error =
				g_strdup_printf("pid %d unknown to the reference model", r->pid);
			return;
		}
		pr = first_proc(m, r->pid);
	}
	if (r->kind == REC_EXITED || r->kind == REC_KILLED) {
		out->ret = ref_exit(m, pr, &c, out);
		return;
	}
	fn = r->desc && args ? ref_calls[syscall_id(r->desc)] : NULL;
	if (fn == NULL) {
		out->error = g_strdup_printf("%s: the reference model does not model this call",
					     r->name);
		return;
	}
	out->ret = fn(m, pr, &c, out);
}
