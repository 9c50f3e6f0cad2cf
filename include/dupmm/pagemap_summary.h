/*
 * A pagemap summary: one character per page of a VMA, from the
 * /proc/PID/pagemap entry's flag bits (the PFN left out: it cannot be
 * compared between the host and the model).  The replay and the host
 * helper print the same summary, so the two can be compared:
 *
 *   .  not present          p  present, mapped more than once (or zero page)
 *   x  present, exclusive   F/f  the same two for a file or shmem page
 *   g  guard marker         s  swapped (never, in dupmm)
 */
#ifndef DUPMM_PAGEMAP_SUMMARY_H
#define DUPMM_PAGEMAP_SUMMARY_H

#include <stdint.h>

#define PMS_PRESENT	(1ULL << 63)
#define PMS_SWAP	(1ULL << 62)
#define PMS_FILE	(1ULL << 61)
#define PMS_GUARD	(1ULL << 58)
#define PMS_EXCLUSIVE	(1ULL << 56)

static inline char pagemap_summary_char(uint64_t e)
{
	if (e & PMS_PRESENT) {
		if (e & PMS_FILE)
			return (e & PMS_EXCLUSIVE) ? 'F' : 'f';
		return (e & PMS_EXCLUSIVE) ? 'x' : 'p';
	}
	if (e & PMS_GUARD)	/* a guard marker is a swap entry too */
		return 'g';
	return (e & PMS_SWAP) ? 's' : '.';
}

#endif
