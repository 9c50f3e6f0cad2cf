/*
 * The replay driver: each record of a log is run on the model through the
 * same syscall layer the CPU emulator uses, and its result compared with
 * the log's.  Placement follows the log: an mmap without MAP_FIXED is
 * placed where the log says it landed (MAP_FIXED_NOREPLACE there), and
 * diverges only if that range is not free in the model.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include <dupmm/kernel.h>
#include <dupmm/uapi.h>
#include <procfs/procfs.h>

#include "replay.h"

struct replay {
	struct kernel *k;
	const struct strace_log *log;
	const struct replay_options *opts;
	struct replay_result *res;
	GHashTable *skipped_names; /* name -> count */
	long last_ret;		   /* the model's result of the last record */
	struct sys_args args;	   /* the last call's arguments */
	/* simplifications (1 << enum mm_simplification) this record reached, and those warned of */
	unsigned int reached, warned;
	GByteArray *read; /* a mem_read's bytes, up to its fault */
};

static void snapshot_free(gpointer p)
{
	struct replay_snapshot *s = p;

	g_free(s->maps);
	g_free(s->smaps);
	g_free(s->smaps_rollup);
	g_free(s->status);
	g_free(s->pagemap);
	g_free(s);
}

/* The pagemap summary of every VMA. */
static char *pagemap_summary(struct mm_struct *mm)
{
	GString *out = g_string_new(NULL);

	for (struct vm_area_struct *vma = vma_first(mm); vma; vma = vma_next(mm, vma)) {
		g_string_append_printf(out, "%08" PRIx64 "-%08" PRIx64 " ", vma->vm_start,
				       vma->vm_end);
		for (uint64_t a = vma->vm_start; a < vma->vm_end; a += PAGE_SIZE) {
			uint64_t e;

			pagemap_read(mm, a, 1, &e);
			g_string_append_c(out, pagemap_summary_char(e));
		}
		g_string_append_c(out, '\n');
	}
	return g_string_free(out, FALSE);
}

/* on_exit hook: the process's address space as it was when it exited. */
static void take_snapshot(struct task *t, void *arg)
{
	struct replay *rp = arg;
	struct replay_snapshot *s = g_new0(struct replay_snapshot, 1);
	GString *maps = g_string_new(NULL), *smaps = g_string_new(NULL);
	GString *rollup = g_string_new(NULL), *status = g_string_new(NULL);

	if (rp->opts->settle_lru) {
		lru_add_drain();
	} else if (lru_lazyfree_pending()) {
		rp->res->unsettled_snapshots++;
		rp->reached |= 1u << SIMPL_LRU_UNSETTLED;
	}
	show_maps(t->mm, maps);
	show_smaps(t->mm, smaps);
	show_smaps_rollup(t->mm, rollup);
	g_string_append_printf(status, "Pid:\t%d\nTgid:\t%d\nPPid:\t%d\n", t->pid, t->tgid,
			       t->parent ? t->parent->tgid : 0);
	show_status(t->mm, status);
	s->maps = g_string_free(maps, FALSE);
	s->smaps = g_string_free(smaps, FALSE);
	s->smaps_rollup = g_string_free(rollup, FALSE);
	s->status = g_string_free(status, FALSE);
	s->pagemap = pagemap_summary(t->mm);
	g_hash_table_replace(rp->res->snapshots, GINT_TO_POINTER(t->pid), s);
}

