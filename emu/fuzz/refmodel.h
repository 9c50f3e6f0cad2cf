/*
 * The reference model (the fuzzer's check 2): a deliberately simple,
 * page-granular model of what a program can observe of its address space,
 * written apart from mm/ and sharing no code with it.  For each page of a
 * window it knows whether the page is mapped, its protection, the VmFlags
 * of the VMA holding it, whether it is a guard page, what each byte reads
 * and whether a read faults.  There are no VMAs, no anon_vma, no page
 * tables: a mapping is a run of pages, fork copies the pages.
 *
 * It computes the result of every call itself, except where the answer
 * is not the pages' business, and there it takes the simulated kernel's
 * outcome (ref_step's model_ret) and says so (ref_result.delegated):
 *   - where it depends on VMA boundaries, which pages alone do not have:
 *     mremap's refusals (is the old range one VMA?) and which pages
 *     MREMAP_DONTUNMAP unlocks (the source VMAs, as the kernel splits and
 *     merges them piece by piece, and the destination's VMAs as it merged
 *     them: their lock bits);
 *   - which pages are mlocked, for reclaim (MADV_FREE, MADV_PAGEOUT): the
 *     kernel counts it per page over every locked mapping, in every
 *     process, batched per CPU;
 *   - numbering the log does not give: a child's pid when the log says
 *     "= ?", and whether a fork was refused;
 *   - the host's file system: whether an open or an execve succeeded (a
 *     successful open's descriptor it numbers itself);
 *   - results no page shows: wait4, getpid, gettid, and exits.
 * Every row of the syscall table it models has a function (ref_calls[] in
 * refmodel.c); a call it has none for is an error of the model, never a
 * pass.
 *
 * DUPMM_REF_TRACE=1 in the environment prints, after every step, its
 * result in the model and the mapped pages of every process (debugging a
 * disagreement).
 */
#ifndef DUPMM_REFMODEL_H
#define DUPMM_REFMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strace/strace.h> /* the records, and through it the syscall table */

#define REF_PAGE_SIZE 4096

/* The VmFlags the reference model keeps, as /proc/PID/smaps names them. */
enum ref_flag {
	RF_RD,
	RF_WR,
	RF_EX,
	RF_SH,
	RF_MR,
	RF_MW,
	RF_ME,
	RF_MS,
	RF_GD,
	RF_LO,
	RF_SR,
	RF_RR,
	RF_DC,
	RF_LF,
	RF_AC,
	RF_NR,
	RF_WF,
	RF_DD,
	RF_HG,
	RF_NH,
	RF_MG,
	NR_REF_FLAGS
};
#define RFB(f) (1u << (f))
extern const char *const ref_flag_names[NR_REF_FLAGS];

/* What a program sees of one page. */
struct ref_view {
	bool mapped;
	bool guard;
	int read_fault;	      /* 0, -EFAULT (SIGSEGV) or -EIO (SIGBUS) */
	uint32_t flags;	      /* RFB(RF_*) */
	const uint8_t *bytes; /* REF_PAGE_SIZE bytes; NULL: all zero */
};

struct ref_result {
	long ret;	     /* the result the reference model expects */
	bool delegated;	     /* it took the simulated kernel's (ret == model_ret) */
	const uint8_t *read; /* mem_read: the bytes it expects, up to any fault */
	size_t read_len;
	char *error; /* the record is beyond what the model covers */
};

/*
 * What the model asks the simulated kernel, for the delegated cases (each
 * says so where it is used):
 *   vma_before  the extent the kernel's VMA at addr had before the call;
 *   vma_now     the extent its VMA at addr has now (false: unmapped);
 *   lock_bits   the lock bits (RFB(RF_LO) | RFB(RF_LF)) its page at addr
 *               has now (-1: unmapped);
 *   unevictable whether reclaim would leave its page at addr alone: the
 *               kernel keeps mlock per page, counted over every locked
 *               mapping of it, in every process, and batched per CPU
 *               (MLOCK-PAGE-1, MLOCK-PAGE-2, MLOCK-PAGE-3), which a page-granular model of what a
 *               program sees does not follow.
 */
struct ref_kernel_view {
	bool (*vma_before)(int pid, uint64_t addr, uint64_t *start, uint64_t *end, void *arg);
	bool (*vma_now)(int pid, uint64_t addr, uint64_t *start, uint64_t *end, void *arg);
	int (*lock_bits)(int pid, uint64_t addr, void *arg);
	bool (*unevictable)(int pid, uint64_t addr, void *arg);
	void *arg;
};

struct ref_model;

/*
 * A model of the pages [base, base + npages * 4K); files open relative to
 * dir.  view: the simulated kernel, asked where the model delegates (NULL:
 * it never asks, and a call that needs it is an error of the model).
 */
struct ref_model *ref_new(uint64_t base, unsigned int npages, const char *dir,
			  const struct ref_kernel_view *view);
void ref_free(struct ref_model *m);
/*
 * Apply record r, a call with arguments args (NULL for an exit line); the
 * simulated kernel returned model_ret for it.
 */
void ref_step(struct ref_model *m, const struct strace_record *r, const struct sys_args *args,
	      long model_ret, struct ref_result *out);
void ref_result_clear(struct ref_result *res);

uint64_t ref_base(const struct ref_model *m);
unsigned int ref_npages(const struct ref_model *m);
/* The live processes, ascending; returns how many (at most max). */
unsigned int ref_pids(const struct ref_model *m, int *pids, unsigned int max);
/* Page i of the window in pid's address space; false if pid is unknown. */
bool ref_view(struct ref_model *m, int pid, unsigned int i, struct ref_view *v);
/* Whether page i of pid is mapped (ref_view's mapped, cheaply). */
bool ref_mapped(struct ref_model *m, int pid, unsigned int i);
/* The first mapped page of pid at or after i (ref_npages if none). */
unsigned int ref_next_mapped(struct ref_model *m, int pid, unsigned int i);
/*
 * The pages of pid the steps since ref_clear_dirty may have changed, as a
 * bitmap (page i: word i / 64, bit i % 64); NULL if pid is unknown.
 */
const uint64_t *ref_dirty_bits(const struct ref_model *m, int pid);
void ref_clear_dirty(struct ref_model *m);

#endif
