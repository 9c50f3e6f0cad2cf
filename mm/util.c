/*
 * vm_mmap_pgoff and the VM's tunables, after mm/util.c.
 */
#include "internal.h"

int sysctl_max_map_count = 65530;
int64_t vm_committed_as; /* pages charged by VM_ACCOUNT mappings (Committed_AS) */

/*
 * vm_mmap_pgoff (mm/util.c): do_mmap, then populate.  prot is not
 * validated: do_mmap keeps its READ, WRITE and EXEC bits (calc_vm_prot_bits)
 * and ignores the rest; only mprotect checks prot (arch_validate_prot in
 * do_mprotect_pkey).  MMAP-PROT-1.
 *
 * MAP_HUGETLB (ksys_mmap_pgoff): not on a regular file (EINVAL); anonymous,
 * it maps a hugetlbfs file with do_mmap's checks in their order (observed
 * on the host): length 0 is EINVAL, then placement (a fixed address must
 * be 2 MiB aligned, EINVAL; MAP_FIXED_NOREPLACE over a mapping, EEXIST),
 * then the file checks (a type other than shared or private, MAP_DROPPABLE
 * among them, EINVAL; growing down EINVAL), and then the reservation,
 * which fails (ENOMEM): the host has no huge pages reserved.
 * Divergence: no hugetlbfs: the model always answers as a kernel with no
 * huge pages reserved does; with some, the kernel would map them, and with
 * MAP_NORESERVE it maps the VMA even with none (observed: `de nr ht`).
 */
long vm_mmap_pgoff(struct mm_struct *mm, struct file *file, uint64_t addr, uint64_t len,
		   uint64_t prot, uint64_t flags, uint64_t pgoff)
{
	uint64_t populate;
	int64_t ret;

	if (flags & MAP_HUGETLB_) {
		uint64_t hlen = (len + PMD_SIZE - 1) & ~(PMD_SIZE - 1);

		mm_note_simplification(SIMPL_HUGETLB);
		if (file)
			return -EINVAL;
		if (!hlen)
			return -EINVAL;
		if (flags & (MAP_FIXED_ | MAP_FIXED_NOREPLACE_)) {
			if (addr & (PMD_SIZE - 1))
				return -EINVAL;
			if ((flags & MAP_FIXED_NOREPLACE_) &&
			    find_vma_intersection(mm, addr, addr + hlen))
				return -EEXIST;
		}
		switch (flags & MAP_TYPE_) {
		case MAP_SHARED_:
		case MAP_SHARED_VALIDATE_:
		case MAP_PRIVATE_: break;
		default: return -EINVAL;
		}
		if (flags & MAP_GROWSDOWN_)
			return -EINVAL;
		return -ENOMEM;
	}
	ret = do_mmap(mm, file, addr, len, prot, flags, pgoff, &populate);
	if (ret >= 0 && populate)
		mm_populate(mm, (uint64_t)ret, populate); /* its failures are not reported */
	return ret;
}
