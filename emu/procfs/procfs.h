/*
 * emu/procfs: /proc views as text, made comparable between the host
 * kernel's and the model's.  The canonical forms keep what both must agree
 * on and drop only identities (see the README's table of host
 * differences); the pagemap summary keeps each page's flags without its
 * PFN.  GLib only: dupmm-hostrun uses it without the model.
 */
#ifndef DUPMM_PROCFS_H
#define DUPMM_PROCFS_H

#include <stdint.h>

#include <dupmm/mm.h> /* the PM_* bits of a pagemap entry */

/*
 * Per VMA: range, perms, offset and name, then Size, Rss, Pss, Pss_Dirty,
 * Shared/Private Clean/Dirty, Anonymous, LazyFree, Locked and VmFlags.
 * Left out: shmem inode numbers (the host allocates them), mapped files'
 * directory, device and inode (they depend on the checkout), and
 * Referenced (the host's LRU aging decides it).
 */
char *smaps_canonical(const char *smaps);
char *maps_canonical(const char *maps);

/*
 * A pagemap summary: one character per page, from a /proc/PID/pagemap
 * entry's flag bits (the PFN left out: it cannot be compared between the
 * host and the model).  The replay and the host helper print the same
 * summary, so the two can be compared:
 *
 *   .  not present          p  present, mapped more than once (or zero page)
 *   x  present, exclusive   F/f  the same two for a file or shmem page
 *   g  guard marker         s  swapped (never, in dupmm)
 */
static inline char pagemap_summary_char(uint64_t e)
{
	if (e & PM_PRESENT) {
		if (e & PM_FILE)
			return (e & PM_MMAP_EXCLUSIVE) ? 'F' : 'f';
		return (e & PM_MMAP_EXCLUSIVE) ? 'x' : 'p';
	}
	if (e & PM_GUARD_REGION) /* a guard marker is a swap entry too */
		return 'g';
	return (e & PM_SWAP) ? 's' : '.';
}

/* The first line where host and model differ, as "WHAT: the host has 'L', the model 'L'". */
char *procfs_first_difference(const char *what, const char *host, const char *model);

#endif