static void diverge(struct replay *rp, const struct strace_record *r, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
static void diverge(struct replay *rp, const struct strace_record *r, const char *fmt, ...)
{
	va_list ap;
	FILE *f = rp->opts->diag ? rp->opts->diag : stderr;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (!rp->opts->quiet)
		fprintf(f, "%s:%d: pid %d: %s\n", rp->log->path, r->line, r->pid, msg);
	if (rp->res->first_divergence == NULL)
		rp->res->first_divergence =
			g_strdup_printf("line %d: pid %d: %s", r->line, r->pid, msg);
	rp->res->divergences++;
}

/* mm_simplification_handler: what the record being replayed reached. */
static void note_simplification(enum mm_simplification s, void *arg)
{
	struct replay *rp = arg;

	rp->reached |= 1u << s;
}

/*
 * The first time the log reaches a simplification, a warning naming the
 * line and the entry of docs/divergences.md: no silent wrong answer.
 */
static void warn_reached(struct replay *rp, const struct strace_record *r)
{
	FILE *f = rp->opts->diag ? rp->opts->diag : stderr;
	unsigned int fresh = rp->reached & ~rp->warned;

	rp->warned |= rp->reached;
	rp->reached = 0;
	for (int s = 0; s < NR_SIMPLIFICATIONS; s++) {
		if (!(fresh & (1u << s)))
			continue;
		rp->res->warnings++;
		if (!rp->opts->quiet)
			fprintf(f,
				"%s:%d: pid %d: warning: the model simplifies here (%s, docs/divergences.md): %s\n",
				rp->log->path, r->line, r->pid,
				mm_simplification_id((enum mm_simplification)s),
				mm_simplification_text((enum mm_simplification)s));
	}
}

static char *describe_result(int64_t v, int err, bool unknown)
{
	if (unknown)
		return g_strdup("?");
	if (err)
		return g_strdup_printf("-1 %s", strace_errno_name(err));
	if (v > 0xffff || v < -0xffff)
		return g_strdup_printf("%#" PRIx64, (uint64_t)v);
	return g_strdup_printf("%" PRId64, v);
}

static char *describe_ret(long ret)
{
	if (ret < 0 && ret >= -4095)
		return describe_result(-1, (int)-ret, false);
	return describe_result(ret, 0, false);
}

/* The log's result and the model's return value agree? */
static void compare_result(struct replay *rp, const struct strace_record *r, long ret)
{
	g_autofree char *want = NULL, *got = NULL;
	bool same;

	if (r->result_unknown)
		return;
	if (r->err)
		same = ret == -r->err;
	else
		same = ret == (long)r->result;
	if (same)
		return;
	want = describe_result(r->result, r->err, false);
	got = describe_ret(ret);
	diverge(rp, r, "%s: the log says %s, the model returns %s", r->name, want, got);
}

static const char *signal_desc(const struct mm_fault_info *fi)
{
	if (fi->signo == SIGBUS)
		return "SIGBUS";
	if (fi->signo == SIGKILL)
		return "out of memory";
	return fi->code == SEGV_ACCERR ? "SIGSEGV (SEGV_ACCERR)" : "SIGSEGV (SEGV_MAPERR)";
}

/* mem_write(ADDR, BYTE, LEN) = 0 | -1 EFAULT */
static void replay_mem_write(struct replay *rp, struct task *t, const struct strace_record *r,
			     GError **error)
{
	uint64_t addr = rp->args.a[0], byte = rp->args.a[1], len = rp->args.a[2];
	struct mm_fault_info fi = { 0 };
	int ret;

	if (byte > 0xff || r->args->len != 3) {
		g_set_error(error, DUPMM_ERROR, DUPMM_ERROR_PARSE,
			    "%s:%d: mem_write takes (ADDR, BYTE, LEN), BYTE at most 0xff",
			    rp->log->path, r->line);
		return;
	}
	ret = mm_fill(t->mm, addr, (uint8_t)byte, len, &fi);
	rp->last_ret = ret ? -EFAULT : 0;
	if (r->result_unknown)
		return;
	if (ret == 0 && r->err)
		diverge(rp, r, "mem_write(%#" PRIx64 "): the log says it faults, the model writes",
			addr);
	else if (ret && !r->err)
		diverge(rp, r, "mem_write(%#" PRIx64 "): the model faults at %#" PRIx64 " with %s",
			addr, fi.addr, signal_desc(&fi));
}

/* mem_read(ADDR, LEN) = 0xHH | -1 EFAULT */
static void replay_mem_read(struct replay *rp, struct task *t, const struct strace_record *r,
			    GError **error)
{
	uint64_t addr = rp->args.a[0], len = rp->args.a[1];
	uint8_t buf[4096];
	struct mm_fault_info fi = { 0 };
	bool mismatch = false;

	if (r->args->len != 2 ||
	    (!r->err && !r->result_unknown && (r->result < 0 || r->result > 0xff))) {
		g_set_error(
			error, DUPMM_ERROR, DUPMM_ERROR_PARSE,
			"%s:%d: mem_read takes (ADDR, LEN) and returns a byte 0xHH or -1 EFAULT",
			rp->log->path, r->line);
		return;
	}
	g_byte_array_set_size(rp->read, 0);
	rp->last_ret = 0;
	for (uint64_t off = 0; off < len; off += sizeof(buf)) {
		size_t n = (size_t)MIN(sizeof(buf), len - off);

		if (mm_read(t->mm, addr + off, buf, n, &fi)) {
			rp->last_ret = -EFAULT;
			if (fi.addr > addr + off && fi.addr - (addr + off) < n)
				g_byte_array_append(rp->read, buf, (guint)(fi.addr - (addr + off)));
			if (!r->err && !r->result_unknown)
				diverge(rp, r,
					"mem_read(%#" PRIx64 "): the model faults at %#" PRIx64
					" with %s",
					addr, fi.addr, signal_desc(&fi));
			return;
		}
		g_byte_array_append(rp->read, buf, (guint)n);
		for (size_t i = 0; i < n && !r->err && !r->result_unknown && !mismatch; i++)
			if (buf[i] != (uint8_t)r->result) {
				diverge(rp, r,
					"mem_read(%#" PRIx64 "): byte at %#" PRIx64
					" reads %#x, the log says %#x",
					addr, addr + off + i, buf[i], (unsigned)r->result);
				mismatch = true; /* read on: on_step wants every byte */
			}
	}
	if (r->err && !mismatch)
		diverge(rp, r, "mem_read(%#" PRIx64 "): the log says it faults, the model reads",
			addr);
}

static struct task *task_of(struct replay *rp, const struct strace_record *r, GError **error)
{
	struct task *t = kernel_find_task(rp->k, r->pid);

	if (t == NULL && g_hash_table_size(rp->k->tasks) == 0) {
		t = kernel_spawn(rp->k, r->pid ? r->pid : 1);
		if (t == NULL)
			g_set_error(error, DUPMM_ERROR, DUPMM_ERROR_HOST,
				    "%s:%d: out of simulated memory", rp->log->path, r->line);
		return t;
	}
	if (t == NULL)
		g_set_error(error, DUPMM_ERROR, DUPMM_ERROR_PARSE,
			    "%s:%d: pid %d appears before any clone, fork or vfork created it",
			    rp->log->path, r->line, r->pid);
	return t;
}

static void skip_call(struct replay *rp, const struct strace_record *r)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(rp->skipped_names, r->name));

	g_hash_table_insert(rp->skipped_names, g_strdup(r->name), GUINT_TO_POINTER(n + 1));
	rp->res->skipped++;
}

