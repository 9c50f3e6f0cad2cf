/*
 * The fuzzer's per-call checks, run from replay's on_step hook:
 *
 *   invariants: after every call, validate_mm of the mm it ran in (and of
 *     a fork's child); every full_every calls and at every exit,
 *     validate_vm over all mms (mapcounts, rmap, anon_vmas, frames).
 *   model: the reference model (refmodel.h) takes every call; its result
 *     and the bytes it reads must be dupmm's, and after every call the
 *     pages it says the call may have changed must look the same in dupmm
 *     (mapped, VmFlags, guard, read fault, bytes); every full_every calls
 *     and at every exit, every page of every process is compared.
 *
 * full_every 1 compares everything after every call.
 */
#ifndef DUPMM_FUZZ_CHECKS_H
#define DUPMM_FUZZ_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include <strace/replay.h>

struct fuzz_checker;

struct fuzz_checker *fuzz_checker_new(bool invariants, bool model, uint64_t base,
				      unsigned int npages, const char *dir,
				      unsigned int full_every);
void fuzz_checker_free(struct fuzz_checker *c);
/* The on_step hook: a message prefixed "invariant broken" or "reference model". */
char *fuzz_checker_step(const struct replay_step *st, void *arg);
/* The before_step hook (same arg): what the model must know of dupmm before a call. */
void fuzz_checker_before(const struct strace_record *r, struct kernel *k, void *arg);
/* Pages compared with the reference model so far (to show a campaign is not vacuous). */
uint64_t fuzz_checker_pages_compared(const struct fuzz_checker *c);

#define FUZZ_MODEL_PREFIX     "reference model"
#define FUZZ_INVARIANT_PREFIX "invariant broken"

#endif
