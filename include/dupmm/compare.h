/*
 * Comparing the model's /proc views with the host kernel's: the canonical
 * form keeps what both must agree on and drops what is the host's own
 * business (see the README's table of host differences).
 */
#ifndef DUPMM_COMPARE_H
#define DUPMM_COMPARE_H

/*
 * Per VMA: range, perms, offset and name, then Size, Rss, Pss, Pss_Dirty,
 * Shared/Private Clean/Dirty, Anonymous, LazyFree, Locked and VmFlags.
 * Left out: shmem inode numbers (the host allocates them), mapped files'
 * directory, device and inode (they depend on the checkout), and
 * Referenced (the host's LRU aging decides it).
 */
char *smaps_canonical(const char *smaps);
char *maps_canonical(const char *maps);

#endif