/* A call of the syscall table, through do_syscall as the CPU driver makes it. */
static void replay_call(struct replay *rp, struct task *t, const struct strace_record *r)
{
	const struct syscall_desc *d = r->desc;
	struct sys_args *args = &rp->args;
	bool placed = strace_place_as_logged(r, args);
	long ret;

	if (d->nr == NR_brk && t->mm->start_brk == 0 && !r->result_unknown && r->result > 0)
		mm_set_brk(t->mm, (uint64_t)r->result); /* where exec put the heap */
	if (d->flags & SCF_CLONE)
		args->child_pid = (!r->err && r->result > 0) ? (int)r->result : 0;
	rp->res->calls++;
	ret = do_syscall(rp->k, t, d->nr, args);
	rp->last_ret = ret;
	if (rp->opts->on_call)
		rp->opts->on_call(r, ret, rp->opts->on_call_arg);
	if (placed && ret == -EEXIST)
		diverge(rp, r,
			"mmap: the log placed it at %#" PRIx64 ", which is not free in the model",
			(uint64_t)r->result);
	else if (d->nr == NR_wait4 && ret == -EAGAIN)
		diverge(rp, r, "wait4: no child has exited yet in the model: it would block");
	else
		compare_result(rp, r, ret);
}

static void run_checks(struct replay *rp, const struct strace_record *r)
{
	g_autoptr(GString) why = g_string_new(NULL);

	if (!validate_vm(why)) {
		g_strchomp(why->str);
		diverge(rp, r, "invariant broken after %s:\n%s", r->name ? r->name : "?", why->str);
	}
}

/* The on_step hook: what the model just did, for a driver's own checks. */
static void run_step_hook(struct replay *rp, const struct strace_record *r)
{
	struct replay_step st = { .r = r,
				  .ret = rp->last_ret,
				  .k = rp->k,
				  .args = r->kind == REC_CALL ? &rp->args : NULL,
				  .read = rp->read->data,
				  .read_len = rp->read->len };
	g_autofree char *msg = rp->opts->on_step(&st, rp->opts->on_step_arg);

	if (msg)
		diverge(rp, r, "%s", msg);
}

