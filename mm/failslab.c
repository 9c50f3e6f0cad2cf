/*
 * Fault injection for the model's slab allocations, after mm/failslab.c
 * (should_failslab, CONFIG_FAILSLAB): a test switch makes the n-th
 * allocation of an anon_vma or an anon_vma_chain fail, so that the ENOMEM
 * paths of their callers run as they would in a kernel short of memory.
 */
#include "internal.h"

static uint64_t failslab_countdown;

/* mm_fail_slab_after: the n-th slab allocation from now fails (0 = never). */
void mm_fail_slab_after(uint64_t n) { failslab_countdown = n; }

/* should_failslab: true for the one allocation the switch fails. */
bool should_failslab(void) { return failslab_countdown && --failslab_countdown == 0; }
