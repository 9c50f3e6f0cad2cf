/*
 * vm_mmap_pgoff and the VM's tunables, after mm/util.c.
 */
#include "internal.h"

int sysctl_max_map_count = 65530;
int64_t vm_committed_as;	/* pages charged by VM_ACCOUNT mappings (Committed_AS) */

/*
 * vm_mmap_pgoff (mm/util.c): do_mmap, then populate.
 *
 * MAP_HUGETLB (ksys_mmap_pgoff): not on a regular file (EINVAL); anonymous,
 * it maps a hugetlbfs file, and the host has no huge pages reserved: the
 * placement check (hugetlb_get_unmapped_area: a fixed address must be
 * 2 MiB aligned, EINVAL) comes first, then the reservation fails (ENOMEM).
 * Divergence: no hugetlbfs: the model always answers as a kernel with no
 * huge pages reserved does; with some, the kernel would map them.
 */
long vm_mmap_pgoff(struct mm_struct *mm, struct file *file, uint64_t addr,
		   uint64_t len, uint64_t prot, uint64_t flags, uint64_t pgoff)
{
	uint64_t populate;
	int64_t ret;

	if (flags & MAP_HUGETLB_) {
		mm_note_simplification(SIMPL_HUGETLB);
		if (file)
			return -EINVAL;
		if ((flags & (MAP_FIXED_ | MAP_FIXED_NOREPLACE_)) && (addr & (PMD_SIZE - 1)))
			return -EINVAL;
		return -ENOMEM;
	}
	if (prot & ~(uint64_t)(PROT_READ_ | PROT_WRITE_ | PROT_EXEC_ | PROT_SEM_))
		return -EINVAL;	/* x86 arch_validate_prot via calc_vm_prot_bits */
	ret = do_mmap(mm, file, addr, len, prot, flags, pgoff, &populate);
	if (ret >= 0 && populate)
		mm_populate(mm, (uint64_t)ret, populate);	/* its failures are not reported */
	return ret;
}