static bool replay_record(struct replay *rp, const struct strace_record *r, GError **error)
{
	struct task *t;

	if (r->kind == REC_SIGNAL)
		return true;
	if (rp->opts->before_step)
		rp->opts->before_step(r, rp->k, rp->opts->on_step_arg);
	t = task_of(rp, r, error);
	if (t == NULL)
		return false;
	if (r->kind == REC_EXITED || r->kind == REC_KILLED) {
		kernel_exit(rp->k, t, r->kind == REC_EXITED ? r->code : 0);
		rp->last_ret = 0;
		if (rp->opts->on_step)
			run_step_hook(rp, r);
		return true;
	}
	if (t->state != TASK_RUNNING) {
		diverge(rp, r, "%s: the process has already exited", r->name);
		return true;
	}
	if (r->desc == NULL || !r->desc->modelled) {
		skip_call(rp, r);
		return true;
	}
	if (t->vfork_waiting)
		diverge(rp, r, "%s: the process runs while its vfork child still holds the mm",
			r->name);
	if (!strace_call_args(rp->log->path, r, &rp->args, error))
		return false;
	if (syscall_id(r->desc) == SC_mem_write) {
		rp->res->calls++;
		replay_mem_write(rp, t, r, error);
	} else if (syscall_id(r->desc) == SC_mem_read) {
		rp->res->calls++;
		replay_mem_read(rp, t, r, error);
	} else {
		replay_call(rp, t, r);
	}
	if (error && *error)
		return false;
	if (rp->opts->check)
		run_checks(rp, r);
	if (rp->opts->on_step)
		run_step_hook(rp, r);
	return true;
}

static gint cmp_pid(gconstpointer a, gconstpointer b)
{
	return GPOINTER_TO_INT(a) - GPOINTER_TO_INT(b);
}

static bool write_snapshots(struct replay *rp, GError **error)
{
	FILE *out = rp->opts->out ? rp->opts->out : stdout;
	g_autoptr(GList) pids = g_list_sort(g_hash_table_get_keys(rp->res->snapshots), cmp_pid);

	for (GList *l = pids; l; l = l->next) {
		int pid = GPOINTER_TO_INT(l->data);
		struct replay_snapshot *s = g_hash_table_lookup(rp->res->snapshots, l->data);

		if (rp->opts->print_maps)
			fprintf(out, "# pid %d maps\n%s", pid, s->maps);
		if (rp->opts->print_smaps)
			fprintf(out, "# pid %d smaps\n%s", pid, s->smaps);
		if (rp->opts->proc_out) {
			const char *const names[] = { "maps", "smaps", "smaps_rollup", "status",
						      "pagemap" };
			const char *const texts[] = { s->maps, s->smaps, s->smaps_rollup, s->status,
						      s->pagemap };

			for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
				g_autofree char *path = g_strdup_printf(
					"%s/%d.%s", rp->opts->proc_out, pid, names[i]);

				if (!g_file_set_contents(path, texts[i], -1, error))
					return false;
			}
		}
	}
	return true;
}

void replay_result_clear(struct replay_result *res)
{
	if (res->snapshots)
		g_hash_table_destroy(res->snapshots);
	g_free(res->first_divergence);
	memset(res, 0, sizeof(*res));
}

const char *replay_first_divergence(const struct replay_result *res)
{
	return res->first_divergence;
}

/* The pids of the files dir holds (PID.maps, ...), added to pids. */
static void add_host_pids(const char *dir, GHashTable *pids)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *f;
	int pid;

	while (d && (f = g_dir_read_name(d)) != NULL)
		if (sscanf(f, "%d.", &pid) == 1)
			g_hash_table_add(pids, GINT_TO_POINTER(pid));
}

/* One process's file of one kind, host against model; NULL if they agree. */
static char *compare_file(const char *dir, int pid, const char *kind, const char *model)
{
	g_autofree char *path = g_strdup_printf("%s/%d.%s", dir, pid, kind);
	g_autofree char *host = NULL, *ch = NULL, *cm = NULL, *what = NULL;

	if (!g_file_get_contents(path, &host, NULL, NULL))
		return g_strdup_printf("pid %d: the host wrote no %s", pid, kind);
	if (strcmp(kind, "smaps") == 0) {
		ch = smaps_canonical(host);
		cm = smaps_canonical(model);
	} else if (strcmp(kind, "maps") == 0) {
		ch = maps_canonical(host);
		cm = maps_canonical(model);
	} else {
		ch = g_strdup(host);
		cm = g_strdup(model);
	}
	if (strcmp(ch, cm) == 0)
		return NULL;
	what = g_strdup_printf("pid %d %s", pid, kind);
	return procfs_first_difference(what, ch, cm);
}

