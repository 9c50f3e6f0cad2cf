/*
 * The CPU side of a user page fault, after arch/x86/mm/fault.c.
 *
 * mm_fault() is one user access as the MMU and do_user_addr_fault() see
 * it: the permission check the MMU makes on the PTE, then the VMA checks
 * (find_vma, expand_stack, access_error), then handle_mm_fault, then the
 * accessed and dirty bits the hardware sets when the access completes.
 * The file sits under mm/arch/x86/ so that mm/ stays one static library
 * with the kernel's arch/ split visible in its paths.
 */
#include "../../internal.h"

/* access_error (arch/x86/mm/fault.c): does the VMA forbid this access? */
static bool access_error(const struct vm_area_struct *vma, unsigned int access)
{
	if (access & FAULT_WRITE)
		return !(vma->vm_flags & VM_WRITE);
	if (access & FAULT_EXEC)
		return !(vma->vm_flags & VM_EXEC);
	return !(vma->vm_flags & VM_ACCESS_FLAGS);
}

/*
 * pte_allows: the MMU's own check, before any fault: a present PTE that
 * permits the access (RW for a write, no NX for an instruction fetch;
 * pte_access_permitted in arch/x86/include/asm/pgtable.h, with NX).  A
 * PROTNONE entry is not present to the CPU.
 */
static bool pte_allows(pte_t pte, unsigned int access)
{
	if (!(pte & _PAGE_PRESENT))
		return false;
	if ((access & FAULT_WRITE) && !pte_write(pte))
		return false;
	return !((access & FAULT_EXEC) && (pte & _PAGE_NX));
}

/*
 * mm_fault (do_user_addr_fault): one CPU access to addr.  Returns 0 with
 * the page mapped as the access needs (and its PTE accessed, and dirty for
 * a write), or -EFAULT with the signal the CPU would raise in *fi: no VMA
 * (after trying to grow a stack down to addr) or a fault that ends in
 * SIGSEGV is SEGV_MAPERR, a VMA that forbids the access SEGV_ACCERR,
 * VM_FAULT_SIGBUS is BUS_ADRERR, VM_FAULT_OOM is SIGKILL.
 *
 * Divergence: on VM_FAULT_OOM the kernel runs the OOM killer
 * (pagefault_out_of_memory), which may kill another task, and retries the
 * fault; the model reports SIGKILL for the faulting task.
 */
int mm_fault(struct mm_struct *mm, uint64_t addr, unsigned int access, struct mm_fault_info *fi)
{
	struct vm_area_struct *vma;
	pte_t *ptep = pte_offset(mm, addr);
	unsigned int flags = 0;
	int ret;

	fi->addr = addr;
	if (ptep == NULL || !pte_allows(*ptep, access)) {
		vma = find_vma(mm, addr);
		if (vma && addr < vma->vm_start)
			vma = expand_stack(mm, addr);
		if (vma == NULL || addr >= TASK_SIZE) {
			fi->signo = SIGSEGV;
			fi->code = SEGV_MAPERR;
			return -EFAULT;
		}
		if (access_error(vma, access)) {
			fi->signo = SIGSEGV;
			fi->code = SEGV_ACCERR;
			return -EFAULT;
		}
		if (access & FAULT_WRITE)
			flags |= FAULT_FLAG_WRITE;
		if (access & FAULT_EXEC)
			flags |= FAULT_FLAG_EXEC;
		ret = handle_mm_fault(vma, addr & PAGE_MASK, flags);
		if (ret) {
			fi->signo = (ret & VM_FAULT_SIGBUS) ? SIGBUS
				    : (ret & VM_FAULT_OOM)  ? SIGKILL
							    : SIGSEGV;
			fi->code = (ret & VM_FAULT_SIGBUS) ? BUS_ADRERR : SEGV_MAPERR;
			return -EFAULT;
		}
		ptep = pte_offset(mm, addr);
	}
	/* The hardware sets A, and D on a write, when the access completes. */
	*ptep = pte_mkyoung(*ptep);
	if (access & FAULT_WRITE)
		*ptep = pte_mkdirty(*ptep);
	return 0;
}