char *replay_compare_with_host(const struct replay_result *res, const char *dir, guint *files)
{
	g_autoptr(GHashTable) pids = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_autoptr(GList) sorted = NULL;
	GHashTableIter it;
	gpointer k;

	*files = 0;
	add_host_pids(dir, pids);
	g_hash_table_iter_init(&it, res->snapshots);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_hash_table_add(pids, k);
	sorted = g_list_sort(g_hash_table_get_keys(pids), cmp_pid);
	for (GList *l = sorted; l; l = l->next) {
		int pid = GPOINTER_TO_INT(l->data);
		const struct replay_snapshot *s = g_hash_table_lookup(res->snapshots, l->data);
		const char *const kinds[] = { "maps", "smaps", "pagemap" };

		if (s == NULL)
			return g_strdup_printf(
				"pid %d: the host has it, the replay has no such process", pid);
		for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
			const char *model = i == 0 ? s->maps : i == 1 ? s->smaps : s->pagemap;
			char *diff = compare_file(dir, pid, kinds[i], model);

			if (diff)
				return diff;
			(*files)++;
		}
	}
	return NULL;
}

gboolean replay_log(const struct strace_log *log, const struct replay_options *opts,
		    struct replay_result *res, GError **error)
{
	g_autofree char *dir = NULL;
	struct replay rp = { 0 };
	bool ok = true;
	mm_simplification_fn saved_handler;
	void *saved_arg;

	memset(res, 0, sizeof(*res));
	res->snapshots = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, snapshot_free);
	if (opts->proc_out && g_mkdir_with_parents(opts->proc_out, 0755) < 0) {
		g_set_error(error, DUPMM_ERROR, DUPMM_ERROR_IO, "%s: %s", opts->proc_out,
			    g_strerror(errno));
		return FALSE;
	}
	dir = opts->cwd ? g_strdup(opts->cwd) : g_path_get_dirname(log->path);
	rp.k = kernel_new(dir);
	rp.log = log;
	rp.opts = opts;
	rp.res = res;
	rp.skipped_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	rp.read = g_byte_array_new();
	if (!opts->no_snapshots) {
		rp.k->on_exit = take_snapshot;
		rp.k->on_exit_arg = &rp;
	}
	saved_handler = mm_simplification_handler;
	saved_arg = mm_simplification_arg;
	mm_simplification_handler = note_simplification;
	mm_simplification_arg = &rp;
	for (guint i = 0; i < log->records->len && ok; i++) {
		ok = replay_record(&rp, log->records->pdata[i], error);
		if (rp.reached)
			warn_reached(&rp, log->records->pdata[i]);
	}
	if (ok && !opts->no_snapshots) {
		GHashTableIter it;
		gpointer k, v;

		/* Processes that never exited: their state at the end of the log. */
		g_hash_table_iter_init(&it, rp.k->tasks);
		while (g_hash_table_iter_next(&it, &k, &v))
			if (((struct task *)v)->state == TASK_RUNNING &&
			    !g_hash_table_contains(res->snapshots, k))
				take_snapshot(v, &rp);
		if (rp.reached && log->records->len)
			warn_reached(&rp, log->records->pdata[log->records->len - 1]);
		ok = write_snapshots(&rp, error);
	}
	mm_simplification_handler = saved_handler;
	mm_simplification_arg = saved_arg;
	if (ok && g_hash_table_size(rp.skipped_names) && !opts->quiet) {
		FILE *f = opts->diag ? opts->diag : stderr;
		GHashTableIter it;
		gpointer k, v;

		fprintf(f, "%s: skipped %u calls that dupmm does not model:", log->path,
			res->skipped);
		g_hash_table_iter_init(&it, rp.skipped_names);
		while (g_hash_table_iter_next(&it, &k, &v))
			fprintf(f, " %s(%u)", (char *)k, GPOINTER_TO_UINT(v));
		fputc('\n', f);
	}
	g_hash_table_destroy(rp.skipped_names);
	g_byte_array_unref(rp.read);
	kernel_free(rp.k);
	return ok;
}

gboolean replay_file(const char *path, const struct replay_options *opts, struct replay_result *res,
		     GError **error)
{
	struct strace_log *log = strace_parse_file(path, error);
	gboolean ok;

	if (log == NULL) {
		memset(res, 0, sizeof(*res));
		res->snapshots =
			g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, snapshot_free);
		return FALSE;
	}
	ok = replay_log(log, opts, res, error);
	strace_log_free(log);
	return ok;
}
